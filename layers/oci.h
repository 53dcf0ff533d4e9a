/* OCI image-spec JSON: descriptors, image manifests, image indexes and
   image configs.

   Reading accepts the OCI forms and their Docker schema 2 twins (image
   manifest, manifest list), since registries and docker-archive serve
   both.  Writing produces what the structs hold, and cbuild only ever
   builds OCI ones.  Every parser is strict about what it uses: duplicate
   keys are refused, each field's type is checked, sizes must be
   non-negative integers and digests sha256.  Unknown fields are ignored
   on read (image-spec "Extensibility").  Errors are CB_ERR_PARSE naming
   what was parsed and the field ("invalid image manifest: 'layers[1].size'
   must be a non-negative integer"); input over its size limit is
   CB_ERR_UNSAFE.

   Serialization is deterministic: compact JSON with sorted keys, so the
   same value always gives the same bytes and the same digest.  */
#ifndef CBUILD_LAYERS_OCI_H
#define CBUILD_LAYERS_OCI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"

/* The distribution spec lets registries refuse manifests over 4 MiB, and
   containers/image reads no more than that for manifests and configs.  */
#define OCI_MAX_MANIFEST_SIZE (4u * 1024 * 1024)
#define OCI_MAX_CONFIG_SIZE (4u * 1024 * 1024)

/* Pre-defined annotation keys (image-spec "Annotations").  */
#define OCI_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"
#define OCI_ANNOTATION_CREATED "org.opencontainers.image.created"

/* jansson values held in a scope: `cleanup_json json_t *j = NULL;`.  */
static inline void
oci_json_decrefp(json_t **j)
{
  json_decref(*j);
  *j = NULL;
}
#define cleanup_json __attribute__((cleanup(oci_json_decrefp)))

/* --- descriptors --- */

struct oci_platform {
  char *architecture; /* owned */
  char *os;           /* owned */
  char *variant;      /* owned; NULL when absent */
  char *os_version;   /* owned ("os.version"); NULL when absent */
};

struct oci_descriptor {
  char *media_type; /* owned */
  struct cb_digest digest;
  uint64_t size;
  json_t *annotations;           /* owned object of strings; NULL if none */
  struct oci_platform *platform; /* owned; NULL if none (index entries) */
};

/* Set D to MEDIA_TYPE, DIGEST and SIZE, with no annotations or platform.
   D is caller storage; release it with oci_descriptor_release().  Every
   string these structs hold is valid UTF-8 (so serializing cannot fail):
   CB_ERR_PARSE if MEDIA_TYPE is not, CB_ERR_UNSAFE if SIZE is over
   INT64_MAX; D is untouched on failure.  */
int oci_descriptor_init(struct oci_descriptor *d, const char *media_type,
                        const struct cb_digest *digest, uint64_t size,
                        struct cb_error **err);
/* Deep copy of SRC into caller storage DST.  */
void oci_descriptor_copy(struct oci_descriptor *dst,
                         const struct oci_descriptor *src);
void oci_descriptor_release(struct oci_descriptor *d);
/* Set annotation KEY to VALUE (replacing it).  CB_ERR_PARSE if either is
   not valid UTF-8.  */
int oci_descriptor_annotate(struct oci_descriptor *d, const char *key,
                            const char *value, struct cb_error **err);
/* The value of annotation KEY, or NULL.  Borrowed from D.  */
const char *oci_descriptor_annotation(const struct oci_descriptor *d,
                                      const char *key);
/* Set D's platform to OS/ARCHITECTURE and VARIANT (may be NULL), replacing
   any.  CB_ERR_PARSE if a string is not valid UTF-8.  */
int oci_descriptor_set_platform(struct oci_descriptor *d, const char *os,
                                const char *architecture, const char *variant,
                                struct cb_error **err);

/* --- image manifests --- */

struct oci_manifest {
  char *media_type; /* owned: OCI_MEDIA_MANIFEST or DOCKER_MEDIA_MANIFEST */
  struct oci_descriptor config;
  struct oci_descriptor *layers; /* owned array, base layer first */
  size_t n_layers;
  json_t *annotations; /* owned object of strings; NULL if none */
};

/* An empty OCI manifest (OCI_MEDIA_MANIFEST, no config yet).  */
struct oci_manifest *oci_manifest_new(void);
/* Parse an image manifest (OCI or Docker schema 2) of LEN bytes.  An image
   index or manifest list is refused (CB_ERR_PARSE), as is one over
   OCI_MAX_MANIFEST_SIZE (CB_ERR_UNSAFE).  */
struct oci_manifest *oci_manifest_parse(const char *buf, size_t len,
                                        struct cb_error **err);
void oci_manifest_set_config(struct oci_manifest *m,
                             const struct oci_descriptor *config);
/* Append a copy of LAYER (the new top layer).  */
void oci_manifest_add_layer(struct oci_manifest *m,
                            const struct oci_descriptor *layer);
/* Compact JSON with sorted keys; a new NUL-terminated string, its length
   in *LEN when LEN is not NULL.  */
