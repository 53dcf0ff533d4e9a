# escape=\
FROM busybox
# comment
RUN echo a \
  && echo b

ENV A=1 \
    B=2
CMD ["sh", "-c", "x"]
COPY <<EOF /f
body
EOF
RUN echo done
