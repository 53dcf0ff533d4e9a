/* The build cache: what a build step produced, by its cache key
   (ARCHITECTURE.md "Cache keys"; the builder computes the keys).

     ROOT/cache/steps/<hex of key>   one JSON record per step

   A record names a layer blob (or no layer) and when the step ran, so
   that a rebuild that hits every step gives the same image.  Records are
   replaced whole (tmp + rename) but not fsynced.  A record whose blob is
   gone (prune removed it), or lost or torn by a crash, is a miss, not an
   error: the cache is only a cache.  */
#ifndef CBUILD_LAYERS_CACHE_H
#define CBUILD_LAYERS_CACHE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"
#include "layers/oci.h"
#include "layers/store.h"

struct cache_record {
  bool has_layer;
  struct oci_descriptor layer; /* when HAS_LAYER; owned */
  struct cb_digest diff_id;    /* when HAS_LAYER */
  int64_t created;             /* seconds since the epoch */
  json_t *info; /* what the step saw (for "why did it miss"); owned; may
                   be NULL */
};

void cache_record_release(struct cache_record *r);

/* Look KEY up.  Returns 1 with *REC filled (caller releases), 0 on a miss
   (a missing, unreadable or stale record), -1 on a store error.  */
int layer_store_cache_get(struct layer_store *s, const struct cb_digest *key,
                          struct cache_record *rec, struct cb_error **err);

/* Record REC for KEY (replacing any).  */
int layer_store_cache_put(struct layer_store *s, const struct cb_digest *key,
                          const struct cache_record *rec,
                          struct cb_error **err);

/* Move the directory NAME below DIR_FD (on the store's filesystem: a RUN's
   upper dir) to unpacked/<hex of DIFF_ID>, so that it serves as a lower
   dir from now on without extracting the layer again.  If that layer is
   already unpacked, NAME is left where it is.  */
int layer_store_unpacked_adopt(struct layer_store *s, int dir_fd,
                               const char *name,
                               const struct cb_digest *diff_id,
                               struct cb_error **err);

#endif
