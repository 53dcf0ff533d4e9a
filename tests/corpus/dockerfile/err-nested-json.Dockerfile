FROM busybox
CMD [ "echo", [ "nested json" ] ]
