/* The Dockerfile parser: text in, a list of instruction nodes out, with
   BuildKit's rules for parser directives, comments, line continuations,
   JSON (exec) and shell forms, flags and heredocs.  This stage accepts
   unknown instructions and flags (as BuildKit's parser does); the
   instruction layer (parser/instructions.h) checks them.  No I/O: the
   caller hands in the text.  */
#ifndef CBUILD_PARSER_DOCKERFILE_H
#define CBUILD_PARSER_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"

struct df_heredoc {
  char *name;    /* the delimiter, quotes removed; owned */
  char *content; /* the body lines as in the file, line endings ('\n' or
                    "\r\n") included; owned */
  int fd;        /* the number before "<<" ("3<<EOF"), or -1 */
  bool expand;   /* delimiter unquoted: variables in the body expand */
  bool chomp;    /* "<<-": leading tabs of body lines are removed */
};

struct df_node {
  char *keyword;  /* the instruction word, lower-cased ("run"); owned */
  char *original; /* the instruction as assembled from its lines; owned */
  char **flags;   /* "--name=value" as written, quotes removed; owned */
  size_t nflags;
  /* The arguments, as the dump shows them: for ENV and LABEL, triples of
     key, value, separator ("=" or "" for the legacy form); for
     HEALTHCHECK, the type word then the command.  Owned.  */
  char **args;
  size_t nargs;
  bool json;             /* the arguments came from a JSON array */
  struct df_node *inner; /* ONBUILD's instruction; owned, may be NULL */
  struct df_heredoc *heredocs;
  size_t nheredocs;
  int start_line; /* 1-based lines of the file the instruction spans */
  int end_line;
};

struct df_directive {
  char *name;  /* lower-case: "syntax", "escape" or "check"; owned */
  char *value; /* owned */
  int line;
};

struct dockerfile {
  char *filename; /* as given, for messages; owned */
  char escape;    /* '\\' or '`' */
  struct df_directive *directives;
  size_t ndirectives;
  struct df_node *nodes;
  size_t nnodes;
  char **warnings; /* NULL-terminated "LINE: text" notes, or NULL; owned */
};

/* Parse LEN bytes at TEXT.  FILENAME names the file in messages.  On
   success *OUT is a new dockerfile the caller frees with
   dockerfile_free().  Errors are CB_ERR_PARSE with a message of the form
   "FILENAME:LINE: what" (or CB_ERR_UNSAFE for a line over the size
   limit): no instructions, a repeated directive, a bad escape directive,
   ENV/LABEL without a value or '=', a JSON array with a non-string
   element, an unterminated heredoc.  */
int dockerfile_parse(const char *filename, const char *text, size_t len,
                     struct dockerfile **out, struct cb_error **err);

/* Append BuildKit's dump of the parse tree to OUT: one line per
   instruction, "(keyword ["flags"] "arg"...)\n".  */
void dockerfile_dump(const struct dockerfile *df, struct cb_buf *out);

/* The value of directive NAME ("syntax", "escape", "check"), or NULL.
   Borrowed from DF.  */
const char *dockerfile_directive(const struct dockerfile *df,
                                 const char *name);

void dockerfile_free(struct dockerfile *df);
void dockerfile_freep(struct dockerfile **df);
#define cleanup_dockerfile __attribute__((cleanup(dockerfile_freep)))

/* Append S to OUT quoted as Go's strconv.Quote does (the dump format).  */
void df_quote(struct cb_buf *out, const char *s);

#endif
