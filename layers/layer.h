/* Shared layer vocabulary: compression kinds and OCI media types.  */
#ifndef CBUILD_LAYERS_LAYER_H
#define CBUILD_LAYERS_LAYER_H

#include <stdbool.h>
#include <stddef.h>

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

/* The owner a layer gives a file when chown(2) could not give it (the
   single id mapping maps no id but 0): "UID:GID" in decimal, in this user
   xattr of the file.  Layer extraction sets it where it cannot set an
   owner, COPY --chown likewise; the layer writer takes it as the entry's
   owner and never writes the xattr itself, so the owner survives overlay
   copy-up and a later RUN instead of becoming 0.  Layers and build
   contexts never bring it in: extraction and COPY drop it.  */
#define LAYER_OWNER_XATTR "user.cbuild.owner"

/* Record UID:GID in LAYER_OWNER_XATTR of FD, or, when FD is -1, of
   DIR_FD/NAME without following it.  -1 with errno when the file system
   or the file type takes no user xattrs (symlinks, devices).  */
int layer_owner_record(int fd, int dir_fd, const char *name, unsigned uid,
                       unsigned gid);
/* Parse a LAYER_OWNER_XATTR value of LEN bytes: strictly "UID:GID", each
   below 2^32 - 1.  */
bool layer_owner_parse(const char *value, size_t len, unsigned *uid,
                       unsigned *gid);

/* "none", "gzip" or "zstd" (--compression).  */
int layer_compression_parse(const char *name, enum layer_compression *c,
                            struct cb_error **err);
const char *layer_compression_name(enum layer_compression c);
/* The OCI layer media type for C.  */
const char *layer_media_type(enum layer_compression c);

#endif
