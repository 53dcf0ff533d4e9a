FROM busybox
CMD ["a\"b", "c\\d", "\/e", "\u00e9", "\ud83d\ude00", "\ud800", "\u0000", "tab\there"]
ENTRYPOINT ['single', 'quotes']
RUN ["unterminated"
RUN ["trailing"] text
COPY ["src with space", "/dst/"]
ADD ["a", "b"] 
CMD [ "a" , "b" ]
RUN [ ]
RUN ["\u00A0"]
CMD ["\ud83d\u0041", "\udc00"]
RUN ["rawÿbyte"]
RUN ["a",
 "b"]
