FROM busybox
FROB
FROB x y z
frob --flag=1 x
Frob ["json"]
NOTHING=1
X-Y z
FROMX a
RUNx
