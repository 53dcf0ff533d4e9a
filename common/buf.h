/* A growable byte buffer, always NUL-terminated (git's strbuf, smaller).
   `struct cb_buf b = CB_BUF_INIT;` needs no allocation until used.  */
#ifndef CBUILD_COMMON_BUF_H
#define CBUILD_COMMON_BUF_H

#include <stddef.h>

#include "common/error.h"

struct cb_buf {
  char *data; /* owned; NULL until something is added */
  size_t len;
  size_t alloc;
};
#define CB_BUF_INIT { NULL, 0, 0 }

void cb_buf_add(struct cb_buf *b, const void *data, size_t len);
void cb_buf_addc_slow(struct cb_buf *b, char c);
void cb_buf_adds(struct cb_buf *b, const char *s);
void cb_buf_addf(struct cb_buf *b, const char *fmt, ...) CB_PRINTF(2, 3);
/* Make room for N more bytes beyond len (plus the NUL).  */
void cb_buf_reserve(struct cb_buf *b, size_t n);
void cb_buf_truncate(struct cb_buf *b, size_t len);
/* The contents as a C string; "" for an empty buffer.  Borrowed until the
   next change to B.  */
const char *cb_buf_str(const struct cb_buf *b);

/* Add one byte; inline because parsers add text a character at a time. */
static inline void
cb_buf_addc(struct cb_buf *b, char c)
{
  if (b->len + 1 < b->alloc) {
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
    return;
  }
  cb_buf_addc_slow(b, c);
}
/* Hand the contents to the caller (never NULL) and reset B.  */
char *cb_buf_detach(struct cb_buf *b, size_t *len);
void cb_buf_release(struct cb_buf *b);
void cb_buf_releasep(struct cb_buf *b);
#define cleanup_buf __attribute__((cleanup(cb_buf_releasep)))

#endif
