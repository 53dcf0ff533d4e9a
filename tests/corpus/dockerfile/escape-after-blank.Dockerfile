
# escape=`
FROM busybox
RUN a\
 b
COPY c`
 d
