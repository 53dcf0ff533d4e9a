/* .dockerignore: reading the file and matching context paths, with the
   semantics of moby/patternmatcher (Go filepath.Match syntax plus "**",
   "!" exceptions, path cleaning).  No I/O: the caller hands in the text. */
#ifndef CBUILD_PARSER_IGNORE_H
#define CBUILD_PARSER_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* Turn the text of a .dockerignore file (LEN bytes at TEXT) into a
   NULL-terminated list of patterns, after Docker's line processing: lines
   split at '\n' (one trailing '\r' dropped), a UTF-8 BOM removed from the
   first line, lines starting with '#' skipped (before trimming), Unicode
   whitespace trimmed, empty lines skipped, a leading '!' (exception) split
   off and the rest trimmed again, path cleaning ("a//b/./c/.." -> "a/b",
   no trailing '/'), one leading '/' removed, '!' put back.  So "/foo/bar",
   "foo/bar/" and "./foo/bar" all give "foo/bar".  A line that is only "!"
   is kept as "!" and rejected by ignore_matcher_new().
   Returns a new array (cb_strv_free()), possibly empty.  Errors: a NUL byte
   in the text (CB_ERR_PARSE; Docker would keep it, but a C string cannot);
   TEXT over CB_MAX_DOCKERFILE_SIZE or a line of CB_MAX_DOCKERFILE_LINE
   bytes or more (CB_ERR_UNSAFE; Docker's reader stops at the same line
   length).  Messages name the line number.  */
char **dockerignore_parse(const char *text, size_t len, struct cb_error **err);

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
