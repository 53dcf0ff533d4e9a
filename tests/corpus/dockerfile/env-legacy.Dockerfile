FROM alpine
ENV A hello world   
ENV B "quoted value"  
ENV C 'single'\ quoted
ENV D	tab	separated
LABEL L multi word "label"
ENV E=1 F="two words" G='x y' H=a\ b I=
ENV J ""
ENV K  two  spaces
LABEL "com.example.vendor"="ACME Inc" version=1.0
