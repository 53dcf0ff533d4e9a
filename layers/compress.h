/* Streaming layer compression: bytes in, compressed bytes out to a sink,
   on worker threads, with a fixed amount of memory whatever the input
   size.  The output depends only on the input, the kind and the level:
   never on the number of threads or on how the input is split into
   compressor_write() calls (ARCHITECTURE.md "Determinism").

     gzip  RFC 1952 members of 1 MiB of input each, compressed in parallel
           with libdeflate; headers carry no name and mtime 0
     zstd  one RFC 8878 frame from libzstd's multithreaded streaming API,
           with a content checksum and no content size
     none  the input, unchanged  */
#ifndef CBUILD_LAYERS_COMPRESS_H
#define CBUILD_LAYERS_COMPRESS_H

#include <stddef.h>

#include "common/error.h"
#include "common/stream.h"
#include "layers/layer.h"

/* --compression-level: 0 picks the default of the kind.  */
#define COMPRESS_GZIP_LEVEL_DEFAULT 6
/* libdeflate goes up to 12, where gzip(1) stops at 9.  */
#define COMPRESS_GZIP_LEVEL_MAX 12
#define COMPRESS_ZSTD_LEVEL_DEFAULT 3
#define COMPRESS_ZSTD_LEVEL_MAX 19
/* Worker threads when 0 is given, and the most we start.  */
#define COMPRESS_THREADS_DEFAULT 2
#define COMPRESS_THREADS_MAX 64

struct compressor;

/* Check LEVEL for C and return it, or the default of C when LEVEL is 0
   (and 0 for LAYER_COMPRESS_NONE, which takes no other level).  An out of
   range level is CB_ERR_USAGE.  */
int compress_level_resolve(enum layer_compression c, int level,
                           struct cb_error **err);

/* Start a compressor that pushes its output into OUT.  OUT is borrowed and
   must outlive the compressor; it is called only from the threads that
   call compressor_write() and compressor_finish(), never from a worker.
   LEVEL as for compress_level_resolve().  THREADS is the number of worker
   threads (0: COMPRESS_THREADS_DEFAULT; at most COMPRESS_THREADS_MAX);
   it changes speed and memory, never the output.  Errors: CB_ERR_USAGE
   for a bad level or thread count, CB_ERR_SYSTEM when a thread or the
   library context cannot be created.  */
struct compressor *compressor_new(enum layer_compression c, int level,
                                  int threads, const struct cb_sink *out,
                                  struct cb_error **err);

/* Compress LEN bytes at BUF (copied; the caller may reuse BUF).  May block
   until a worker frees a buffer, and may write earlier output to OUT.
   Errors come from OUT (passed up unchanged) or from the library.  After
   an error, the compressor can only be freed.  */
int compressor_write(struct compressor *z, const void *buf, size_t len,
                     struct cb_error **err);

/* Compress what is buffered, end the stream and write the rest to OUT.
   Call once; afterwards only compressor_free() is allowed.  */
int compressor_finish(struct compressor *z, struct cb_error **err);

/* A sink that feeds compressor_write(); borrowed from Z.  */
struct cb_sink compressor_sink(struct compressor *z);

/* Stop the workers and free Z (finished or not); NULL is a no-op.  */
void compressor_free(struct compressor *z);
void compressor_freep(struct compressor **z);
#define cleanup_compressor __attribute__((cleanup(compressor_freep)))

#endif
