/* The streaming compressor: levels, output that does not depend on threads
   or on how the input is cut, real gzip and zstd reading it back, empty
   streams, deterministic gzip headers, and sink failures.  */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/mem.h"
#include "layers-test.h"
#include "layers/compress.h"
#include "tap.h"

#include "common/banned.h"

/* A little over 5 MiB: text, then random bytes, then text, so chunks of
   both kinds and a partial last chunk.  */
#define DATA_LEN (5u * 1024 * 1024 + 12345)

static unsigned char *data;
static char *scratch;

static void
make_data(void)
{
  data = cb_xmalloc(DATA_LEN);
  fill_text(data, 2u << 20, 1);
  fill_random(data + (2u << 20), 1u << 20, 7);
  fill_text(data + (3u << 20), DATA_LEN - (3u << 20), 99);
}

/* Compress DATA[0..len) with THREADS, handing it over in pieces of STEP
   bytes (0: one write).  Returns the output in *OUT, or false.  */
static bool
compress(enum layer_compression c, int level, int threads, size_t len,
         size_t step, struct cb_buf *out)
{
  struct mem_sink m = { CB_BUF_INIT, 0 };
  struct cb_sink s = mem_sink_of(&m);
  cleanup_error struct cb_error *err = NULL;
  cleanup_compressor struct compressor *z =
      compressor_new(c, level, threads, &s, &err);
  size_t off = 0;

  if (z == NULL)
    goto fail;
  while (off < len) {
    size_t n = step == 0 || len - off < step ? len - off : step;

    if (compressor_write(z, data + off, n, &err) < 0)
      goto fail;
    off += n;
  }
  if (compressor_finish(z, &err) < 0)
    goto fail;
  *out = m.buf;
  return true;

fail:
  diag("compress: %s", err != NULL ? err->msg : "?");
  cb_buf_release(&m.buf);
  return false;
}

static void
test_levels(void)
{
  static const struct {
    enum layer_compression c;
    int level, want;
  } rows[] = {
    { LAYER_COMPRESS_GZIP, 0, 6 },   { LAYER_COMPRESS_GZIP, 1, 1 },
    { LAYER_COMPRESS_GZIP, 9, 9 },   { LAYER_COMPRESS_GZIP, 12, 12 },
    { LAYER_COMPRESS_GZIP, 13, -1 }, { LAYER_COMPRESS_GZIP, -1, -1 },
    { LAYER_COMPRESS_ZSTD, 0, 3 },   { LAYER_COMPRESS_ZSTD, 19, 19 },
    { LAYER_COMPRESS_ZSTD, 20, -1 }, { LAYER_COMPRESS_NONE, 0, 0 },
    { LAYER_COMPRESS_NONE, 1, -1 },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(rows); i++) {
    struct cb_error *err = NULL;
    int got = compress_level_resolve(rows[i].c, rows[i].level, &err);

    is_int(got, rows[i].want, "%s level %d resolves to %d",
           layer_compression_name(rows[i].c), rows[i].level, rows[i].want);
    if (rows[i].want < 0)
      ok(err != NULL && err->kind == CB_ERR_USAGE, "  and is a usage error");
    cb_error_free(err);
  }
  {
    struct mem_sink m = { CB_BUF_INIT, 0 };
    struct cb_sink s = mem_sink_of(&m);
    struct cb_error *err = NULL;

    ok(compressor_new(LAYER_COMPRESS_GZIP, 0, 65, &s, &err) == NULL &&
           err != NULL && err->kind == CB_ERR_USAGE,
       "65 threads is a usage error");
    cb_error_free(err);
  }
}

static void
test_roundtrip(enum layer_compression c, char *const unpack[])
{
  struct cb_buf ref = CB_BUF_INIT, plain = CB_BUF_INIT;
  static const struct {
    int threads;
    size_t step;
  } runs[] = { { 1, 0 },    { 4, 0 },      { 2, 1 << 20 },
               { 2, 4096 }, { 3, 777777 }, { 2, 65537 } };
  const char *name = layer_compression_name(c);

  if (!ok(compress(c, 0, 2, DATA_LEN, 0, &ref), "%s: compress 5 MiB", name))
    return;
  ok(ref.len < DATA_LEN, "%s: %zu bytes became %zu", name, (size_t)DATA_LEN,
     ref.len);
  is_int(filter_through(unpack, scratch, ref.data, ref.len, &plain), 0,
         "%s: %s reads it", name, unpack[0]);
  ok(plain.len == DATA_LEN && memcmp(plain.data, data, DATA_LEN) == 0,
     "%s: and gives the input back", name);

  for (size_t i = 0; i < CB_N_ELEMENTS(runs); i++) {
    struct cb_buf got = CB_BUF_INIT;

    ok(compress(c, 0, runs[i].threads, DATA_LEN, runs[i].step, &got) &&
           got.len == ref.len && memcmp(got.data, ref.data, ref.len) == 0,
       "%s: %d threads, writes of %zu bytes (0: one): the same output", name,
       runs[i].threads, runs[i].step);
    cb_buf_release(&got);
  }
  cb_buf_release(&ref);
  cb_buf_release(&plain);
}

/* Random bytes go out as stored deflate blocks (see GZ_FLAT_CHI2): one
   member of 17 blocks of at most 65535 bytes, 5 header bytes each, plus
   gzip's 18.  A random 4 KiB block repeated has as flat a histogram and is
   still compressed, and so is the text.  */
