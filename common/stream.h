/* A sink: where a producer pushes bytes (a blob writer in the store, a
   hasher, a compressor, a registry upload).  The producer does not know
   what is behind it; the consumer owns its state.  */
#ifndef CBUILD_COMMON_STREAM_H
#define CBUILD_COMMON_STREAM_H

#include <stddef.h>

#include "common/error.h"

typedef int (*cb_sink_write_fn)(void *data, const void *buf, size_t len,
                                struct cb_error **err);

struct cb_sink {
  cb_sink_write_fn write; /* consumes all LEN bytes or fails */
  void *data;
};

static inline int
cb_sink_write(const struct cb_sink *s, const void *buf, size_t len,
              struct cb_error **err)
{
  return s->write(s->data, buf, len, err);
}

#endif
