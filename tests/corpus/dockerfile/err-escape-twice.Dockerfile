# escape=`
#ESCAPE=\
FROM busybox
