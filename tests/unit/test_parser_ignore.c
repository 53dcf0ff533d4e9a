/* .dockerignore reading and matching: every row of moby/patternmatcher's
   tables (shared/conformance/dockerignore/patternmatcherTest.tsv), then
   line processing, bad patterns, walker pruning and our own choices.  */
#include "config.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/mem.h"
#include "parser/ignore.h"
#include "tap.h"

#include "common/banned.h"

#define TSV_NAME "dockerignore/patternmatcherTest.tsv"
#define TSV_ROWS 126

static char *
tsv_path(void)
{
  const char *dir = getenv("CB_CONFORMANCE_DIR");
  const char *src = getenv("CB_SRCDIR");

  if (dir != NULL && *dir != '\0')
    return cb_xasprintf("%s/%s", dir, TSV_NAME);
  if (src == NULL || *src == '\0')
    src = CBUILD_SRCDIR;
  return cb_xasprintf("%s/../shared/conformance/%s", src, TSV_NAME);
}

/* "a | b | c", for messages and comparisons.  */
static char *
join(char *const *v)
{
  struct cb_buf b = CB_BUF_INIT;

  for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
    if (i > 0)
      cb_buf_adds(&b, " | ");
    cb_buf_adds(&b, v[i]);
  }
  return cb_buf_detach(&b, NULL);
}

static char **
split_tabs(const char *line, size_t len)
{
  char **v = cb_xcalloc(len + 2, sizeof(*v));
  size_t n = 0;

  for (size_t start = 0;;) {
    const char *tab = memchr(line + start, '\t', len - start);
    size_t end = tab != NULL ? (size_t)(tab - line) : len;

    v[n++] = cb_xstrndup(line + start, end - start);
    if (tab == NULL)
      return v;
    start = end + 1;
  }
}

/* "true", "false", or "error" (a parse error; any other kind of error is
   shown with its kind so that it cannot pass for one).  */
static const char *
verdict(char *const *patterns, const char *path, bool clean)
{
  cleanup_error struct cb_error *err = NULL;
  cleanup_ignore_matcher struct ignore_matcher *m =
      ignore_matcher_new(patterns, &err);
  bool excluded = false;
  int r = -1;

  if (m != NULL)
    r = clean ? ignore_matcher_matches_clean(m, path, &excluded, &err)
              : ignore_matcher_matches(m, path, &excluded, &err);
  if (r == 0)
    return excluded ? "true" : "false";
  if (err == NULL || err->kind != CB_ERR_PARSE)
    return "error of the wrong kind";
  return "error";
}

/* SOURCE, EXPECTED, PATH, PATTERN...; TestMatch rows use Go's one-shot
   Matches(), which cleans PATH first.  */
static void
run_row(const char *line, size_t len, size_t lineno)
{
  cleanup_strv char **f = split_tabs(line, len);
  cleanup_free char *shown = NULL;
  bool clean;

  if (cb_strv_len(f) < 4) {
    ok(false, "tsv:%zu has fewer than 4 fields", lineno);
    return;
  }
  shown = join(f + 3);
  clean = strcmp(f[0], "TestMatch") == 0;
  is_str(verdict(f + 3, f[2], clean), f[1], "tsv:%zu %s: '%s' against %s",
         lineno, f[0], f[2], shown);
}

static void
test_tsv(void)
{
  cleanup_error struct cb_error *err = NULL;
  cleanup_free char *path = tsv_path();
  cleanup_free char *buf = NULL;
  size_t len = 0, rows = 0, lineno = 0;

  if (cb_read_file_at(AT_FDCWD, path, 1u << 20, &buf, &len, &err) < 0) {
    ok(false, "read the conformance table %s: %s", path, err->msg);
    return;
  }
  for (size_t pos = 0; pos < len;) {
    const char *line = buf + pos;
    const char *nl = memchr(line, '\n', len - pos);
    size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;

    pos += n + 1;
    lineno++;
    if (n == 0 || line[0] == '#')
      continue;
    run_row(line, n, lineno);
    rows++;
  }
  is_int((long long)rows, TSV_ROWS, "all %d rows of %s were run", TSV_ROWS,
         TSV_NAME);
}

struct parse_case {
  const char *text;
  size_t len; /* 0: strlen(text) */
  const char *want;
};

