FROM busybox
COPY --chown="a b" --chmod='755' x y
LABEL --label="a b" k=v
RUN --mount=type=secret,id=a\ b cmd
RUN --x="a\"b" --y='a\'b' cmd
COPY -- foo /x
COPY --link -- --weird /x
CMD --doit=true -- [ "a", "b" ]
RUN --a --b=  --c="" cmd
RUN --only-flags
RUN --""
RUN --e=\\x cmd
COPY --chown=é --chmod=à x y
RUN -x --not-a-flag
RUN --a=1 -- --b=2
ADD --exclude=*.md --exclude='a b' src /dst
