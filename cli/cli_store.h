/* What the store commands share: --root, opening the store, output
   formats.  */
#ifndef CBUILD_CLI_STORE_H
#define CBUILD_CLI_STORE_H

#include <stdint.h>

#include "common/error.h"
#include "layers/image.h"
#include "layers/store.h"

/* --root DIR, from the global options or the command's own; NULL means
   layer_store_default_root().  */
extern const char *cli_root;

/* Open the store at --root or the default, creating it if needed.  */
struct layer_store *cli_store_open(struct cb_error **err);

/* "1.2 MB", "512 B": decimal units, as docker and podman print sizes.  */
void cli_format_size(uint64_t bytes, char *out, size_t len);

/* "3 minutes ago" for an RFC 3339 time; "" when it does not parse.  */
void cli_format_ago(const char *rfc3339, char *out, size_t len);

/* The flattened root filesystem of IMG (every layer applied, base
   first) as the directory DEST, which must not exist yet (made beside it
   and renamed, so it appears complete or not at all), or as the tar file
   DEST (owners and devices as the image holds them).  cmd_export.c.  */
int cli_export_dir(struct layer_store *s, const struct store_image *img,
                   const char *dest, struct cb_error **err);
int cli_export_tar(struct layer_store *s, const struct store_image *img,
                   const char *dest, struct cb_error **err);

#endif
