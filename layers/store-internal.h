/* The store's insides, shared by store.c, store_index.c, store_gc.c and
   rmtree.c (and the unit tests).  */
#ifndef CBUILD_LAYERS_STORE_INTERNAL_H
#define CBUILD_LAYERS_STORE_INTERNAL_H

#ifndef CB_IN_LAYERS
#error "layers/store-internal.h is for layers/ only"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "layers/oci.h"
#include "layers/store.h"

/* index.json is our own file but may be written by other tools; it is
   bounded like any input, with room for many thousands of tags.  */
#define STORE_MAX_INDEX_SIZE (16u * 1024 * 1024)

struct layer_store {
  char *root;     /* owned */
  int root_fd;    /* O_PATH | O_DIRECTORY */
  int blobs_fd;   /* blobs/sha256, O_RDONLY | O_DIRECTORY */
  int tmp_fd;     /* tmp/, O_RDONLY | O_DIRECTORY */
  int lock_fd;    /* ROOT/lock, -1 until first locked */
  int use_fd;     /* ROOT/use.lock, held shared by layer_store_hold */
  pid_t lock_pid; /* the process that opened lock_fd */
  unsigned lock_depth;
  uint64_t tmp_cleared; /* litter removed when the lock was taken */
  unsigned long seq;    /* names of tmp/ entries */
  char **live;          /* owned: tmp/ names of this handle's writers */
  size_t n_live, alloc_live;
};

/* Open ROOT/use.lock.  */
int store_open_use_lock(struct layer_store *s, struct cb_error **err);

/* The default root for a process that is (REAL_ROOT) or is not real root,
   from the environment (see layer_store_default_root()).  */
char *store_default_root_for(bool real_root);

/* Create a new file (or, with DIR, directory) in tmp/ named KIND-PID-SEQ
   and register it as live.  Returns an fd (O_WRONLY for a file, O_PATH for
   a directory) and the name in *NAME (owned).  Needs the lock.  */
int store_tmp_create(struct layer_store *s, const char *kind, bool dir,
                     char **name, struct cb_error **err);
/* Forget NAME as live (it was renamed away or is being removed).  */
void store_tmp_forget(struct layer_store *s, const char *name);
bool store_tmp_is_live(const struct layer_store *s, const char *name);
/* Remove every entry in tmp/ that no live writer of S owns; *REMOVED
   counts them.  Needs the lock.  */
int store_tmp_clear(struct layer_store *s, uint64_t *removed,
                    struct cb_error **err);

/* fsync the directory DIR_FD (O_PATH is fine).  */
int store_fsync_dir(int dir_fd, struct cb_error **err);
/* Replace NAME below DIR_FD with LEN bytes at DATA: write a tmp/ file,
   fsync, rename, fsync the directory.  Needs the lock.  */
int store_write_atomic(struct layer_store *s, int dir_fd, const char *name,
                       const void *data, size_t len, struct cb_error **err);
/* The same without the fsyncs: a reader sees the old file or the whole
   new one, but after a crash the new one may be empty or torn.  Only for
   files whose loss costs nothing but time (cache records).  Needs the
   lock.  */
int store_write_nosync(struct layer_store *s, int dir_fd, const char *name,
                       const void *data, size_t len, struct cb_error **err);

/* index.json, parsed; CB_ERR_PARSE names the file.  */
struct oci_index *store_read_index(struct layer_store *s,
                                   struct cb_error **err);
/* Write IDX as index.json (atomically).  Needs the lock.  */
int store_write_index(struct layer_store *s, const struct oci_index *idx,
                      struct cb_error **err);

#endif
