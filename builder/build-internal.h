/* The executor's insides, shared by build.c and the per-instruction
   files (instr_run.c, instr_copy.c) and commit.c.  */
#ifndef CBUILD_BUILDER_BUILD_INTERNAL_H
#define CBUILD_BUILDER_BUILD_INTERNAL_H

#ifndef CB_IN_BUILDER
#error "builder/build-internal.h is for builder/ only"
#endif

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "builder/build.h"
#include "builder/context.h"
#include "builder/imgconfig.h"
#include "builder/plan.h"
#include "builder/progress.h"
#include "builder/rootfs.h"
#include "builder/scope.h"
#include "common/digest.h"
#include "common/error.h"
#include "layers/cache.h"
#include "layers/image.h"
#include "layers/store.h"
#include "parser/instructions.h"

/* A stage's image as it is being built.  */
struct stage_image {
  struct store_image img;   /* names NULL; manifest's config unset */
  struct cb_digest key;     /* the cache key after the last step */
  int64_t last_created;     /* "created" of the newest step so far */
  bool missed;              /* a step of it (or of its base) missed */
  /* The ARGs the stage declared, with their values: a stage based on it
     sees them too (Dockerfile reference, ARG "Scope").  */
  struct shell_env args;
  bool built;
};

/* Everything one build shares.  */
struct build {
  struct layer_store *s;
  const struct build_opts *o;
  struct build_context *ctx;
  const char *file;         /* the Dockerfile's name, for messages */
  struct exec_plan *ep;
  struct stage_image *stages; /* per stage of the plan */
  struct progress *progress;
  int step;                 /* the current step's number */
  int nsteps;
  struct copy_hash_cache *hash_cache; /* context file digests */
  enum rootfs_driver driver; /* OVERLAY or VFS, for every step... */
  bool driver_known;         /* ...once a step needed it */
  unsigned ran, lookups, cached;
  bool probe_stopped;        /* build_opts.probe met work to do */
};

/* One instruction in its stage, with what it needs to run.  */
struct step {
  struct build *b;
  struct stage_image *si;
  struct stage_scope *scope;
  int stage_idx;            /* index of the stage in the plan */
  const struct instr *in;
  char **words;             /* arguments after expansion; owned by caller */
  bool uncacheable;         /* never a hit (an ADD URL without checksum) */
  char *where;              /* "2/5" or "builder 2/5", for progress */
};

/* --- build.c --- */

/* With b->o->probe: stop the try here (an error that build_image turns
   into its "stopped" answer); WHAT says why, for the debug log.
   Returns -1.  */
int build_probe_stop(struct build *b, const char *what,
                     struct cb_error **err);

/* The step's cache key: the previous key, the instruction's kind and
   words, and EXTRA (NULL-terminated strings: build args, source digests).
   Writes *KEY.  */
void step_key(const struct step *st, char *const *extra,
              struct cb_digest *key);

/* The image NAME: from the store, else pulled from its registry (and
   named there by its full reference).  */
int build_find_image(struct build *b, const char *name,
                     struct store_image *img, struct cb_error **err);

/* The storage driver, chosen when first asked for; and a fresh run dir
   for LOWERS with it (RF zeroed first; rootfs_remove() cleans up).  */
int build_driver(struct build *b, enum rootfs_driver *out,
                 struct cb_error **err);
int build_rootfs_create(struct build *b, char *const *lowers,
                        struct rootfs *rf, struct cb_error **err);

/* The history entry's time for a step made now: the clamp when given.  */
int64_t step_now(const struct build *b);

/* Look KEY up unless caching is off or broken; reports the verdict.
   Returns 1 on a hit (REC filled), 0 on a miss, -1 on error.  */
int step_cache_lookup(struct step *st, const struct cb_digest *key,
                      struct cache_record *rec, struct cb_error **err);

/* Apply a step result: the layer (if REC has one) and a history entry
   to the stage image; KEY becomes the stage's key.  */
int step_commit(struct step *st, const struct cb_digest *key,
                const struct cache_record *rec, struct cb_error **err);

/* What a step does on a cache miss: fill *REC with its result.  */
typedef int (*step_exec_fn)(struct step *st, void *data,
                            struct cache_record *rec, struct cb_error **err);

/* A step through the cache: the key from EXTRA, a lookup (INFO, stolen,
   says what the step saw, for the next miss's reason), FN on a miss
   (UNCACHEABLE: always a miss, e.g. a URL without --checksum) and the
   record kept, then the result applied to the stage.  Errors of FN are
   prefixed with the Dockerfile's name, line and instruction.  */
int step_through_cache(struct step *st, char *const *extra, json_t *info,
                       bool uncacheable, step_exec_fn fn, void *data,
                       struct cb_error **err);

/* --- commit.c --- */

/* The hex diff_ids of the stage image, top first, every one unpacked.  */
char **stage_lowers(struct build *b, struct stage_image *si,
                    struct cb_error **err);

/* Turn the overlay upper dir NAME below DIR_FD into a layer blob, then
   make it the unpacked lower of that layer.  *REC gets the layer (or no
   layer when the dir is empty) and CREATED.  */
int commit_upper(struct build *b, int dir_fd, const char *name,
                 int64_t created, struct cache_record *rec,
                 struct cb_error **err);

/* Write the image of SI (config and manifest) and tag it.  */
int commit_image(struct build *b, struct stage_image *si,
                 struct build_result *res, struct cb_error **err);

/* --- from.c --- */

/* Roots that COPY --from and RUN --mount from= read, mounted for one
   step.  */
struct from_roots {
  struct rootfs *v;
  size_t n;
};

/* Mount the root filesystem FROM names (an earlier stage, by name or
   number, or an image in the store) and return an O_PATH fd of it (the
   caller closes it).  FR keeps the mount until from_roots_release().  */
int from_root_open(struct step *st, struct from_roots *fr, const char *from,
                   struct cb_error **err);
void from_roots_release(struct from_roots *fr);

/* The build context as RUN --mount binds see it: with what .dockerignore
   excludes hidden (an overlay of the context under whiteouts, kept in FR;
   the context itself when it has no patterns).  A new O_PATH fd.  */
int context_root_open(struct step *st, struct from_roots *fr,
                      struct cb_error **err);

/* --- instr_run.c --- */
int step_run(struct step *st, struct cb_error **err);

/* --- instr_copy.c --- */
int step_copy(struct step *st, struct cb_error **err);
int step_workdir(struct step *st, struct cb_error **err);

#endif
