#include "config.h"

#include "parser/shell.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/unicode.h"

#include "common/banned.h"

/* Returned by peek() at the end of the input; no code point has it.  */
#define LX_EOF 0xFFFFFFFEu

void
shell_env_set(struct shell_env *env, const char *name, const char *value)
{
  for (size_t i = 0; i < env->n; i++) {
    if (strcmp(env->names[i], name) == 0) {
      free(env->values[i]);
      env->values[i] = cb_xstrdup(value);
      return;
    }
  }
  if (env->n == env->alloc) {
    size_t alloc = env->alloc < 8 ? 8 : env->alloc;

    if (env->n == alloc && __builtin_mul_overflow(alloc, 2, &alloc))
      abort();
    env->names = cb_xreallocarray(env->names, alloc, sizeof(*env->names));
    env->values = cb_xreallocarray(env->values, alloc, sizeof(*env->values));
    env->alloc = alloc;
  }
  env->names[env->n] = cb_xstrdup(name);
  env->values[env->n] = cb_xstrdup(value);
  env->n++;
}

void
shell_env_set_pair(struct shell_env *env, const char *pair)
{
  const char *eq = strchr(pair, '=');
  cleanup_free char *name = NULL;

  if (eq == NULL) {
    shell_env_set(env, pair, "");
    return;
  }
  name = cb_xstrndup(pair, (size_t)(eq - pair));
  shell_env_set(env, name, eq + 1);
}

const char *
shell_env_get(const struct shell_env *env, const char *name)
{
  if (env == NULL)
    return NULL;
  for (size_t i = 0; i < env->n; i++) {
    if (strcmp(env->names[i], name) == 0)
      return env->values[i];
  }
  return NULL;
}

void
shell_env_release(struct shell_env *env)
{
  for (size_t i = 0; i < env->n; i++) {
    free(env->names[i]);
    free(env->values[i]);
  }
  free(env->names);
  free(env->values);
  env->names = env->values = NULL;
  env->n = env->alloc = 0;
}

struct lexer {
  const char *in; /* the whole input, borrowed; quoted in error messages */
  size_t len;
  size_t pos; /* byte offset of the next code point */
  const struct shell_env *env;
  uint32_t esc;
  unsigned flags;
  unsigned depth; /* of ${...} nesting */
};

/* Where expanded text goes.  STR gets everything.  In words mode WORD and
   WORDS also get it, split at whitespace where the text allows it.  */
struct sink {
  struct cb_buf str;
  bool split;
  struct cb_buf word;
  char **words; /* NULL-terminated once finished */
  size_t n;
  size_t alloc;
};

static void
sink_release(struct sink *s)
{
  cb_buf_release(&s->str);
  cb_buf_release(&s->word);
  for (size_t i = 0; i < s->n; i++)
    free(s->words[i]);
  free(s->words);
  s->words = NULL;
  s->n = s->alloc = 0;
}

#define cleanup_sink CB_CLEANUP(sink_release)

static void
sink_flush(struct sink *s)
{
  if (s->word.len == 0)
    return;
  CB_GROW(s->words, s->alloc, s->n + 2);
  s->words[s->n++] = cb_buf_detach(&s->word, NULL);
  s->words[s->n] = NULL;
}

/* Text that never splits: quoted sections, escaped characters.  */
static void
sink_raw(struct sink *s, const char *p, size_t n)
{
  cb_buf_add(&s->str, p, n);
  if (s->split)
    cb_buf_add(&s->word, p, n);
}

/* Text that splits at whitespace in words mode: unquoted literal text and
   the results of $ expansions.  */
static void
sink_split(struct sink *s, const char *p, size_t n)
{
  cb_buf_add(&s->str, p, n);
  if (!s->split)
    return;
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t k = cb_utf8_decode(p + i, n - i, &cp);

    if (cb_unicode_is_space(cp))
      sink_flush(s);
    else
      cb_buf_add(&s->word, p + i, k);
    i += k;
  }
}

/* The code point at the read position and its length in bytes (1 for an
   invalid byte, which is then copied as it is); LX_EOF at the end.  */
static uint32_t
peek(const struct lexer *lx, size_t *n)
{
  uint32_t cp;

  if (lx->pos >= lx->len) {
    *n = 0;
    return LX_EOF;
  }
  *n = cb_utf8_decode(lx->in + lx->pos, lx->len - lx->pos, &cp);
  return cp;
}

