# syntax=docker/dockerfile:1
FROM alpine
RUN <<EOF
echo hello
FROB not an instruction
# not a comment
EOF
RUN <<-EOT bash
	echo tabs
	EOT
COPY <<A <<"B" /dest/
a body
A
b $body
B
RUN 3<<'FD' cat /dev/fd/3
data
FD
RUN <<EOF > /x && \
  cat /x
line \
EOF
ADD <<E"O"F /file
x
EOF
RUN ["<<NOT"]
RUN "<<NOT"
ONBUILD RUN <<EOF
inner
EOF
RUN <<  SPACED
SPACED
RUN python3 <<PY
print("a\tb")
PY
run <<lower
lower
RUN <<EOF
EOF
