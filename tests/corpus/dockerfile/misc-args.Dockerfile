FROM busybox
ARG
ARG a
ARG b=1 c="two words" d='x y' e=\"q\"
ARG "quoted name"=v
USER root:root
USER
WORKDIR
MAINTAINER Jane Doe <jane@example.com>
STOPSIGNAL
EXPOSE
ENV
LABEL
FROM
COPY
ADD
RUN
CMD
VOLUME
SHELL
ENTRYPOINT
