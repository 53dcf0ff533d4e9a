#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/mem.h"
#include "common/unicode.h"
#include "parser/dockerfile.h"
#include "parser/parser-internal.h"
#include "common/banned.h"

/* One instruction text -> keyword, flags and arguments, with the rules of
   BuildKit's parser (splitCommand and its per-keyword argument parsers).
   Nothing here is rejected for being unknown: that is the instruction
   layer's job.  */

bool
df_is_space_at(const char *s, size_t n, size_t *width)
{
  uint32_t cp;

  if ((unsigned char)*s < 0x80) {
    *width = 1;
    return *s == ' ' || (*s >= '\t' && *s <= '\r');
  }
  *width = cb_utf8_decode(s, n, &cp);
  return cp != CB_UTF8_INVALID && cb_unicode_is_space(cp);
}

/* BuildKit's flag reader and HEALTHCHECK splitter look at single bytes
   and take each as a code point (so 0x85 and 0xA0 count as spaces).  */
static bool
byte_is_space(char c)
{
  return cb_unicode_is_space((unsigned char)c);
}

/* Go's regexp [\t\v\f\r ] used to split commands and arguments.  */
static bool
is_sep(char c)
{
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

char *
df_trim_space(const char *s)
{
  size_t len = strlen(s), start = 0, end = len, w;

  while (start < len && df_is_space_at(s + start, len - start, &w))
    start += w;
  while (end > start) {
    size_t back = 1;
    uint32_t cp;

    /* Step back over one UTF-8 sequence.  */
    while (back < 4 && end - back > start &&
           ((unsigned char)s[end - back] & 0xC0) == 0x80)
      back++;
    if (cb_utf8_decode(s + end - back, back, &cp) != back ||
        cp == CB_UTF8_INVALID || !cb_unicode_is_space(cp))
      break;
    end -= back;
  }
  return cb_xstrndup(s + start, end - start);
}

struct strv {
  char **v;
  size_t n;
  size_t alloc;
};

static void
strv_push(struct strv *sv, char *s)
{
  CB_GROW(sv->v, sv->alloc, sv->n + 2);
  sv->v[sv->n++] = s;
  sv->v[sv->n] = NULL;
}

/* The NULL-terminated array, never NULL; SV is reset.  */
static char **
strv_finish(struct strv *sv)
{
  char **v;

  if (sv->v == NULL) {
    CB_GROW(sv->v, sv->alloc, 1);
    sv->v[0] = NULL;
  }
  v = cb_xreallocarray(sv->v, sv->n + 1, sizeof(*v)); /* exact size */
  sv->v = NULL;
  sv->n = sv->alloc = 0;
  return v;
}

static void
strv_release(struct strv *sv)
{
  for (size_t i = 0; i < sv->n; i++)
    free(sv->v[i]);
  free(sv->v);
  sv->v = NULL;
  sv->n = sv->alloc = 0;
}

/* Add the code point for byte C as Go's string(rune(c)) would: bytes
   above 0x7F become two-byte UTF-8 (Latin-1).  */
static void
add_latin1(struct cb_buf *b, unsigned char c)
{
  char enc[4];

  if (c < 0x80) {
    cb_buf_addc(b, (char)c);
    return;
  }
  cb_buf_add(b, enc, cb_utf8_encode(c, enc));
}

enum phase { IN_SPACES, IN_WORD, IN_QUOTE };

struct flag_reader {
  const char *line;
  size_t len;
  char escape;
  struct strv *flags;
  struct cb_buf word;
  bool blank_ok;
};

static void
flag_end_word(struct flag_reader *fr)
{
  if (fr->blank_ok || fr->word.len > 0)
    strv_push(fr->flags, cb_buf_detach(&fr->word, NULL));
  cb_buf_truncate(&fr->word, 0);
  fr->blank_ok = false;
}

/* Read leading "--flag" words of LINE into FLAGS; return the offset of the
   rest.  Quotes are removed and the escape character keeps the next byte
   literally; a word "--" ends the flags and is dropped.  */
static size_t
read_flags(struct flag_reader *fr)
{
  enum phase phase = IN_SPACES;
  char quote = 0;

  for (size_t pos = 0; pos <= fr->len; pos++) {
    char c = pos < fr->len ? fr->line[pos] : '\0';

    if (phase == IN_SPACES) {
      if (pos == fr->len)
        return pos;
      if (byte_is_space(c))
        continue;
      if (c != '-' || pos + 1 == fr->len || fr->line[pos + 1] != '-')
        return pos;
      phase = IN_WORD;
    }
    if (pos == fr->len) {
      if (strcmp(cb_buf_str(&fr->word), "--") != 0)
        flag_end_word(fr);
      return pos;
    }
    if (phase == IN_WORD) {
      if (byte_is_space(c)) {
        if (strcmp(cb_buf_str(&fr->word), "--") == 0)
          return pos;
        flag_end_word(fr);
        phase = IN_SPACES;
        continue;
      }
      if (c == '\'' || c == '"') {
        quote = c;
        fr->blank_ok = true;
        phase = IN_QUOTE;
        continue;
      }
    } else if (c == quote) {
      phase = IN_WORD;
      continue;
    }
    if (c == fr->escape) {
      if (pos + 1 == fr->len) {
        phase = IN_WORD;
        continue;
      }
      c = fr->line[++pos];
    }
    add_latin1(&fr->word, (unsigned char)c);
  }
  return fr->len;
}

struct word_splitter {
  struct strv words;
  struct cb_buf word;
  bool blank_ok;
};

static void
ws_add_rune(struct cb_buf *b, const char *s, size_t w, uint32_t cp)
{
  if (cp == CB_UTF8_INVALID)
    cb_buf_adds(b, "\xEF\xBF\xBD"); /* Go appends U+FFFD */
  else if (w == 1)
    cb_buf_addc(b, *s);
  else
    cb_buf_add(b, s, w);
}

char **
df_split_words(const char *rest, char escape)
{
  struct word_splitter ws = { { NULL, 0, 0 }, CB_BUF_INIT, false };
  size_t len = strlen(rest), pos = 0;
  enum phase phase = IN_SPACES;
  uint32_t quote = 0;

  while (pos < len) {
    uint32_t cp;
    size_t w = cb_utf8_decode(rest + pos, len - pos, &cp);
    bool space = cp != CB_UTF8_INVALID && cb_unicode_is_space(cp);

    if (phase == IN_SPACES) {
      if (space) {
        pos += w;
        continue;
      }
      phase = IN_WORD;
    }
    if (phase == IN_WORD && space) {
      if (ws.blank_ok || ws.word.len > 0)
        strv_push(&ws.words, cb_buf_detach(&ws.word, NULL));
      ws.blank_ok = false;
      phase = IN_SPACES;
      pos += w;
      continue;
    }
    if (phase == IN_WORD && (cp == '\'' || cp == '"')) {
      quote = cp;
      ws.blank_ok = true;
      phase = IN_QUOTE;
    } else if (phase == IN_QUOTE && cp == quote) {
      phase = IN_WORD;
    }
    if ((unsigned char)escape == cp &&
        (phase == IN_WORD || (phase == IN_QUOTE && quote != '\''))) {
      if (pos + w == len) { /* an escape at the very end is dropped */
        phase = IN_WORD;
        pos += w;
        continue;
      }
      ws_add_rune(&ws.word, rest + pos, w, cp);
      pos += w;
      w = cb_utf8_decode(rest + pos, len - pos, &cp);
    }
    ws_add_rune(&ws.word, rest + pos, w, cp);
    pos += w;
  }
  if (phase != IN_SPACES && (ws.blank_ok || ws.word.len > 0))
    strv_push(&ws.words, cb_buf_detach(&ws.word, NULL));
  cb_buf_release(&ws.word);
  return strv_finish(&ws.words);
}

/* Split at runs of [\t\v\f\r ] (REST is already trimmed).  */
static void
split_sep(const char *rest, struct strv *out)
{
  const char *p = rest;

  if (*p == '\0')
    return;
  for (;;) {
    const char *end = p;

    while (*end != '\0' && !is_sep(*end))
      end++;
    strv_push(out, cb_xstrndup(p, (size_t)(end - p)));
    if (*end == '\0')
      return;
    while (is_sep(*end))
      end++;
    p = end;
  }
}

static void
take_strv(struct strv *out, char **v)
{
  for (size_t i = 0; v[i] != NULL; i++)
    strv_push(out, v[i]);
  free(v);
}

/* RUN, CMD, ENTRYPOINT, SHELL: JSON array, else the text as one string. */
static int
parse_maybe_json(const char *rest, struct df_node *node, struct strv *out,
                 struct cb_error **err)
{
  char **v = NULL;
  int rc;

  if (*rest == '\0')
    return 0;
  rc = df_json_string_array(rest, &v, err);
  if (rc < 0)
    return -1;
  if (rc == 1) {
    node->json = true;
    take_strv(out, v);
    return 0;
  }
  strv_push(out, cb_xstrdup(rest));
  return 0;
}

/* ADD, COPY, VOLUME: JSON array, else whitespace-separated.  */
static int
parse_maybe_json_list(const char *rest, struct df_node *node,
                      struct strv *out, struct cb_error **err)
{
  char **v = NULL;
  int rc = df_json_string_array(rest, &v, err);

  if (rc < 0)
    return -1;
  if (rc == 1) {
    node->json = true;
    take_strv(out, v);
    return 0;
  }
  split_sep(rest, out);
  return 0;
}

static void
push_triple(struct strv *out, char *key, char *value, const char *sep)
{
  strv_push(out, key);
  strv_push(out, value);
  strv_push(out, cb_xstrdup(sep));
}

/* ENV and LABEL: "KEY VALUE" (legacy) or "KEY=VALUE ...".  */
static int
parse_name_val(const char *rest, const char *what, char escape,
               struct strv *out, struct cb_error **err)
{
  cleanup_strv char **words = df_split_words(rest, escape);

  if (words[0] == NULL)
    return 0;
  if (strchr(words[0], '=') == NULL) {
    size_t k = 0, v;

    while (rest[k] != '\0' && !is_sep(rest[k]))
      k++;
    v = k;
    while (is_sep(rest[v]))
      v++;
    if (rest[k] == '\0')
      return cb_fail(err, CB_ERR_PARSE, 0, "%s must have two arguments",
                     what);
    push_triple(out, cb_xstrndup(rest, k), cb_xstrdup(rest + v), "");
    return 0;
  }
  for (size_t i = 0; words[i] != NULL; i++) {
    const char *eq = strchr(words[i], '=');

    if (eq == NULL)
      return cb_fail(err, CB_ERR_PARSE, 0,
                     "syntax error - can't find = in '%s'; must be of the "
                     "form: name=value",
                     words[i]);
    push_triple(out, cb_xstrndup(words[i], (size_t)(eq - words[i])),
                cb_xstrdup(eq + 1), "=");
  }
  return 0;
}

/* HEALTHCHECK: the type word ("CMD", "NONE", as written), then the
   command like CMD.  The split is byte-wise, as upstream's.  */
static int
parse_health(const char *rest, struct df_node *node, struct strv *out,
             struct cb_error **err)
{
  size_t sep = 0, next;

  while (rest[sep] != '\0' && !byte_is_space(rest[sep]))
    sep++;
  next = sep;
  while (rest[next] != '\0' && byte_is_space(rest[next]))
    next++;
  if (sep == 0)
    return 0;
  strv_push(out, cb_xstrndup(rest, sep));
  return parse_maybe_json(rest + next, node, out, err);
}

static int
parse_onbuild(const char *rest, char escape, struct df_node *node,
              struct cb_error **err)
{
  struct df_node *inner;

  if (*rest == '\0')
    return 0;
  inner = cb_xcalloc(1, sizeof(*inner));
  if (df_node_from_line(rest, escape, inner, err) < 0) {
    df_node_release(inner);
    free(inner);
    return -1;
  }
  node->inner = inner;
  return 0;
}

static int
parse_args(const char *kw, const char *rest, char escape,
           struct df_node *node, struct strv *out, struct cb_error **err)
{
  if (!strcmp(kw, "add") || !strcmp(kw, "copy") || !strcmp(kw, "volume"))
    return parse_maybe_json_list(rest, node, out, err);
  if (!strcmp(kw, "run") || !strcmp(kw, "cmd") ||
      !strcmp(kw, "entrypoint") || !strcmp(kw, "shell"))
    return parse_maybe_json(rest, node, out, err);
  if (!strcmp(kw, "from") || !strcmp(kw, "expose")) {
    split_sep(rest, out);
    return 0;
  }
  if (!strcmp(kw, "maintainer") || !strcmp(kw, "user") ||
      !strcmp(kw, "workdir") || !strcmp(kw, "stopsignal")) {
    if (*rest != '\0')
      strv_push(out, cb_xstrdup(rest));
    return 0;
  }
  if (!strcmp(kw, "arg")) {
    take_strv(out, df_split_words(rest, escape));
    return 0;
  }
  if (!strcmp(kw, "env"))
    return parse_name_val(rest, "ENV", escape, out, err);
  if (!strcmp(kw, "label"))
    return parse_name_val(rest, "LABEL", escape, out, err);
  if (!strcmp(kw, "healthcheck"))
    return parse_health(rest, node, out, err);
  if (!strcmp(kw, "onbuild"))
    return parse_onbuild(rest, escape, node, err);
  strv_push(out, cb_xstrdup("")); /* unknown: checked later, not here */
  return 0;
}

static char *
ascii_lower(const char *s, size_t n)
{
  char *r = cb_xstrndup(s, n);

  for (char *p = r; *p != '\0'; p++) {
    if (*p >= 'A' && *p <= 'Z')
      *p = (char)(*p - 'A' + 'a');
  }
  return r;
}

int
df_node_from_line(const char *line, char escape, struct df_node *node,
                  struct cb_error **err)
{
  cleanup_free char *text = df_trim_space(line);
  cleanup_free char *rest = NULL;
  struct strv flags = { NULL, 0, 0 };
  struct strv args = { NULL, 0, 0 };
  size_t kw_len = 0;

  while (text[kw_len] != '\0' && !is_sep(text[kw_len]))
    kw_len++;
  node->keyword = ascii_lower(text, kw_len);
  node->original = cb_xstrdup(line);
  if (text[kw_len] != '\0') {
    struct flag_reader fr = { NULL, 0, escape, &flags, CB_BUF_INIT, false };
    const char *after = text + kw_len;

    while (is_sep(*after))
      after++;
    fr.line = after;
    fr.len = strlen(after);
    rest = df_trim_space(after + read_flags(&fr));
    cb_buf_release(&fr.word);
  } else {
    rest = cb_xstrdup("");
  }
  node->nflags = flags.n;
  node->flags = strv_finish(&flags);
  if (parse_args(node->keyword, rest, escape, node, &args, err) < 0) {
    strv_release(&args);
    return -1;
  }
  node->nargs = args.n;
  node->args = strv_finish(&args);
  return 0;
}

void
df_node_release(struct df_node *node)
{
  if (node == NULL)
    return;
  free(node->keyword);
  free(node->original);
  cb_strv_free(node->flags);
  cb_strv_free(node->args);
  if (node->inner != NULL) {
    df_node_release(node->inner);
    free(node->inner);
  }
  for (size_t i = 0; i < node->nheredocs; i++) {
    free(node->heredocs[i].name);
    free(node->heredocs[i].content);
  }
  free(node->heredocs);
  memset(node, 0, sizeof(*node));
}
