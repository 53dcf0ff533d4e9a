#include "config.h"

#include "common/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

int
cb_fail(struct cb_error **err, enum cb_err_kind kind, int errnum,
        const char *fmt, ...)
{
  struct cb_error *e;
  va_list ap;

  if (err == NULL || *err != NULL)
    return -1;
  e = cb_xmalloc(sizeof(*e));
  e->kind = kind;
  e->errnum = errnum;
  va_start(ap, fmt);
  e->msg = cb_xvasprintf(fmt, ap);
  va_end(ap);
  *err = e;
  return -1;
}

int
cb_wrap(struct cb_error **err, const char *fmt, ...)
{
  char *ctx;
  char *msg;
  va_list ap;

  if (err == NULL)
    return -1;
  va_start(ap, fmt);
  ctx = cb_xvasprintf(fmt, ap);
  va_end(ap);
  if (*err == NULL) {
    cb_fail(err, CB_ERR_SYSTEM, 0, "%s", ctx);
    free(ctx);
    return -1;
  }
  msg = cb_xasprintf("%s: %s", ctx, (*err)->msg);
  free(ctx);
  free((*err)->msg);
  (*err)->msg = msg;
  return -1;
}

char *
cb_error_text(const struct cb_error *err)
{
  if (err == NULL)
    return cb_xstrdup("unknown error");
  if (err->errnum != 0)
    return cb_xasprintf("%s: %s", err->msg, strerror(err->errnum));
  return cb_xstrdup(err->msg);
}

int
cb_error_exit_code(const struct cb_error *err)
{
  if (err != NULL && (err->kind == CB_ERR_USAGE || err->kind == CB_ERR_PARSE))
    return 2;
  return 1;
}

void
cb_error_free(struct cb_error *err)
{
  if (err == NULL)
    return;
  free(err->msg);
  free(err);
}

void
cb_error_freep(struct cb_error **errp)
{
  cb_error_free(*errp);
  *errp = NULL;
}
