#include "config.h"

#include "parser/ignore.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/unicode.h"

#include "common/banned.h"

/* A byte that is not valid UTF-8 is one character of its own.  Keeping it
   apart from every real code point (and from other bytes) means literal
   text compares byte for byte, as Docker compares plain patterns.  */
#define INVALID_BYTE_BASE 0x110000u

/* Decode one character of S (N > 0 bytes left) into *C.  */
static size_t
next_char(const char *s, size_t n, uint32_t *c)
{
  size_t len = cb_utf8_decode(s, n, c);

  if (*c == CB_UTF8_INVALID)
    *c = INVALID_BYTE_BASE + (unsigned char)s[0];
  return len;
}

/* Go's strings.TrimSpace: Unicode White_Space at both ends.  */
static void
trim_space(const char **s, size_t *n)
{
  const char *p = *s;
  size_t len = *n;
  size_t end = 0;
  uint32_t c;

  while (len > 0) {
    size_t k = next_char(p, len, &c);

    if (!cb_unicode_is_space(c))
      break;
    p += k;
    len -= k;
  }
  for (size_t i = 0; i < len;) {
    i += next_char(p + i, len - i, &c);
    if (!cb_unicode_is_space(c))
      end = i;
  }
  *s = p;
  *n = end;
}

/* Drop the last element of OUT, but not below DOTDOT (the part that is
   the root or a run of leading "..").  */
static void
drop_last_element(struct cb_buf *out, size_t dotdot)
{
  size_t w = out->len - 1;

  while (w > dotdot && out->data[w] != '/')
    w--;
  cb_buf_truncate(out, w);
}

/* Go's path.Clean, purely lexical: "//" -> "/", "." elements removed,
   "x/.." removed, ".." at the root removed, no trailing '/', "" -> ".".
   Docker cleans patterns and paths this way before matching.  */
static char *
clean_path(const char *s, size_t n)
{
  struct cb_buf out = CB_BUF_INIT;
  bool rooted = n > 0 && s[0] == '/';
  size_t dotdot = rooted ? 1 : 0;

  if (rooted)
    cb_buf_addc(&out, '/');
  for (size_t r = 0; r < n;) {
    const char *e = memchr(s + r, '/', n - r);
    size_t len = e != NULL ? (size_t)(e - (s + r)) : n - r;

    if (len == 0 || (len == 1 && s[r] == '.')) {
      /* an empty or "." element says nothing */
    } else if (len == 2 && s[r] == '.' && s[r + 1] == '.') {
      if (out.len > dotdot) {
        drop_last_element(&out, dotdot);
      } else if (!rooted) {
        if (out.len > 0)
          cb_buf_addc(&out, '/');
        cb_buf_adds(&out, "..");
        dotdot = out.len;
      }
    } else {
      if (out.len > (rooted ? 1u : 0u))
        cb_buf_addc(&out, '/');
      cb_buf_add(&out, s + r, len);
    }
    r += len + 1;
  }
  if (out.len == 0)
    cb_buf_addc(&out, '.');
  return cb_buf_detach(&out, NULL);
}

/* One .dockerignore line (without '\n', '\r' or BOM) as a pattern, or
   NULL when the line holds none.  */
static char *
parse_line(const char *line, size_t n)
{
  cleanup_free char *body = NULL;
  bool exception;

  /* A comment is recognized before trimming: "  # x" is a pattern.  */
  if (n > 0 && line[0] == '#')
    return NULL;
  trim_space(&line, &n);
  if (n == 0)
    return NULL;
  exception = line[0] == '!';
  if (exception) {
    line++;
    n--;
    trim_space(&line, &n);
  }
  if (n > 0) {
    body = clean_path(line, n);
    /* Patterns are relative to the context: "/foo" means "foo".  */
    if (body[0] == '/' && body[1] != '\0')
      memmove(body, body + 1, strlen(body));
  } else {
    body = cb_xstrdup("");
  }
  if (exception)
    return cb_xasprintf("!%s", body);
  return steal_ptr(&body);
}

static void
strv_push(char ***v, size_t *n, size_t *alloc, char *s)
{
  CB_GROW(*v, *alloc, *n + 2);
  (*v)[(*n)++] = s;
  (*v)[*n] = NULL;
}

/* Split off the next line of TEXT at *POS (LEN bytes in all).  */
static size_t
next_line(const char *text, size_t len, size_t *pos, const char **line)
{
  const char *start = text + *pos;
  const char *nl = memchr(start, '\n', len - *pos);
  size_t n = nl != NULL ? (size_t)(nl - start) : len - *pos;

  *pos += n + (nl != NULL ? 1 : 0);
  *line = start;
  return n;
}

char **
dockerignore_parse(const char *text, size_t len, struct cb_error **err)
{
  cleanup_strv char **v = cb_xcalloc(1, sizeof(*v));
  size_t n = 0, alloc = 1;
  size_t lineno = 0;

  if (len > CB_MAX_DOCKERFILE_SIZE)
    return cb_fail_null(err, CB_ERR_UNSAFE, 0,
                        ".dockerignore is larger than %u bytes",
                        CB_MAX_DOCKERFILE_SIZE);
  for (size_t pos = 0; pos < len;) {
    const char *line;
    size_t ln = next_line(text, len, &pos, &line);
    char *pattern;

    lineno++;
    if (ln >= CB_MAX_DOCKERFILE_LINE)
      return cb_fail_null(err, CB_ERR_UNSAFE, 0,
                          "line %zu: longer than %u bytes", lineno,
                          CB_MAX_DOCKERFILE_LINE - 1);
    if (memchr(line, '\0', ln) != NULL)
      return cb_fail_null(err, CB_ERR_PARSE, 0, "line %zu: NUL byte", lineno);
    if (ln > 0 && line[ln - 1] == '\r')
      ln--;
    if (lineno == 1 && ln >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
      line += 3;
      ln -= 3;
    }
    pattern = parse_line(line, ln);
    if (pattern != NULL)
      strv_push(&v, &n, &alloc, pattern);
  }
  return steal_ptr(&v);
}
