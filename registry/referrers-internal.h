/* The pure JSON parts of registry/referrers.c, for the unit tests.  */
#ifndef CBUILD_REGISTRY_REFERRERS_INTERNAL_H
#define CBUILD_REGISTRY_REFERRERS_INTERNAL_H

#ifndef CB_IN_REGISTRY
#error "registry/referrers-internal.h is internal to registry/"
#endif

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "registry/referrers.h"

/* The artifact manifest for ART about SUBJECT, compact JSON.  New
   string; *LEN its length.  */
char *referrers_manifest_json(const struct registry_subject *subject,
                              const struct registry_artifact *art, size_t *len);

/* The referrers index OLD (LEN bytes; NULL when the tag does not exist
   yet) with DESC (an index entry: mediaType, digest, size, artifactType,
   annotations) added.  *CHANGED false, and *OUT NULL, when OLD lists
   DESC's digest already.  OLD that is not an OCI image index (its
   mediaType, or "manifests" not an array) is CB_ERR_REGISTRY naming
   TAG.  *OUT is new compact JSON, *OUT_LEN its length.  */
int referrers_index_add(const char *old, size_t len, const json_t *desc,
                        const char *tag, char **out, size_t *out_len,
                        bool *changed, struct cb_error **err);

#endif
