/* Shared layer vocabulary: compression kinds and OCI media types.  */
#ifndef CBUILD_LAYERS_LAYER_H
#define CBUILD_LAYERS_LAYER_H

#include "common/error.h"

enum layer_compression {
  LAYER_COMPRESS_NONE,
  LAYER_COMPRESS_GZIP,
  LAYER_COMPRESS_ZSTD,
};

/* OCI image-spec media types (image-spec v1.1 "Media Types").  */
#define OCI_MEDIA_LAYOUT_VERSION "1.0.0"
#define OCI_MEDIA_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MEDIA_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MEDIA_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MEDIA_LAYER "application/vnd.oci.image.layer.v1.tar"
#define OCI_MEDIA_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_MEDIA_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
/* Docker schema 2, as docker-archive and many registries serve it.  */
#define DOCKER_MEDIA_MANIFEST                                                  \
  "application/vnd.docker.distribution.manifest.v2+json"
#define DOCKER_MEDIA_MANIFEST_LIST                                             \
  "application/vnd.docker.distribution.manifest.list.v2+json"
#define DOCKER_MEDIA_CONFIG "application/vnd.docker.container.image.v1+json"
#define DOCKER_MEDIA_LAYER_GZIP                                                \
  "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* "none", "gzip" or "zstd" (--compression).  */
int layer_compression_parse(const char *name, enum layer_compression *c,
                            struct cb_error **err);
const char *layer_compression_name(enum layer_compression c);
/* The OCI layer media type for C.  */
const char *layer_media_type(enum layer_compression c);

#endif
