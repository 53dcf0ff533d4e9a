/* Compression names and the OCI layer media types they map to.  */
#include "config.h"

#include <stdlib.h>

#include "common/error.h"
#include "common/mem.h"
#include "layers/layer.h"
#include "tap.h"

#include "common/banned.h"

static void
test_round_trip(void)
{
  static const struct {
    const char *name;
    enum layer_compression c;
    const char *media_type;
  } rows[] = {
    { "none", LAYER_COMPRESS_NONE, OCI_MEDIA_LAYER },
    { "gzip", LAYER_COMPRESS_GZIP, OCI_MEDIA_LAYER_GZIP },
    { "zstd", LAYER_COMPRESS_ZSTD, OCI_MEDIA_LAYER_ZSTD },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(rows); i++) {
    struct cb_error *err = NULL;
    enum layer_compression c = LAYER_COMPRESS_NONE;

    is_int(layer_compression_parse(rows[i].name, &c, &err), 0, "parse '%s'",
           rows[i].name);
    is_int(c, rows[i].c, "'%s' is the right kind", rows[i].name);
    is_str(layer_compression_name(c), rows[i].name, "name of '%s'",
           rows[i].name);
    is_str(layer_media_type(c), rows[i].media_type, "media type of '%s'",
           rows[i].name);
    cb_error_free(err);
  }
}

static void
test_unknown(void)
{
  static const char *const bad[] = { "", "GZIP", "gz", "zstd ", "xz" };

  for (size_t i = 0; i < CB_N_ELEMENTS(bad); i++) {
    struct cb_error *err = NULL;
    enum layer_compression c = LAYER_COMPRESS_ZSTD;

    is_int(layer_compression_parse(bad[i], &c, &err), -1, "reject '%s'",
           bad[i]);
    ok(err != NULL && err->kind == CB_ERR_USAGE, "'%s' is a usage error",
       bad[i]);
    is_int(c, LAYER_COMPRESS_ZSTD, "'%s' leaves the output alone", bad[i]);
    cb_error_free(err);
  }
}

int
main(void)
{
  test_round_trip();
  test_unknown();
  return done_testing();
}
