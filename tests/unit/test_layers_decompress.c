/* The layer reader: compression detection, multi-member gzip and
   multi-frame zstd read in pieces of any size, both digests, and broken
   streams (truncated, corrupt, trailing data).  */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/digest.h"
#include "common/mem.h"
#include "layers/decompress.h"
#include "layers_testlib.h"
#include "tap.h"

static int
memfd_of(const void *data, size_t len)
{
  int fd = memfd_create("blob", MFD_CLOEXEC);

  if (fd < 0 || write(fd, data, len) != (ssize_t)len)
    diag("memfd: %s", strerror(errno));
  lseek(fd, 0, SEEK_SET);
  return fd;
}

/* Read BLOB in PIECE-byte reads; it must give back TAR exactly.  */
static void
roundtrip(const char *what, const struct cb_buf *blob, const struct cb_buf *tar,
          enum layer_compression kind, size_t piece)
{
  struct cb_buf got = CB_BUF_INIT;
  struct cb_error *err = NULL;
  struct cb_digest blob_d, diff_d, want;
  struct layer_reader *r;
  uint64_t blob_size = 0, tar_size = 0;
  char buf[4096];
  ssize_t n = 0;
  int fd = memfd_of(blob->data, blob->len);

  r = layer_reader_open(fd, &err);
  ok(r != NULL, "%s: opens", what);
  while (r != NULL && (n = layer_reader_read(r, buf, piece, &err)) > 0)
    cb_buf_add(&got, buf, (size_t)n);
  if (!is_int(n, 0, "%s: reads to the end in %zu-byte pieces", what, piece))
    diag("%s", err ? err->msg : "(none)");
  ok(got.len == tar->len &&
         (tar->len == 0 || memcmp(got.data, tar->data, tar->len) == 0),
     "%s: yields the tar", what);
  if (r != NULL) {
    is_int(layer_reader_compression(r), kind, "%s: detected as %d", what,
           (int)kind);
    layer_reader_digests(r, &blob_d, &diff_d);
    cb_digest_of(blob->data, blob->len, &want);
    ok(cb_digest_equal(&blob_d, &want), "%s: blob digest", what);
    cb_digest_of(tar->data, tar->len, &want);
    ok(cb_digest_equal(&diff_d, &want), "%s: diff_id", what);
    layer_reader_sizes(r, &blob_size, &tar_size);
    ok(blob_size == blob->len && tar_size == tar->len, "%s: sizes", what);
  }
  layer_reader_free(r);
  cb_error_free(err);
  cb_buf_release(&got);
  close(fd);
}

static void
make_tar(struct cb_buf *tar)
{
  struct cb_buf big = CB_BUF_INIT;
  struct tarb t;

  for (int i = 0; i < 20000; i++)
    cb_buf_addf(&big, "line %d of a file big enough for several blocks\n", i);
  tar_begin(&t);
  tar_file(&t, "big", big.data);
  tar_file(&t, "small", "hello");
  tar_end(&t, tar);
  cb_buf_release(&big);
}

static void
test_roundtrips(const struct cb_buf *tar)
{
  struct cb_buf gz1 = CB_BUF_INIT, gz3 = CB_BUF_INIT, zs = CB_BUF_INIT;
  struct cb_buf empty = CB_BUF_INIT;

  gzip_members(tar->data, tar->len, 1, &gz1);
  gzip_members(tar->data, tar->len, 3, &gz3);
  zstd_frames(tar->data, tar->len, 3, &zs);
  roundtrip("plain", tar, tar, LAYER_COMPRESS_NONE, 4096);
  roundtrip("plain", tar, tar, LAYER_COMPRESS_NONE, 3);
  roundtrip("gzip", &gz1, tar, LAYER_COMPRESS_GZIP, 4096);
  roundtrip("gzip_multi_member", &gz3, tar, LAYER_COMPRESS_GZIP, 4096);
  roundtrip("gzip_multi_member", &gz3, tar, LAYER_COMPRESS_GZIP, 7);
  roundtrip("zstd_multi_frame", &zs, tar, LAYER_COMPRESS_ZSTD, 4096);
  roundtrip("zstd_multi_frame", &zs, tar, LAYER_COMPRESS_ZSTD, 1);
  roundtrip("empty", &empty, &empty, LAYER_COMPRESS_NONE, 4096);
  cb_buf_release(&gz1);
  cb_buf_release(&gz3);
  cb_buf_release(&zs);
}

