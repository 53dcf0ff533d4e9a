/* The vfs storage driver: overlayfs' work done by copying, for hosts where
   an overlay mount in a user namespace is refused.

   Before a run, vfs_copy_lowers() copies the union of the lower layers into
   a plain directory, the root the command then runs in.  After the run,
   vfs_diff() compares that tree with the lowers and writes what overlayfs
   would have left in its upper dir: new and changed entries, a char device
   0/0 (a whiteout) for each deleted name, and user.overlay.opaque=y on a
   directory that replaces a lower one whole.  Everything after a run (the
   pruning of mount points, the layer writer in TARWRITE_OVERLAY mode, the
   upper dir renamed into unpacked/) is then the same for both drivers.

   Lower dirs are read as overlayfs reads them (userxattr): a char device
   0/0 hides its name in the layers below, a directory with
   user.overlay.opaque=y hides the lower layers' content of it, and a
   non-directory hides a lower directory of the same name.  The top layer
   that has a name gives its type and attributes.

   Entries are copied with their type, permission bits (set-id and sticky
   too), owner, mtime and atime, and xattrs (security.capability
   included; trusted.overlay.* and user.overlay.* are overlay's own and
   are never copied).  Names that are hard links of one file in a layer
   stay hard links.  Everything is done with *at() calls that never follow
   a symlink.  */
#ifndef CBUILD_BUILDER_VFS_H
#define CBUILD_BUILDER_VFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/error.h"

/* Directories nested deeper than this are CB_ERR_UNSAFE: each level holds
   a directory fd per layer that has it.  */
#define VFS_MAX_DEPTH 256

struct vfs_stats {
  uint64_t entries;        /* entries created */
  uint64_t bytes;          /* file data copied (not reflinked or linked) */
  uint64_t whiteouts;      /* whiteouts and opaque dirs written (diff) */
  uint64_t owner_failures; /* chown refused: id not mapped here */
  uint64_t xattrs_skipped; /* xattrs the destination refused */
};

/* Copy the union of the layer directories LOWER_FDS (N of them, top first,
   borrowed, O_PATH is enough) into the empty directory DEST_FD (borrowed).
   The attributes of DEST_FD itself are left alone.  A device node that
   cannot be made fails (it would read as deleted afterwards).  ST (may be
   NULL) is added to.  Errors: CB_ERR_SYSTEM naming the entry,
   CB_ERR_UNSAFE past VFS_MAX_DEPTH.  */
int vfs_copy_lowers(const int *lower_fds, size_t n, int dest_fd,
                    struct vfs_stats *st, struct cb_error **err);

/* Write into the empty directory UPPER_FD the overlay upper dir that shows
   TREE_FD over LOWER_FDS (as above); TREE_FD was made by vfs_copy_lowers
   and then changed.  SINCE is a ctime taken when the copy was done.

   An entry is unchanged when the type, permission bits, owner, mtime
   (to the nanosecond), xattrs and, by type, size, link target or device
   number are the same in the tree and in the lowers; a regular file whose
   ctime is not older than SINCE (it may have been written since) must
   also have the same content.  So a write that keeps size and mtime (touch
   -r) is still seen; only a clock set back during the run could hide one.
   Hard link counts are not compared.

   Unchanged entries are left out, and so is a directory that is unchanged
   and holds no change.  New and changed regular files are hard links to
   the tree's (copies where linking is refused), so the tree's hard links
   stay links in the upper dir; other types are made anew.  A name gone
   from the tree (or a char device 0/0 the command made, which overlayfs
   reads as a whiteout too) gets a whiteout.  A directory becomes opaque
   and is written whole when it replaces a non-directory, or when no name
   the lowers have in it is left in the tree but they had some (`rm -rf D
   && mkdir D`, as overlayfs itself records it).  The root's own
   attributes are not compared.  ST (may be NULL) is added to.  Errors:
   CB_ERR_SYSTEM naming the entry (a whiteout needs Linux 5.8 or later in a
   user namespace), CB_ERR_UNSAFE past VFS_MAX_DEPTH.  */
int vfs_diff(const int *lower_fds, size_t n, int tree_fd,
             const struct timespec *since, int upper_fd, struct vfs_stats *st,
             struct cb_error **err);

/* Whether directory NAME of PARENT_FD, at PATH (relative, no "." or ".."
   parts) in an overlay upper dir, adds nothing to what overlayfs shows
   over LOWER_FDS: it is empty, carries no overlay marker but those
   overlayfs adds on copy-up (origin, impure, nlink), and the lowers show a
   directory there with the same permission bits, owner, mtime and xattrs;
   or they show nothing there and it is as the sandbox makes a mount point
   (mode 0755, owner 0:0, no xattrs).  */
int vfs_upper_dir_redundant(int parent_fd, const char *name, const char *path,
                            const int *lower_fds, size_t n, bool *redundant,
                            struct cb_error **err);

#endif