static void
test_parse(void)
{
  static const struct parse_case cases[] = {
    { "foo\nbar\n", 0, "foo | bar" },
    { "", 0, "" },
    { "a\nb", 0, "a | b" },
    { "\357\273\277foo\n", 0, "foo" },
    { "\xEF\xBB\xBF# comment\nx\n", 0, "x" },
    { "a\n\357\273\277b\n", 0, "a | \357\273\277b" },
    { "# c\n  # not a comment\n#\n!# c\n", 0, "# not a comment | !# c" },
    { "  foo \t\n\n \t \r\nbar\r\n\r\n", 0, "foo | bar" },
    { "\302\240foo\342\200\203\n", 0, "foo" },
    { "!foo\n! bar \n!/baz/\n!!x\n", 0, "!foo | !bar | !baz | !!x" },
    { "/foo/bar\nfoo/bar/\n./foo/bar\n", 0, "foo/bar | foo/bar | foo/bar" },
    { "a//b/./c/../d\n/\n/..\n../x\n//x\n.\n./\n", 0,
      "a/b/d | / | / | ../x | x | . | ." },
    { "!\n", 0, "!" },
    { "! \n!/\n", 0, "! | !/" },
    { "a\0b", 3, NULL },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(cases); i++) {
    const struct parse_case *c = &cases[i];
    cleanup_error struct cb_error *err = NULL;
    size_t len = c->len != 0 ? c->len : strlen(c->text);
    cleanup_strv char **v = dockerignore_parse(c->text, len, &err);
    cleanup_free char *got = v != NULL ? join(v) : NULL;

    if (c->want != NULL)
      is_str(got, c->want, "parse case %zu", i);
    else
      ok(v == NULL && err != NULL && err->kind == CB_ERR_PARSE &&
             strstr(err->msg, "line 1") != NULL,
         "parse case %zu is refused: %s", i, err ? err->msg : "(no error)");
  }
}

static void
test_parse_limits(void)
{
  size_t max = 64 * 1024;
  cleanup_free char *text = cb_xmalloc(max + 2);
  cleanup_error struct cb_error *err = NULL;
  cleanup_strv char **v = NULL;

  memset(text, 'a', max + 2);
  text[0] = 'x';
  text[1] = '\n';
  /* Line 2 is max - 1 bytes long, the longest Docker reads.  */
  v = dockerignore_parse(text, max + 1, &err);
  ok(v != NULL && cb_strv_len(v) == 2, "a line of 64 KiB - 1 is read");
  cb_strv_free(v);
  v = dockerignore_parse(text, max + 2, &err);
  ok(v == NULL && err != NULL && err->kind == CB_ERR_UNSAFE &&
         strstr(err->msg, "line 2") != NULL,
     "a line of 64 KiB is refused: %s", err ? err->msg : "(no error)");
}

/* The file is read, then matched: "docs/" also names a file "docs", and a
   leading '/' is dropped.  */
static void
test_parse_then_match(void)
{
  static const char text[] = "# build output\n/docs/\n!docs/README.md\n*.tmp\n";
  cleanup_error struct cb_error *err = NULL;
  cleanup_strv char **v = dockerignore_parse(text, strlen(text), &err);
  cleanup_ignore_matcher struct ignore_matcher *m = ignore_matcher_new(v, &err);
  static const struct {
    const char *path;
    bool excluded;
  } cases[] = {
    { "docs", true },       { "docs/a/b", true }, { "docs/README.md", false },
    { "x.tmp", true },      { "a/x.tmp", false }, { "src/docs", false },
    { "README.md", false },
  };

  if (!ok(m != NULL, "matcher from a parsed file"))
    return;
  is_int((long long)ignore_matcher_count(m), 3, "three patterns");
  for (size_t i = 0; i < CB_N_ELEMENTS(cases); i++) {
    bool excluded = !cases[i].excluded;

    ignore_matcher_matches(m, cases[i].path, &excluded, &err);
    ok(excluded == cases[i].excluded, "'%s' is %s", cases[i].path,
       cases[i].excluded ? "excluded" : "kept");
  }
}

static void
test_bad_patterns(void)
{
  static const struct {
    const char *pattern;
    const char *shown;
  } bad[] = {
    { "[", "'['" },
    { "[^", "'[^'" },
    { "[^bc", "'[^bc'" },
    { "a[", "'a['" },
    { "[]a]", "'[]a]'" },
    { "[-]", "'[-]'" },
    { "[x-]", "'[x-]'" },
    { "[-x]", "'[-x]'" },
    { "[a-b-c]", "'[a-b-c]'" },
    { "\\", "'\\'" },
    { "a\\", "'a\\'" },
    { "[\\", "'[\\'" },
    { "[z-a]", "'[z-a]'" },
    { "[^]", "'[^]'" },
    { "x/[a", "'x/[a'" },
    { "!", "'!'" },
    { " ! ", "'!'" },
    { "![", "'!['" },
    { "!/", "'!/'" },
    { "[\xFF]", "'[\xFF]'" },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(bad); i++) {
    cleanup_error struct cb_error *err = NULL;
    char *const patterns[] = { "ok", (char *)bad[i].pattern, NULL };
    cleanup_ignore_matcher struct ignore_matcher *m =
        ignore_matcher_new(patterns, &err);

    ok(m == NULL && err != NULL && err->kind == CB_ERR_PARSE &&
           strstr(err->msg, bad[i].shown) != NULL,
       "bad pattern %s: %s", bad[i].shown, err ? err->msg : "(accepted)");
  }
}

struct below_case {
  const char *patterns[4];
  const char *dir;
  bool want;
};