static uint32_t
peek_cp(const struct lexer *lx)
{
  size_t n;

  return peek(lx, &n);
}

/* Consume one code point; *START is where its bytes begin.  */
static uint32_t
next(struct lexer *lx, size_t *start, size_t *n)
{
  uint32_t cp = peek(lx, n);

  *start = lx->pos;
  lx->pos += *n;
  return cp;
}

static int lx_fail(const struct lexer *lx, struct cb_error **err,
                   const char *fmt, ...) CB_PRINTF(3, 4);

/* A parse error that quotes the whole input, which is short (one word of a
   Dockerfile line) and says where the problem is better than an offset. */
static int
lx_fail(const struct lexer *lx, struct cb_error **err, const char *fmt, ...)
{
  cleanup_free char *what = NULL;
  va_list ap;

  va_start(ap, fmt);
  what = cb_xvasprintf(fmt, ap);
  va_end(ap);
  return cb_fail(err, CB_ERR_PARSE, 0, "%s in \"%s\"", what, lx->in);
}

static int scan_word(struct lexer *lx, uint32_t stop, bool raw_esc,
                     struct sink *out, struct cb_error **err);
static int expand_dollar(struct lexer *lx, struct cb_buf *out,
                         struct cb_error **err);

/* '...': everything up to the next ' as it is; there is no escape.  */
static int
single_quote(struct lexer *lx, struct cb_buf *out, struct cb_error **err)
{
  size_t open = lx->pos;
  const char *close = memchr(lx->in + open + 1, '\'', lx->len - open - 1);
  size_t end;

  if (close == NULL)
    return lx_fail(lx, err, "unterminated single-quoted string");
  end = (size_t)(close - lx->in) + 1;
  if (lx->flags & SHELL_RAW_QUOTES)
    cb_buf_add(out, lx->in + open, end - open);
  else
    cb_buf_add(out, lx->in + open + 1, end - open - 2);
  lx->pos = end;
  return 0;
}

/* An escape inside "...": it quotes only '"', '$' and itself, and stays
   as it is before anything else.  In raw mode the escape is also written in
   front, so the result reads as text in which every escape character
   escapes the next one (a lone one is written twice).  */
static void
double_quote_escape(struct lexer *lx, bool raw_esc, struct cb_buf *out)
{
  size_t start, n;
  uint32_t esc = next(lx, &start, &n);
  uint32_t cp = peek_cp(lx);

  if (raw_esc)
    cb_buf_add(out, lx->in + start, n);
  if (cp == LX_EOF)
    return; /* dropped; the missing closing quote is reported next */
  if (cp == '"' || cp == '$' || cp == esc) {
    size_t s2, n2;

    next(lx, &s2, &n2);
    cb_buf_add(out, lx->in + s2, n2);
    return;
  }
  cb_buf_add(out, lx->in + start, n);
}

/* "...": $ expansions happen inside; escapes as above.  */
static int
double_quote(struct lexer *lx, bool raw_esc, struct cb_buf *out,
             struct cb_error **err)
{
  bool raw = lx->flags & SHELL_RAW_QUOTES;
  size_t start, n;

  next(lx, &start, &n);
  if (raw)
    cb_buf_addc(out, '"');
  for (;;) {
    uint32_t cp = peek(lx, &n);

    if (cp == LX_EOF)
      return lx_fail(lx, err, "unterminated double-quoted string");
    if (cp == '"') {
      lx->pos += n;
      if (raw)
        cb_buf_addc(out, '"');
      return 0;
    }
    if (cp == '$') {
      if (expand_dollar(lx, out, err) < 0)
        return -1;
    } else if (cp == lx->esc) {
      double_quote_escape(lx, raw_esc, out);
    } else {
      cb_buf_add(out, lx->in + lx->pos, n);
      lx->pos += n;
    }
  }
}

static bool
is_blank(uint32_t cp)
{
  return cp == ' ' || cp == '\t' || cp == '\r';
}

/* One unquoted character, or an escape and what it escapes.  "<<" and the
   blanks after it stay one unit in words mode, so that "<< EOF" is one
   word for heredoc detection.  */
