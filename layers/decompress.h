/* A pull reader over a layer blob: detects the compression by its magic
   bytes (gzip 1f 8b, zstd 28 b5 2f fd, else a plain tar), decompresses,
   and hashes both sides as the bytes go by: the bytes read from the fd
   give the blob digest, the bytes produced give the diff_id (image-spec
   "Layer" and config "rootfs.diff_ids").  Nothing is read twice.

   Memory is bounded: one input buffer, zlib's 32 KiB window, or a zstd
   window of at most 1 << LAYER_ZSTD_WINDOW_LOG_MAX bytes (frames that ask
   for more are corrupt input).  Several gzip members and several zstd
   frames in a row are one stream, and all of them are read (cbuild's own
   writer produces multi-member gzip).  Bytes after the last member that
   do not start another member are an error, as in Go's gzip reader.

   Errors do not name the layer; the caller adds that (layer_apply does). */
#ifndef CBUILD_LAYERS_DECOMPRESS_H
#define CBUILD_LAYERS_DECOMPRESS_H

#include <stdint.h>
#include <sys/types.h>

#include "common/digest.h"
#include "common/error.h"
#include "layers/layer.h"

/* zstd's own default limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT), set explicitly
   so that the bound is ours.  */
#define LAYER_ZSTD_WINDOW_LOG_MAX 27

struct layer_reader;

/* Start reading the blob in FD (borrowed; read from its current offset to
   end of file, so a pipe works too).  Reads the first bytes to detect the
   compression.  Errors: CB_ERR_SYSTEM (read).  */
struct layer_reader *layer_reader_open(int fd, struct cb_error **err);
void layer_reader_free(struct layer_reader *r);
void layer_reader_freep(struct layer_reader **r);
#define cleanup_layer_reader __attribute__((cleanup(layer_reader_freep)))

/* Read up to LEN (> 0) bytes of the uncompressed tar into BUF.  Returns
   the count, 0 at the end of the stream, -1 on error.  Errors:
   CB_ERR_SYSTEM (read), CB_ERR_PARSE (a corrupt or truncated stream: the
   message says which).  After an error the reader only fails.  */
ssize_t layer_reader_read(struct layer_reader *r, void *buf, size_t len,
                          struct cb_error **err);

/* Read and discard the rest of the stream, so that both digests cover
   everything (a tar reader stops at the end-of-archive blocks, but the
   padding after them is part of the diff_id).  */
int layer_reader_drain(struct layer_reader *r, struct cb_error **err);

enum layer_compression layer_reader_compression(const struct layer_reader *r);

/* The digests of what was read and produced so far; final once
   layer_reader_read() returned 0 or layer_reader_drain() succeeded.  */
void layer_reader_digests(const struct layer_reader *r, struct cb_digest *blob,
                          struct cb_digest *diff_id);
/* Bytes read from the fd and bytes produced so far.  */
void layer_reader_sizes(const struct layer_reader *r, uint64_t *blob_size,
                        uint64_t *tar_size);

#endif
