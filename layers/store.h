/* The content-addressed store: itself an OCI image layout (image-spec
   "Image Layout"), so any OCI tool can read it.

     ROOT/oci-layout          {"imageLayoutVersion": "1.0.0"}
     ROOT/index.json          image index; tags are manifests annotated with
                              org.opencontainers.image.ref.name
     ROOT/blobs/sha256/<hex>  every blob (layers, configs, manifests)
     ROOT/unpacked/<hex>/     a layer extracted once (hex of its diff_id)
     ROOT/tmp/                staging; everything enters by rename(2)
     ROOT/lock                writers hold an exclusive flock on it

   Readers never see a partial blob: a blob is written under tmp/ while
   hashed, verified, fsynced, then renamed into blobs/.  index.json is
   replaced whole (write tmp, fsync, rename).  A killed writer leaves only
   tmp/ litter, which the next writer removes.  */
#ifndef CBUILD_LAYERS_STORE_H
#define CBUILD_LAYERS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"
#include "common/stream.h"

struct layer_store;

/* The default root: $CBUILD_ROOT, else $XDG_DATA_HOME/cbuild, else
   ~/.local/share/cbuild; /var/lib/cbuild for real root.  New string.  */
char *layer_store_default_root(void);

/* Open the store at ROOT, creating the layout if it does not exist.  */
struct layer_store *layer_store_open(const char *root, struct cb_error **err);
void layer_store_free(struct layer_store *s);
void layer_store_freep(struct layer_store **s);
#define cleanup_layer_store __attribute__((cleanup(layer_store_freep)))

/* The O_PATH fd of ROOT (borrowed) and its path (borrowed).  */
int layer_store_root_fd(const struct layer_store *s);
const char *layer_store_root(const struct layer_store *s);

/* Take and release the writer lock (flock LOCK_EX on ROOT/lock; waits).
   Taking it also removes tmp/ litter left by killed writers.  Nested
   calls count.  */
int layer_store_lock(struct layer_store *s, struct cb_error **err);
void layer_store_unlock(struct layer_store *s);

/* --- blobs --- */

struct blob_writer;

/* Start a new blob under tmp/.  The writer's sink (blob_writer_sink) can
   be handed to producers.  Needs the writer lock.  */
struct blob_writer *layer_store_blob_begin(struct layer_store *s,
                                           struct cb_error **err);
int blob_writer_write(struct blob_writer *w, const void *buf, size_t len,
                      struct cb_error **err);
struct cb_sink blob_writer_sink(struct blob_writer *w);
/* Finish: fsync, check EXPECTED if not NULL (CB_ERR_DIGEST on mismatch,
   nothing stored), rename into blobs/.  An existing identical blob is kept.
   Sets *DIGEST and *SIZE when not NULL.  The writer is freed either way. */
int blob_writer_commit(struct blob_writer *w, const struct cb_digest *expected,
                       struct cb_digest *digest, uint64_t *size,
                       struct cb_error **err);
/* Drop an uncommitted blob; NULL is a no-op.  */
void blob_writer_abort(struct blob_writer *w);

/* Store LEN bytes at DATA as a blob (manifests, configs).  */
int layer_store_put_blob(struct layer_store *s, const void *data, size_t len,
                         struct cb_digest *digest, struct cb_error **err);
bool layer_store_has_blob(struct layer_store *s, const struct cb_digest *d);
/* Open a blob for reading; the caller owns the fd.  ENOENT is reported as
   CB_ERR_SYSTEM naming the digest.  */
int layer_store_blob_open(struct layer_store *s, const struct cb_digest *d,
                          struct cb_error **err);
/* Read a blob of at most MAX bytes and check its digest (CB_ERR_DIGEST). */
int layer_store_blob_read(struct layer_store *s, const struct cb_digest *d,
                          size_t max, char **buf, size_t *len,
                          struct cb_error **err);

/* --- tags (index.json) --- */

struct store_tag {
  char *name;      /* "localhost/app:1", as given to layer_store_tag; owned */
  struct cb_digest manifest;
  uint64_t size;
  char *media_type; /* owned */
};

/* All tags, in index.json order.  *TAGS is a new array the caller frees
   with store_tags_free().  */
int layer_store_tags(struct layer_store *s, struct store_tag **tags, size_t *n,
                     struct cb_error **err);
void store_tags_free(struct store_tag *tags, size_t n);
/* Point NAME at a manifest blob (replacing an earlier NAME).  */
int layer_store_tag(struct layer_store *s, const char *name,
                    const struct cb_digest *manifest, uint64_t size,
                    const char *media_type, struct cb_error **err);
/* Remove NAME; *FOUND says whether it existed.  */
int layer_store_untag(struct layer_store *s, const char *name, bool *found,
                      struct cb_error **err);

/* --- unpacked layers --- */

/* Open unpacked/<hex of DIFF_ID> as an O_PATH directory fd if present
   (returns the fd, or -1 with *err unset when absent).  */
int layer_store_unpacked_open(struct layer_store *s,
                              const struct cb_digest *diff_id,
                              struct cb_error **err);

/* --- garbage collection --- */

struct store_gc_stats {
  uint64_t blobs_removed, blob_bytes;
  uint64_t unpacked_removed;
  uint64_t tmp_removed;
};

/* Remove every blob not reachable from index.json (manifests, their
   configs and layers, indexes and their children), unpacked dirs of
   layers no kept manifest uses, and tmp/.  Needs the writer lock.  */
int layer_store_gc(struct layer_store *s, struct store_gc_stats *stats,
                   struct cb_error **err);

#endif
