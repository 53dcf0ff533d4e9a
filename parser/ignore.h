/* .dockerignore: reading the file and matching context paths, with the
   semantics of moby/patternmatcher (Go filepath.Match syntax plus "**",
   "!" exceptions, path cleaning).  No I/O: the caller hands in the text. */
#ifndef CBUILD_PARSER_IGNORE_H
#define CBUILD_PARSER_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* Turn the text of a .dockerignore file (LEN bytes at TEXT) into a
   NULL-terminated list of patterns, after Docker's line processing: BOM,
   '#' comments, trimming, '!' exceptions, path cleaning, one leading '/'
   removed.  Returns a new array (cb_strv_free()).  */
char **dockerignore_parse(const char *text, size_t len);

struct ignore_matcher;

/* Build a matcher from PATTERNS (as dockerignore_parse() gives them, or
   raw).  Errors (CB_ERR_PARSE): a malformed pattern, or one that is only
   "!"; the message quotes the pattern.  */
struct ignore_matcher *ignore_matcher_new(char *const *patterns,
                                          struct cb_error **err);

/* Whether PATH (relative to the context root, '/'-separated) is excluded:
   the last pattern that applies to PATH or to any of its parent
   directories wins.  Sets *EXCLUDED.  Errors only for a pattern that fails
   to match because of bad syntax.  */
int ignore_matcher_matches(const struct ignore_matcher *m, const char *path,
                           bool *excluded, struct cb_error **err);

/* True when some exception pattern could re-include a path below DIR, so
   an excluded directory must still be walked.  */
bool ignore_matcher_may_include_below(const struct ignore_matcher *m,
                                      const char *dir);

size_t ignore_matcher_count(const struct ignore_matcher *m);
void ignore_matcher_free(struct ignore_matcher *m);

#endif
