#include "config.h"

#include "parser/dockerfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/mem.h"
#include "tests/unit/tap.h"

#include "common/banned.h"

/* The line level of the parser (directives, comments, continuations, line
   limits, heredocs, node lines) and the JSON reader, seen through the
   parse tree and its dump.  */

/* TEXT (LEN bytes) as a printable ASCII test name: newlines as '|', other
   control and non-ASCII bytes as '.', at most 70 characters.  */
static char *
name_of(const char *text, size_t len)
{
  size_t n = len < 70 ? len : 70;
  char *s = cb_xmalloc(n + 1); /* not strndup: TEXT may hold a NUL */

  memcpy(s, text, n);
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\n')
      s[i] = '|';
    else if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
      s[i] = '.';
  }
  s[n] = '\0';
  return s;
}

static struct dockerfile *
parse_len(const char *text, size_t len, struct cb_error **err)
{
  struct dockerfile *df = NULL;

  if (dockerfile_parse("Dockerfile", text, len, &df, err) < 0)
    return NULL;
  return df;
}

/* Parse TEXT, which must succeed.  */
static struct dockerfile *
parse_ok(const char *text)
{
  cleanup_error struct cb_error *err = NULL;
  cleanup_free char *name = name_of(text, strlen(text));
  struct dockerfile *df = parse_len(text, strlen(text), &err);

  if (!ok(df != NULL, "parses: %s", name))
    diag("error: %s", err->msg);
  return df;
}

/* The dump of TEXT, or NULL when it does not parse.  */
static char *
dump_len(const char *text, size_t len)
{
  cleanup_error struct cb_error *err = NULL;
  cleanup_dockerfile struct dockerfile *df = parse_len(text, len, &err);
  struct cb_buf out = CB_BUF_INIT;

  if (df == NULL) {
    diag("error: %s", err->msg);
    return NULL;
  }
  dockerfile_dump(df, &out);
  return cb_buf_detach(&out, NULL);
}

struct dump_case {
  const char *text;
  const char *want; /* the whole dump */
};

static void
check_dumps(const struct dump_case *cases, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *name = name_of(cases[i].text, strlen(cases[i].text));
    cleanup_free char *got = dump_len(cases[i].text, strlen(cases[i].text));

    is_str(got, cases[i].want, "dump of %s", name);
  }
}

/* TEXT (LEN bytes) fails with KIND and a message starting with PREFIX and
   containing WANT.  */
static void
check_fails(const char *text, size_t len, enum cb_err_kind kind,
            const char *prefix, const char *want)
{
  cleanup_error struct cb_error *err = NULL;
  cleanup_free char *name = name_of(text, len);
  cleanup_dockerfile struct dockerfile *df = parse_len(text, len, &err);

  if (!ok(df == NULL && err != NULL, "refused: %s", name))
    return;
  is_int(err->kind, kind, "%s: kind", name);
  if (!ok(strncmp(err->msg, prefix, strlen(prefix)) == 0 &&
              strstr(err->msg, want) != NULL,
          "%s: message '%s...%s'", name, prefix, want))
    diag("got: %s", err->msg);
}

/* Directives.  */

static void
test_directive_values(void)
{
  cleanup_dockerfile struct dockerfile *df =
      parse_ok("# syntax=docker/dockerfile:1\n"
               "#CHECK = skip=all ; error=true  \n"
               "  #\tEscape\t=\t`\n"
               "FROM a\n");

  if (df == NULL)
    return;
  is_str(dockerfile_directive(df, "syntax"), "docker/dockerfile:1", "syntax");
  is_str(dockerfile_directive(df, "check"), "skip=all ; error=true",
         "check: name in any case, trailing blanks dropped");
  is_str(dockerfile_directive(df, "escape"), "`", "escape with tabs");
  is_int(df->escape, '`', "escape set");
  is_int((long long)df->ndirectives, 3, "three directives");
  is_int(df->directives[2].line, 3, "directive line");
  dockerfile_free(df);
  df = parse_ok("#\fsyntax\f=\f x \f\n# check= \n#escape=`\f\r\nFROM a\n");
  if (df == NULL)
    return;
  is_str(dockerfile_directive(df, "syntax"), "x", "\\f is regexp space");
  is_str(dockerfile_directive(df, "check"), " ", "a blank value");
  is_str(dockerfile_directive(df, "escape"), "`", "still a directive");
  ok(dockerfile_directive(df, "other") == NULL, "unknown name is NULL");
}

