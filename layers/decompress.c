#include "config.h"

#include "layers/decompress.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "common/mem.h"

#include "common/banned.h"

#define READER_IN_SIZE (64u * 1024)

struct layer_reader {
  int fd; /* borrowed */
  enum layer_compression kind;
  unsigned char *in; /* owned; READER_IN_SIZE bytes */
  size_t in_pos, in_len;
  bool in_eof;
  /* True between members (gzip) or frames (zstd): the input may end here
     without being truncated.  */
  bool at_boundary;
  bool done;
  bool failed;
  z_stream z;
  bool z_live;
  ZSTD_DCtx *zd;
  struct cb_hasher *blob_h; /* compressed bytes, as read */
  struct cb_hasher *diff_h; /* uncompressed bytes, as produced */
  uint64_t blob_size, tar_size;
};

static const char *
kind_name(enum layer_compression kind)
{
  switch (kind) {
  case LAYER_COMPRESS_GZIP:
    return "gzip";
  case LAYER_COMPRESS_ZSTD:
    return "zstd";
  case LAYER_COMPRESS_NONE:
    break;
  }
  return "tar";
}

/* Read more input once the buffer is used up; sets in_eof at end of file. */
static int
fill_input(struct layer_reader *r, struct cb_error **err)
{
  ssize_t n;

  if (r->in_pos < r->in_len || r->in_eof)
    return 0;
  do
    n = read(r->fd, r->in, READER_IN_SIZE);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return cb_fail_errno(err, "read layer blob");
  r->in_pos = 0;
  r->in_len = (size_t)n;
  if (n == 0)
    r->in_eof = true;
  cb_hasher_update(r->blob_h, r->in, (size_t)n);
  r->blob_size += (uint64_t)n;
  return 0;
}

