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

/* What one step of a pattern matches.  */
enum tok_kind {
  TOK_CHAR,  /* one given character */
  TOK_ONE,   /* '?': one character other than '/' */
  TOK_CLASS, /* '[...]', '[^...]': one character in (or not in) ranges */
  TOK_STAR,  /* '*': any run of characters other than '/' */
  TOK_DIRS,  /* "**" or "**<slash>" followed by more: "" or ".../" */
  TOK_REST,  /* "**" at the end: anything, '/' included */
};

struct tok {
  enum tok_kind kind;
  bool negated; /* TOK_CLASS */
  uint32_t c;   /* TOK_CHAR */
  size_t first; /* TOK_CLASS: index of its first range */
  size_t n;     /* TOK_CLASS: number of ranges */
};

struct range {
  uint32_t lo, hi;
};

struct pattern {
  char *text; /* cleaned, without the '!'; owned */
  bool exception;
  /* Docker matches a pattern that starts with "**" and has no other
     wildcard by a plain suffix test, so "**file" also matches "xfile"
     (its regexp would not).  We keep that shortcut for compatibility.  */
  bool suffix;
  struct tok *toks; /* owned */
  size_t ntoks, toks_alloc;
  struct range *ranges; /* owned */
  size_t nranges, ranges_alloc;
};

struct ignore_matcher {
  struct pattern *pats; /* owned */
  size_t n, alloc;
  bool has_exceptions;
};

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

static void
push_tok(struct pattern *p, struct tok t)
{
  CB_GROW(p->toks, p->toks_alloc, p->ntoks + 1);
  p->toks[p->ntoks++] = t;
}

/* One character of a class at *POS, by Go's filepath.Match rules: '-' and
   ']' must be escaped (the caller has already taken a ']' that closes a
   non-empty class), and the class must not end right after it.  Returns
   NULL, or why the pattern is bad.  */
static const char *
class_char(const char *s, size_t n, size_t *pos, bool range_end, uint32_t *c)
{
  size_t i = *pos;

  if (i < n && s[i] == ']')
    return range_end ? "character range has no end" : "empty character class";
  if (i < n && s[i] == '-')
    return "unescaped '-' in character class";
  if (i < n && s[i] == '\\')
    i++;
  if (i >= n)
    return "unterminated character class";
  i += cb_utf8_decode(s + i, n - i, c);
  if (*c == CB_UTF8_INVALID)
    return "invalid UTF-8 in character class";
  if (i >= n)
    return "unterminated character class";
  *pos = i;
  return NULL;
}

/* The class that starts with the '[' at *POS.  */
static const char *
parse_class(struct pattern *p, const char *s, size_t n, size_t *pos)
{
  struct tok t = { .kind = TOK_CLASS, .first = p->nranges };
  size_t i = *pos + 1;
  const char *why;

  if (i < n && s[i] == '^') {
    t.negated = true;
    i++;
  }
  while (!(i < n && s[i] == ']' && t.n > 0)) {
    struct range r;

    why = class_char(s, n, &i, false, &r.lo);
    if (why != NULL)
      return why;
    r.hi = r.lo;
    if (s[i] == '-') {
      i++;
      why = class_char(s, n, &i, true, &r.hi);
      if (why != NULL)
        return why;
      /* filepath.Match accepts "[z-a]" (it never matches), but Docker
         turns the class into a regexp, which refuses it.  */
      if (r.hi < r.lo)
        return "character range is out of order";
    }
    CB_GROW(p->ranges, p->ranges_alloc, p->nranges + 1);
    p->ranges[p->nranges++] = r;
    t.n++;
  }
  *pos = i + 1;
  push_tok(p, t);
  return NULL;
}

/* Turn P->text into tokens, checking all of it: Docker rejects a bad
   pattern when the matcher is built, not when it first fails to match.
   Returns NULL, or why the pattern is bad.  */
static const char *
compile(struct pattern *p)
{
  const char *s = p->text;
  size_t n = strlen(s);

  for (size_t i = 0; i < n;) {
    struct tok t = { .kind = TOK_CHAR };

    if (s[i] == '*' && s[i + 1] == '*') {
      i += 2;
      if (s[i] == '/') /* "**" + "/" is the same as "**" */
        i++;
      t.kind = i == n ? TOK_REST : TOK_DIRS;
    } else if (s[i] == '*' || s[i] == '?') {
      t.kind = s[i] == '*' ? TOK_STAR : TOK_ONE;
      i++;
    } else if (s[i] == '[') {
      const char *why = parse_class(p, s, n, &i);

      if (why != NULL)
        return why;
      continue;
    } else {
      if (s[i] == '\\' && ++i == n)
        return "trailing backslash";
      i += next_char(s + i, n - i, &t.c);
    }
    push_tok(p, t);
  }
  p->suffix =
      n >= 2 && s[0] == '*' && s[1] == '*' && strpbrk(s + 2, "*?[]\\") == NULL;
  return NULL;
}

