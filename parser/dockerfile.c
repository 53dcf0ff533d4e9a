#include "config.h"

#include "parser/dockerfile.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/limits.h"
#include "common/mem.h"
#include "parser/parser-internal.h"
#include "parser/shell.h"
#include "common/banned.h"

/* The line level of the parser: physical lines, parser directives,
   comments, continuations and heredoc bodies (BuildKit's Parse).  */

struct line_reader {
  const char *text;
  size_t len;
  size_t pos;
  int lineno;      /* 1-based number of the line last read */
  const char *raw; /* the line last read, with its line ending */
  size_t raw_len;
};

struct parse_state {
  struct dockerfile *df;
  struct line_reader lr;
  char escape;
  bool directives_done;
  size_t nodes_alloc;
  size_t warnings_n;
  size_t warnings_alloc;
};

/* The next physical line, without its '\n' and one '\r' before it (as
   Go's bufio.ScanLines); a final line without '\n' counts, an empty tail
   does not.  *LINE is borrowed from the text.  */
static int
next_line(struct parse_state *ps, const char **line, size_t *len,
          bool *got, struct cb_error **err)
{
  struct line_reader *lr = &ps->lr;
  const char *start = lr->text + lr->pos;
  const char *nl;
  size_t n;

  *got = false;
  if (lr->pos >= lr->len)
    return 0;
  nl = memchr(start, '\n', lr->len - lr->pos);
  n = nl != NULL ? (size_t)(nl - start) : lr->len - lr->pos;
  lr->pos += n + (nl != NULL);
  lr->lineno++;
  lr->raw = start;
  lr->raw_len = n + (nl != NULL);
  if (n >= CB_MAX_DOCKERFILE_LINE)
    return cb_fail(err, CB_ERR_UNSAFE, 0, "%s:%d: line too long (%zu bytes)",
                   ps->df->filename, lr->lineno, n);
  if (n > 0 && start[n - 1] == '\r')
    n--;
  if (lr->lineno == 1 && n >= 3 && memcmp(start, "\xEF\xBB\xBF", 3) == 0) {
    start += 3;
    n -= 3;
  }
  *line = start;
  *len = n;
  *got = true;
  return 0;
}

/* Trailing '\r' and '\n' removed, and leading whitespace when asked.  */
static char *
clean_line(const char *line, size_t len, bool strip_left)
{
  size_t start = 0, w;

  while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
    len--;
  while (strip_left && start < len &&
         df_is_space_at(line + start, len - start, &w))
    start += w;
  return cb_xstrndup(line + start, len - start);
}

static bool
is_all_space(const char *s)
{
  size_t n = strlen(s), w;

  while (n > 0 && df_is_space_at(s, n, &w)) {
    s += w;
    n -= w;
  }
  return n == 0;
}

/* The first character after leading whitespace is '#'.  */
static bool
is_comment(const char *line, size_t len)
{
  size_t pos = 0, w;

  while (pos < len && df_is_space_at(line + pos, len - pos, &w))
    pos += w;
  return pos < len && line[pos] == '#';
}

static void
add_warning(struct parse_state *ps, int line, const char *text)
{
  struct dockerfile *df = ps->df;

  CB_GROW(df->warnings, ps->warnings_alloc, ps->warnings_n + 2);
  df->warnings[ps->warnings_n++] = cb_xasprintf("%d: %s", line, text);
  df->warnings[ps->warnings_n] = NULL;
}

static bool
is_blank(char c)
{
  return c == ' ' || c == '\t';
}

static bool
is_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

/* Go's regexp \s: [\t\n\f\r ] (no \v).  */
static bool
is_re_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* Match BuildKit's directive regex, ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$
   and set *NAME (lower-cased) and *VALUE, new strings.  The lazy (.+?)
   takes surrounding whitespace only when there is nothing else: then it
   is the one last whitespace character ("# escape= " has the value " ").  */
static bool
match_directive(const char *s, char **name, char **value)
{
  const char *p = s, *n0, *v0, *v1, *end;

  if (*p++ != '#')
    return false;
  while (is_re_space(*p))
    p++;
  n0 = p;
  if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
    return false;
  while (is_alnum(*p))
    p++;
  v0 = p;
  while (is_re_space(*v0))
    v0++;
  if (*v0 != '=')
    return false;
  v0++;
  end = v0 + strlen(v0);
  if (v0 == end)
    return false;
  while (v0 < end && is_re_space(*v0))
    v0++;
  v1 = end;
  while (v1 > v0 && is_re_space(v1[-1]))
    v1--;
  if (v1 == v0) { /* only whitespace after '=' */
    v0 = end - 1;
    v1 = end;
  }
  *name = cb_xstrndup(n0, (size_t)(p - n0));
  for (char *c = *name; *c != '\0'; c++) {
    if (*c >= 'A' && *c <= 'Z')
      *c = (char)(*c - 'A' + 'a');
  }
  *value = cb_xstrndup(v0, (size_t)(v1 - v0));
  return true;
}

