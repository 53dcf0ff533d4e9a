#include "config.h"

#include "common/digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/banned.h"

struct cb_hasher {
  EVP_MD_CTX *ctx;
};

void
cb_digest_hex(const struct cb_digest *d, char out[CB_DIGEST_HEX_LEN + 1])
{
  static const char hex[] = "0123456789abcdef";

  for (size_t i = 0; i < CB_DIGEST_SIZE; i++) {
    out[2 * i] = hex[d->raw[i] >> 4];
    out[2 * i + 1] = hex[d->raw[i] & 15];
  }
  out[CB_DIGEST_HEX_LEN] = '\0';
}

void
cb_digest_str(const struct cb_digest *d, char out[CB_DIGEST_STR_LEN])
{
  memcpy(out, "sha256:", 7);
  cb_digest_hex(d, out + 7);
}

static int
hex_value(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

int
cb_digest_parse_hex(const char *hex, struct cb_digest *d,
                    struct cb_error **err)
{
  struct cb_digest r;

  if (strlen(hex) != CB_DIGEST_HEX_LEN)
    return cb_fail(err, CB_ERR_PARSE, 0, "invalid sha256 digest '%.80s'",
                   hex);
  for (size_t i = 0; i < CB_DIGEST_SIZE; i++) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);

    if (hi < 0 || lo < 0)
      return cb_fail(err, CB_ERR_PARSE, 0, "invalid sha256 digest '%.80s'",
                     hex);
    r.raw[i] = (unsigned char)(hi << 4 | lo);
  }
  *d = r;
  return 0;
}

int
cb_digest_parse(const char *s, struct cb_digest *d, struct cb_error **err)
{
  if (strncmp(s, "sha256:", 7) != 0)
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "unsupported digest '%.80s' (only sha256 is supported)", s);
  return cb_digest_parse_hex(s + 7, d, err);
}

bool
cb_digest_equal(const struct cb_digest *a, const struct cb_digest *b)
{
  return memcmp(a->raw, b->raw, CB_DIGEST_SIZE) == 0;
}

void
cb_digest_of(const void *data, size_t len, struct cb_digest *d)
{
  struct cb_hasher *h = cb_hasher_new();

  cb_hasher_update(h, data, len);
  cb_hasher_peek(h, d);
  cb_hasher_free(h);
}

struct cb_hasher *
cb_hasher_new(void)
{
  struct cb_hasher *h = cb_xmalloc(sizeof(*h));

  h->ctx = EVP_MD_CTX_new();
  if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
    abort(); /* only allocation can fail here */
  return h;
}

void
cb_hasher_update(struct cb_hasher *h, const void *data, size_t len)
{
  if (len > 0 && EVP_DigestUpdate(h->ctx, data, len) != 1)
    abort();
}

void
cb_hasher_peek(const struct cb_hasher *h, struct cb_digest *d)
{
  EVP_MD_CTX *copy = EVP_MD_CTX_new();
  unsigned int n = 0;

  if (copy == NULL || EVP_MD_CTX_copy_ex(copy, h->ctx) != 1 ||
      EVP_DigestFinal_ex(copy, d->raw, &n) != 1 || n != CB_DIGEST_SIZE)
    abort();
  EVP_MD_CTX_free(copy);
}

void
cb_hasher_free(struct cb_hasher *h)
{
  if (h == NULL)
    return;
  EVP_MD_CTX_free(h->ctx);
  free(h);
}

void
cb_hasher_freep(struct cb_hasher **h)
{
  cb_hasher_free(*h);
  *h = NULL;
}
