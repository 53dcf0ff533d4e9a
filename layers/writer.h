/* A layer from a directory in one pass (ARCHITECTURE.md "Streams, not
   buffers"):

     tree -> tar -> sha256 (diff_id) -> compressor -> sha256 (digest) -> OUT

   Nothing is written twice or read back, and memory does not grow with the
   size of the tree or of its files.  The tar is described in tarwrite.h
   and the compression in compress.h; the same tree and options give the
   same diff_id and digest.  */
#ifndef CBUILD_LAYERS_WRITER_H
#define CBUILD_LAYERS_WRITER_H

#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"
#include "common/stream.h"
#include "layers/layer.h"
#include "layers/tarwrite.h"

struct layer_write_opts {
  enum layer_compression compression;
  int level;   /* --compression-level; 0: the default of the compression */
  int threads; /* compression threads; 0: COMPRESS_THREADS_DEFAULT (2) */
  enum tarwrite_mode mode; /* plain directory or overlay upper dir */
  /* Clamp every mtime to this (SOURCE_DATE_EPOCH, --timestamp); -1: no
     clamp.  */
  int64_t timestamp;
  /* Host ids recorded as 0 (see struct tarwrite_opts); 0: none.  */
  uint32_t root_uid;
  uint32_t root_gid;
};

/* The defaults: gzip at its default level, two threads, a plain directory,
   no clamp.  */
#define LAYER_WRITE_OPTS_INIT { LAYER_COMPRESS_GZIP, 0, 0, TARWRITE_PLAIN, -1 }

struct layer_write_result {
  struct cb_digest diff_id; /* sha256 of the uncompressed tar */
  struct cb_digest digest;  /* sha256 of the bytes written to OUT */
  uint64_t size;            /* bytes written to OUT */
  uint64_t tar_size;        /* bytes of the uncompressed tar */
  const char *media_type;   /* static: layer_media_type(compression) */
};

/* Write the tree below DIR_FD (borrowed; O_PATH is fine) as a layer into
   OUT (borrowed; called only from this thread).  *RES is written only on
   success.  On failure OUT may have received part of a layer: the caller
   drops it (blob_writer_abort).  Errors: CB_ERR_USAGE for bad options, the
   errors of tarwrite_tree() and compressor_new(), or OUT's own (passed up
   unchanged).  */
int layer_write(int dir_fd, const struct layer_write_opts *opts,
                const struct cb_sink *out, struct layer_write_result *res,
                struct cb_error **err);

/* The same pipeline for a tar produced by someone else: PRODUCE writes a
   whole tar stream into TAR (and nothing else); the mode, timestamp and
   owner options are PRODUCE's business.  */
typedef int (*layer_tar_producer)(void *data, const struct cb_sink *tar,
                                  struct cb_error **err);
int layer_write_stream(layer_tar_producer produce, void *data,
                       const struct layer_write_opts *opts,
                       const struct cb_sink *out,
                       struct layer_write_result *res, struct cb_error **err);

#endif
