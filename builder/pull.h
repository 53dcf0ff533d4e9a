/* An image from its registry into the store: what 'cbuild pull' does,
   and FROM when the store lacks the image.  */
#ifndef CBUILD_BUILDER_PULL_H
#define CBUILD_BUILDER_PULL_H

#include "common/digest.h"
#include "common/error.h"
#include "layers/store.h"
#include "registry/client.h"
#include "registry/pull.h"
#include "registry/reference.h"

/* Pull REF (normalized) for PLATFORM with CFG into S, and name the image
   NAME in the store.  Blobs are verified as they stream; on failure
   nothing is named (verified blobs may stay, for prune).  *PRINTED is the
   digest of what the registry serves for REF (an index for a
   multi-platform image).  */
int image_pull(struct layer_store *s, const struct image_ref *ref,
               const struct registry_client_config *cfg,
               const struct registry_platform *platform, const char *name,
               struct cb_digest *printed, struct cb_error **err);

#endif
