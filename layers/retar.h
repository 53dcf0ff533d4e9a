/* A tar stream rewritten as a layer tar: what `cbuild import` does with a
   root filesystem tarball.  Entries keep their order, content, type,
   owner ids, mode, links, device numbers and xattrs; what is normalised is
   what would make the same tree give different bytes: names lose "./" and
   "/" in front, user and group names are dropped, mtimes are whole
   seconds (clamped when asked), atime and ctime go.  The root entry
   ("./") is left out, as in tarwrite.h.  */
#ifndef CBUILD_LAYERS_RETAR_H
#define CBUILD_LAYERS_RETAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct archive_entry;

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

/* A tar entry name cleaned as layers hold them: "./a/b/" and "/a/b" become
   "a/b", the root "".  NULL when a component is "..".  New string.  */
char *retar_clean_name(const char *name);

/* Whether to keep the entry NAME (cleaned: no "./", directories without
   their '/') of input INPUT.  */
typedef bool (*retar_keep_fn)(void *data, size_t input, const char *name,
                              struct archive_entry *entry);

/* Several tar streams, one after the other, into one normalised tar,
   keeping the entries KEEP says (all when KEEP is NULL).  */
int retar_streams(const int *in_fds, size_t n, const struct retar_opts *opts,
                  retar_keep_fn keep, void *keep_data,
                  const struct cb_sink *tar, struct cb_error **err);

#endif
