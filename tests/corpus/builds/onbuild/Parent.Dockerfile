FROM base:1
ONBUILD COPY trigger.txt /from-trigger.txt
ONBUILD RUN echo ran > /trigger-ran
LABEL parent=onbuild
