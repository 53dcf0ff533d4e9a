/* An image from the store to a registry: what 'cbuild push' does, and
   'cbuild build --push' after the build (and its scan) succeeded.  */
#ifndef CBUILD_BUILDER_PUSH_H
#define CBUILD_BUILDER_PUSH_H

#include "common/digest.h"
#include "common/error.h"
#include "layers/image.h"
#include "layers/store.h"
#include "registry/client.h"
#include "registry/reference.h"

/* Upload IMG from S to DEST (normalized) with CFG: the config and each
   layer unless the registry has it (a blob the store knows from another
   repository of the same registry is mounted from there), then the
   manifest, as DEST's tag, or by its digest when DEST has none.  A DEST
   with a digest and no tag must name IMG's manifest digest
   (CB_ERR_USAGE).  The store is only read.  */
int image_push(struct layer_store *s, const struct store_image *img,
               const struct image_ref *dest,
               const struct registry_client_config *cfg, struct cb_error **err);

/* Push the file PATH to DEST (normalized; its repository must hold IMG,
   pushed before) as an OCI 1.1 referrer artifact of IMG's manifest:
   artifactType TYPE, the empty config, the file as its one layer (of
   media type TYPE, titled with PATH's base name), found through the
   registry's referrers API or, lacking that, the referrers tag
   (registry/referrers.h).  *DIGEST is the artifact manifest's.  PATH
   must be a regular file (a symlink is refused).  */
int image_push_artifact(const struct store_image *img,
                        const struct image_ref *dest,
                        const struct registry_client_config *cfg,
                        const char *path, const char *type,
                        struct cb_digest *digest, struct cb_error **err);

#endif
