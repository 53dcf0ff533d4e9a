/* A directory tree as a deterministic PAX tar stream (OCI image-spec
   "Image Layer Filesystem Changeset").

   The tree is walked through fds only (openat, fstatat, O_NOFOLLOW):
   symlinks are never followed and no path string is ever resolved.  The
   tar holds, for every entry below the root (the root itself is not an
   entry):
   - names relative to the root, without "./" or "/" in front; directories
     end in "/"; each directory before its children, the children of a
     directory sorted by name in byte order;
   - numeric uid and gid, no user or group names; the permission bits
     (with setuid, setgid and sticky); mtime in whole seconds, clamped to
     the timestamp when one is given; no atime or ctime;
   - regular files (content read in pieces, never whole), directories,
     symlinks (the target as stored), char and block devices, fifos; a
     second name of an inode seen before (same st_dev and st_ino) is a
     hard link to the first name; sockets are left out, as tar cannot
     hold them;
   - extended attributes as SCHILY.xattr records, names sorted, except
     trusted.overlay.*, user.overlay.* and security.selinux (a label of
     the building host, not of the image).
   Output is a restricted pax archive: a plain ustar header unless a field
   does not fit (long names, xattrs, large ids).  The same tree gives the
   same bytes.

   In TARWRITE_OVERLAY mode the tree is an overlayfs upper directory and
   its overlay markers become OCI whiteouts: a char device 0/0 named NAME
   becomes an empty regular file ".wh.NAME" (mode 0), and a directory with
   trusted.overlay.opaque=y or user.overlay.opaque=y is followed by an
   empty "DIR/.wh..wh..opq" before its children.  Redirected directories
   and metacopy files (overlay.redirect, overlay.metacopy) cannot be
   expressed in a layer and are CB_ERR_UNSUPPORTED.

   A file whose name starts with ".wh." would read as a whiteout when the
   layer is applied, so it is refused (CB_ERR_UNSUPPORTED) in both modes. */
#ifndef CBUILD_LAYERS_TARWRITE_H
#define CBUILD_LAYERS_TARWRITE_H

#include <stdint.h>

#include "common/error.h"
#include "common/stream.h"

enum tarwrite_mode {
  TARWRITE_PLAIN,   /* a directory as it is (COPY, ADD) */
  TARWRITE_OVERLAY, /* an overlayfs upper directory (RUN) */
};

/* Directories nested deeper than this below the root are CB_ERR_UNSAFE:
   the walk holds one fd per level.  */
#define TARWRITE_MAX_DEPTH 256

struct tarwrite_opts {
  enum tarwrite_mode mode;
  /* Entries with a later mtime get this one (SOURCE_DATE_EPOCH,
     --timestamp); -1 leaves mtimes alone.  */
  int64_t clamp_mtime;
  /* Files owned by these host ids are recorded as owned by 0: an ordinary
     user outside a user namespace stands for root in the image.  0 (the
     default) changes nothing.  */
  uint32_t root_uid;
  uint32_t root_gid;
};

/* Write the tree below DIR_FD (any directory fd, O_PATH is fine; borrowed)
   as a tar stream into OUT, ending with the end-of-archive blocks.  The
   stream is not padded to a record size.  Errors: CB_ERR_SYSTEM naming the
   entry, CB_ERR_UNSUPPORTED and CB_ERR_UNSAFE as above, or whatever OUT
   returns (passed up unchanged).  A regular file that shrinks while it is
   read is CB_ERR_SYSTEM; one that grows is cut at the size it had.  */
int tarwrite_tree(int dir_fd, const struct tarwrite_opts *opts,
                  const struct cb_sink *out, struct cb_error **err);

#endif
