#include "config.h"

#include <string.h>

#include "common/unicode.h"
#include "parser/dockerfile.h"
#include "parser/parser-internal.h"
#include "common/banned.h"

/* The dump format of BuildKit's parser tests (Node.Dump), with Go's
   strconv.Quote for every string.  */

static void
quote_rune(struct cb_buf *out, uint32_t cp, const char *raw, size_t w)
{
  static const char hex[] = "0123456789abcdef";

  switch (cp) {
  case '"':
    cb_buf_adds(out, "\\\"");
    return;
  case '\\':
    cb_buf_adds(out, "\\\\");
    return;
  case '\a':
    cb_buf_adds(out, "\\a");
    return;
  case '\b':
    cb_buf_adds(out, "\\b");
    return;
  case '\f':
    cb_buf_adds(out, "\\f");
    return;
  case '\n':
    cb_buf_adds(out, "\\n");
    return;
  case '\r':
    cb_buf_adds(out, "\\r");
    return;
  case '\t':
    cb_buf_adds(out, "\\t");
    return;
  case '\v':
    cb_buf_adds(out, "\\v");
    return;
  }
  if (cb_unicode_is_print(cp)) {
    cb_buf_add(out, raw, w);
  } else if (cp < 0x80) {
    cb_buf_addf(out, "\\x%c%c", hex[cp >> 4], hex[cp & 15]);
  } else if (cp <= 0xFFFF) {
    cb_buf_addf(out, "\\u%04x", (unsigned)cp);
  } else {
    cb_buf_addf(out, "\\U%08x", (unsigned)cp);
  }
}

static void
quote_with(struct cb_buf *out, const char *s, bool json)
{
  size_t n = strlen(s);

  cb_buf_addc(out, '"');
  while (n > 0) {
    uint32_t cp;
    size_t w;

    if (json && n >= 2 && memcmp(s, DF_JSON_NUL, 2) == 0) {
      cb_buf_adds(out, "\\x00");
      s += 2;
      n -= 2;
      continue;
    }
    w = cb_utf8_decode(s, n, &cp);
    if (cp == CB_UTF8_INVALID)
      cb_buf_addf(out, "\\x%02x", (unsigned char)*s);
    else
      quote_rune(out, cp, s, w);
    s += w;
    n -= w;
  }
  cb_buf_addc(out, '"');
}

void
df_quote(struct cb_buf *out, const char *s)
{
  quote_with(out, s, false);
}

/* A space before each part but the first after the '(' at OPEN: upstream
   trims the line, which matters when the keyword is empty (a lone escape
   line at the end of the file gives the node ("")).  */
static void
add_sep(struct cb_buf *out, size_t open)
{
  if (out->len > open)
    cb_buf_addc(out, ' ');
}

static void
dump_node(const struct df_node *node, struct cb_buf *out)
{
  size_t open;

  cb_buf_addc(out, '(');
  open = out->len;
  cb_buf_adds(out, node->keyword);
  if (node->nflags > 0) {
    add_sep(out, open);
    cb_buf_addc(out, '[');
    for (size_t i = 0; i < node->nflags; i++) {
      if (i > 0)
        cb_buf_addc(out, ' ');
      df_quote(out, node->flags[i]);
    }
    cb_buf_addc(out, ']');
  }
  if (node->inner != NULL) {
    add_sep(out, open);
    dump_node(node->inner, out);
  }
  for (size_t i = 0; i < node->nargs; i++) {
    /* HEALTHCHECK's type word is never from JSON, even when the command
       after it is: raw C0 80 there is two invalid bytes, not a NUL.  */
    bool json = node->json && !(i == 0 && !strcmp(node->keyword,
                                                  "healthcheck"));

    add_sep(out, open);
    quote_with(out, node->args[i], json);
  }
  cb_buf_addc(out, ')');
}

void
dockerfile_dump(const struct dockerfile *df, struct cb_buf *out)
{
  for (size_t i = 0; i < df->nnodes; i++) {
    dump_node(&df->nodes[i], out);
    cb_buf_addc(out, '\n');
  }
}
