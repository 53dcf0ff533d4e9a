#include "config.h"

#include "layers/writer.h"

#include <stdlib.h>

#include "layers/compress.h"

#include "common/banned.h"

/* Both ends of the compressor: the tar side hashes the diff_id and feeds
   the compressor; the blob side hashes and counts what it produces and
   passes it on to the caller.  */
struct pipeline {
  struct cb_hasher *tar_hash;  /* owned */
  struct cb_hasher *blob_hash; /* owned; NULL: the blob is the tar */
  uint64_t tar_size;
  uint64_t blob_size;
  struct compressor *z;      /* owned */
  const struct cb_sink *out; /* borrowed */
};

static int
tar_write(void *data, const void *buf, size_t len, struct cb_error **err)
{
  struct pipeline *p = data;

  cb_hasher_update(p->tar_hash, buf, len);
  p->tar_size += len;
  return compressor_write(p->z, buf, len, err);
}

static int
blob_write(void *data, const void *buf, size_t len, struct cb_error **err)
{
  struct pipeline *p = data;

  if (p->blob_hash != NULL)
    cb_hasher_update(p->blob_hash, buf, len);
  p->blob_size += len;
  return cb_sink_write(p->out, buf, len, err);
}

static int
run(struct pipeline *p, layer_tar_producer produce, void *data,
    const struct layer_write_opts *opts, struct layer_write_result *res,
    struct cb_error **err)
{
  struct cb_sink blob_sink = { blob_write, p };
  struct cb_sink tar_sink = { tar_write, p };

  if (opts->timestamp < -1)
    return cb_fail(err, CB_ERR_USAGE, 0, "invalid timestamp %lld",
                   (long long)opts->timestamp);
  p->z = compressor_new(opts->compression, opts->level, opts->threads,
                        &blob_sink, err);
  if (p->z == NULL)
    return -1;
  if (produce(data, &tar_sink, err) < 0 || compressor_finish(p->z, err) < 0)
    return -1;
  cb_hasher_peek(p->tar_hash, &res->diff_id);
  res->digest = res->diff_id;
  if (p->blob_hash != NULL)
    cb_hasher_peek(p->blob_hash, &res->digest);
  res->size = p->blob_size;
  res->tar_size = p->tar_size;
  res->media_type = layer_media_type(opts->compression);
  return 0;
}

int
layer_write_stream(layer_tar_producer produce, void *data,
                   const struct layer_write_opts *opts,
                   const struct cb_sink *out, struct layer_write_result *res,
                   struct cb_error **err)
{
  /* Uncompressed, the blob is the tar: one hash is enough.  */
  struct pipeline p = { cb_hasher_new(),
                        opts->compression == LAYER_COMPRESS_NONE
                            ? NULL
                            : cb_hasher_new(),
                        0,
                        0,
                        NULL,
                        out };
  struct layer_write_result r;
  int ret = run(&p, produce, data, opts, &r, err);

  compressor_free(p.z);
  cb_hasher_free(p.tar_hash);
  cb_hasher_free(p.blob_hash);
  if (ret < 0)
    return -1;
  *res = r;
  return 0;
}

struct tree_producer {
  int dir_fd;
  struct tarwrite_opts tw;
};

static int
produce_tree(void *data, const struct cb_sink *tar, struct cb_error **err)
{
  struct tree_producer *t = data;

  return tarwrite_tree(t->dir_fd, &t->tw, tar, err);
}

int
layer_write(int dir_fd, const struct layer_write_opts *opts,
            const struct cb_sink *out, struct layer_write_result *res,
            struct cb_error **err)
{
  struct tree_producer t = {
    dir_fd, { opts->mode, opts->timestamp, opts->root_uid, opts->root_gid }
  };

  return layer_write_stream(produce_tree, &t, opts, out, res, err);
}