/* Read until at least 4 bytes (the longest magic) or end of file.  */
static int
fill_magic(struct layer_reader *r, struct cb_error **err)
{
  while (!r->in_eof && r->in_len < 4) {
    ssize_t n = read(r->fd, r->in + r->in_len, READER_IN_SIZE - r->in_len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return cb_fail_errno(err, "read layer blob");
    if (n == 0)
      r->in_eof = true;
    cb_hasher_update(r->blob_h, r->in + r->in_len, (size_t)n);
    r->in_len += (size_t)n;
    r->blob_size += (uint64_t)n;
  }
  return 0;
}

static int
start_decoder(struct layer_reader *r, struct cb_error **err)
{
  static const unsigned char gz[] = { 0x1f, 0x8b };
  static const unsigned char zs[] = { 0x28, 0xb5, 0x2f, 0xfd };

  if (r->in_len >= sizeof(gz) && memcmp(r->in, gz, sizeof(gz)) == 0) {
    r->kind = LAYER_COMPRESS_GZIP;
    /* 15 + 16: a gzip wrapper only, with the largest window.  */
    if (inflateInit2(&r->z, 15 + 16) != Z_OK)
      return cb_fail(err, CB_ERR_SYSTEM, ENOMEM, "start gzip decoder");
    r->z_live = true;
    return 0;
  }
  if (r->in_len >= sizeof(zs) && memcmp(r->in, zs, sizeof(zs)) == 0) {
    size_t rc;

    r->kind = LAYER_COMPRESS_ZSTD;
    r->zd = ZSTD_createDCtx();
    if (r->zd == NULL)
      return cb_fail(err, CB_ERR_SYSTEM, ENOMEM, "start zstd decoder");
    rc = ZSTD_DCtx_setParameter(r->zd, ZSTD_d_windowLogMax,
                                LAYER_ZSTD_WINDOW_LOG_MAX);
    if (ZSTD_isError(rc))
      return cb_fail(err, CB_ERR_SYSTEM, 0, "start zstd decoder: %s",
                     ZSTD_getErrorName(rc));
    return 0;
  }
  r->kind = LAYER_COMPRESS_NONE;
  r->at_boundary = true; /* a plain tar may end anywhere */
  return 0;
}

struct layer_reader *
layer_reader_open(int fd, struct cb_error **err)
{
  struct layer_reader *r = cb_xcalloc(1, sizeof(*r));

  r->fd = fd;
  r->in = cb_xmalloc(READER_IN_SIZE);
  r->blob_h = cb_hasher_new();
  r->diff_h = cb_hasher_new();
  if (fill_magic(r, err) < 0 || start_decoder(r, err) < 0) {
    layer_reader_free(r);
    return NULL;
  }
  return r;
}

void
layer_reader_free(struct layer_reader *r)
{
  if (r == NULL)
    return;
  if (r->z_live)
    inflateEnd(&r->z);
  ZSTD_freeDCtx(r->zd);
  cb_hasher_free(r->blob_h);
  cb_hasher_free(r->diff_h);
  free(r->in);
  free(r);
}

void
layer_reader_freep(struct layer_reader **r)
{
  layer_reader_free(*r);
}

static ssize_t
step_plain(struct layer_reader *r, unsigned char *buf, size_t len)
{
  size_t n = r->in_len - r->in_pos;

  if (n > len)
    n = len;
  memcpy(buf, r->in + r->in_pos, n);
  r->in_pos += n;
  r->at_boundary = true;
  return (ssize_t)n;
}

/* One inflate call.  At the end of a member, more input means another
   member (RFC 1952 section 2.2: a file is a series of members).  */
static ssize_t
step_gzip(struct layer_reader *r, unsigned char *buf, size_t len,
          struct cb_error **err)
{
  int rc;

  if (len > (1u << 30)) /* avail_out is a uInt */
    len = 1u << 30;
  if (r->at_boundary && r->in_pos < r->in_len) {
    const unsigned char *p = r->in + r->in_pos;

    /* Only another member may follow one (Go's gzip reader agrees).  */
    if (p[0] != 0x1f || (r->in_len - r->in_pos > 1 && p[1] != 0x8b))
      return cb_fail(err, CB_ERR_PARSE, 0,
                     "unexpected data after the end of the gzip stream");
    if (inflateReset(&r->z) != Z_OK)
      return cb_fail(err, CB_ERR_PARSE, 0, "corrupt gzip stream");
    r->at_boundary = false;
  }
  if (r->at_boundary)
    return 0;
  r->z.next_in = r->in + r->in_pos;
  r->z.avail_in = (uInt)(r->in_len - r->in_pos);
  r->z.next_out = buf;
  r->z.avail_out = (uInt)len;
  rc = inflate(&r->z, Z_NO_FLUSH);
  r->in_pos = r->in_len - r->z.avail_in;
  if (rc == Z_STREAM_END)
    r->at_boundary = true;
  else if (rc == Z_MEM_ERROR)
    return cb_fail(err, CB_ERR_SYSTEM, ENOMEM, "gzip decoder");
  else if (rc != Z_OK && rc != Z_BUF_ERROR)
    return cb_fail(err, CB_ERR_PARSE, 0, "corrupt gzip stream: %s",
                   r->z.msg != NULL ? r->z.msg : "bad data");
  return (ssize_t)(len - r->z.avail_out);
}

/* One ZSTD_decompressStream call; it moves from frame to frame itself and
   returns 0 exactly when a frame is complete and flushed.  */
static ssize_t
step_zstd(struct layer_reader *r, unsigned char *buf, size_t len,
          struct cb_error **err)
{
  ZSTD_inBuffer in = { r->in, r->in_len, r->in_pos };
  ZSTD_outBuffer out = { buf, len, 0 };
  size_t rc;

  rc = ZSTD_decompressStream(r->zd, &out, &in);
  if (ZSTD_isError(rc))
    return cb_fail(err, CB_ERR_PARSE, 0, "corrupt zstd stream: %s",
                   ZSTD_getErrorName(rc));
  r->in_pos = in.pos;
  r->at_boundary = rc == 0;
  return (ssize_t)out.pos;
}

static ssize_t
step(struct layer_reader *r, unsigned char *buf, size_t len,
     struct cb_error **err)
{
  switch (r->kind) {
  case LAYER_COMPRESS_GZIP:
    return step_gzip(r, buf, len, err);
  case LAYER_COMPRESS_ZSTD:
    return step_zstd(r, buf, len, err);
  case LAYER_COMPRESS_NONE:
    break;
  }
  return step_plain(r, buf, len);
}

static ssize_t
read_some(struct layer_reader *r, unsigned char *buf, size_t len,
          struct cb_error **err)
{
  for (;;) {
    bool input_gone;
    ssize_t n;

    if (fill_input(r, err) < 0)
      return -1;
    input_gone = r->in_eof && r->in_pos == r->in_len;
    if (input_gone && r->at_boundary) {
      r->done = true;
      return 0;
    }
    /* With no input left a decoder may still hold output to flush.  */
    n = step(r, buf, len, err);
    if (n != 0)
      return n;
    if (input_gone && !r->at_boundary)
      return cb_fail(err, CB_ERR_PARSE, 0, "truncated %s stream",
                     kind_name(r->kind));
  }
}

ssize_t
layer_reader_read(struct layer_reader *r, void *buf, size_t len,
                  struct cb_error **err)
{
  ssize_t n;

  if (r->failed)
    return cb_fail(err, CB_ERR_PARSE, 0, "layer stream already failed");
  if (r->done || len == 0)
    return 0;
  n = read_some(r, buf, len, err);
  if (n < 0) {
    r->failed = true;
    return -1;
  }
  cb_hasher_update(r->diff_h, buf, (size_t)n);
  r->tar_size += (uint64_t)n;
  return n;
}

int
layer_reader_drain(struct layer_reader *r, struct cb_error **err)
{
  unsigned char *scratch = cb_xmalloc(READER_IN_SIZE);
  ssize_t n;

  do
    n = layer_reader_read(r, scratch, READER_IN_SIZE, err);
  while (n > 0);
  free(scratch);
  return n < 0 ? -1 : 0;
}

enum layer_compression
layer_reader_compression(const struct layer_reader *r)
{
  return r->kind;
}

void
layer_reader_digests(const struct layer_reader *r, struct cb_digest *blob,
                     struct cb_digest *diff_id)
{
  if (blob != NULL)
    cb_hasher_peek(r->blob_h, blob);
  if (diff_id != NULL)
    cb_hasher_peek(r->diff_h, diff_id);
}

void
layer_reader_sizes(const struct layer_reader *r, uint64_t *blob_size,
                   uint64_t *tar_size)
{
  if (blob_size != NULL)
    *blob_size = r->blob_size;
  if (tar_size != NULL)
    *tar_size = r->tar_size;
}
