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
   replaced whole (write tmp, fsync, rename, fsync ROOT).  A killed writer
   leaves only tmp/ litter, which the next writer removes.

   A handle is for one process: a forked child that writes takes the lock
   anew on its own file description (so parent and child exclude each
   other).  Names from outside (tags, digests) never become paths: digests
   are parsed (cb_digest_parse) and only their hex is used as a file name
   below an fd.  */
#ifndef CBUILD_LAYERS_STORE_H
#define CBUILD_LAYERS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"
#include "common/stream.h"

struct layer_store;

/* The default root: $CBUILD_ROOT if set and not empty; else
   /var/lib/cbuild for real root (euid 0 in the initial user namespace);
   else $XDG_DATA_HOME/cbuild (when absolute, as the XDG spec wants), else
   $HOME/.local/share/cbuild, else the passwd home.  New string, or NULL
   when no home directory can be found.  */
char *layer_store_default_root(void);

/* Open the store at ROOT, creating ROOT (and missing parents) and the
   layout if they do not exist.  An existing oci-layout must say
   imageLayoutVersion "1.0.0" (CB_ERR_PARSE otherwise).  */
struct layer_store *layer_store_open(const char *root, struct cb_error **err);
/* Close S (releasing the lock if held); NULL is a no-op.  Commit or abort
   its writers first: they point into S.  */
void layer_store_free(struct layer_store *s);
void layer_store_freep(struct layer_store **s);
#define cleanup_layer_store __attribute__((cleanup(layer_store_freep)))

/* The O_PATH fd of ROOT (borrowed) and its path (borrowed).  */
int layer_store_root_fd(const struct layer_store *s);
const char *layer_store_root(const struct layer_store *s);

/* Take and release the writer lock (flock LOCK_EX on ROOT/lock; waits).
   Taking it also removes tmp/ litter left by killed writers.  Nested
   calls count.  Every function below that writes takes the lock itself
   for as long as it needs it; hold it yourself to make several steps one
   (commit blobs, then tag them, with no GC in between).  */
int layer_store_lock(struct layer_store *s, struct cb_error **err);
void layer_store_unlock(struct layer_store *s);

/* Mark S as in use until it is freed: a shared flock on ROOT/use.lock,
   which layer_store_gc() takes exclusively, so GC waits for builds and
   runs (their untagged layers and unpacked lower dirs are not garbage
   yet) and they wait for a GC in progress.  Nested calls are no-ops.  */
int layer_store_hold(struct layer_store *s, struct cb_error **err);

/* --- blobs --- */

struct blob_writer;

/* Start a new blob under tmp/.  The writer's sink (blob_writer_sink) can
   be handed to producers.  The writer holds the writer lock (taking it if
   needed) until it is committed or aborted.  */
struct blob_writer *layer_store_blob_begin(struct layer_store *s,
                                           struct cb_error **err);
int blob_writer_write(struct blob_writer *w, const void *buf, size_t len,
                      struct cb_error **err);
struct cb_sink blob_writer_sink(struct blob_writer *w);
/* Finish: fsync, check EXPECTED if not NULL (CB_ERR_DIGEST on mismatch,
   nothing stored, the tmp file removed), rename into blobs/, fsync the
   directory.  A blob of the same digest already there is replaced by this
   verified copy of the same bytes (which also repairs a damaged one).
   Sets *DIGEST and *SIZE when not NULL.  The writer is freed either way. */
int blob_writer_commit(struct blob_writer *w, const struct cb_digest *expected,
                       struct cb_digest *digest, uint64_t *size,
                       struct cb_error **err);
/* Drop an uncommitted blob; NULL is a no-op.  */
void blob_writer_abort(struct blob_writer *w);

/* Store LEN bytes at DATA as a blob (manifests, configs).  *DIGEST is
   set when not NULL.  When the store already holds exactly these bytes
   under that digest, nothing is written (a damaged copy is replaced).  */
int layer_store_put_blob(struct layer_store *s, const void *data, size_t len,
                         struct cb_digest *digest, struct cb_error **err);
bool layer_store_has_blob(struct layer_store *s, const struct cb_digest *d);
/* Open a blob for reading; the caller owns the fd.  ENOENT is reported as
   CB_ERR_SYSTEM naming the digest.  Nothing is verified: a reader that
   streams the blob hashes it as it goes.  */