static void
scan_literal(struct lexer *lx, bool raw_esc, struct sink *out)
{
  size_t start, n;
  uint32_t cp = next(lx, &start, &n);

  if (cp == lx->esc) {
    if (raw_esc)
      sink_raw(out, lx->in + start, n);
    if (peek_cp(lx) == LX_EOF)
      return; /* an escape at the very end is dropped */
    next(lx, &start, &n);
    sink_raw(out, lx->in + start, n);
    return;
  }
  if (cp == '<' && peek_cp(lx) == '<') {
    lx->pos++;
    while (is_blank(peek_cp(lx)))
      lx->pos++;
    sink_raw(out, lx->in + start, lx->pos - start);
    return;
  }
  sink_split(out, lx->in + start, n);
}

/* Expand from the read position up to STOP (consumed), or to the end of
   the input when STOP is LX_EOF.  RAW_ESC keeps escape characters in the
   output.  */
static int
scan_word(struct lexer *lx, uint32_t stop, bool raw_esc, struct sink *out,
          struct cb_error **err)
{
  for (;;) {
    cleanup_buf struct cb_buf tmp = CB_BUF_INIT;
    size_t n;
    uint32_t cp = peek(lx, &n);

    if (cp == LX_EOF)
      break;
    if (cp == stop) {
      lx->pos += n;
      return 0;
    }
    if (cp == '$') {
      if (expand_dollar(lx, &tmp, err) < 0)
        return -1;
      sink_split(out, tmp.data, tmp.len);
    } else if (cp == '\'' || cp == '"') {
      if ((cp == '\'' ? single_quote(lx, &tmp, err)
                      : double_quote(lx, raw_esc, &tmp, err)) < 0)
        return -1;
      sink_raw(out, cb_buf_str(&tmp), tmp.len);
    } else {
      scan_literal(lx, raw_esc, out);
    }
  }
  if (stop != LX_EOF)
    return lx_fail(lx, err, "missing '%c'", (char)stop);
  return 0;
}

static bool
is_special_param(uint32_t cp)
{
  return cp != 0 && cp < 0x80 && strchr("@*#?-$!", (int)cp) != NULL;
}

/* A name after '$': a run of digits (positional parameters), one special
   parameter character, or a run of letters, digits and '_'.  Empty when
   none of these follows.  */
static void
scan_name(struct lexer *lx, struct cb_buf *name)
{
  size_t start = lx->pos;
  size_t n;
  uint32_t cp = peek(lx, &n);

  if (cb_unicode_is_digit(cp)) {
    while (cp != LX_EOF && cb_unicode_is_digit(cp)) {
      lx->pos += n;
      cp = peek(lx, &n);
    }
  } else if (is_special_param(cp)) {
    lx->pos += n;
  } else {
    while (cp != LX_EOF &&
           (cb_unicode_is_letter(cp) || cb_unicode_is_digit(cp) || cp == '_')) {
      lx->pos += n;
      cp = peek(lx, &n);
    }
  }
  cb_buf_add(name, lx->in + start, lx->pos - start);
}

/* With SHELL_SKIP_UNSET, an expansion of an unset variable is copied as
   written, from START (its '$') to the read position.  */
static bool
keep_unset(const struct lexer *lx, const char *value, size_t start,
           struct cb_buf *out)
{
  if (value != NULL || !(lx->flags & SHELL_SKIP_UNSET))
    return false;
  cb_buf_add(out, lx->in + start, lx->pos - start);
  return true;
}

/* Patterns of ${NAME#PAT}, ${NAME%PAT} and ${NAME/PAT/REPL}: '*' matches
   any run of characters, '?' any one character, "\*" "\?" "\\" match
   themselves, and "\}" "\/" (escaped only so that they did not end the
   word) mean '}' and '/'.  Any other escape is an error.  Brackets and
   everything else are literal.  Matching works on code points; an invalid
   byte is a unit of its own that matches only itself (and '?').  */
enum ptok_kind { PT_LIT, PT_ANY, PT_STAR };

struct ptok {
  enum ptok_kind kind;
  uint32_t cp; /* PT_LIT */
};

/* A pattern is a chain of tokens; state I of its matcher means "the first
   I tokens have matched", and state N is the match.  */
struct pattern {
  struct ptok *t; /* owned */
  size_t n;
};

static void
pattern_release(struct pattern *p)
{
  free(p->t);
  p->t = NULL;
  p->n = 0;
}

