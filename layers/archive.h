/* Images in and out of the store as files other tools read and write:
   oci-archive (a tar of an OCI image layout), oci-dir (the layout as a
   directory) and docker-archive (docker save's format: manifest.json,
   the config, one file per layer).  */
#ifndef CBUILD_LAYERS_ARCHIVE_H
#define CBUILD_LAYERS_ARCHIVE_H

#include <stddef.h>

#include "common/digest.h"
#include "common/error.h"
#include "layers/image.h"
#include "layers/store.h"

enum archive_format {
  ARCHIVE_OCI,     /* oci-archive */
  ARCHIVE_DOCKER,  /* docker-archive */
  ARCHIVE_OCI_DIR, /* oci-dir */
};

/* "oci-archive", "docker-archive" or "oci-dir".  */
int archive_format_parse(const char *name, enum archive_format *f,
                         struct cb_error **err);

/* Write IMG to DEST in FORMAT, naming it NAME (may be NULL).  A file is
   written to a temporary name beside DEST and renamed when complete; an
   oci-dir DEST must not exist yet.  Layers are copied as they are stored
   (docker-archive consumers detect their compression).  */
int layer_store_save(struct layer_store *s, const struct store_image *img,
                     const char *name, enum archive_format format,
                     const char *dest, struct cb_error **err);

struct load_result {
  struct cb_digest *manifests; /* each loaded image's manifest digest */
  char **names;                /* its name, or NULL; parallel array */
  size_t n;
};

/* Read an oci-archive or docker-archive (detected from its content) at
   PATH into the store: every blob verified while it is copied, images
   tagged with the names the archive gives.  Needs the writer lock.  On
   error nothing is tagged (blobs already stored are freed by prune).  */
int layer_store_load(struct layer_store *s, const char *path,
                     struct load_result *res, struct cb_error **err);
void load_result_release(struct load_result *res);

#endif
