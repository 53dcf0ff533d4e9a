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

/* Build a matcher from PATTERNS (NULL-terminated; as dockerignore_parse()
   gives them, or raw).  As Docker does, each pattern is trimmed (empty ones
   are skipped) and path-cleaned *before* a leading '!' is split off, and
   the whole pattern is syntax-checked here, so matching cannot fail later.
   Syntax is Go's filepath.Match: '*', '?', '\c', and classes '[...]' /
   '[^...]' whose ']' and '-' must be escaped where they would be ambiguous.
   A reversed range such as "[z-a]" is also refused, as Docker refuses it.
   "**" crosses directories: "**" + "/" (or "**" before more text) matches
   "" or anything ending in '/', a trailing "**" matches anything, and
   "**" + literal text matches any path ending in that text.  Where
   Docker's translation into a regexp departs from filepath.Match ("\d" as
   a digit class, '*' inside a class) we follow filepath.Match, and a
   newline is an ordinary character (Docker's "**" can stop at one).
   Errors (CB_ERR_PARSE): a malformed pattern, or one that is only "!";
   the message quotes the pattern as given (trimmed).  The matcher copies
   what it keeps.  */
struct ignore_matcher *ignore_matcher_new(char *const *patterns,
                                          struct cb_error **err);

/* Whether PATH is excluded.  PATH is relative to the context root,
   '/'-separated, and used as given (the build-context walker hands in
   clean paths; see ignore_matcher_matches_clean() otherwise).  Patterns
   are tried in order; an ordinary pattern only while PATH is still kept,
   an exception only while it is excluded; a pattern applies when it
   matches PATH or any of its parent directories.  So the last applicable
   pattern wins, and excluding a directory excludes what is below it.
   Sets *EXCLUDED and returns 0; a matcher from ignore_matcher_new() cannot
   fail here (ERR is kept for callers that wrap it).  */
int ignore_matcher_matches(const struct ignore_matcher *m, const char *path,
                           bool *excluded, struct cb_error **err);

/* Like ignore_matcher_matches(), after cleaning PATH lexically ("./a//b/"
   -> "a/b"); the context root itself ("", ".", "a/..") is never excluded.
   This is Go's one-shot patternmatcher.Matches(file, patterns) without
   the building step, and with every parent directory tried.  */
int ignore_matcher_matches_clean(const struct ignore_matcher *m,
                                 const char *path, bool *excluded,
                                 struct cb_error **err);

/* True when some exception pattern could re-include a path strictly below
   DIR (relative to the context root, cleaned here; "" or "." is the root),
   so a walker that found DIR excluded must still descend into it and test
   each entry.  False means that, DIR being excluded, everything below it
   is excluded whatever its name, and DIR may be skipped wholesale.  The answer
   is conservative: it ignores pattern order, so "true" only means "may".  */
bool ignore_matcher_may_include_below(const struct ignore_matcher *m,
                                      const char *dir);

/* The number of patterns kept (empty ones are skipped).  */
size_t ignore_matcher_count(const struct ignore_matcher *m);
/* Free M; a no-op on NULL.  */
void ignore_matcher_free(struct ignore_matcher *m);
void ignore_matcher_freep(struct ignore_matcher **m);
#define cleanup_ignore_matcher __attribute__((cleanup(ignore_matcher_freep)))

#endif