/* A pattern with T tokens has 2T + 1 states: i <= T is "before token i"
   (T: all matched); T + 1 + i is "inside the TOK_DIRS token i, after at
   least one character", where only a '/' may end it.  A set of states is
   one byte per state.  Matching is linear in the path, whatever the
   pattern: there is no backtracking.  */
static size_t
nstates(const struct pattern *p)
{
  return 2 * p->ntoks + 1;
}

/* Add the states reached without reading: the starred tokens may match
   "".  Such moves only go forward, so one pass in order is enough.  */
static void
close_states(const struct pattern *p, uint8_t *set)
{
  for (size_t i = 0; i < p->ntoks; i++) {
    enum tok_kind k = p->toks[i].kind;

    if (set[i] && (k == TOK_STAR || k == TOK_DIRS || k == TOK_REST))
      set[i + 1] = 1;
  }
}

static bool
class_has(const struct pattern *p, const struct tok *t, uint32_t c)
{
  bool in = false;

  /* filepath.Match reads a byte that is not UTF-8 as U+FFFD here.  */
  if (c >= INVALID_BYTE_BASE)
    c = CB_RUNE_ERROR;
  for (size_t i = 0; i < t->n && !in; i++) {
    const struct range *r = &p->ranges[t->first + i];

    in = r->lo <= c && c <= r->hi;
  }
  return in != t->negated;
}

/* Where reading C moves a match that stands before token I.  */
static void
step_token(const struct pattern *p, size_t i, uint32_t c, uint8_t *next)
{
  const struct tok *t = &p->toks[i];

  switch (t->kind) {
  case TOK_CHAR:
    next[i + 1] |= c == t->c;
    break;
  case TOK_ONE:
    next[i + 1] |= c != '/';
    break;
  case TOK_CLASS:
    next[i + 1] |= class_has(p, t, c);
    break;
  case TOK_STAR:
    next[i] |= c != '/';
    break;
  case TOK_REST:
    next[i] = 1;
    break;
  case TOK_DIRS:
    next[p->ntoks + 1 + i] = 1;
    next[i + 1] |= c == '/';
    break;
  }
}

/* Read C: the states in CUR become those in NEXT.  Returns whether any
   state is left.  */
static bool
step(const struct pattern *p, const uint8_t *cur, uint8_t *next, uint32_t c)
{
  size_t t = p->ntoks;
  bool any = false;

  memset(next, 0, nstates(p));
  for (size_t i = 0; i < t; i++) {
    if (cur[i])
      step_token(p, i, c, next);
    if (cur[t + 1 + i]) {
      next[t + 1 + i] = 1;
      next[i + 1] |= c == '/';
    }
  }
  close_states(p, next);
  for (size_t i = 0; i < nstates(p); i++)
    any = any || next[i];
  return any;
}

/* Match all LEN bytes at S against the tokens of P.  *ALIVE (if not NULL)
   tells whether any state is left, i.e. whether S, followed by more, could
   still match.  */
static bool
glob_run(const struct pattern *p, const char *s, size_t len, bool *alive)
{
  size_t ns = nstates(p);
  cleanup_free uint8_t *buf = cb_xcalloc(2, ns);
  uint8_t *cur = buf, *next = buf + ns;
  bool any = true;

  cur[0] = 1;
  close_states(p, cur);
  for (size_t i = 0; i < len && any;) {
    uint8_t *tmp;
    uint32_t c;

    i += next_char(s + i, len - i, &c);
    any = step(p, cur, next, c);
    tmp = cur;
    cur = next;
    next = tmp;
  }
  if (alive != NULL)
    *alive = any;
  return any && cur[p->ntoks];
}

static bool
suffix_match(const struct pattern *p, const char *s, size_t len)
{
  const char *suf = p->text + 2;
  size_t n = strlen(suf);

  if (len >= n && memcmp(s + len - n, suf, n) == 0)
    return true;
  /* "**" + "/foo" also matches "foo" itself.  */
  return suf[0] == '/' && len == n - 1 && memcmp(s, suf + 1, len) == 0;
}

/* Whether P matches all LEN bytes at S.  */
static bool
pattern_match(const struct pattern *p, const char *s, size_t len)
{
  if (p->suffix)
    return suffix_match(p, s, len);
  return glob_run(p, s, len, NULL);
}

/* The directory part of PATH, cleaned as Go's path.Dir does, or NULL when
   PATH has none (".").  */
static char *
parent_dir(const char *path)
{
  const char *slash = strrchr(path, '/');
  char *dir;

  if (slash == NULL)
    return NULL;
  dir = clean_path(path, (size_t)(slash - path) + 1);
  if (strcmp(dir, ".") == 0) {
    free(dir);
    return NULL;
  }
  return dir;
}

/* Whether P matches PATH or one of its parent directories: each leading
   part of PARENT (PATH's directory part, or NULL) up to a '/' or the end.
   For "/" (only from a path like "/x") that is "" and "/", as in Go.  */
