/* A small TAP producer for the C unit tests (meson runs them with
   protocol: 'tap').  Header-only: each test is one executable.  */
#ifndef CBUILD_TESTS_TAP_H
#define CBUILD_TESTS_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n;
static int tap_failed;

static inline void __attribute__((format(printf, 2, 0)))
tap_vresult(bool pass, const char *fmt, va_list ap)
{
  char *desc = NULL;

  tap_n++;
  if (!pass)
    tap_failed++;
  printf("%s %d - ", pass ? "ok" : "not ok", tap_n);
  /* A description is one TAP line: newlines in it are shown as \n.  */
  if (vasprintf(&desc, fmt, ap) >= 0) {
    for (const char *p = desc; *p != '\0'; p++) {
      if (*p == '\n')
        fputs("\\n", stdout);
      else
        putchar(*p);
    }
    free(desc);
  }
  printf("\n");
  fflush(stdout);
}

static inline bool __attribute__((format(printf, 2, 3)))
ok(bool pass, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  tap_vresult(pass, fmt, ap);
  va_end(ap);
  return pass;
}

static inline bool __attribute__((format(printf, 3, 4)))
is_int(long long got, long long want, const char *fmt, ...)
{
  va_list ap;
  bool pass = got == want;

  va_start(ap, fmt);
  tap_vresult(pass, fmt, ap);
  va_end(ap);
  if (!pass)
    printf("#   got: %lld\n#  want: %lld\n", got, want);
  return pass;
}

static inline bool __attribute__((format(printf, 3, 4)))
is_str(const char *got, const char *want, const char *fmt, ...)
{
  va_list ap;
  bool pass = got != NULL && want != NULL ? strcmp(got, want) == 0
                                          : got == want;

  va_start(ap, fmt);
  tap_vresult(pass, fmt, ap);
  va_end(ap);
  if (!pass)
    printf("#   got: '%s'\n#  want: '%s'\n", got ? got : "(null)",
           want ? want : "(null)");
  return pass;
}

static inline void __attribute__((format(printf, 1, 2)))
diag(const char *fmt, ...)
{
  va_list ap;

  printf("# ");
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
}

static inline void __attribute__((format(printf, 2, 3)))
skip(int n, const char *fmt, ...)
{
  va_list ap;

  for (int i = 0; i < n; i++) {
    tap_n++;
    printf("ok %d # SKIP ", tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
  }
}

static inline int
done_testing(void)
{
  printf("1..%d\n", tap_n);
  return tap_failed == 0 ? 0 : 1;
}

#endif
