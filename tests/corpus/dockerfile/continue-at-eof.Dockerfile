FROM busybox
RUN something \