static int
set_escape(struct parse_state *ps, const char *value, struct cb_error **err)
{
  if (strcmp(value, "\\") != 0 && strcmp(value, "`") != 0)
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "%s:%d: invalid escape token '%s' does not match ` or \\",
                   ps->df->filename, ps->lr.lineno, value);
  ps->escape = value[0];
  ps->df->escape = value[0];
  return 0;
}

/* Directives are recognized only in the leading run of directive lines;
   the first other line (blank, comment, instruction) ends the run.  */
static int
check_directive(struct parse_state *ps, const char *line,
                struct cb_error **err)
{
  struct dockerfile *df = ps->df;
  char *name = NULL, *value = NULL;
  struct df_directive *d;

  if (ps->directives_done)
    return 0;
  if (!match_directive(line, &name, &value) ||
      (strcmp(name, "syntax") != 0 && strcmp(name, "escape") != 0 &&
       strcmp(name, "check") != 0)) {
    free(name);
    free(value);
    ps->directives_done = true;
    return 0;
  }
  if (dockerfile_directive(df, name) != NULL) {
    cb_fail(err, CB_ERR_PARSE, 0,
            "%s:%d: only one %s parser directive can be used", df->filename,
            ps->lr.lineno, name);
    free(name);
    free(value);
    return -1;
  }
  df->directives = cb_xreallocarray(df->directives, df->ndirectives + 1,
                                    sizeof(*df->directives));
  d = &df->directives[df->ndirectives++];
  d->name = name;
  d->value = value;
  d->line = ps->lr.lineno;
  if (strcmp(name, "escape") == 0)
    return set_escape(ps, value, err);
  return 0;
}

/* BuildKit's processLine: trim the newline (and leading whitespace for a
   first line), feed the directive parser, drop comments.  */
static int
process_line(struct parse_state *ps, const char *line, size_t len,
             bool strip_left, char **out, struct cb_error **err)
{
  cleanup_free char *s = clean_line(line, len, strip_left);

  if (check_directive(ps, s, err) < 0)
    return -1;
  if (is_comment(s, strlen(s)))
    s[0] = '\0';
  *out = steal_ptr(&s);
  return 0;
}

/* Remove a line continuation: the escape character, preceded by another
   character than itself (or first on the line), followed only by blanks.
   Returns true when the line was continued.  */
static bool
trim_continuation(char *line, char escape)
{
  size_t n = strlen(line);

  while (n > 0 && is_blank(line[n - 1]))
    n--;
  if (n == 0 || line[n - 1] != escape)
    return false;
  if (n >= 2 && line[n - 2] == escape)
    return false;
  line[n - 1] = '\0';
  return true;
}

static bool
can_contain_heredoc(const struct df_node *node)
{
  if (strcmp(node->keyword, "onbuild") == 0 && node->inner != NULL)
    node = node->inner;
  if (node->json)
    return false;
  return strcmp(node->keyword, "run") == 0 ||
         strcmp(node->keyword, "copy") == 0 ||
         strcmp(node->keyword, "add") == 0;
}

static size_t
count_quotes(const char *s)
{
  size_t n = 0;

  for (; *s != '\0'; s++)
    n += *s == '\'' || *s == '"';
  return n;
}

/* Whether WORD is a heredoc opener ("<<EOF", "<<-EOF", "3<<'EOF'",
   "<< EOF"): digits, "<<", an optional "-", then a rest without '<' that
   is exactly one shell word.  Fills H (name owned) and returns 1, or 0. */
static int
parse_heredoc_word(const char *word, struct df_heredoc *h,
                   struct cb_error **err)
{
  const struct shell_opts plain = { '\\', SHELL_SKIP_UNSET };
  const struct shell_opts raw = { '\\', SHELL_SKIP_UNSET | SHELL_RAW_QUOTES };
  struct shell_env env = SHELL_ENV_INIT;
  cleanup_strv char **words = NULL;
  cleanup_strv char **raw_words = NULL;
  const char *p = word, *rest;
  long fd = -1;

