#include "config.h"

#include "layers/layer.h"

#include <string.h>

#include "common/banned.h"

int
layer_compression_parse(const char *name, enum layer_compression *c,
                        struct cb_error **err)
{
  if (strcmp(name, "none") == 0)
    *c = LAYER_COMPRESS_NONE;
  else if (strcmp(name, "gzip") == 0)
    *c = LAYER_COMPRESS_GZIP;
  else if (strcmp(name, "zstd") == 0)
    *c = LAYER_COMPRESS_ZSTD;
  else
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "unknown compression '%s' (use none, gzip or zstd)", name);
  return 0;
}

const char *
layer_compression_name(enum layer_compression c)
{
  switch (c) {
  case LAYER_COMPRESS_NONE:
    return "none";
  case LAYER_COMPRESS_GZIP:
    return "gzip";
  case LAYER_COMPRESS_ZSTD:
    return "zstd";
  }
  return "unknown";
}

const char *
layer_media_type(enum layer_compression c)
{
  switch (c) {
  case LAYER_COMPRESS_NONE:
    return OCI_MEDIA_LAYER;
  case LAYER_COMPRESS_GZIP:
    return OCI_MEDIA_LAYER_GZIP;
  case LAYER_COMPRESS_ZSTD:
    return OCI_MEDIA_LAYER_ZSTD;
  }
  return OCI_MEDIA_LAYER;
}