#define cleanup_pattern CB_CLEANUP(pattern_release)

/* Decode one unit: a code point, or 0x110000 + the byte for invalid
   UTF-8, so that invalid bytes compare equal only to themselves.  */
static size_t
unit_decode(const char *s, size_t n, uint32_t *cp)
{
  size_t k = cb_utf8_decode(s, n, cp);

  if (*cp == CB_UTF8_INVALID)
    *cp = 0x110000u + (unsigned char)s[0];
  return k;
}

static void
pattern_add(struct pattern *p, enum ptok_kind kind, uint32_t cp)
{
  /* "**" matches what "*" matches; one state is enough.  */
  if (kind == PT_STAR && p->n > 0 && p->t[p->n - 1].kind == PT_STAR)
    return;
  p->t[p->n].kind = kind;
  p->t[p->n].cp = cp;
  p->n++;
}

/* Compile PAT.  On a bad escape returns -1 with *BAD at its backslash.  */
static int
pattern_compile(const char *pat, struct pattern *p, size_t *bad)
{
  size_t len = strlen(pat);

  p->t = cb_xcalloc(len + 1, sizeof(*p->t));
  p->n = 0;
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    size_t k = unit_decode(pat + i, len - i, &cp);

    if (cp == '\\' && i + 1 < len && (pat[i + 1] == '}' || pat[i + 1] == '/')) {
      i++;
      continue;
    }
    if (cp == '\\') {
      if (i + 1 >= len || strchr("*?\\", pat[i + 1]) == NULL) {
        *bad = i;
        return -1;
      }
      pattern_add(p, PT_LIT, (unsigned char)pat[i + 1]);
      i += 2;
      continue;
    }
    pattern_add(p, cp == '*' ? PT_STAR : cp == '?' ? PT_ANY : PT_LIT, cp);
    i += k;
  }
  return 0;
}

static void
pattern_reverse(struct pattern *p)
{
  for (size_t i = 0, j = p->n; i + 1 < j; i++, j--) {
    struct ptok t = p->t[i];

    p->t[i] = p->t[j - 1];
    p->t[j - 1] = t;
  }
}

/* A string split into units, with the byte offset of each (and of the
   end, at OFF[N]).  */
struct units {
  uint32_t *cp;
  size_t *off;
  size_t n;
};

static void
units_release(struct units *u)
{
  free(u->cp);
  free(u->off);
  u->cp = NULL;
  u->off = NULL;
  u->n = 0;
}

#define cleanup_units CB_CLEANUP(units_release)

static void
units_decode(const char *s, struct units *u)
{
  size_t len = strlen(s);

  u->cp = cb_xcalloc(len + 1, sizeof(*u->cp));
  u->off = cb_xcalloc(len + 1, sizeof(*u->off));
  u->n = 0;
  for (size_t i = 0; i < len;) {
    u->off[u->n] = i;
    i += unit_decode(s + i, len - i, &u->cp[u->n]);
    u->n++;
  }
  u->off[u->n] = len;
}

static bool
ptok_takes(const struct ptok *t, uint32_t cp)
{
  return t->kind != PT_LIT || t->cp == cp;
}

/* The matcher runs the pattern as an NFA over its states, so that one
   pass over the string finds every match end without backtracking.  */
static bool
nfa_step(const struct pattern *p, bool *set, bool *tmp, uint32_t cp)
{
  bool alive = false;

  memset(tmp, 0, p->n + 1);
  for (size_t i = 0; i < p->n; i++) {
    if (!set[i] || !ptok_takes(&p->t[i], cp))
      continue;
    tmp[p->t[i].kind == PT_STAR ? i : i + 1] = true;
  }
  for (size_t i = 0; i <= p->n; i++) {
    if (i < p->n && tmp[i] && p->t[i].kind == PT_STAR)
      tmp[i + 1] = true;
    set[i] = tmp[i];
    alive |= set[i];
  }
  return alive;
}

/* The length in units of the shortest (or LONGEST) prefix of S that P
   matches as a whole, or -1.  */
