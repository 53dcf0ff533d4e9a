#include "config.h"

#include "common/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void __attribute__((noreturn))
out_of_memory(void)
{
  static const char msg[] = "cbuild: fatal: out of memory\n";

  fwrite(msg, 1, sizeof(msg) - 1, stderr);
  abort();
}

void *
cb_xmalloc(size_t size)
{
  void *p = malloc(size ? size : 1);

  if (p == NULL)
    out_of_memory();
  return p;
}

void *
cb_xcalloc(size_t nmemb, size_t size)
{
  void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

  if (p == NULL)
    out_of_memory();
  return p;
}

void *
cb_xrealloc(void *ptr, size_t size)
{
  void *p = realloc(ptr, size ? size : 1);

  if (p == NULL)
    out_of_memory();
  return p;
}

void *
cb_xreallocarray(void *ptr, size_t nmemb, size_t size)
{
  size_t total;

  if (__builtin_mul_overflow(nmemb, size, &total))
    out_of_memory();
  return cb_xrealloc(ptr, total);
}

char *
cb_xstrdup(const char *s)
{
  char *p = strdup(s);

  if (p == NULL)
    out_of_memory();
  return p;
}

char *
cb_xstrndup(const char *s, size_t n)
{
  char *p = strndup(s, n);

  if (p == NULL)
    out_of_memory();
  return p;
}

char *
cb_xvasprintf(const char *fmt, va_list ap)
{
  char *p = NULL;

  if (vasprintf(&p, fmt, ap) < 0)
    out_of_memory();
  return p;
}

char *
cb_xasprintf(const char *fmt, ...)
{
  va_list ap;
  char *p;

  va_start(ap, fmt);
  p = cb_xvasprintf(fmt, ap);
  va_end(ap);
  return p;
}

void
cb_grow(void **arr, size_t *alloc, size_t need, size_t size)
{
  size_t n = *alloc;

  if (need <= n)
    return;
  if (n < 8)
    n = 8;
  while (n < need) {
    if (__builtin_mul_overflow(n, 2, &n))
      out_of_memory();
  }
  *arr = cb_xreallocarray(*arr, n, size);
  *alloc = n;
}

void
cb_strv_free(char **v)
{
  if (v == NULL)
    return;
  for (char **p = v; *p != NULL; p++)
    free(*p);
  free(v);
}

size_t
cb_strv_len(char *const *v)
{
  size_t n = 0;

  while (v != NULL && v[n] != NULL)
    n++;
  return n;
}

char **
cb_strv_dup(char *const *v)
{
  size_t n = v != NULL ? cb_strv_len(v) : 0;
  char **out = cb_xcalloc(n + 1, sizeof(char *));

  for (size_t i = 0; i < n; i++)
    out[i] = cb_xstrdup(v[i]);
  return out;
}

void
cb_strv_wipe_free(char **v)
{
  for (size_t i = 0; v != NULL && v[i] != NULL; i++)
    explicit_bzero(v[i], strlen(v[i]));
  cb_strv_free(v);
}

void
cb_strv_push(char ***v, size_t *n, char *s)
{
  *v = cb_xreallocarray(*v, *n + 2, sizeof(char *));
  (*v)[(*n)++] = s;
  (*v)[*n] = NULL;
}
