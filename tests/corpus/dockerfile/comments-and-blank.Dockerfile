# leading comment
   # indented comment

FROM busybox # not a comment
RUN echo hi \
    # comment inside
    && echo there
RUN echo \
\
    done
#RUN commented out
RUN echo '#' "# x" \# 
	# tab-indented comment
RUN echo end # trailing