/* A directive after the first non-directive line is a plain comment.  */
static void
test_directive_placement(void)
{
  static const char *const texts[] = {
    "\n# escape=`\nFROM a\n",
    "# hello\n# escape=`\nFROM a\n",
    "# foo=bar\n# escape=`\nFROM a\n",
    "# syntax2=x\n# escape=`\nFROM a\n",
    "FROM a\n# escape=`\n",
    "# escape=\n# escape=`\nFROM a\n",
    "#\n# escape=`\nFROM a\n",
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(texts); i++) {
    cleanup_free char *name = name_of(texts[i], strlen(texts[i]));
    cleanup_dockerfile struct dockerfile *df = parse_ok(texts[i]);

    if (df == NULL)
      continue;
    ok(dockerfile_directive(df, "escape") == NULL && df->escape == '\\',
       "not a directive: %s", name);
  }
}

static void
test_directive_errors(void)
{
  static const struct {
    const char *text;
    const char *prefix;
    const char *want;
  } cases[] = {
    { "# escape=\\\n# escape=`\nFROM a\n",
      "Dockerfile:2: ", "only one escape parser directive" },
    { "# syntax=a\n#SYNTAX=b\nFROM a\n",
      "Dockerfile:2: ", "only one syntax parser directive" },
    { "# check=a\n# syntax=b\n# Check=c\nFROM a\n",
      "Dockerfile:3: ", "only one check parser directive" },
    { "# escape=x\nFROM a\n", "Dockerfile:1: ", "invalid escape token 'x'" },
    { "# syntax=a\n# escape=\\\\\nFROM a\n",
      "Dockerfile:2: ", "invalid escape token '\\\\'" },
    { "# escape=``\nFROM a\n", "Dockerfile:1: ", "invalid escape token" },
    /* Whitespace alone after '=' is a value (BuildKit's lazy regex).  */
    { "# escape= \nFROM a\n", "Dockerfile:1: ", "invalid escape token ' '" },
    { "# escape=\t \t\nFROM a\n",
      "Dockerfile:1: ", "invalid escape token '\t'" },
    { "# escape=\\\f\n# escape\f=`\nFROM a\n",
      "Dockerfile:2: ", "only one escape parser directive" },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(cases); i++)
    check_fails(cases[i].text, strlen(cases[i].text), CB_ERR_PARSE,
                cases[i].prefix, cases[i].want);
}

static const struct dump_case escape_dumps[] = {
  /* With ` as the escape, a backslash is text and ` continues.  */
  { "# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo\nCOPY c:\\a\\ d:\\\n",
    "(from \"a\")\n(run \"dir c:\\\\   && echo\")\n"
    "(copy \"c:\\\\a\\\\\" \"d:\\\\\")\n" },
  /* The directive, not being first, is a comment: \ still continues.  */
  { "\n# escape=`\nFROM a\nRUN b\\\n c\n", "(from \"a\")\n(run \"b c\")\n" },
  { "#escape=`\nFROM a\nENV A=x` y B=``\n",
    "(from \"a\")\n(env \"A\" \"x` y\" \"=\" \"B\" \"``\" \"=\")\n" },
};

/* Reading lines: BOM, CRLF, comments.  */

static const struct dump_case line_dumps[] = {
  { "\xEF\xBB\xBF"
    "FROM a\n",
    "(from \"a\")\n" },
  { "\xEF\xBB\xBF# escape=`\nFROM a\nRUN b`\n c\n",
    "(from \"a\")\n(run \"b c\")\n" },
  /* A BOM anywhere else is text (and not whitespace).  */
  { "FROM a\n\xEF\xBB\xBFRUN x\n", "(from \"a\")\n(\xEF\xBB\xBFrun \"\")\n" },
  { "FROM a\r\nRUN b \\\r\n  c\r\n", "(from \"a\")\n(run \"b   c\")\n" },
  { "FROM a\r\r\nRUN b\r\r\r\n", "(from \"a\")\n(run \"b\")\n" },
  { "FROM a\nRUN b\rc\n", "(from \"a\")\n(run \"b\\rc\")\n" },
  { "FROM a\nRUN b\n\n\n   \n\t\n", "(from \"a\")\n(run \"b\")\n" },
  { "   FROM a\n  # c\n\t# d\nRUN echo # not a comment\n",
    "(from \"a\")\n(run \"echo # not a comment\")\n" },
  { "FROM a", "(from \"a\")\n" },
  { "FROM a\n#", "(from \"a\")\n" },
  { "\xC2\xA0"
    "FROM\xC2\xA0"
    "a\n",
    "(from\xC2\xA0"
    "a \"\")\n" },
  { "FROM a\nFOO( (bar\n", "(from \"a\")\n(foo( \"\")\n" },
};

