FROM busybox
# comment
ENV PATH
