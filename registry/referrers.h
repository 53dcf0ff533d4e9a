/* OCI 1.1 referrers: an artifact (a scan report, an SBOM) pushed as an
   image manifest whose "subject" is the image it is about, and made
   findable the way distribution-spec 1.1 says ("Listing Referrers",
   "Unavailable Referrers API", "Referrers Tag Schema").

   The artifact manifest (image-spec 1.1 "Guidelines for Artifact
   Usage"): mediaType application/vnd.oci.image.manifest.v1+json, the
   artifactType given, config the empty descriptor
   (application/vnd.oci.empty.v1+json, the 2 bytes "{}"), one layer (the
   artifact's content) and subject.  */
#ifndef CBUILD_REGISTRY_REFERRERS_H
#define CBUILD_REGISTRY_REFERRERS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"
#include "registry/client.h"

#define REGISTRY_MEDIA_EMPTY "application/vnd.oci.empty.v1+json"
#define REGISTRY_MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define REGISTRY_MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"

/* Longest referrers tag: "sha256-" and 64 hex digits, and the NUL.  */
#define REGISTRY_REFERRERS_TAG_LEN (7 + 64 + 1)

/* The referrers tag of DIGEST: "sha256-<hex>" (the algorithm, a hyphen,
   the encoded part; a sha256 digest needs neither truncation nor
   replacement).  */
void registry_referrers_tag(const struct cb_digest *digest,
                            char out[REGISTRY_REFERRERS_TAG_LEN]);

/* What an artifact refers to: the manifest descriptor of an image.  */
struct registry_subject {
  const char *media_type; /* the image manifest's media type */
  struct cb_digest digest;
  uint64_t size;
};

/* The artifact's content, one blob.  */
struct registry_artifact {
  const char *artifact_type;    /* the manifest's artifactType */
  const char *layer_media_type; /* the blob's media type */
  const char *title; /* org.opencontainers.image.title of the blob, or NULL */
  int fd;            /* the content, read from its start; borrowed */
  uint64_t size;
  struct cb_digest digest; /* of the content: checked as it is sent */
};

/* Push ART to REPO as a referrer of SUBJECT (which REPO must hold):
   the empty config and ART's blob unless the registry has them, then the
   artifact manifest by its digest (*DIGEST).  Then, when the registry
   has no referrers API (GET /v2/REPO/referrers/<subject> answers 404),
   the image index tagged registry_referrers_tag(subject) gets a
   descriptor of the artifact (artifactType and annotations copied), or
   is created with it; an index already listing it is left alone, and a
   tag that holds something else than an OCI index is CB_ERR_REGISTRY
   (nothing is overwritten).  A registry with the API keeps its list
   itself.  Two clients updating the same tag at once can lose one entry:
   the spec leaves that to the clients and gives no lock.  */
int registry_push_referrer(struct registry_client *c, const char *repo,
                           const struct registry_subject *subject,
                           const struct registry_artifact *art,
                           struct cb_digest *digest, struct cb_error **err);

#endif