/* Continuation lines.  */

static const struct dump_case continuation_dumps[] = {
  { "FROM a\nRUN a\\\nb\n", "(from \"a\")\n(run \"ab\")\n" },
  { "FROM a\nRUN a \\\n b\n", "(from \"a\")\n(run \"a  b\")\n" },
  { "FROM a\nRUN a \\ \t \n b\n", "(from \"a\")\n(run \"a  b\")\n" },
  /* An escaped escape at the end does not continue.  */
  { "FROM a\nRUN foo\\\\\nFROM b\n",
    "(from \"a\")\n(run \"foo\\\\\\\\\")\n(from \"b\")\n" },
  /* Nor does an escaped escape before one (upstream's regex).  */
  { "FROM a\nRUN foo\\\\\\\nFROM b\n",
    "(from \"a\")\n(run \"foo\\\\\\\\\\\\\")\n(from \"b\")\n" },
  /* A lone escape line continues, adding nothing.  */
  { "FROM a\nRUN a \\\n\\\n b\n", "(from \"a\")\n(run \"a  b\")\n" },
  { "FROM a\n\\\nRUN b\n", "(from \"a\")\n(run \"b\")\n" },
  /* Comment and blank lines inside are dropped.  */
  { "FROM a\nRUN a \\\n# c\n   # d\n\n \t\n  b\n",
    "(from \"a\")\n(run \"a   b\")\n" },
  /* A comment is never continued.  */
  { "# c \\\nFROM a\n", "(from \"a\")\n" },
  /* End of file while continued ends the instruction.  */
  { "FROM a\nRUN something \\", "(from \"a\")\n(run \"something\")\n" },
  { "FROM a\nRUN something \\\n", "(from \"a\")\n(run \"something\")\n" },
  { "FROM a\nRUN something \\\n# c\n\n",
    "(from \"a\")\n(run \"something\")\n" },
  /* A continued line that becomes a directive-looking comment later.  */
  { "FROM a\nRUN a \\\n #escape=`\n b\n", "(from \"a\")\n(run \"a  b\")\n" },
  /* A line of only an escape at the end gives an empty instruction.  */
  { "FROM a\n\\\n", "(from \"a\")\n(\"\")\n" },
  { "FROM a\n\\\n\n# c\n", "(from \"a\")\n(\"\")\n" },
};

static void
test_warnings(void)
{
  cleanup_dockerfile struct dockerfile *df =
      parse_ok("FROM a\n\nRUN a \\\n\n  b\nRUN c \\\n# only a comment\n d\n"
               "RUN e \\\n \t\n f\n");
  cleanup_dockerfile struct dockerfile *clean = parse_ok("FROM a\nRUN b\n");

  if (df != NULL && ok(df->warnings != NULL, "warnings for empty lines")) {
    is_str(df->warnings[0], "3: empty continuation line",
           "warning names the instruction's first line");
    is_str(df->warnings[1], "9: empty continuation line",
           "whitespace-only line counts");
    ok(df->warnings[2] == NULL, "a comment line is no warning");
  }
  if (clean != NULL)
    ok(clean->warnings == NULL, "no warnings: NULL");
}

/* Line limits and bytes.  */

static char *
long_line_file(size_t n, const char *tail, size_t *len)
{
  struct cb_buf b = CB_BUF_INIT;

  cb_buf_adds(&b, "FROM a\nRUN ");
  for (size_t i = 4; i < n; i++)
    cb_buf_addc(&b, 'x');
  cb_buf_adds(&b, tail);
  return cb_buf_detach(&b, len);
}

static void
test_line_limit(void)
{
  static const struct {
    size_t n; /* bytes on line 2 before TAIL */
    const char *tail;
    bool fits;
  } cases[] = {
    { 65535, "\n", true },  { 65536, "\n", false },  { 65535, "", true },
    { 65536, "", false },   { 65534, "\r\n", true }, { 65535, "\r\n", false },
    { 70000, "\n", false },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(cases); i++) {
    size_t len;
    cleanup_free char *text = long_line_file(cases[i].n, cases[i].tail, &len);
    cleanup_error struct cb_error *err = NULL;
    cleanup_dockerfile struct dockerfile *df = parse_len(text, len, &err);
    const char *tail_name = cases[i].tail[0] == '\r'   ? "CRLF"
                            : cases[i].tail[0] == '\n' ? "LF"
                                                       : "EOF";

    if (cases[i].fits) {
      ok(df != NULL && df->nnodes == 2 &&
             strlen(df->nodes[1].args[0]) == cases[i].n - 4,
         "a line of %zu bytes + %s fits", cases[i].n, tail_name);
      continue;
    }
    ok(df == NULL && err != NULL && err->kind == CB_ERR_UNSAFE &&
           strncmp(err->msg, "Dockerfile:2: line too long", 27) == 0,
       "a line of %zu bytes + %s is refused", cases[i].n, tail_name);
  }
}

