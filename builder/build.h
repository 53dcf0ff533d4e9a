/* The build executor: a Dockerfile and its context in, an image in the
   store out (ARCHITECTURE.md "The way data flows").  The caller is uid 0
   of cbuild's user namespace (builder/userns.h): RUN steps run in the
   sandbox (builder/sandbox.h), COPY and ADD write through overlay mounts
   of the image so far.  */
#ifndef CBUILD_BUILDER_BUILD_H
#define CBUILD_BUILDER_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "builder/lint.h"
#include "builder/progress.h"
#include "common/digest.h"
#include "common/error.h"
#include "layers/layer.h"
#include "layers/store.h"
#include "parser/shell.h"

struct build_secrets;

struct build_opts {
  const char *context;    /* the context directory */
  const char *dockerfile; /* -f: a path, "-" for stdin, NULL: the context's */
  const char *target;     /* --target, or NULL for the last stage */
  const struct shell_env *build_args; /* --build-arg */
  char *const *tags;      /* store names ("localhost/app:1"), checked */
  size_t ntags;
  char *const *labels;    /* --label KEY=VALUE */
  size_t nlabels;
  char *const *annotations; /* --annotation KEY=VALUE, on the manifest */
  size_t nannotations;
  bool no_cache;
  bool network_none;      /* --network none for every RUN */
  enum progress_mode progress;
  int64_t timestamp;      /* --timestamp / SOURCE_DATE_EPOCH; -1: none */
  enum layer_compression compression;
  const struct build_secrets *secrets; /* --secret, for RUN --mount */
  const char *storage_driver; /* --storage-driver, or NULL */
  enum lint_mode lint;    /* --lint: check the Dockerfile before building */
  /* A try outside the user namespace, for a build that is all cache hits:
     build_image stops (returns 1) before the first step that must run,
     and before any pull or root filesystem, none of which it does.  What
     it would print (warnings, progress) is held back until it succeeds,
     so that a stopped try prints nothing.  */
  bool probe;
};

struct build_result {
  struct cb_digest id;       /* the config digest: the image ID */
  struct cb_digest manifest; /* the manifest digest */
  uint64_t manifest_size;
  unsigned steps;            /* instructions run (FROM lines not counted) */
  unsigned cacheable;        /* those that went through the cache (RUN,
                                COPY, ADD, WORKDIR; metadata never does) */
  unsigned cached;           /* cache hits among them */
};

/* --plan: the context, the Dockerfile and the stage plan O would build,
   printed to OUT; nothing runs and no store is needed.  */
int build_print_plan(const struct build_opts *o, FILE *out,
                     struct cb_error **err);

/* Give the process a mount namespace of its own, where COPY and ADD
   mount overlays that the host never sees.  Call it before opening the
   store: a rename between fds opened in different mount namespaces
   fails with EXDEV.  */
int build_private_mounts(struct cb_error **err);

/* Build O into the store S and tag the result with O->tags.  Errors name
   the Dockerfile and line ("Dockerfile:7: RUN make: exit code 2").
   Nothing is tagged unless the whole build succeeds.  With O->probe,
   1 when the try stopped (see build_opts.probe).  */
int build_image(struct layer_store *s, const struct build_opts *o,
                struct build_result *res, struct cb_error **err);

#endif
