FROM busybox
RUN foo\\
RUN bar\\\
RUN a\
b
RUN a \
  b \
  c
RUN lone \
\
\
  end
RUN trailing-blanks \  	
  x
# comment \
RUN after-comment
RUN empty-lines \

  x
RUN comment-lines \
# one
  # two
  x