static void
test_heredoc_line_limit(void)
{
  struct cb_buf b = CB_BUF_INIT;
  cleanup_free char *text = NULL;
  size_t len;

  cb_buf_adds(&b, "FROM a\nRUN <<EOF\n");
  for (size_t i = 0; i < 65536; i++)
    cb_buf_addc(&b, 'y');
  cb_buf_adds(&b, "\nEOF\n");
  text = cb_buf_detach(&b, &len);
  check_fails(text, len, CB_ERR_UNSAFE, "Dockerfile:3: ", "line too long");
}

static void
test_bytes(void)
{
  static const char nul[] = "FROM a\nRUN a\0b\n";
  static const char nul3[] = "FROM a\n# c\n\0\n";

  check_fails(nul, sizeof(nul) - 1, CB_ERR_PARSE,
              "Dockerfile:2: ", "contains a NUL byte");
  check_fails(nul3, sizeof(nul3) - 1, CB_ERR_PARSE,
              "Dockerfile:3: ", "contains a NUL byte");
  check_fails("", 0, CB_ERR_PARSE, "Dockerfile", "no instructions");
  check_fails("\xEF\xBB\xBF", 3, CB_ERR_PARSE, "Dockerfile", "no instructions");
  check_fails("# escape=`\n\n# c\n  \n", 19, CB_ERR_PARSE, "Dockerfile",
              "no instructions");
}

/* Heredocs.  */

struct heredoc_want {
  const char *name;
  const char *content;
  int fd;
  bool expand;
  bool chomp;
};

/* TEXT is "FROM a\n" and one instruction with the heredocs WANT (N of
   them; N == 0: none), then "FROM end" (which must be a node of its own). */
static void
check_heredocs(const char *text, const struct heredoc_want *want, size_t n)
{
  cleanup_free char *name = name_of(text, strlen(text));
  cleanup_dockerfile struct dockerfile *df = parse_ok(text);
  const struct df_node *node;

  if (df == NULL)
    return;
  if (!is_int((long long)df->nnodes, 3, "%s: three nodes", name))
    return;
  node = &df->nodes[1];
  if (!is_int((long long)node->nheredocs, (long long)n, "%s: %zu heredocs",
              name, n))
    return;
  for (size_t i = 0; i < n; i++) {
    const struct df_heredoc *h = &node->heredocs[i];

    is_str(h->name, want[i].name, "%s: name %zu", name, i);
    is_str(h->content, want[i].content, "%s: body %zu", name, i);
    ok(h->fd == want[i].fd && h->expand == want[i].expand &&
           h->chomp == want[i].chomp,
       "%s: fd %d expand %d chomp %d", name, h->fd, h->expand, h->chomp);
  }
}