static long
match_prefix(const struct pattern *p, const uint32_t *s, size_t n, bool longest)
{
  cleanup_free bool *set = cb_xcalloc(p->n + 1, sizeof(bool));
  cleanup_free bool *tmp = cb_xcalloc(p->n + 1, sizeof(bool));
  long best = -1;

  set[0] = true;
  for (size_t i = 0; i < p->n && set[i] && p->t[i].kind == PT_STAR; i++)
    set[i + 1] = true;
  for (size_t k = 0;; k++) {
    if (set[p->n]) {
      best = (long)k;
      if (!longest)
        break;
    }
    if (k == n || !nfa_step(p, set, tmp, s[k]))
      break;
  }
  return best;
}

#define NO_TAG SIZE_MAX

/* One step of the search: TAG[I] is the earliest start of a partial match
   in state I.  Of two threads in one state only the earlier start matters:
   both have the same future, and the earlier one is further left.  */
static bool
search_step(const struct pattern *p, size_t *tag, size_t *tmp, uint32_t cp)
{
  bool alive = false;

  for (size_t i = 0; i <= p->n; i++)
    tmp[i] = NO_TAG;
  for (size_t i = 0; i < p->n; i++) {
    size_t j = p->t[i].kind == PT_STAR ? i : i + 1;

    if (tag[i] != NO_TAG && ptok_takes(&p->t[i], cp) && tag[i] < tmp[j])
      tmp[j] = tag[i];
  }
  for (size_t i = 0; i <= p->n; i++) {
    if (i < p->n && p->t[i].kind == PT_STAR && tmp[i] < tmp[i + 1])
      tmp[i + 1] = tmp[i];
    tag[i] = tmp[i];
    alive |= tag[i] != NO_TAG;
  }
  return alive;
}

static void
search_start(const struct pattern *p, size_t *tag, size_t k)
{
  if (k < tag[0])
    tag[0] = k;
  for (size_t i = 0; i < p->n && p->t[i].kind == PT_STAR; i++) {
    if (tag[i] < tag[i + 1])
      tag[i + 1] = tag[i];
  }
}

/* The leftmost match of P in S that starts at FROM or later, and of those
   the longest (POSIX shells and BuildKit's greedy regexp agree on this).
   Sets [*MS, *ME) in units.  */
static bool
match_search(const struct pattern *p, const uint32_t *s, size_t n, size_t from,
             size_t *ms, size_t *me)
{
  cleanup_free size_t *tag = cb_xcalloc(p->n + 1, sizeof(size_t));
  cleanup_free size_t *tmp = cb_xcalloc(p->n + 1, sizeof(size_t));
  size_t best = NO_TAG;

  for (size_t i = 0; i <= p->n; i++)
    tag[i] = NO_TAG;
  for (size_t k = from;; k++) {
    if (best == NO_TAG)
      search_start(p, tag, k);
    if (tag[p->n] != NO_TAG && tag[p->n] <= best) {
      best = tag[p->n];
      *me = k;
    }
    for (size_t i = 0; best != NO_TAG && i <= p->n; i++) {
      if (tag[i] > best)
        tag[i] = NO_TAG;
    }
    if (k == n || (!search_step(p, tag, tmp, s[k]) && best != NO_TAG))
      break;
  }
  *ms = best;
  return best != NO_TAG;
}

/* Remove from VALUE the shortest (GREEDY: longest) prefix, or SUFFIX,
   that P matches.  Reverses P for a suffix.  */
static void
trim_value(struct pattern *p, const char *value, bool suffix, bool greedy,
           struct cb_buf *out)
{
  cleanup_units struct units u = { 0 };
  long k;

  units_decode(value, &u);
  if (!suffix) {
    k = match_prefix(p, u.cp, u.n, greedy);
    cb_buf_adds(out, value + (k < 0 ? 0 : u.off[k]));
    return;
  }
  /* The shortest suffix is the shortest prefix of the reversed string
     matched by the reversed pattern.  */
  pattern_reverse(p);
  for (size_t i = 0, j = u.n; i + 1 < j; i++, j--) {
    uint32_t c = u.cp[i];

    u.cp[i] = u.cp[j - 1];
    u.cp[j - 1] = c;
  }
  k = match_prefix(p, u.cp, u.n, greedy);
  cb_buf_add(out, value, u.off[k < 0 ? u.n : u.n - (size_t)k]);
}

/* Replace the first match of P in VALUE (or ALL) with REPL.  As BuildKit
   (Go's regexp), an empty match right after a match is not replaced, and
   the search always moves on by at least one unit.  */
