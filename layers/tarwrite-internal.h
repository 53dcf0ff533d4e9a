/* tarwrite internals, for tests: the overlay marker rules on their own,
   and a hook to pretend that a file is something else.  */
#ifndef CBUILD_LAYERS_TARWRITE_INTERNAL_H
#define CBUILD_LAYERS_TARWRITE_INTERNAL_H

#ifndef CB_IN_LAYERS
#error "tarwrite-internal.h is internal to layers/ (and its tests)"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "layers/tarwrite.h"

/* An overlayfs whiteout: a char device with device number 0/0.  */
bool tarwrite_is_whiteout(const struct stat *st);

enum tarwrite_xattr {
  TARWRITE_XATTR_KEEP,        /* goes into the layer */
  TARWRITE_XATTR_DROP,        /* never goes into a layer */
  TARWRITE_XATTR_OPAQUE,      /* overlay opaque marker ("y"), dropped */
  TARWRITE_XATTR_UNSUPPORTED, /* overlay redirect or metacopy */
  TARWRITE_XATTR_OWNER,       /* LAYER_OWNER_XATTR: the entry's owner */
};

/* What to do with the xattr NAME with LEN bytes of VALUE.  Overlay markers
   are checked in trusted.overlay.* and user.overlay.* alike (the kernel
   uses the latter with the userxattr mount option, as rootless builds
   do).  */
enum tarwrite_xattr tarwrite_xattr_class(const char *name, const void *value,
                                         size_t len);

/* fstatat(DIR_FD, NAME, ST, AT_SYMLINK_NOFOLLOW), unless a test replaced
   it: an unprivileged test cannot mknod a 0/0 device, but it can pretend
   a file is one.  */
extern int (*tarwrite_lstat_hook)(int dir_fd, const char *name,
                                  struct stat *st);

#endif