static void
test_heredoc_names(void)
{
  static const struct {
    const char *text;
    struct heredoc_want want;
  } cases[] = {
    { "FROM a\nRUN <<EOF\necho hi\nEOF\nFROM end\n",
      { "EOF", "echo hi\n", -1, true, false } },
    { "FROM a\nRUN <<\"EOF\"\n$x\nEOF\nFROM end\n",
      { "EOF", "$x\n", -1, false, false } },
    { "FROM a\nRUN <<'EOF'\n$x\nEOF\nFROM end\n",
      { "EOF", "$x\n", -1, false, false } },
    { "FROM a\nRUN <<E\"OF\"\nEOF\nFROM end\n", { "EOF", "", -1, false } },
    { "FROM a\nRUN <<eo'f'\nx\neof\nFROM end\n", { "eof", "x\n", -1, false } },
    { "FROM a\nRUN <<eo\\'f\nx\neo'f\nFROM end\n",
      { "eo'f", "x\n", -1, true } },
    { "FROM a\nRUN <<'e'o\\'f\nx\neo'f\nFROM end\n",
      { "eo'f", "x\n", -1, false } },
    { "FROM a\nRUN <<'one two'\nx\none two\nFROM end\n",
      { "one two", "x\n", -1, false } },
    { "FROM a\nRUN <<$EOF\n$EOF\nFROM end\n", { "$EOF", "", -1, true } },
    { "FROM a\nRUN <<  EOF  > foo\nEOF\nFROM end\n", { "EOF", "", -1, true } },
    { "FROM a\nRUN << -EOF\nx\n-EOF\nFROM end\n", { "-EOF", "x\n", -1, true } },
    { "FROM a\nRUN 3<<EOF\nEOF\nFROM end\n", { "EOF", "", 3, true } },
    { "FROM a\nRUN cat 10<<-A\nA\nFROM end\n", { "A", "", 10, true, true } },
    { "FROM a\nRUN <<COMPLEX python3\nprint(1)\nCOMPLEX\nFROM end\n",
      { "COMPLEX", "print(1)\n", -1, true } },
    { "FROM a\nCOPY <<file.txt /dest\nhi\nfile.txt\nFROM end\n",
      { "file.txt", "hi\n", -1, true } },
    { "FROM a\nadd <<EOF /dest\nhi\nEOF\nFROM end\n",
      { "EOF", "hi\n", -1, true } },
    { "FROM a\nRUN --mount=type=cache,target=/c <<M\nx\nM\nFROM end\n",
      { "M", "x\n", -1, true } },
    { "FROM a\nONBUILD RUN <<EOF\nx\nEOF\nFROM end\n",
      { "EOF", "x\n", -1, true } },
    { "# escape=`\nFROM a\nRUN <<EOF\nx `\nEOF\nFROM end\n",
      { "EOF", "x `\n", -1, true } },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(cases); i++)
    check_heredocs(cases[i].text, &cases[i].want, 1);
}

static void
test_heredoc_bodies(void)
{
  static const struct heredoc_want raw = {
    "EOF", "# not a comment\nfoo \\\n  bar\n\n  \nFROB x\n\tEOF\nEOF \n", -1,
    true, false
  };
  static const struct heredoc_want two[] = {
    { "X", "Y\n", -1, true, false },
    { "Y", "X\n", -1, true, false },
  };
  static const struct heredoc_want crlf = { "EOF", "a\r\nb\r\r\n", -1, true,
                                            false };
  static const struct heredoc_want chomp = { "E", "\t\ta\n  \tb\n", -1, true,
                                             true };

  check_heredocs("FROM a\nRUN <<EOF\n# not a comment\nfoo \\\n  bar\n\n  \n"
                 "FROB x\n\tEOF\nEOF \nEOF\nFROM end\n",
                 &raw, 1);
  check_heredocs("FROM a\nCOPY <<X <<Y /dest\nY\nX\nX\nY\nFROM end\n", two, 2);
  check_heredocs("FROM a\r\nRUN <<EOF\r\na\r\nb\r\r\nEOF\r\nFROM end\r\n",
                 &crlf, 1);
  check_heredocs("FROM a\nRUN <<-E\n\t\ta\n  \tb\n\t\tE\nFROM end\n", &chomp,
                 1);
}

/* Lines that look like heredocs but are not: the next line is a node.  */
static void
test_not_heredocs(void)
{
  static const char *const texts[] = {
    "FROM a\nRUN [\"<<EOF\"]\nFROM end\n",
    "FROM a\nRUN \"<<EOF\"\nFROM end\n",
    "FROM a\nRUN '<<EOF'\nFROM end\n",
    "FROM a\nUSER <<EOF\nFROM end\n",
    "FROM a\nRUN <<\nFROM end\n",
    "FROM a\nRUN <<-\nFROM end\n",
    /* The lexer keeps "<<" and the blanks after it in one word, not
       "<<-" and blanks: "<<-" and "EOF" are two words, neither a
       heredoc (BuildKit's lexer does the same).  */
    "FROM a\nRUN <<- EOF\nFROM end\n",
    "FROM a\nRUN <<<EOF\nFROM end\n",
    "FROM a\nRUN a<<EOF\nFROM end\n",
    "FROM a\nRUN echo \\<<EOF\nFROM end\n",
    "FROM a\nRUN <<EOF 'x\nFROM end\n",
    "FROM a\nCMD <<EOF\nFROM end\n",
    "FROM a\nONBUILD CMD <<EOF\nFROM end\n",
    "FROM a\nONBUILD RUN [\"<<EOF\"]\nFROM end\n",
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(texts); i++)
    check_heredocs(texts[i], NULL, 0);
}