static bool
pattern_applies(const struct pattern *p, const char *path, const char *parent)
{
  if (pattern_match(p, path, strlen(path)))
    return true;
  if (parent == NULL)
    return false;
  for (size_t i = 0;; i++) {
    if ((parent[i] == '/' || parent[i] == '\0') && pattern_match(p, parent, i))
      return true;
    if (parent[i] == '\0')
      return false;
  }
}

static void
pattern_release(struct pattern *p)
{
  free(p->text);
  free(p->toks);
  free(p->ranges);
}

static int
add_pattern(struct ignore_matcher *m, const char *raw, struct cb_error **err)
{
  const char *s = raw;
  size_t n = strlen(raw);
  cleanup_free char *clean = NULL;
  cleanup_free char *shown = NULL;
  struct pattern p = { 0 };
  const char *why;

  trim_space(&s, &n);
  if (n == 0)
    return 0;
  shown = cb_xstrndup(s, n);
  /* Docker cleans before it looks for '!', so "!a/../b" loses its '!'. */
  clean = clean_path(s, n);
  p.exception = clean[0] == '!';
  if (p.exception && clean[1] == '\0')
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "invalid pattern '%s': nothing follows '!'", shown);
  p.text = cb_xstrdup(clean + (p.exception ? 1 : 0));
  why = compile(&p);
  if (why != NULL) {
    pattern_release(&p);
    return cb_fail(err, CB_ERR_PARSE, 0, "invalid pattern '%s': %s", shown,
                   why);
  }
  CB_GROW(m->pats, m->alloc, m->n + 1);
  m->pats[m->n++] = p;
  m->has_exceptions = m->has_exceptions || p.exception;
  return 0;
}

struct ignore_matcher *
ignore_matcher_new(char *const *patterns, struct cb_error **err)
{
  cleanup_ignore_matcher struct ignore_matcher *m = cb_xcalloc(1, sizeof(*m));

  for (size_t i = 0; patterns != NULL && patterns[i] != NULL; i++) {
    if (add_pattern(m, patterns[i], err) < 0)
      return NULL;
  }
  return steal_ptr(&m);
}

int
ignore_matcher_matches(const struct ignore_matcher *m, const char *path,
                       bool *excluded, struct cb_error **err)
{
  cleanup_free char *parent = parent_dir(path);
  bool verdict = false;

  for (size_t i = 0; i < m->n; i++) {
    const struct pattern *p = &m->pats[i];

    /* Only a pattern that could change the verdict is tried.  */
    if (p->exception != verdict)
      continue;
    if (pattern_applies(p, path, parent))
      verdict = !p->exception;
  }
  *excluded = verdict;
  return 0;
}

int
ignore_matcher_matches_clean(const struct ignore_matcher *m, const char *path,
                             bool *excluded, struct cb_error **err)
{
  cleanup_free char *clean = clean_path(path, strlen(path));

  /* Excluding the root would exclude the whole context.  */
  if (strcmp(clean, ".") == 0) {
    *excluded = false;
    return 0;
  }
  return ignore_matcher_matches(m, clean, excluded, err);
}

/* Whether exception P could match a path below DIR (cleaned; PARENT is its
   directory part or NULL; BELOW is DIR with a '/' added).  */
static bool
reaches_below(const struct pattern *p, const char *dir, const char *parent,
              const char *below)
{
  bool alive;

  /* "**" + "x" matches "DIR/x", whatever DIR is.  */
  if (p->suffix)
    return true;
  /* Matching DIR or a parent matches everything below it.  */
  if (pattern_applies(p, dir, parent))
    return true;
  /* Otherwise a path below DIR can only match if the pattern is still
     alive after "DIR/".  Every state can reach the end given suitable
     characters, so alive means "some name would match" (conservatively:
     the name might need odd characters).  */
  glob_run(p, below, strlen(below), &alive);
  return alive;
}

bool
ignore_matcher_may_include_below(const struct ignore_matcher *m,
                                 const char *dir)
{
  cleanup_free char *clean = NULL;
  cleanup_free char *parent = NULL;
  cleanup_free char *below = NULL;

  if (!m->has_exceptions)
    return false;
  clean = clean_path(dir, strlen(dir));
  if (strcmp(clean, ".") == 0)
    return true;
  parent = parent_dir(clean);
  below =
      strcmp(clean, "/") == 0 ? cb_xstrdup("/") : cb_xasprintf("%s/", clean);
  for (size_t i = 0; i < m->n; i++) {
    const struct pattern *p = &m->pats[i];

    if (p->exception && reaches_below(p, clean, parent, below))
      return true;
  }
  return false;
}

size_t
ignore_matcher_count(const struct ignore_matcher *m)
{
  return m->n;
}

void
ignore_matcher_free(struct ignore_matcher *m)
{
  if (m == NULL)
    return;
  for (size_t i = 0; i < m->n; i++)
    pattern_release(&m->pats[i]);
  free(m->pats);
  free(m);
}

void
ignore_matcher_freep(struct ignore_matcher **m)
{
  ignore_matcher_free(*m);
  *m = NULL;
}
