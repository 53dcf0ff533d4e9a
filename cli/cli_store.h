/* What the store commands share: --root, opening the store, output
   formats.  */
#ifndef CBUILD_CLI_STORE_H
#define CBUILD_CLI_STORE_H

#include <stdint.h>

#include "common/error.h"
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

#endif