static void
test_heredoc_errors(void)
{
  static const char *const texts[] = {
    "FROM a\nRUN <<EOF\necho\n",    "FROM a\nRUN <<EOF\necho\nEOF ",
    "FROM a\nRUN <<EOF\n\tEOF\n",   "FROM a\nRUN <<A <<B\nA\n",
    "FROM a\nCOPY <<EOF /x\neof\n",
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(texts); i++)
    check_fails(texts[i], strlen(texts[i]), CB_ERR_PARSE,
                "Dockerfile:2: ", "unterminated heredoc");
}

/* Node lines: each instruction spans its continuation and heredoc lines. */
static void
test_node_lines(void)
{
  static const int want[][2] = {
    { 2, 3 }, { 5, 8 }, { 9, 10 }, { 11, 13 }, { 14, 16 }, { 17, 17 },
  };
  cleanup_dockerfile struct dockerfile *df =
      parse_ok("# syntax=x\nFROM a \\\n  AS b\n\n"
               "RUN a \\\n# c\n\n  b\n"
               "RUN <<EOF\nEOF\n"
               "COPY <<A \\\n"
               "  /dst\n"
               "A\n"
               "ONBUILD RUN <<B\nbody\nB\n"
               "CMD x \\");

  if (df == NULL)
    return;
  ok(df->nnodes == CB_N_ELEMENTS(want), "six nodes (%zu)", df->nnodes);
  for (size_t i = 0; i < df->nnodes && i < CB_N_ELEMENTS(want); i++)
    ok(df->nodes[i].start_line == want[i][0] &&
           df->nodes[i].end_line == want[i][1],
       "node %zu (%s) spans %d-%d (got %d-%d)", i, df->nodes[i].keyword,
       want[i][0], want[i][1], df->nodes[i].start_line, df->nodes[i].end_line);
}

/* The JSON reader, through the dump.  */

