#include "config.h"

#include "layers/layer.h"

#include <string.h>

#include "common/mem.h"

#include "common/banned.h"

int
layer_compression_parse(const char *name, enum layer_compression *c,
                        struct cb_error **err)
{
  static const enum layer_compression all[] = { LAYER_COMPRESS_NONE,
                                                LAYER_COMPRESS_GZIP,
                                                LAYER_COMPRESS_ZSTD };

  for (size_t i = 0; i < CB_N_ELEMENTS(all); i++) {
    if (strcmp(name, layer_compression_name(all[i])) == 0) {
      *c = all[i];
      return 0;
    }
  }
  return cb_fail(err, CB_ERR_USAGE, 0,
                 "unknown compression '%s' (none, gzip or zstd)", name);
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