static void
test_may_include_below(void)
{
  static const struct below_case cases[] = {
    { { "docs", "!docs/README.md" }, "docs", true },
    { { "docs", "!docs/README.md" }, "./docs/", true },
    { { "docs", "!docs/README.md" }, "src", false },
    { { "docs", "!docs/README.md" }, "docs/sub", false },
    { { "docs" }, "docs", false },
    { { "*", "!*.go" }, "vendor", false },
    { { "**", "!**/*.go" }, "vendor/x", true },
    { { "a", "!a*" }, "ab/c", true },
    { { "x", "!**keep" }, "x", true },
    { { "x", "!x/[ab]/y" }, "x/c", false },
    { { "x", "!x/[ab]/y" }, "x/a", true },
    { { "x", "!x/**" }, "x", true },
    { { "x", "!x?y" }, "x", false },
    { { "x", "!y" }, "", true },
    { { "x", "!y" }, ".", true },
    { { "a/b", "!a/b" }, "a/b/c", true },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(cases); i++) {
    const struct below_case *c = &cases[i];
    cleanup_error struct cb_error *err = NULL;
    cleanup_ignore_matcher struct ignore_matcher *m =
        ignore_matcher_new((char *const *)c->patterns, &err);
    cleanup_free char *shown = join((char *const *)c->patterns);

    if (!ok(m != NULL, "build %s", shown))
      continue;
    ok(ignore_matcher_may_include_below(m, c->dir) == c->want,
       "%s: below '%s' %s", shown, c->dir,
       c->want ? "may be re-included" : "stays excluded");
  }
}

struct match_case {
  const char *patterns[4];
  const char *path;
  const char *want;
  const char *why;
};

/* Behaviour the TSV does not pin down.  Some follow Docker's quirks, some
   deliberately follow filepath.Match where Docker's regexp translation
   does something else; each says which.  */
static void
test_semantics(void)
{
  static const struct match_case cases[] = {
    { { "[*]" }, "*", "true", "a class holds '*' (filepath.Match)" },
    { { "[?]" }, "x", "false", "a class holds '?' (filepath.Match)" },
    { { "a\\d" }, "ad", "true", "\\d is a plain d (filepath.Match)" },
    { { "a\\d" }, "a5", "false", "\\d is not a digit class" },
    { { "[\\d]" }, "5", "false", "nor inside a class" },
    { { "**file" }, "xfile", "true", "Docker's suffix shortcut" },
    { { "**file*" }, "xfile", "false", "no shortcut once a wildcard follows" },
    { { "**/foo/bar" }, "xfoo/bar", "false", "the suffix keeps its '/'" },
    { { "a**b" }, "ab", "true", "inner ** may be empty" },
    { { "a**b" }, "ax/y/b", "true", "inner ** ends at a '/'" },
    { { "a**b" }, "axb", "false", "inner ** is \"\" or ends in '/'" },
    { { "docs/" }, "docs", "true", "no directory-only form" },
    { { "!a/../b" }, "b", "true", "cleaning drops the '!' (Docker)" },
    { { "a/b" }, "a/b/c/d", "true", "a parent matches" },
    { { "*", "!a", "a/b" }, "a/b/c", "true", "last applicable wins" },
    { { "*" }, "a\nb", "true", "a newline is an ordinary character" },
    { { "**/*.x" }, "a\nb/c.x", "true", "also for ** (Docker's .* is not)" },
    { { "a?b" }, "a\377b", "true", "a stray byte is one character" },
    { { "a\376b" }, "a\377b", "false", "stray bytes compare as bytes" },
    { { "[☺]" }, "☺", "true", "classes hold code points" },
    { { "[^a]" }, "/", "true", "a class may match '/' (filepath.Match)" },
    { { "a*a*a*a*a*a*a*a*a*a*a*b" },
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "false",
      "no backtracking blow-up" },
    { { "  abc  ", "", "   " }, "abc", "true", "patterns are trimmed" },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(cases); i++) {
    const struct match_case *c = &cases[i];

    is_str(verdict((char *const *)c->patterns, c->path, false), c->want, "%s",
           c->why);
  }
}

static void
test_clean_and_count(void)
{
  char *const star[] = { "*", NULL };
  char *const some[] = { "a", "", "  ", "!b", NULL };
  cleanup_error struct cb_error *err = NULL;
  cleanup_ignore_matcher struct ignore_matcher *none =
      ignore_matcher_new(NULL, &err);
  cleanup_ignore_matcher struct ignore_matcher *m =
      ignore_matcher_new(some, &err);

  is_str(verdict(star, ".", true), "false", "the root is never excluded");
  is_str(verdict(star, "a/..", true), "false", "nor is 'a/..'");
  is_str(verdict(star, "", true), "false", "nor is ''");
  is_str(verdict(star, "./x/", true), "true", "'./x/' is cleaned to 'x'");
  ok(none != NULL && ignore_matcher_count(none) == 0, "no patterns");
  ok(m != NULL && ignore_matcher_count(m) == 2, "empty patterns skipped");
  ok(m != NULL && ignore_matcher_may_include_below(m, "."),
     "an exception keeps the root walkable");
  ok(m != NULL && !ignore_matcher_may_include_below(m, "a"),
     "'!b' cannot re-include anything below 'a'");
}

int
main(void)
{
  test_tsv();
  test_parse();
  test_parse_limits();
  test_parse_then_match();
  test_bad_patterns();
  test_may_include_below();
  test_semantics();
  test_clean_and_count();
  return done_testing();
}
