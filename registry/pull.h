/* Pull: fetch an image's manifest (through an index for one platform)
   and its blobs from a registry into a store the caller stands for
   with callbacks.  No printing, no knowledge of the store: cbuild pull
   and the builder's FROM both call it.  */
#ifndef CBUILD_REGISTRY_PULL_H
#define CBUILD_REGISTRY_PULL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"
#include "common/stream.h"
#include "registry/client.h"

/* Where blobs go.  registry_pull calls HAS_BLOB, BLOB_BEGIN, BLOB_COMMIT
   and BLOB_ABORT one at a time (under its own lock), and writes into the
   sinks of several blobs at once from several threads: a sink's write
   must be safe beside other sinks' writes.  */
struct registry_pull_store {
  void *data;
  /* Whether blob D is there already (then it is not fetched).  */
  bool (*has_blob)(void *data, const struct cb_digest *d);
  /* Start blob D: *SINK takes its bytes as they arrive; *HANDLE is
     passed back to commit or abort.  */
  int (*blob_begin)(void *data, const struct cb_digest *d,
                    struct cb_sink *sink, void **handle,
                    struct cb_error **err);
  /* Every byte arrived and the whole hashed to D: keep it.  The handle is
     done with either way.  */
  int (*blob_commit)(void *data, void *handle, const struct cb_digest *d,
                     struct cb_error **err);
  /* Drop a blob begun but not committed; nothing of it may remain.  */
  void (*blob_abort)(void *data, void *handle);
};

/* The platform to take from an index: OS and ARCHITECTURE must match,
   VARIANT too when not NULL (else the first entry of any variant).  */
struct registry_platform {
  const char *os;
  const char *architecture;
  const char *variant;
};

/* A manifest as fetched: its bytes, type and digest.  */
struct registry_blob_doc {
  char *buf; /* NUL-terminated; owned */
  size_t len;
  char *media_type; /* as the registry sent it, parameters dropped; owned */
  struct cb_digest digest;
};

/* What a pull got, for the caller to store and name.  */
struct registry_pulled {
  /* What the reference named: an image manifest, or an index (then
     MANIFEST is the entry for the platform).  Its digest is the one to
     show for the reference.  */
  struct registry_blob_doc top;
  struct registry_blob_doc manifest; /* buf NULL when TOP is the manifest */
  struct cb_digest config;           /* the config blob (now in the store) */
  size_t n_layers;
};

/* The manifest of an image, from TOP or MANIFEST.  Borrowed.  */
const struct registry_blob_doc *
registry_pulled_manifest(const struct registry_pulled *p);

/* Pull REFERENCE (a tag or "sha256:<hex>") of REPO from C's registry:
   the manifest (for an OCI index or Docker manifest list, the entry for
   PLATFORM, checked against the size and digest the index gives), then
   its config and layers into STORE, JOBS (at least 1; 3 is a good
   number) at a time, each through its own connection, skipping blobs
   STORE has.  Every blob is hashed as it streams and committed only when
   complete and matching its digest; a transfer cut short is resumed with
   a Range request (registry_get_blob).  On failure, the blobs begun are
   aborted (the ones committed stay: they are verified) and the error
   names the part: "config: blob sha256:..: ...", "layer 3: ...".  On
   success *OUT holds the manifests (release with
   registry_pulled_release); the caller stores them and tags.  */
int registry_pull(struct registry_client *c, const char *repo,
                  const char *reference,
                  const struct registry_platform *platform,
                  const struct registry_pull_store *store, unsigned jobs,
                  struct registry_pulled *out, struct cb_error **err);

void registry_pulled_release(struct registry_pulled *p);

#endif