  while (*p >= '0' && *p <= '9')
    p++;
  if (p[0] != '<' || p[1] != '<')
    return 0;
  if (p > word)
    fd = strtol(word, NULL, 10);
  rest = p + 2 + (p[2] == '-');
  if (strchr(rest, '<') != NULL)
    return 0;
  words = shell_expand_words(rest, &env, &plain, err);
  if (words == NULL)
    return -1;
  if (cb_strv_len(words) != 1)
    return 0;
  raw_words = shell_expand_words(rest, &env, &raw, err);
  if (raw_words == NULL)
    return -1;
  h->name = cb_xstrdup(words[0]);
  h->fd = fd > 1024 ? 1024 : (int)fd; /* bounded; checked by the builder */
  h->chomp = p[2] == '-';
  /* Any quoting in the delimiter turns expansion of the body off.  */
  h->expand = raw_words[0] != NULL &&
              count_quotes(words[0]) == count_quotes(raw_words[0]);
  h->content = NULL;
  return 1;
}

bool
df_is_heredoc_word(const char *word)
{
  cleanup_error struct cb_error *ignored = NULL;
  struct df_heredoc h = { NULL, NULL, -1, false, false };
  int rc = parse_heredoc_word(word, &h, &ignored);

  free(h.name);
  return rc == 1;
}

/* The heredoc openers of an instruction line, in order.  */
static int
find_heredocs(const char *line, struct df_node *node, struct cb_error **err)
{
  const struct shell_opts opts = {
    '\\', SHELL_RAW_QUOTES | SHELL_RAW_ESCAPES | SHELL_SKIP_UNSET
  };
  struct shell_env env = SHELL_ENV_INIT;
  cleanup_strv char **words = NULL;
  cleanup_error struct cb_error *ignored = NULL;

  /* A line the shell lexer cannot split has no heredocs (as upstream). */
  words = shell_expand_words(line, &env, &opts, &ignored);
  if (words == NULL)
    return 0;
  for (size_t i = 0; words[i] != NULL; i++) {
    struct df_heredoc h;
    int rc = parse_heredoc_word(words[i], &h, err);

    if (rc < 0)
      return -1;
    if (rc == 0)
      continue;
    node->heredocs = cb_xreallocarray(node->heredocs, node->nheredocs + 1,
                                      sizeof(*node->heredocs));
    node->heredocs[node->nheredocs++] = h;
  }
  return 0;
}

/* Read each heredoc body: raw lines up to the delimiter, kept byte for
   byte with their line endings (CRLF stays CRLF, as in BuildKit, so a
   COPY <<EOF file is the same as Docker's).  */
static int
read_heredoc_bodies(struct parse_state *ps, struct df_node *node,
                    struct cb_error **err)
{
  for (size_t i = 0; i < node->nheredocs; i++) {
    struct df_heredoc *h = &node->heredocs[i];
    cleanup_buf struct cb_buf body = CB_BUF_INIT;
    bool terminated = false;
    const char *line;
    size_t len;
    bool got;

    for (;;) {
      size_t end, start = 0;

      if (next_line(ps, &line, &len, &got, err) < 0)
        return -1;
      if (!got)
        break;
      end = len;
      while (end > 0 && (line[end - 1] == '\r' || line[end - 1] == '\n'))
        end--;
      while (h->chomp && start < end && line[start] == '\t')
        start++;
      if (end - start == strlen(h->name) &&
          memcmp(line + start, h->name, end - start) == 0) {
        terminated = true;
        break;
      }
      cb_buf_add(&body, ps->lr.raw, ps->lr.raw_len);
    }
    if (!terminated)
      return cb_fail(err, CB_ERR_PARSE, 0,
                     "%s:%d: unterminated heredoc '%s'", ps->df->filename,
                     node->start_line, h->name);
    h->content = cb_buf_detach(&body, NULL);
  }
  return 0;
}

/* After the first line of an instruction: read continuation lines.  */
static int
read_continued(struct parse_state *ps, struct cb_buf *text, bool *empty_cont,
               struct cb_error **err)
{
  const char *line;
  size_t len;
  bool got;

  for (;;) {
    cleanup_free char *s = NULL;
    bool continued;

    if (next_line(ps, &line, &len, &got, err) < 0)
      return -1;
    if (!got)
      return 0;
    if (process_line(ps, line, len, false, &s, err) < 0)
      return -1;
    if (is_comment(line, len))
      continue;
    if (is_all_space(s)) {
      *empty_cont = true;
      continue;
    }
    continued = trim_continuation(s, ps->escape);
    cb_buf_adds(text, s);
    if (!continued)
      return 0;
  }
}

static struct df_node *
new_node(struct parse_state *ps)
{
  struct dockerfile *df = ps->df;
  struct df_node *node;

  CB_GROW(df->nodes, ps->nodes_alloc, df->nnodes + 1);
  node = &df->nodes[df->nnodes++];
  memset(node, 0, sizeof(*node));
  return node;
}

