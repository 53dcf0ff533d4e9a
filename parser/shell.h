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
/* The value of NAME, or NULL when unset (ENV may be NULL: nothing is
   set).  Borrowed until ENV changes.  */
const char *shell_env_get(const struct shell_env *env, const char *name);
void shell_env_release(struct shell_env *env);

enum shell_flags {
  /* Keep quote characters (' and ") in the output.  They still quote.  */
  SHELL_RAW_QUOTES = 1u << 0,
  /* Keep the escape character in front of what it escapes, and an escape
     at the very end.  Inside "...", where an escape before anything but
     '"', '$' or itself stands for itself, such an escape is written twice,
     so the output is text in which every escape escapes the next
     character (BuildKit does the same).  The WORD of ${NAME:-WORD} and
     friends is expanded without this flag, as in BuildKit.  */
  SHELL_RAW_ESCAPES = 1u << 1,
  /* Leave $NAME and ${NAME...} of unset variables exactly as written
     (modifier and all, and ${NAME?msg} is no error) instead of expanding
     them; set-but-empty variables still expand.  Used to find heredoc
     delimiters without an environment.  */
  SHELL_SKIP_UNSET = 1u << 2,
};

struct shell_opts {
  char escape;    /* '\\' or '`' */
  unsigned flags; /* enum shell_flags */
};

/* Expand WORD into one string: quote removal, escapes, variable expansion,
   no splitting, in one pass over its code points (invalid UTF-8 bytes are
   copied as they are).  Unset variables expand to "".  ENV may be NULL
   (nothing set).  OPTS may be NULL for escape '\\' and no flags.  Returns
   a new string.

   Errors (CB_ERR_PARSE, the message quotes WORD): bad ${} syntax or an
   unsupported modifier, a missing closing quote, '}' or '/', a bad escape
   in a pattern; ${X?msg} / ${X:?msg} give "X: msg" (or "X: is not allowed
   to be unset" / "... empty").  ${} nested more than CB_MAX_EXPAND_DEPTH
   deep is CB_ERR_UNSAFE.  */
char *shell_expand_word(const char *word, const struct shell_env *env,
                        const struct shell_opts *opts, struct cb_error **err);

/* Like shell_expand_word(), then split into words at Unicode whitespace
   that came from unquoted literal text or from $ expansions (the whole
   result of ${NAME:-WORD} splits, even parts that were quoted in WORD, as
   in BuildKit); quoted text and escaped characters never split.  An unquoted "<<" and the blanks (space, tab, CR) right
   after it stay in one word, so "<< EOF" can be seen as a heredoc marker.
   Never produces empty words.  Returns a new NULL-terminated array (free
   with cb_strv_free()), possibly with no elements.  Errors as above.  */
char **shell_expand_words(const char *word, const struct shell_env *env,
                          const struct shell_opts *opts,
                          struct cb_error **err);

#endif
