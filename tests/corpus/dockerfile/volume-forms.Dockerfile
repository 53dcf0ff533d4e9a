FROM busybox
VOLUME /data
VOLUME /a /b	/c
VOLUME ["/json"]
VOLUME ["/x", "/y z"]
VOLUME [ "/spaced" ]
VOLUME ['/single']
VOLUME [/unquoted]
VOLUME /var/log \
       /var/db
VOLUME []
VOLUME ["/a", 
