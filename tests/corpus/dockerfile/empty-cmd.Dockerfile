FROM busybox
CMD []
CMD [""]
CMD [ ]
ENTRYPOINT []
CMD
RUN [""]
SHELL ["sh", "-c"]
CMD ["", ""]
ENTRYPOINT [""]
