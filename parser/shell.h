/* Dockerfile word expansion, with the semantics of BuildKit's shell lexer:
   quotes, escapes, $NAME, ${NAME} and its modifiers (:- - :+ + :? ? # ##
   % %% / //), and word splitting.  No I/O: the environment is given.  */
#ifndef CBUILD_PARSER_SHELL_H
#define CBUILD_PARSER_SHELL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* An ordered set of variables.  Setting a name again replaces its value
   in place.  Names are case-sensitive.  */
struct shell_env {
  char **names;  /* owned */
  char **values; /* owned; "" for set-but-empty */
  size_t n;
  size_t alloc;
};
#define SHELL_ENV_INIT { NULL, NULL, 0, 0 }

void shell_env_set(struct shell_env *env, const char *name, const char *value);
/* Set from "NAME=VALUE"; a string without '=' sets NAME to "".  */
void shell_env_set_pair(struct shell_env *env, const char *pair);
/* The value of NAME, or NULL when unset.  Borrowed until ENV changes.  */
const char *shell_env_get(const struct shell_env *env, const char *name);
void shell_env_release(struct shell_env *env);

enum shell_flags {
  /* Keep quote characters (' and ") in the output.  */
  SHELL_RAW_QUOTES = 1u << 0,
  /* Keep the escape character in front of what it escapes.  */
  SHELL_RAW_ESCAPES = 1u << 1,
  /* Leave $NAME and ${NAME...} of unset variables as written (used to find
     heredoc delimiters without an environment).  */
  SHELL_SKIP_UNSET = 1u << 2,
};

struct shell_opts {
  char escape;    /* '\\' or '`' */
  unsigned flags; /* enum shell_flags */
};

/* Expand WORD into one string: quote removal, escapes, variable expansion,
   no splitting.  Unset variables expand to "".  OPTS may be NULL for
   escape '\\' and no flags.  Returns a new string.  Errors (CB_ERR_PARSE):
   bad ${} syntax, a missing closing quote or brace, ${X?msg} on an unset
   X, a bad pattern.  */
char *shell_expand_word(const char *word, const struct shell_env *env,
                        const struct shell_opts *opts, struct cb_error **err);

/* Like shell_expand_word(), then split into words at unquoted whitespace
   that came from literal text or from expansions.  Never produces empty
   words.  Returns a new NULL-terminated array (free with cb_strv_free()),
   possibly with no elements.  */
char **shell_expand_words(const char *word, const struct shell_env *env,
                          const struct shell_opts *opts,
                          struct cb_error **err);

#endif