/* One instruction starting at LINE: continuations, then the node, then
   any heredoc bodies.  */
static int
parse_instruction(struct parse_state *ps, char *first,
                  struct cb_error **err)
{
  cleanup_buf struct cb_buf text = CB_BUF_INIT;
  int start = ps->lr.lineno;
  bool empty_cont = false;
  struct df_node *node;

  if (trim_continuation(first, ps->escape)) {
    cb_buf_adds(&text, first);
    if (read_continued(ps, &text, &empty_cont, err) < 0)
      return -1;
  } else {
    cb_buf_adds(&text, first);
  }
  if (empty_cont)
    add_warning(ps, start, "empty continuation line");
  node = new_node(ps);
  node->start_line = start;
  if (df_node_from_line(cb_buf_str(&text), ps->escape, node, err) < 0) {
    ps->df->nnodes--;
    df_node_release(node);
    return cb_wrap(err, "%s:%d", ps->df->filename, start);
  }
  if (can_contain_heredoc(node) && strstr(cb_buf_str(&text), "<<") != NULL) {
    if (find_heredocs(cb_buf_str(&text), node, err) < 0)
      return cb_wrap(err, "%s:%d", ps->df->filename, start);
    if (read_heredoc_bodies(ps, node, err) < 0)
      return -1;
  }
  node->end_line = ps->lr.lineno;
  /* ONBUILD's instruction spans the same lines, so that errors in the
     trigger name the line of the ONBUILD.  */
  if (node->inner != NULL) {
    node->inner->start_line = node->start_line;
    node->inner->end_line = node->end_line;
  }
  return 0;
}

static int
parse_lines(struct parse_state *ps, struct cb_error **err)
{
  for (;;) {
    cleanup_free char *s = NULL;
    const char *line;
    size_t len;
    bool got;

    if (next_line(ps, &line, &len, &got, err) < 0)
      return -1;
    if (!got)
      return 0;
    if (process_line(ps, line, len, true, &s, err) < 0)
      return -1;
    /* A comment or blank line that is not continued is skipped; a lone
       escape character continues onto the next line.  */
    if (s[0] == '\0')
      continue;
    if (parse_instruction(ps, s, err) < 0)
      return -1;
  }
}

/* The 1-based line of the first NUL byte in TEXT, or 0 if there is none.
   Nodes are C strings, so a NUL cannot be carried; refusing it is safer
   than cutting the line short.  */
static int
nul_line(const char *text, size_t len)
{
  const char *nul = memchr(text, '\0', len);
  int line = 1;

  if (nul == NULL)
    return 0;
  for (const char *p = text; p < nul; p++)
    line += *p == '\n';
  return line;
}

int
dockerfile_parse(const char *filename, const char *text, size_t len,
                 struct dockerfile **out, struct cb_error **err)
{
  cleanup_dockerfile struct dockerfile *df = cb_xcalloc(1, sizeof(*df));
  struct parse_state ps;

  df->filename = cb_xstrdup(filename);
  df->escape = '\\';
  memset(&ps, 0, sizeof(ps));
  ps.df = df;
  ps.escape = '\\';
  ps.lr.text = text;
  ps.lr.len = len;
  if (len > CB_MAX_DOCKERFILE_SIZE)
    return cb_fail(err, CB_ERR_UNSAFE, 0, "%s: larger than %u bytes",
                   filename, CB_MAX_DOCKERFILE_SIZE);
  if (nul_line(text, len) > 0)
    return cb_fail(err, CB_ERR_PARSE, 0, "%s:%d: contains a NUL byte",
                   filename, nul_line(text, len));
  if (parse_lines(&ps, err) < 0)
    return -1;
  if (df->nnodes == 0)
    return cb_fail(err, CB_ERR_PARSE, 0, "%s: file with no instructions",
                   filename);
  *out = steal_ptr(&df);
  return 0;
}

const char *
dockerfile_directive(const struct dockerfile *df, const char *name)
{
  for (size_t i = 0; i < df->ndirectives; i++) {
    if (strcmp(df->directives[i].name, name) == 0)
      return df->directives[i].value;
  }
  return NULL;
}

void
dockerfile_free(struct dockerfile *df)
{
  if (df == NULL)
    return;
  for (size_t i = 0; i < df->nnodes; i++)
    df_node_release(&df->nodes[i]);
  free(df->nodes);
  for (size_t i = 0; i < df->ndirectives; i++) {
    free(df->directives[i].name);
    free(df->directives[i].value);
  }
  free(df->directives);
  cb_strv_free(df->warnings);
  free(df->filename);
  free(df);
}

void
dockerfile_freep(struct dockerfile **df)
{
  dockerfile_free(*df);
  *df = NULL;
}
