# SYNTAX = docker/dockerfile:1
#check=skip=all
# escape=`

FROM busybox
RUN a`
  b
# escape=\
RUN c\
COPY d`
  e
