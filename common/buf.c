#include "config.h"

#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

void
cb_buf_reserve(struct cb_buf *b, size_t n)
{
  size_t need;

  if (__builtin_add_overflow(b->len, n, &need) ||
      __builtin_add_overflow(need, 1, &need))
    abort();
  CB_GROW(b->data, b->alloc, need);
  /* The first allocation must already read as "": callers such as
     cb_read_all() reserve, then may add nothing.  */
  b->data[b->len] = '\0';
}

void
cb_buf_add(struct cb_buf *b, const void *data, size_t len)
{
  cb_buf_reserve(b, len);
  if (len > 0)
    memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
}

void
cb_buf_addc_slow(struct cb_buf *b, char c)
{
  cb_buf_add(b, &c, 1);
}

void
cb_buf_adds(struct cb_buf *b, const char *s)
{
  cb_buf_add(b, s, strlen(s));
}

void
cb_buf_addf(struct cb_buf *b, const char *fmt, ...)
{
  va_list ap;
  int n;

  cb_buf_reserve(b, 64);
  va_start(ap, fmt);
  n = vsnprintf(b->data + b->len, b->alloc - b->len, fmt, ap);
  va_end(ap);
  if (n < 0)
    abort();
  if ((size_t)n >= b->alloc - b->len) {
    cb_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, b->alloc - b->len, fmt, ap);
    va_end(ap);
  }
  b->len += (size_t)n;
}

void
cb_buf_truncate(struct cb_buf *b, size_t len)
{
  if (len < b->len) {
    b->len = len;
    b->data[len] = '\0';
  }
}

const char *
cb_buf_str(const struct cb_buf *b)
{
  return b->data != NULL ? b->data : "";
}

char *
cb_buf_detach(struct cb_buf *b, size_t *len)
{
  char *r;

  if (b->data == NULL)
    cb_buf_reserve(b, 0);
  r = b->data;
  if (len != NULL)
    *len = b->len;
  b->data = NULL;
  b->len = b->alloc = 0;
  return r;
}

void
cb_buf_release(struct cb_buf *b)
{
  free(b->data);
  b->data = NULL;
  b->len = b->alloc = 0;
}

void
cb_buf_releasep(struct cb_buf *b)
{
  cb_buf_release(b);
}