static void
test_gzip_stored(void)
{
  const size_t n = 1u << 20;
  struct cb_buf out = CB_BUF_INIT, plain = CB_BUF_INIT;
  char *gunzip[] = { (char *)"gzip", (char *)"-dc", NULL };
  unsigned char *saved = cb_xmalloc(n);

  memcpy(saved, data, n);
  fill_random(data, n, 3);
  if (ok(compress(LAYER_COMPRESS_GZIP, 9, 2, n, 0, &out), "random: compress"))
    is_int((long long)out.len, (long long)(n + 17 * 5 + 18),
           "random: 1 MiB is stored, not deflated");
  is_int(filter_through(gunzip, scratch, out.data, out.len, &plain), 0,
         "random: gzip reads it");
  ok(plain.len == n && memcmp(plain.data, data, n) == 0,
     "random: and gives the input back");
  cb_buf_release(&out);
  cb_buf_release(&plain);

  for (size_t off = 4096; off < n; off += 4096)
    memcpy(data + off, data, 4096);
  if (ok(compress(LAYER_COMPRESS_GZIP, 0, 2, n, 0, &out), "repeats: compress"))
    ok(out.len < n / 16, "repeats: a flat histogram is still deflated (%zu)",
       out.len);
  cb_buf_release(&out);

  memcpy(data, saved, n);
  if (ok(compress(LAYER_COMPRESS_GZIP, 0, 2, n, 0, &out), "text: compress"))
    ok(out.len < n / 2, "text: deflated (%zu)", out.len);
  cb_buf_release(&out);
  free(saved);
}

/* RFC 1952 section 2.3: ID1 ID2 CM FLG MTIME(4) XFL OS.  No FNAME, no
   FCOMMENT, no mtime: nothing of the machine or the moment.  */
static void
test_gzip_header(void)
{
  struct cb_buf out = CB_BUF_INIT;
  const unsigned char *h;

  if (!ok(compress(LAYER_COMPRESS_GZIP, 9, 2, 1000, 0, &out),
          "gzip: compress at level 9"))
    return;
  h = (const unsigned char *)out.data;
  ok(out.len > 18 && h[0] == 0x1f && h[1] == 0x8b && h[2] == 8,
     "gzip: magic and deflate");
  is_int(h[3], 0, "gzip: no flags (no name, no comment)");
  ok(h[4] == 0 && h[5] == 0 && h[6] == 0 && h[7] == 0, "gzip: mtime 0");
  cb_buf_release(&out);
}

static void
test_empty(enum layer_compression c, char *const unpack[])
{
  struct cb_buf out = CB_BUF_INIT, plain = CB_BUF_INIT;
  const char *name = layer_compression_name(c);

  if (!ok(compress(c, 0, 2, 0, 0, &out), "%s: an empty stream", name))
    return;
  ok(out.len > 0, "%s: is still a valid stream (%zu bytes)", name, out.len);
  is_int(filter_through(unpack, scratch, out.data, out.len, &plain), 0,
         "%s: %s reads it", name, unpack[0]);
  is_int((long long)plain.len, 0, "%s: as nothing", name);
  cb_buf_release(&out);
  cb_buf_release(&plain);
}

static void
test_none(void)
{
  struct cb_buf out = CB_BUF_INIT;

  ok(compress(LAYER_COMPRESS_NONE, 0, 2, DATA_LEN, 100000, &out) &&
         out.len == DATA_LEN && memcmp(out.data, data, DATA_LEN) == 0,
     "none: passes the bytes through");
  cb_buf_release(&out);
}

static void
test_sink_fails(enum layer_compression c)
{
  struct mem_sink m = { CB_BUF_INIT, 100000 };
  struct cb_sink s = mem_sink_of(&m);
  struct cb_error *err = NULL;
  struct compressor *z = compressor_new(c, 1, 2, &s, &err);
  int r = 0;

  for (size_t off = 0; z != NULL && r == 0 && off < DATA_LEN; off += 1 << 16)
    r = compressor_write(z, data + off,
                         DATA_LEN - off < 1 << 16 ? DATA_LEN - off : 1 << 16,
                         &err);
  if (z != NULL && r == 0)
    r = compressor_finish(z, &err);
  ok(r < 0 && err != NULL && err->errnum == EIO &&
         strcmp(err->msg, "test sink full") == 0,
     "%s: the sink's error comes back unchanged", layer_compression_name(c));
  cb_error_free(err);
  err = NULL;
  ok(compressor_write(z, data, 1, &err) < 0 && err != NULL,
     "%s: and nothing more is accepted", layer_compression_name(c));
  cb_error_free(err);
  compressor_free(z);
  cb_buf_release(&m.buf);
}

int
main(void)
{
  char *gunzip[] = { (char *)"gzip", (char *)"-dc", NULL };
  char *unzstd[] = { (char *)"zstd", (char *)"-dcq", NULL };

  scratch = scratch_dir("compress");
  make_data();
  test_levels();
  test_roundtrip(LAYER_COMPRESS_GZIP, gunzip);
  test_roundtrip(LAYER_COMPRESS_ZSTD, unzstd);
  test_gzip_header();
  test_gzip_stored();
  test_empty(LAYER_COMPRESS_GZIP, gunzip);
  test_empty(LAYER_COMPRESS_ZSTD, unzstd);
  test_none();
  test_sink_fails(LAYER_COMPRESS_GZIP);
  test_sink_fails(LAYER_COMPRESS_ZSTD);
  compressor_free(NULL);
  rm_rf(scratch);
  free(scratch);
  free(data);
  return done_testing();
}