static const struct dump_case json_dumps[] = {
  { "FROM a\nCMD [\"a\\\"b\", \"\\\\\", \"\\/\"]\n",
    "(from \"a\")\n(cmd \"a\\\"b\" \"\\\\\" \"/\")\n" },
  { "FROM a\nCMD [\"\\b\\f\\n\\r\\t\"]\n",
    "(from \"a\")\n(cmd \"\\b\\f\\n\\r\\t\")\n" },
  { "FROM a\nCMD [\"\\u00e9\\u00E9\", \"\\u0041\"]\n",
    "(from \"a\")\n(cmd \"\xC3\xA9\xC3\xA9\" \"A\")\n" },
  { "FROM a\nCMD [\"\\u00a0\\u200b\\ufeff\\u2028\"]\n",
    "(from \"a\")\n(cmd \"\\u00a0\\u200b\\ufeff\\u2028\")\n" },
  { "FROM a\nCMD [\"\\ud83d\\ude00\"]\n",
    "(from \"a\")\n(cmd \"\xF0\x9F\x98\x80\")\n" },
  { "FROM a\nCMD [\"\\udb40\\udc01\"]\n",
    "(from \"a\")\n(cmd \"\\U000e0001\")\n" },
  { "FROM a\nCMD [\"\\ud83d\", \"\\ude00\", \"\\ud83dx\"]\n",
    "(from \"a\")\n(cmd \"\xEF\xBF\xBD\" \"\xEF\xBF\xBD\" "
    "\"\xEF\xBF\xBDx\")\n" },
  { "FROM a\nCMD [\"\\ud83d\\ud83d\\ude00\", \"\\ud83d\\u0041\"]\n",
    "(from \"a\")\n(cmd \"\xEF\xBF\xBD\xF0\x9F\x98\x80\" \"\xEF\xBF\xBD"
    "A\")\n" },
  { "FROM a\nCMD [\"\xff\", \"a\xC3\", \"\xED\xA0\x80\"]\n",
    "(from \"a\")\n(cmd \"\xEF\xBF\xBD\" \"a\xEF\xBF\xBD\" "
    "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\")\n" },
  { "FROM a\nCMD [\"a\\u0000b\", \"\\u0001\\u001f\\u007f\"]\n",
    "(from \"a\")\n(cmd \"a\\x00b\" \"\\x01\\x1f\\x7f\")\n" },
  { "FROM a\nCMD [\"\x7f\"]\n", "(from \"a\")\n(cmd \"\\x7f\")\n" },
  { "FROM a\nHEALTHCHECK \xC0\x80 [\"a\\u0000\"]\n",
    "(from \"a\")\n(healthcheck \"\\xc0\\x80\" \"a\\x00\")\n" },
  { "FROM a\nRUN \xC0\x80\n", "(from \"a\")\n(run \"\\xc0\\x80\")\n" },
  { "FROM a\nCMD []\n", "(from \"a\")\n(cmd)\n" },
  { "FROM a\nCMD [ ]\n", "(from \"a\")\n(cmd)\n" },
  { "FROM a\nCMD [\"\"]\n", "(from \"a\")\n(cmd \"\")\n" },
  { "FROM a\nCMD \t[ \"a\" ,\t\"b\" ] \n",
    "(from \"a\")\n(cmd \"a\" \"b\")\n" },
  /* Not JSON: the shell form.  */
  { "FROM a\nCMD [\"a\"] x\n", "(from \"a\")\n(cmd \"[\\\"a\\\"] x\")\n" },
  { "FROM a\nCMD [\"a\",]\n", "(from \"a\")\n(cmd \"[\\\"a\\\",]\")\n" },
  { "FROM a\nCMD [\"a\" \"b\"]\n",
    "(from \"a\")\n(cmd \"[\\\"a\\\" \\\"b\\\"]\")\n" },
  { "FROM a\nCMD ['a']\n", "(from \"a\")\n(cmd \"['a']\")\n" },
  { "FROM a\nCMD [\"\\U0001F600\"]\n",
    "(from \"a\")\n(cmd \"[\\\"\\\\U0001F600\\\"]\")\n" },
  { "FROM a\nCMD [\"\\u00\"]\n",
    "(from \"a\")\n(cmd \"[\\\"\\\\u00\\\"]\")\n" },
  { "FROM a\nCMD [\"\\x41\"]\n",
    "(from \"a\")\n(cmd \"[\\\"\\\\x41\\\"]\")\n" },
  { "FROM a\nCMD [\"a\tb\"]\n", "(from \"a\")\n(cmd \"[\\\"a\\tb\\\"]\")\n" },
  { "FROM a\nCMD [\v\"a\"]\n", "(from \"a\")\n(cmd \"[\\v\\\"a\\\"]\")\n" },
  { "FROM a\nCMD [01]\n", "(from \"a\")\n(cmd \"[01]\")\n" },
  { "FROM a\nCMD [1.]\n", "(from \"a\")\n(cmd \"[1.]\")\n" },
  { "FROM a\nCMD [.5]\n", "(from \"a\")\n(cmd \"[.5]\")\n" },
  { "FROM a\nCMD [+1]\n", "(from \"a\")\n(cmd \"[+1]\")\n" },
  { "FROM a\nCMD [tru]\n", "(from \"a\")\n(cmd \"[tru]\")\n" },
  { "FROM a\nCMD [\"a\"\n", "(from \"a\")\n(cmd \"[\\\"a\\\"\")\n" },
  { "FROM a\nCMD [{\"a\"}]\n", "(from \"a\")\n(cmd \"[{\\\"a\\\"}]\")\n" },
  { "FROM a\nCMD [{\"a\":1,}]\n",
    "(from \"a\")\n(cmd \"[{\\\"a\\\":1,}]\")\n" },
  { "FROM a\nCMD {\"a\": 1}\n", "(from \"a\")\n(cmd \"{\\\"a\\\": 1}\")\n" },
  { "FROM a\nCOPY [\"a b\" \"c\"]\n",
    "(from \"a\")\n(copy \"[\\\"a\" \"b\\\"\" \"\\\"c\\\"]\")\n" },
  /* Valid JSON with a non-string element is an error, but a form that
     is not valid JSON stays shell form even with one.  */
  { "FROM a\nCMD [1, \"a\"] x\n",
    "(from \"a\")\n(cmd \"[1, \\\"a\\\"] x\")\n" },
};

static void
check_json_error(const char *text)
{
  check_fails(text, strlen(text), CB_ERR_PARSE,
              "Dockerfile:2: ", "JSON array must contain only strings");
}

static void
test_json_errors(void)
{
  static const char *const texts[] = {
    "FROM a\nCMD [\"a\", [\"b\"]]\n",
    "FROM a\nCMD [{\"a\": [1, {\"b\": null}]}]\n",
    "FROM a\nCMD [1e5]\n",
    "FROM a\nCMD [-0.5E-3]\n",
    "FROM a\nCMD [true, false]\n",
    "FROM a\nCMD [null]\n",
    "FROM a\nCMD [{}]\n",
    "FROM a\nCMD [[]]\n",
    "FROM a\nENTRYPOINT [\"a\", 0]\n",
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(texts); i++)
    check_json_error(texts[i]);
}

