/* Images in the store: the tagged manifests grouped by digest, with their
   configs, and name resolution for commands ("app:1", "app", an image ID
   or a prefix of one, "sha256:<manifest digest>").  */
#ifndef CBUILD_LAYERS_IMAGE_H
#define CBUILD_LAYERS_IMAGE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"
#include "common/stream.h"
#include "layers/oci.h"
#include "layers/store.h"

struct store_image {
  char **names;         /* its tags, NULL-terminated; owned */
  struct cb_digest manifest_digest;
  uint64_t manifest_size;
  struct oci_manifest *manifest; /* owned */
  struct cb_digest id;           /* the config digest: the image ID */
  json_t *config;                /* owned */
};

/* Every tagged image, one entry per manifest, in index.json order.  A
   broken entry is an error naming the tag.  Free with store_images_free. */
int layer_store_images(struct layer_store *s, struct store_image **images,
                       size_t *n, struct cb_error **err);
void store_images_free(struct store_image *images, size_t n);

/* Load the image whose manifest is DIGEST (tagged or not).  */
int layer_store_load_image(struct layer_store *s,
                           const struct cb_digest *digest,
                           struct store_image *out, struct cb_error **err);
void store_image_release(struct store_image *img);

/* Find SPEC: a name ("app" means "app:latest"), "sha256:<manifest or
   config digest>", or an image ID prefix of at least 3 hex digits.
   Not found, or an ambiguous prefix: CB_ERR_USAGE naming SPEC.  */
int layer_store_resolve(struct layer_store *s, const char *spec,
                        struct store_image *out, struct cb_error **err);

/* Totals of applying an image's layers (what could not be applied as is
   when not privileged: the caller warns).  */
struct flatten_stats {
  uint64_t layers;
  uint64_t owner_failures;
  uint64_t devices_skipped;
  uint64_t xattrs_skipped;
};

/* Apply every layer of IMG, base first, into the directory ROOT_FD (an
   empty staging dir: see layers/apply.h for the atomicity contract),
   checking each blob digest and diff_id.  Ownership that cannot be set
   is counted in STATS, not an error.  */
int store_image_flatten(struct layer_store *s, const struct store_image *img,
                        int root_fd, struct flatten_stats *stats,
                        struct cb_error **err);

/* The flattened filesystem of IMG as one uncompressed tar into OUT,
   straight from the layer blobs (layers/flatten.c): owners, modes and
   device nodes as the layers hold them, whiteouts applied, nothing
   extracted; each blob digest and diff_id checked.  */
int store_image_flatten_tar(struct layer_store *s,
                            const struct store_image *img,
                            const struct cb_sink *out, struct cb_error **err);

/* Make sure layer I of IMG is extracted at unpacked/<diff_id> (done once,
   then reused as an overlay lower dir) and return an O_PATH fd of it.  */
int store_image_unpack_layer(struct layer_store *s,
                             const struct store_image *img, size_t i,
                             struct flatten_stats *stats,
                             struct cb_error **err);

/* The name of IMG that SPEC stands for ("app" meaning "app:latest"), or
   NULL when SPEC is not one of its names (an ID or a digest).  Borrowed
   from IMG.  */
const char *store_image_name_of(const struct store_image *img,
                                const char *spec);

/* The sum of the layer sizes in the manifest (compressed bytes).  */
uint64_t store_image_size(const struct store_image *img);

#endif
