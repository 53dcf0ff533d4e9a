FROM busybox
HEALTHCHECK NONE
HEALTHCHECK CMD curl -f http://localhost/ || exit 1
HEALTHCHECK --interval=5m --timeout=3s CMD ["curl", "-f", "http://x/"]
HEALTHCHECK --start-period=1s --start-interval=2s --retries=3 \
  CMD true
HEALTHCHECK   cmd   a   b
HEALTHCHECK
HEALTHCHECK --interval=5s
HEALTHCHECK CMD
HEALTHCHECK CMD []
HEALTHCHECK FOO bar baz
HEALTHCHECK CMD ['x']
HEALTHCHECK	CMD	tab
HEALTHCHECK none
HEALTHCHECK CMD-SHELL echo