char *oci_manifest_serialize(const struct oci_manifest *m, size_t *len);
void oci_manifest_free(struct oci_manifest *m);
void oci_manifest_freep(struct oci_manifest **m);
#define cleanup_oci_manifest __attribute__((cleanup(oci_manifest_freep)))

/* --- image indexes --- */

struct oci_index {
  char *media_type; /* owned: OCI_MEDIA_INDEX, DOCKER_MEDIA_MANIFEST_LIST,
                       or NULL when the document had none (index.json may
                       omit it) */
  struct oci_descriptor *manifests; /* owned array, in document order */
  size_t n_manifests;
  json_t *annotations; /* owned object of strings; NULL if none */
};

/* An empty OCI index (OCI_MEDIA_INDEX).  */
struct oci_index *oci_index_new(void);
/* Parse an OCI image index or a Docker manifest list of LEN bytes, at most
   MAX (OCI_MAX_MANIFEST_SIZE for one from a registry; a layout's own
   index.json may be given more room).  An image manifest is refused.  */
struct oci_index *oci_index_parse(const char *buf, size_t len, size_t max,
                                  struct cb_error **err);
/* Append a copy of D.  */
void oci_index_add(struct oci_index *idx, const struct oci_descriptor *d);
/* Remove entry I (< n_manifests), keeping the order of the others.  */
void oci_index_remove(struct oci_index *idx, size_t i);
char *oci_index_serialize(const struct oci_index *idx, size_t *len);
void oci_index_free(struct oci_index *idx);
void oci_index_freep(struct oci_index **idx);
#define cleanup_oci_index __attribute__((cleanup(oci_index_freep)))

/* --- image configs ---

   A config stays a json_t object, so that fields cbuild does not know
   (from a base image, or a later spec) pass through untouched.  The
   helpers below keep it valid.  */

struct oci_history {
  const char *created;    /* RFC 3339 (oci_format_time), or NULL */
  const char *created_by; /* the instruction, or NULL */
  const char *comment;    /* or NULL */
  bool empty_layer;       /* true for steps that add no layer */
};

/* A new config for OS and ARCHITECTURE with no layers: "architecture",
   "os", "config": {}, "rootfs": {"type": "layers", "diff_ids": []},
   "history": [].  CB_ERR_PARSE if a string is not valid UTF-8.  */
json_t *oci_config_new(const char *os, const char *architecture,
                       struct cb_error **err);
/* Parse an image config of LEN bytes (at most OCI_MAX_CONFIG_SIZE).
   Checks the fields cbuild reads: "architecture" and "os" strings,
   "rootfs" with type "layers" and sha256 "diff_ids", "history" entries,
   and the types of the known "config" fields (Env, Cmd, Entrypoint,
   User, WorkingDir, Labels, ...; null is allowed where Docker writes it).
   New reference.  */
json_t *oci_config_parse(const char *buf, size_t len, struct cb_error **err);
/* Append DIFF_ID to rootfs.diff_ids and, unless H is NULL, a history
   entry for it (H->empty_layer is ignored: this entry has a layer).
   CB_ERR_PARSE if CFG has no valid "rootfs" or a string is not UTF-8;
   CFG is unchanged on failure.  */
int oci_config_add_layer(json_t *cfg, const struct cb_digest *diff_id,
                         const struct oci_history *h, struct cb_error **err);
/* Append a history entry alone (set H->empty_layer for steps like ENV).  */
int oci_config_add_history(json_t *cfg, const struct oci_history *h,
                           struct cb_error **err);
/* The layer diff_ids, base first: a new array in *IDS (NULL when there
   are none) and its length in *N.  CB_ERR_PARSE if "rootfs" is not as
   the spec says.  */
int oci_config_diff_ids(const json_t *cfg, struct cb_digest **ids, size_t *n,
                        struct cb_error **err);
/* Field FIELD of the "config" object ("Env", "Cmd", ...), or NULL.
   Borrowed from CFG until it changes.  */
json_t *oci_config_get(const json_t *cfg, const char *field);
/* Set "config".FIELD to VALUE (a reference that is stolen, even on
   failure); VALUE NULL removes the field.  Creates "config" if needed.  */
int oci_config_set(json_t *cfg, const char *field, json_t *value,
                   struct cb_error **err);
/* Set the top-level "created" to T (seconds since the epoch, UTC).  */
int oci_config_set_created(json_t *cfg, int64_t t, struct cb_error **err);

/* --- JSON text --- */

/* T as RFC 3339 UTC with second precision ("2024-05-01T12:00:00Z"), as
   OCI "created" fields and annotations want.  */
#define OCI_TIME_LEN 32
void oci_format_time(int64_t t, char out[OCI_TIME_LEN]);

/* Deterministic JSON text of J: compact, keys sorted, UTF-8 as is.  A new
   NUL-terminated string, its length in *LEN when LEN is not NULL.  */
char *oci_json_dump(const json_t *j, size_t *len);

/* Parse LEN bytes as one JSON object of at most MAX bytes, refusing
   duplicate keys; WHAT names the document in errors ("image config").
   New reference.  */
json_t *oci_json_parse_object(const char *buf, size_t len, size_t max,
                              const char *what, struct cb_error **err);

#endif