static void
replace_value(const struct pattern *p, const char *value, const char *repl,
              bool all, struct cb_buf *out)
{
  cleanup_units struct units u = { 0 };
  size_t last = 0, from = 0, ms, me;

  units_decode(value, &u);
  while (from <= u.n && match_search(p, u.cp, u.n, from, &ms, &me)) {
    cb_buf_add(out, value + u.off[last], u.off[ms] - u.off[last]);
    if (me > last || ms == 0)
      cb_buf_adds(out, repl);
    last = me;
    if (!all)
      break;
    from = from + 1 > me ? from + 1 : me;
  }
  cb_buf_adds(out, value + u.off[last]);
}

static int
compile_or_fail(const struct lexer *lx, const char *pat, struct pattern *p,
                struct cb_error **err)
{
  size_t bad = 0;
  size_t k = 0;

  if (pattern_compile(pat, p, &bad) == 0)
    return 0;
  if (pat[bad + 1] != '\0') {
    uint32_t cp;

    k = unit_decode(pat + bad + 1, strlen(pat + bad + 1), &cp);
  }
  return cb_fail(err, CB_ERR_PARSE, 0,
                 "invalid escape '%.*s' in pattern '%s' of \"%s\"",
                 (int)(k + 1), pat + bad, pat, lx->in);
}

/* ${NAME-WORD} ${NAME+WORD} ${NAME?WORD}, and with ':' (COLON) an empty
   value counts as unset.  */
static int
expand_default(struct lexer *lx, const char *name, uint32_t op, bool colon,
               size_t start, struct cb_buf *out, struct cb_error **err)
{
  cleanup_sink struct sink word = { 0 };
  const char *value;
  bool unset;

  if (scan_word(lx, '}', false, &word, err) < 0)
    return -1;
  value = shell_env_get(lx->env, name);
  if (keep_unset(lx, value, start, out))
    return 0;
  unset = value == NULL || (colon && value[0] == '\0');
  if (op == '-')
    cb_buf_adds(out, unset ? cb_buf_str(&word.str) : value);
  else if (op == '+')
    cb_buf_adds(out, unset ? "" : cb_buf_str(&word.str));
  else if (!unset)
    cb_buf_adds(out, value);
  else if (word.str.len > 0)
    return cb_fail(err, CB_ERR_PARSE, 0, "%s: %s", name, word.str.data);
  else
    return cb_fail(err, CB_ERR_PARSE, 0, "%s: is not allowed to be %s", name,
                   value == NULL ? "unset" : "empty");
  return 0;
}

/* ${NAME#PAT} ${NAME##PAT} ${NAME%PAT} ${NAME%%PAT}  */
static int
expand_trim(struct lexer *lx, const char *name, uint32_t op, size_t start,
            struct cb_buf *out, struct cb_error **err)
{
  cleanup_sink struct sink pat = { 0 };
  cleanup_pattern struct pattern p = { 0 };
  bool greedy = peek_cp(lx) == op;
  const char *value;

  if (greedy)
    lx->pos++;
  if (scan_word(lx, '}', true, &pat, err) < 0)
    return -1;
  value = shell_env_get(lx->env, name);
  if (keep_unset(lx, value, start, out))
    return 0;
  if (compile_or_fail(lx, cb_buf_str(&pat.str), &p, err) < 0)
    return -1;
  trim_value(&p, value != NULL ? value : "", op == '%', greedy, out);
  return 0;
}

/* ${NAME/PAT/REPL} ${NAME//PAT/REPL}  */
static int
expand_replace(struct lexer *lx, const char *name, size_t start,
               struct cb_buf *out, struct cb_error **err)
{
  cleanup_sink struct sink pat = { 0 };
  cleanup_sink struct sink repl = { 0 };
  cleanup_pattern struct pattern p = { 0 };
  bool all = peek_cp(lx) == '/';
  const char *value;

  if (all)
    lx->pos++;
  if (scan_word(lx, '/', true, &pat, err) < 0 ||
      scan_word(lx, '}', true, &repl, err) < 0)
    return -1;
  value = shell_env_get(lx->env, name);
  if (keep_unset(lx, value, start, out))
    return 0;
  if (compile_or_fail(lx, cb_buf_str(&pat.str), &p, err) < 0)
    return -1;
  replace_value(&p, value != NULL ? value : "", cb_buf_str(&repl.str), all,
                out);
  return 0;
}

