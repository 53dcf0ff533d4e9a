FROM busybox
\

# only a comment after
