/* A tar stream rewritten as a layer tar: what `cbuild import` does with a
   root filesystem tarball.  Entries keep their order, content, type,
   owner ids, mode, links, device numbers and xattrs; what is normalised is
   what would make the same tree give different bytes: names lose "./" and
   "/" in front, user and group names are dropped, mtimes are whole
   seconds (clamped when asked), atime and ctime go.  The root entry
   ("./") is left out, as in tarwrite.h.  */
#ifndef CBUILD_LAYERS_RETAR_H
#define CBUILD_LAYERS_RETAR_H

#include <stdint.h>

#include "common/error.h"
#include "common/stream.h"

struct retar_opts {
  int64_t clamp_mtime; /* -1: keep mtimes */
  const char *label;   /* names the input in messages (NULL: the caller
                          does); borrowed */
};

/* Read a tar (plain, or compressed in any way libarchive reads) from IN_FD
   and write the normalised tar into TAR.  A name with a ".." component is
   CB_ERR_UNSAFE; a broken archive is CB_ERR_PARSE naming the entry.  */
int retar_stream(int in_fd, const struct retar_opts *opts,
                 const struct cb_sink *tar, struct cb_error **err);

#endif
