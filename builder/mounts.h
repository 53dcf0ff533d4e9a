/* RUN --mount: the parsed mounts of one RUN (parser/instructions.h)
   turned into sandbox mounts (builder/sandbox.h), with what they need
   made ready before the sandbox starts and taken down after it.

     bind    SOURCE below a root (the build context, or the root that
             FROM= names), opened with cb_open_in_root, so "../.." and
             symlinks to "/" stay inside it.  Read-only unless rw; a
             writable directory is an overlay with a throwaway upper dir,
             a writable file a throwaway copy: the source never changes
             (BuildKit discards such writes too).
     cache   a directory that outlives the run, in the store:
             <store>/cache/mounts/<sha256 of the id, or of the target>,
             made on first use with MODE/UID/GID (0755, 0, 0), seeded
             from FROM's SOURCE when FROM= is given.  Sharing, with a
             flock on <hex>.lock held for the whole run:
               shared   a shared lock: any number of runs at once
               locked   an exclusive lock: a second run waits
               private  an exclusive lock if free at once, else a fresh
                        throwaway instance for this run
             so a shared run waits while a locked or private one holds the
             cache, and a locked run waits for every other user.
     tmpfs   an empty tmpfs of SIZE bytes.
     secret  the secret ID (from --secret) as a file at TARGET, default
             /run/secrets/<ID>, mode 0400 (MODE/UID/GID), on a tmpfs of
             its own; with ENV= set as that variable too, and then no
             file unless TARGET is given (BuildKit).  A missing secret is
             an error when REQUIRED, else the mount is left out.  Secret
             bytes are never written to the store, the layer or a
             message.
     ssh     not supported yet: an error naming the RUN.  */
#ifndef CBUILD_BUILDER_MOUNTS_H
#define CBUILD_BUILDER_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>

#include "builder/sandbox.h"
#include "common/error.h"
#include "layers/store.h"
#include "parser/instructions.h"

/* --- secrets (--secret id=ID[,src=FILE|env=VAR][,type=file|env]) --- */

struct build_secret {
  char *id;   /* owned */
  char *data; /* owned; wiped when released */
  size_t len;
};

struct build_secrets {
  struct build_secret *v; /* owned */
  size_t n;
};

/* Read the secret SPEC names and add it to S (a later one of the same id
   replaces an earlier one).  Keys as docker build takes them: id (also
   the default env name), src/source (a file), env (a variable), type
   (file or env; without it, src means a file and env a variable; with
   neither, the variable ID if set, else the file ID).  A file larger than
   CB_MAX_SECRET_SIZE is refused.  Errors are CB_ERR_USAGE and never show
   the content.  */
int build_secrets_add(struct build_secrets *s, const char *spec,
                      struct cb_error **err);

/* The secret ID, or NULL (borrowed from S).  */
const struct build_secret *build_secrets_find(const struct build_secrets *s,
                                              const char *id);

/* Wipe and free the secrets; S is left empty.  */
void build_secrets_release(struct build_secrets *s);

/* --- mounts --- */

/* An O_PATH directory fd for the root FROM names (a stage or an image),
   owned by the caller of the callback.  */
typedef int (*run_mount_resolve_fn)(void *data, const char *from,
                                    struct cb_error **err);

struct run_mount_sources {
  int context_fd; /* O_PATH dir: bind sources without FROM= */
  run_mount_resolve_fn resolve_from; /* NULL: FROM= is refused */
  void *resolve_data;
  const struct build_secrets *secrets; /* may be NULL */
  const char *workdir; /* absolute; relative targets are below it */
  /* Where the RUN is, for messages ("Dockerfile:3: RUN --mount=..."):
     FILE NULL for a command line (cbuild run --mount).  */
  const char *file;
  int line;
};

struct run_mounts {
  struct sandbox_mount *mounts; /* for sandbox_spec; owned */
  size_t n_mounts;
  char **env; /* "KEY=VALUE" of env= secrets, NULL-terminated; owned */
  /* Private: what release() undoes.  */
  int *fds;
  size_t n_fds;
  char **targets; /* owned strings the mounts point at */
  size_t n_targets;
  char *scratch; /* <store>/run/m-XXXXXX, or NULL */
  int scratch_fd;
};

/* Prepare the N mounts M of one RUN: open and check every source, make
   caches (taking their locks, in the order of their names so that two
   runs cannot deadlock), scratch dirs and secret files ready.  On success
   *OUT (zeroed first) holds the sandbox mounts and must be released with
   run_mounts_release() after the run.  On failure nothing is left (no
   lock, no scratch dir) and *ERR names FILE:LINE when given.  */
int run_mounts_prepare(const struct instr_mount *m, size_t n,
                       const struct run_mount_sources *src,
                       struct layer_store *s, struct run_mounts *out,
                       struct cb_error **err);

/* Drop the locks, close the fds, remove the scratch dir (private cache
   instances, throwaway uppers and copies) and wipe the secret env.  */
void run_mounts_release(struct run_mounts *rm);

/* The directory name below <store>/cache/mounts/ of a cache mount: the
   hex sha256 of ID, or of TARGET when ID is NULL or empty.  */
void run_mounts_cache_name(const char *id, const char *target, char out[65]);

#endif
