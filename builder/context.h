/* The build context and the files that come with it: the Dockerfile and
   the .dockerignore, read through fds below the context root.  */
#ifndef CBUILD_BUILDER_CONTEXT_H
#define CBUILD_BUILDER_CONTEXT_H

#include <stddef.h>

#include "common/error.h"
#include "parser/dockerfile.h"
#include "parser/ignore.h"

struct build_context {
  int root_fd;           /* O_PATH fd of the context directory */
  char *dir;             /* as given, for messages; owned */
  char *dockerfile_name; /* for messages ("Dockerfile", "-f" value) */
  char *ignore_name;     /* the ignore file used, or NULL */
  char **ignore_patterns;
  struct ignore_matcher *ignore;
};

/* Open context DIR.  The Dockerfile is DOCKERFILE (relative to the working
   directory, "-" for stdin) or "Dockerfile" inside the context.  Reads the
   Dockerfile into *DF_TEXT and *DF_LEN (the caller owns the text) and the ignore
   file: "<Dockerfile>.dockerignore" beside the Dockerfile if present, else
   ".dockerignore" in the context root.  */
struct build_context *build_context_open(const char *dir,
                                         const char *dockerfile,
                                         char **df_text, size_t *df_len,
                                         struct cb_error **err);

void build_context_free(struct build_context *ctx);
void build_context_freep(struct build_context **ctx);
#define cleanup_build_context __attribute__((cleanup(build_context_freep)))

#endif
