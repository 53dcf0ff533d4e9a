/* .dockerignore reading: Docker's line processing.  */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/mem.h"
#include "parser/ignore.h"
#include "tap.h"

#include "common/banned.h"

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

int
main(void)
{
  test_parse();
  test_parse_limits();
  return done_testing();
}
