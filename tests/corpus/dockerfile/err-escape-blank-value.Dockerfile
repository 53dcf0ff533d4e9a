# escape= 
FROM busybox