int layer_store_blob_open(struct layer_store *s, const struct cb_digest *d,
                          struct cb_error **err);
/* Read a blob of at most MAX bytes (CB_ERR_UNSAFE if larger) into a new
   NUL-terminated *BUF, and check its digest (CB_ERR_DIGEST).  */
int layer_store_blob_read(struct layer_store *s, const struct cb_digest *d,
                          size_t max, char **buf, size_t *len,
                          struct cb_error **err);

/* --- tags (index.json) --- */

struct store_tag {
  char *name; /* "localhost/app:1", as given to layer_store_tag; owned */
  struct cb_digest manifest;
  uint64_t size;
  char *media_type; /* owned */
};

/* All tags (index.json entries with an org.opencontainers.image.ref.name
   annotation), in index.json order.  *TAGS is a new array the caller
   frees with store_tags_free().  A corrupt index.json is CB_ERR_PARSE
   naming the file.  */
int layer_store_tags(struct layer_store *s, struct store_tag **tags, size_t *n,
                     struct cb_error **err);
void store_tags_free(struct store_tag *tags, size_t n);
/* Point NAME at a manifest blob (replacing an earlier NAME in place, so
   the order of tags is kept; new names go last).  NAME must follow the
   ref.name grammar of image-spec "Annotations" (component ("/"
   component)*, as "localhost/app:1") and MEDIA_TYPE be an OCI or Docker
   manifest or index type: CB_ERR_USAGE otherwise.  The blob must be in
   the store with SIZE bytes (CB_ERR_SYSTEM ENOENT, or CB_ERR_USAGE).  */
int layer_store_tag(struct layer_store *s, const char *name,
                    const struct cb_digest *manifest, uint64_t size,
                    const char *media_type, struct cb_error **err);
/* Whether NAME follows the grammar layer_store_tag wants (CB_ERR_USAGE
   naming it if not), to check every name before tagging any.  */
int layer_store_check_tag(const char *name, struct cb_error **err);
/* Remove NAME (every entry with it); *FOUND says whether it existed.
   Blobs stay until layer_store_gc().  */
int layer_store_untag(struct layer_store *s, const char *name, bool *found,
                      struct cb_error **err);

/* --- unpacked layers --- */

/* Open unpacked/<hex of DIFF_ID> as an O_PATH directory fd if present
   (returns the fd, or -1 with *err unset when absent).  */
int layer_store_unpacked_open(struct layer_store *s,
                              const struct cb_digest *diff_id,
                              struct cb_error **err);

/* Extract a layer into a fresh directory under tmp/, then publish it as
   unpacked/<hex of DIFF_ID> by one rename, so that no reader sees half a
   tree.  Holds the writer lock (like a blob writer) until committed or
   aborted.  */
struct unpacked_writer;
struct unpacked_writer *
layer_store_unpacked_begin(struct layer_store *s,
                           const struct cb_digest *diff_id,
                           struct cb_error **err);
/* The O_PATH directory fd to extract into (cb_open_in_root() below it).
   Borrowed until commit or abort.  */
int unpacked_writer_fd(const struct unpacked_writer *w);
/* syncfs, then rename into unpacked/.  If another writer got there first,
   its tree is kept and ours removed.  The writer is freed either way.  */
int unpacked_writer_commit(struct unpacked_writer *w, struct cb_error **err);
/* Remove the staging tree; NULL is a no-op.  */
void unpacked_writer_abort(struct unpacked_writer *w);

/* --- garbage collection --- */

struct store_gc_stats {
  uint64_t blobs_removed, blob_bytes;
  uint64_t unpacked_removed;
  uint64_t tmp_removed;
};

/* Remove every blob not reachable from index.json (manifests, their
   configs and layers, indexes and manifest lists and their children,
   OCI or Docker schema 2), unpacked dirs whose diff_id no kept config
   lists, and tmp/ (apart from this handle's live writers).  Takes the
   writer lock.  A manifest or index that cannot be read or parsed stops
   GC before anything is removed; a config that cannot be read only means
   its unpacked dirs are not kept (they are a cache).  Blob names that are
   not 64 hex digits are left alone.  *STATS (when not NULL) counts what
   was removed; tmp_removed includes litter cleared when the lock was
   taken.  Waits (saying so) while a build or run holds the store
   (layer_store_hold).  */
int layer_store_gc(struct layer_store *s, struct store_gc_stats *stats,
                   struct cb_error **err);

#endif