/* Read all of BLOB; it must fail with CB_ERR_PARSE saying NEEDLE.  */
static void
read_fails(const char *what, const struct cb_buf *blob, const char *needle)
{
  struct cb_error *err = NULL;
  struct layer_reader *r;
  int fd = memfd_of(blob->data, blob->len);
  int rc = -1;

  r = layer_reader_open(fd, &err);
  if (r != NULL)
    rc = layer_reader_drain(r, &err);
  is_int(rc, -1, "%s: fails", what);
  if (err != NULL)
    diag("%s", err->msg);
  ok(err != NULL && err->kind == CB_ERR_PARSE, "%s: is a parse error", what);
  ok(err != NULL && strstr(err->msg, needle) != NULL, "%s: message says \"%s\"",
     what, needle);
  cb_error_free(err);
  err = NULL;
  if (r != NULL) {
    char buf[16];

    is_int(layer_reader_read(r, buf, sizeof(buf), &err), -1,
           "%s: keeps failing", what);
  }
  cb_error_free(err);
  layer_reader_free(r);
  close(fd);
}

static void
test_broken(const struct cb_buf *tar)
{
  struct cb_buf b = CB_BUF_INIT;

  gzip_members(tar->data, tar->len, 2, &b);
  cb_buf_truncate(&b, b.len - 4);
  read_fails("truncated_gzip", &b, "truncated gzip stream");
  cb_buf_truncate(&b, 0);
  gzip_members(tar->data, tar->len, 2, &b);
  b.data[b.len / 4] ^= 0x10;
  read_fails("corrupt_gzip", &b, "corrupt gzip stream");
  cb_buf_truncate(&b, 0);
  gzip_members(tar->data, tar->len, 2, &b);
  cb_buf_add(&b, "\0\0\0\0", 4);
  read_fails("gzip_trailing_zeros", &b, "after the end of the gzip stream");
  cb_buf_truncate(&b, 0);
  cb_buf_add(&b, "\x1f\x8b", 2);
  read_fails("gzip_magic_only", &b, "truncated gzip stream");
  cb_buf_truncate(&b, 0);
  zstd_frames(tar->data, tar->len, 2, &b);
  cb_buf_truncate(&b, b.len - 1);
  read_fails("truncated_zstd", &b, "truncated zstd stream");
  cb_buf_truncate(&b, 0);
  zstd_frames(tar->data, tar->len, 1, &b);
  cb_buf_add(&b, "junk", 4);
  read_fails("zstd_trailing_junk", &b, "corrupt zstd stream");
  cb_buf_release(&b);
}

/* A frame asking for a window over LAYER_ZSTD_WINDOW_LOG_MAX is refused
   before the decoder allocates it.  */
static void
test_zstd_window_limit(const struct cb_buf *tar)
{
  ZSTD_CCtx *cc = ZSTD_createCCtx();
  struct cb_buf b = CB_BUF_INIT;
  size_t cap = ZSTD_compressBound(tar->len) + 1024;
  ZSTD_inBuffer in = { tar->data, tar->len, 0 };
  ZSTD_outBuffer out;
  size_t rc;

  cb_buf_reserve(&b, cap);
  out = (ZSTD_outBuffer){ b.data, cap, 0 };
  ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, LAYER_ZSTD_WINDOW_LOG_MAX + 1);
  /* Streamed with no size known up front, the frame keeps the window it
     was given instead of one shrunk to the input.  */
  rc = ZSTD_compressStream2(cc, &out, &in, ZSTD_e_continue);
  while (!ZSTD_isError(rc)) {
    rc = ZSTD_compressStream2(cc, &out, &in, ZSTD_e_end);
    if (rc == 0)
      break;
  }
  ok(!ZSTD_isError(rc), "zstd_window_too_large: compressed");
  b.len = out.pos;
  read_fails("zstd_window_too_large", &b, "corrupt zstd stream");
  ZSTD_freeCCtx(cc);
  cb_buf_release(&b);
}

int
main(void)
{
  struct cb_buf tar;

  make_tar(&tar);
  test_roundtrips(&tar);
  test_broken(&tar);
  test_zstd_window_limit(&tar);
  cb_buf_release(&tar);
  return done_testing();
}