/* "CMD " + DEPTH '[' + INNER + DEPTH ']'.  */
static char *
nested(size_t depth, const char *inner, bool close)
{
  struct cb_buf b = CB_BUF_INIT;

  cb_buf_adds(&b, "FROM a\nCMD ");
  for (size_t i = 0; i < depth; i++)
    cb_buf_addc(&b, '[');
  cb_buf_adds(&b, inner);
  for (size_t i = 0; close && i < depth; i++)
    cb_buf_addc(&b, ']');
  cb_buf_addc(&b, '\n');
  return cb_buf_detach(&b, NULL);
}

/* Go's decoder accepts nesting up to 10000 levels, outer array included;
   deeper is not JSON (shell form), and never a crash.  */
static void
test_json_depth(void)
{
  cleanup_free char *at_limit = nested(10000, "1", true);
  cleanup_free char *over = nested(10001, "1", true);
  cleanup_free char *deep = nested(20000, "", true);
  cleanup_free char *open = nested(20000, "", false);
  cleanup_dockerfile struct dockerfile *df = NULL;
  cleanup_error struct cb_error *err = NULL;

  check_json_error(at_limit);
  df = parse_ok(over);
  ok(df != NULL && !df->nodes[1].json && df->nodes[1].nargs == 1 &&
         strlen(df->nodes[1].args[0]) == 20003,
     "10001 levels: shell form");
  dockerfile_free(df);
  df = parse_ok(deep);
  ok(df != NULL && !df->nodes[1].json && df->nodes[1].nargs == 1,
     "20000 levels: shell form");
  dockerfile_free(df);
  df = parse_len(open, strlen(open), &err);
  ok(df != NULL && !df->nodes[1].json, "20000 unclosed levels: shell form");
}

/* N lines "CMD [\"aaa...\"]" with LEN letters each.  */
static char *
json_lines(size_t n, size_t len, size_t *size)
{
  struct cb_buf b = CB_BUF_INIT;

  cb_buf_adds(&b, "FROM a\n");
  for (size_t i = 0; i < n; i++) {
    cb_buf_adds(&b, "CMD [\"");
    for (size_t j = 0; j < len; j++)
      cb_buf_addc(&b, 'a');
    cb_buf_adds(&b, "\"]\n");
  }
  return cb_buf_detach(&b, size);
}

/* The best of three parse times of TEXT, in seconds.  */
static double
parse_seconds(const char *text, size_t len)
{
  double best = 1e9;

  for (int i = 0; i < 3; i++) {
    cleanup_error struct cb_error *err = NULL;
    struct timespec t0, t1;
    struct dockerfile *df;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    df = parse_len(text, len, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    dockerfile_free(df);
    if (t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9 < best)
      best = t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  }
  return best;
}

/* JSON strings are read in linear time: the same bytes in 64 KB lines
   take about as long as in 1 KB lines (a quadratic reader took ~50 times
   as long).  A ratio, so the speed of the machine does not matter.  */
static void
test_json_linear(void)
{
  size_t long_len, short_len;
  cleanup_free char *longs = json_lines(20, 64000, &long_len);
  cleanup_free char *shorts = json_lines(20 * 64, 1000, &short_len);
  double tl = parse_seconds(longs, long_len);
  double ts = parse_seconds(shorts, short_len);

  ok(tl < 5 * ts + 0.01,
     "long JSON lines parse in linear time (%.3fs vs "
     "%.3fs)",
     tl, ts);
}

int
main(void)
{
  test_directive_values();
  test_directive_placement();
  test_directive_errors();
  check_dumps(escape_dumps, CB_N_ELEMENTS(escape_dumps));
  check_dumps(line_dumps, CB_N_ELEMENTS(line_dumps));
  check_dumps(continuation_dumps, CB_N_ELEMENTS(continuation_dumps));
  test_warnings();
  test_line_limit();
  test_heredoc_line_limit();
  test_bytes();
  test_heredoc_names();
  test_heredoc_bodies();
  test_not_heredocs();
  test_heredoc_errors();
  test_node_lines();
  check_dumps(json_dumps, CB_N_ELEMENTS(json_dumps));
  test_json_errors();
  test_json_depth();
  test_json_linear();
  return done_testing();
}
