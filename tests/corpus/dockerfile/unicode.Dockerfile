FROM alpine
LABEL emoji=😀 ankh=☥ accent=é
RUN echo "nbsp[ ]"
RUN echo "zwsp[​]"
RUN echo "bom[﻿]"
RUN echo "ls[ ]"
RUN echo "nel[]"
RUN echo "del[]"
RUN echo "bell[]" "esc[]"
ENV ZW=a​b
CMD ["😀", "\u00a0", "\ufeff"]
RUN echo "bad[�]" "trunc[�]"
RUN echo "wide[𝔘]" "tag[󠀁]"
RUN echo trailing 
RUN echo ideographic　
 RUN echo leading-nbsp
ARG a b c d
