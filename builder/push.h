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
               const struct registry_client_config *cfg,
               struct cb_error **err);

#endif
