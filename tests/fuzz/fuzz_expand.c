/* libFuzzer target: word expansion (both modes) and .dockerignore
   parsing and matching, on arbitrary bytes.  */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/mem.h"
#include "parser/ignore.h"
#include "parser/shell.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_shell(const char *s)
{
  struct shell_env env = SHELL_ENV_INIT;
  struct cb_error *err = NULL;
  const struct shell_opts modes[] = {
    { '\\', 0 },
    { '`', 0 },
    { '\\', SHELL_RAW_QUOTES | SHELL_RAW_ESCAPES | SHELL_SKIP_UNSET },
  };
  char *one;
  char **words;

  shell_env_set(&env, "A", "a b  c");
  shell_env_set(&env, "EMPTY", "");
  for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
    one = shell_expand_word(s, &env, &modes[i], &err);
    free(one);
    cb_error_free(err);
    err = NULL;
    words = shell_expand_words(s, &env, &modes[i], &err);
    cb_strv_free(words);
    cb_error_free(err);
    err = NULL;
  }
  shell_env_release(&env);
}

static void
fuzz_ignore(const char *s, size_t n)
{
  struct cb_error *err = NULL;
  char **patterns = dockerignore_parse(s, n, &err);
  struct ignore_matcher *m;
  bool excluded;

  if (patterns == NULL) {
    cb_error_free(err);
    return;
  }
  m = ignore_matcher_new(patterns, &err);
  if (m != NULL) {
    ignore_matcher_matches(m, "a/b/c.txt", &excluded, &err);
    ignore_matcher_matches(m, s, &excluded, &err);
    ignore_matcher_may_include_below(m, "a");
  }
  cb_error_free(err);
  ignore_matcher_free(m);
  cb_strv_free(patterns);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = cb_xstrndup((const char *)data, size);

  fuzz_shell(s);
  fuzz_ignore(s, strlen(s));
  free(s);
  return 0;
}
