#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/mem.h"
#include "common/unicode.h"
#include "parser/parser-internal.h"
#include "common/banned.h"

/* A strict JSON reader for what exec form needs: one array of strings.
   Nested values are validated but not kept.  Nesting is iterative with a
   bound, so hostile input cannot exhaust the stack.  */

/* Go's encoding/json refuses more than this many nested arrays and
   objects, the top-level array included.  */
#define JSON_MAX_DEPTH 10000

struct json_in {
  const char *p;
};

static void
skip_ws(struct json_in *in)
{
  while (*in->p == ' ' || *in->p == '\t' || *in->p == '\n' || *in->p == '\r')
    in->p++;
}

static int
hex4(const char *p, uint32_t *v)
{
  *v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    int d;

    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return -1;
    *v = (*v << 4) | (uint32_t)d;
  }
  return 0;
}

static void
put_rune(struct cb_buf *out, uint32_t cp)
{
  char enc[4];

  if (cp == 0) {
    cb_buf_adds(out, DF_JSON_NUL);
    return;
  }
  cb_buf_add(out, enc, cb_utf8_encode(cp, enc));
}

/* After "\u": decode one escape, joining a surrogate pair when the next
   escape completes it; a lone surrogate becomes U+FFFD.  */
static int
read_u_escape(struct json_in *in, struct cb_buf *out)
{
  uint32_t cp, lo;

  if (hex4(in->p, &cp) < 0)
    return -1;
  in->p += 4;
  if (cp >= 0xD800 && cp <= 0xDFFF) {
    if (cp < 0xDC00 && in->p[0] == '\\' && in->p[1] == 'u' &&
        hex4(in->p + 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
      in->p += 6;
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    } else {
      cp = CB_RUNE_ERROR;
    }
  }
  put_rune(out, cp);
  return 0;
}

static int
read_escape(struct json_in *in, struct cb_buf *out)
{
  char c = *in->p++;

  switch (c) {
  case '"':
  case '\\':
  case '/':
    cb_buf_addc(out, c);
    return 0;
  case 'b':
    cb_buf_addc(out, '\b');
    return 0;
  case 'f':
    cb_buf_addc(out, '\f');
    return 0;
  case 'n':
    cb_buf_addc(out, '\n');
    return 0;
  case 'r':
    cb_buf_addc(out, '\r');
    return 0;
  case 't':
    cb_buf_addc(out, '\t');
    return 0;
  case 'u':
    return read_u_escape(in, out);
  default:
    return -1;
  }
}

/* At the opening quote.  OUT may be NULL to validate only.  */
static int
read_string(struct json_in *in, struct cb_buf *out)
{
  struct cb_buf scratch = CB_BUF_INIT;
  struct cb_buf *o = out != NULL ? out : &scratch;
  int rc = -1;

  in->p++;
  for (;;) {
    unsigned char c = (unsigned char)*in->p;
    uint32_t cp;
    size_t w;

    if (c == '"') {
      in->p++;
      rc = 0;
      break;
    }
    if (c < 0x20) /* raw control characters, and the end of input */
      break;
    if (c == '\\') {
      in->p++;
      if (read_escape(in, o) < 0)
        break;
      continue;
    }
    /* At most one sequence ahead: the whole rest would make long
       strings quadratic (the decoder stops at the NUL anyway).  */
    w = cb_utf8_decode(in->p, strnlen(in->p, 4), &cp);
    if (cp == CB_UTF8_INVALID)
      put_rune(o, CB_RUNE_ERROR);
    else
      cb_buf_add(o, in->p, w);
    in->p += w;
  }
  cb_buf_release(&scratch);
  return rc;
}

static int
read_literal(struct json_in *in)
{
  static const char *const words[] = { "true", "false", "null" };

  for (size_t i = 0; i < CB_N_ELEMENTS(words); i++) {
    size_t n = strlen(words[i]);

    if (strncmp(in->p, words[i], n) == 0) {
      in->p += n;
      return 0;
    }
  }
  return -1;
}

static int
read_digits(struct json_in *in)
{
  const char *start = in->p;

  while (*in->p >= '0' && *in->p <= '9')
    in->p++;
  return in->p > start ? 0 : -1;
}

static int
read_number(struct json_in *in)
{
  if (*in->p == '-')
    in->p++;
  if (*in->p == '0')
    in->p++;
  else if (read_digits(in) < 0)
    return -1;
  if (*in->p == '.') {
    in->p++;
    if (read_digits(in) < 0)
      return -1;
  }
  if (*in->p == 'e' || *in->p == 'E') {
    in->p++;
    if (*in->p == '+' || *in->p == '-')
      in->p++;
    if (read_digits(in) < 0)
      return -1;
  }
  return 0;
}

static int
read_scalar(struct json_in *in)
{
  char c = *in->p;

  if (c == '"')
    return read_string(in, NULL);
  if (c == '-' || (c >= '0' && c <= '9'))
    return read_number(in);
  return read_literal(in);
}

/* An object key and its colon.  */
static int
read_key(struct json_in *in)
{
  skip_ws(in);
  if (*in->p != '"' || read_string(in, NULL) < 0)
    return -1;
  skip_ws(in);
  if (*in->p != ':')
    return -1;
  in->p++;
  return 0;
}

/* After a value: close finished containers.  Returns 1 when the outermost
   value is complete, 0 when another value follows (after a comma), -1 on
   a syntax error.  */
static int
after_value(struct json_in *in, const char *stack, size_t *depth)
{
  while (*depth > 0) {
    skip_ws(in);
    if (*in->p == stack[*depth - 1]) {
      in->p++;
      (*depth)--;
      continue;
    }
    if (*in->p != ',')
      return -1;
    in->p++;
    if (stack[*depth - 1] == '}' && read_key(in) < 0)
      return -1;
    return 0;
  }
  return 1;
}

/* Validate one value of any type.  Containers are walked with an explicit
   stack of their closing characters, not by recursion.  */
static int
skip_value(struct json_in *in)
{
  cleanup_free char *stack = NULL;
  size_t depth = 0, alloc = 0;

  for (;;) {
    char c;
    int rc;

    skip_ws(in);
    c = *in->p;
    if (c == '[' || c == '{') {
      if (depth + 1 >= JSON_MAX_DEPTH) /* + 1: the top-level array */
        return -1;
      CB_GROW(stack, alloc, depth + 1);
      stack[depth++] = c == '[' ? ']' : '}';
      in->p++;
      skip_ws(in);
      if (*in->p != stack[depth - 1]) {
        if (c == '{' && read_key(in) < 0)
          return -1;
        continue;
      }
      in->p++;
      depth--;
    } else if (read_scalar(in) < 0) {
      return -1;
    }
    rc = after_value(in, stack, &depth);
    if (rc != 0)
      return rc < 0 ? -1 : 0;
  }
}

/* Read the top-level array.  Returns 1 with *OUT set, 0 for a syntax
   error, or 2 when valid but some element is not a string.  */
static int
read_array(struct json_in *in, char ***out)
{
  cleanup_strv char **v = NULL;
  size_t n = 0, alloc = 0;
  bool all_strings = true;

  in->p++;
  skip_ws(in);
  CB_GROW(v, alloc, 1);
  v[0] = NULL;
  if (*in->p == ']') {
    in->p++;
    *out = steal_ptr(&v);
    return 1;
  }
  for (;;) {
    skip_ws(in);
    if (*in->p == '"') {
      struct cb_buf s = CB_BUF_INIT;

      if (read_string(in, &s) < 0) {
        cb_buf_release(&s);
        return 0;
      }
      CB_GROW(v, alloc, n + 2);
      v[n++] = cb_buf_detach(&s, NULL);
      v[n] = NULL;
    } else {
      if (skip_value(in) < 0)
        return 0;
      all_strings = false;
    }
    skip_ws(in);
    if (*in->p == ']') {
      in->p++;
      break;
    }
    if (*in->p != ',')
      return 0;
    in->p++;
  }
  if (!all_strings)
    return 2;
  *out = steal_ptr(&v);
  return 1;
}

int
df_json_string_array(const char *s, char ***out, struct cb_error **err)
{
  struct json_in in = { s };
  char **v = NULL;
  int rc;

  while (*in.p != '\0') {
    size_t w;

    if (!df_is_space_at(in.p, strlen(in.p), &w))
      break;
    in.p += w;
  }
  if (*in.p != '[')
    return 0;
  rc = read_array(&in, &v);
  if (rc == 0)
    return 0;
  skip_ws(&in);
  if (*in.p != '\0') { /* trailing text: not one JSON value */
    cb_strv_free(v);
    return 0;
  }
  if (rc == 2)
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "JSON array must contain only strings");
  *out = v;
  return 1;
}
