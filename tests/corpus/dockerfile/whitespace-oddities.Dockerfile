FROM	a
RUN	echo	tab
RUNecho vt
RUNecho ff
RUN 	   echo mixed 	 
   RUN indented
	CMD tabbed
EXPOSE 80	44380809090
EXPOSE 12
FROM a AS b
RUN x
USER  me  
WORKDIR   /a b  
STOPSIGNAL 9
MAINTAINER  a　b　
ARG a b
COPY	--chown=1	a	b
RUNvt-ff-lead