/* After "${" NAME: the modifier decides.  */
static int
expand_modifier(struct lexer *lx, const char *name, size_t start,
                struct cb_buf *out, struct cb_error **err)
{
  size_t at = lx->pos, n;
  uint32_t op = peek(lx, &n);
  bool colon = op == ':';

  if (op == LX_EOF)
    return lx_fail(lx, err, "missing '}'");
  lx->pos += n;
  if (colon) {
    op = peek(lx, &n);
    if (op == LX_EOF)
      return lx_fail(lx, err, "missing '}'");
    lx->pos += n;
  }
  switch (op) {
  case '}':
    if (!colon) {
      const char *value = shell_env_get(lx->env, name);

      if (!keep_unset(lx, value, start, out) && value != NULL)
        cb_buf_adds(out, value);
      return 0;
    }
    break;
  case '-':
  case '+':
  case '?':
    return expand_default(lx, name, op, colon, start, out, err);
  case '#':
  case '%':
    if (!colon)
      return expand_trim(lx, name, op, start, out, err);
    break;
  case '/':
    if (!colon)
      return expand_replace(lx, name, start, out, err);
    break;
  }
  return lx_fail(lx, err, "unsupported modifier '%.*s' after '${%s'",
                 (int)(lx->pos - at), lx->in + at, name);
}

/* After "${": a name, then a modifier.  START is at the '$'.  */
static int
expand_braced(struct lexer *lx, size_t start, struct cb_buf *out,
              struct cb_error **err)
{
  cleanup_buf struct cb_buf name = CB_BUF_INIT;
  uint32_t cp = peek_cp(lx);

  if (cp == LX_EOF)
    return lx_fail(lx, err, "missing '}'");
  if (cp == '{' || cp == '}' || cp == ':')
    return lx_fail(lx, err, "bad substitution");
  scan_name(lx, &name);
  if (name.len == 0)
    return lx_fail(lx, err, "bad substitution");
  return expand_modifier(lx, cb_buf_str(&name), start, out, err);
}

/* At a '$': append its expansion to OUT.  */
static int
expand_dollar(struct lexer *lx, struct cb_buf *out, struct cb_error **err)
{
  cleanup_buf struct cb_buf name = CB_BUF_INIT;
  size_t start = lx->pos;
  const char *value;
  int r;

  lx->pos++;
  if (peek_cp(lx) == '{') {
    lx->pos++;
    if (++lx->depth > CB_MAX_EXPAND_DEPTH)
      return cb_fail(err, CB_ERR_UNSAFE, 0,
                     "${...} nested more than %d deep in \"%s\"",
                     CB_MAX_EXPAND_DEPTH, lx->in);
    r = expand_braced(lx, start, out, err);
    lx->depth--;
    return r;
  }
  scan_name(lx, &name);
  if (name.len == 0) {
    cb_buf_addc(out, '$');
    return 0;
  }
  value = shell_env_get(lx->env, name.data);
  if (!keep_unset(lx, value, start, out) && value != NULL)
    cb_buf_adds(out, value);
  return 0;
}

static int
expand(const char *word, const struct shell_env *env,
       const struct shell_opts *opts, struct sink *out, struct cb_error **err)
{
  struct lexer lx = {
    .in = word,
    .len = strlen(word),
    .env = env,
    .esc = opts != NULL ? (unsigned char)opts->escape : '\\',
    .flags = opts != NULL ? opts->flags : 0,
  };

  if (scan_word(&lx, LX_EOF, lx.flags & SHELL_RAW_ESCAPES, out, err) < 0)
    return -1;
  sink_flush(out);
  return 0;
}

char *
shell_expand_word(const char *word, const struct shell_env *env,
                  const struct shell_opts *opts, struct cb_error **err)
{
  cleanup_sink struct sink out = { 0 };

  if (expand(word, env, opts, &out, err) < 0)
    return NULL;
  return cb_buf_detach(&out.str, NULL);
}

char **
shell_expand_words(const char *word, const struct shell_env *env,
                   const struct shell_opts *opts, struct cb_error **err)
{
  cleanup_sink struct sink out = { .split = true };

  if (expand(word, env, opts, &out, err) < 0)
    return NULL;
  if (out.words == NULL)
    return cb_xcalloc(1, sizeof(char *));
  out.n = 0;
  return steal_ptr(&out.words);
}
