/* The one error convention of cbuild.
 *
 * A function that can fail takes `struct cb_error **err` as its last
 * parameter and returns -1 (or NULL) after setting *err exactly once.  On
 * success *err is left alone.  Callers either pass the error up unchanged or
 * add context with cb_wrap(), which prefixes the message: "outer: inner".
 * Only cli/ prints errors and picks exit codes (cb_error_exit_code()).  */
#ifndef CBUILD_COMMON_ERROR_H
#define CBUILD_COMMON_ERROR_H

#include <stdarg.h>

#define CB_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

enum cb_err_kind {
  CB_ERR_SYSTEM = 1, /* errnum says what went wrong */
  CB_ERR_USAGE,      /* bad command line or option */
  CB_ERR_PARSE,      /* Dockerfile, JSON, tar header */
  CB_ERR_UNSAFE,     /* input tried to leave its root or broke a limit */
  CB_ERR_DIGEST,     /* content does not match its digest */
  CB_ERR_REGISTRY,   /* the registry refused or misbehaved */
  CB_ERR_STEP,       /* a RUN step exited non-zero */
  CB_ERR_UNSUPPORTED /* a feature that is not available (yet, or here) */
};

struct cb_error {
  enum cb_err_kind kind;
  int errnum; /* errno value, 0 when not a system error */
  char *msg;  /* "outer: inner: innermost", owned */
};

/* Create *err of KIND from a printf-style message.  ERRNUM is an errno value
   or 0; the printer appends strerror(errnum) once.  Returns -1.  If *err is
   already set (a caller bug), the old error is kept and the new one is
   dropped, so the innermost cause survives.  */
int cb_fail(struct cb_error **err, enum cb_err_kind kind, int errnum,
            const char *fmt, ...) CB_PRINTF(4, 5);

/* Prefix the message of *err with a printf-style context and ": ".
   Returns -1.  With *err NULL (nothing failed) it creates a CB_ERR_SYSTEM
   error with the context alone, so a missing cb_fail is still reported.  */
int cb_wrap(struct cb_error **err, const char *fmt, ...) CB_PRINTF(2, 3);

#define cb_fail_errno(err, ...) cb_fail((err), CB_ERR_SYSTEM, errno, __VA_ARGS__)

/* Like cb_fail() and cb_wrap(), for functions that return a pointer.  */
#define cb_fail_null(...) (cb_fail(__VA_ARGS__), NULL)
#define cb_wrap_null(...) (cb_wrap(__VA_ARGS__), NULL)

/* The full message: msg, then ": strerror(errnum)" when errnum is set.
   Returns a new string the caller frees.  */
char *cb_error_text(const struct cb_error *err);

/* Exit status for an error: usage and parse errors give 2, everything
   else 1.  */
int cb_error_exit_code(const struct cb_error *err);

/* Free ERR; a no-op on NULL.  */
void cb_error_free(struct cb_error *err);
void cb_error_freep(struct cb_error **errp);
#define cleanup_error __attribute__((cleanup(cb_error_freep)))

#endif
