/* SHA-256 content digests ("sha256:<64 hex>"), the identity of every blob,
   layer and image.  Streaming: a hasher is fed as data flows, so nothing
   is read twice.  */
#ifndef CBUILD_COMMON_DIGEST_H
#define CBUILD_COMMON_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

#define CB_DIGEST_SIZE 32
#define CB_DIGEST_HEX_LEN 64
/* "sha256:" + hex + NUL */
#define CB_DIGEST_STR_LEN (7 + CB_DIGEST_HEX_LEN + 1)

struct cb_digest {
  unsigned char raw[CB_DIGEST_SIZE];
};

/* Write the 64 lower-case hex digits and a NUL to OUT.  */
void cb_digest_hex(const struct cb_digest *d, char out[CB_DIGEST_HEX_LEN + 1]);
/* Write "sha256:<hex>" and a NUL to OUT.  */
void cb_digest_str(const struct cb_digest *d, char out[CB_DIGEST_STR_LEN]);
/* Parse "sha256:<64 lower-case hex>".  Anything else (another algorithm,
   upper case, wrong length) is CB_ERR_PARSE naming the string.  */
int cb_digest_parse(const char *s, struct cb_digest *d, struct cb_error **err);
/* Parse 64 lower-case hex digits (a blob file name).  */
int cb_digest_parse_hex(const char *hex, struct cb_digest *d,
                        struct cb_error **err);
bool cb_digest_equal(const struct cb_digest *a, const struct cb_digest *b);
/* The digest of LEN bytes at DATA.  */
void cb_digest_of(const void *data, size_t len, struct cb_digest *d);

struct cb_hasher;
struct cb_hasher *cb_hasher_new(void); /* aborts on OOM like cb_xmalloc */
void cb_hasher_update(struct cb_hasher *h, const void *data, size_t len);
/* The digest of everything fed so far; the hasher may be fed on.  */
void cb_hasher_peek(const struct cb_hasher *h, struct cb_digest *d);
void cb_hasher_free(struct cb_hasher *h);
void cb_hasher_freep(struct cb_hasher **h);
#define cleanup_hasher __attribute__((cleanup(cb_hasher_freep)))

#endif
