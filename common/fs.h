/* File-system helpers that treat paths from outside as hostile: every
   lookup below a root goes through an fd and never leaves that root.  */
#ifndef CBUILD_COMMON_FS_H
#define CBUILD_COMMON_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

/* Open untrusted PATH below ROOT_FD, resolving symlinks and ".." as if
   ROOT_FD were "/" (even if the tree changes under us): openat2 with
   RESOLVE_IN_ROOT, or a component-by-component walk on kernels without it.
   FLAGS are open(2) flags; O_CLOEXEC is always added.  The caller owns the
   returned fd.  Errors: CB_ERR_SYSTEM with the errno of the failing step. */
int cb_open_in_root(int root_fd, const char *path, int flags, mode_t mode,
                    struct cb_error **err);

/* Tests may force the walk fallback, as if openat2 returned ENOSYS.  */
extern bool cb_fs_force_walk;

/* Read all of FD into a new NUL-terminated buffer, failing with
   CB_ERR_UNSAFE if it holds more than MAX bytes.  *BUF (owned by the
   caller) and *LEN are written only on success.  */
int cb_read_all(int fd, size_t max, char **buf, size_t *len,
                struct cb_error **err);

/* Open NAME relative to DIR_FD (AT_FDCWD for the working directory) and
   read it with cb_read_all().  Errors name the file.  */
int cb_read_file_at(int dir_fd, const char *name, size_t max, char **buf,
                    size_t *len, struct cb_error **err);

/* Write all of BUF to FD, retrying short writes and EINTR.  */
int cb_write_all(int fd, const void *buf, size_t len, struct cb_error **err);

/* Replace the file DEST (a path from the user) whole: FILL(FD, DATA)
   writes the content into a temporary file beside it, which is then
   made MODE, fsynced and renamed over DEST; on failure DEST is as it was
   and the temporary file is gone.  */
typedef int (*cb_fill_fn)(int fd, void *data, struct cb_error **err);
int cb_replace_file(const char *dest, mode_t mode, cb_fill_fn fill, void *data,
                    struct cb_error **err);

/* The names in directory DIR_FD (without "." and ".."), as a new
   NULL-terminated array, read before anything is removed.  */
char **cb_list_dir(int dir_fd, struct cb_error **err);

/* Remove NAME below DIR_FD and, if it is a directory, everything in it.
   Works fd-relative and never follows a symlink; directories without
   u+rwx (read-only dirs of an extracted layer) are given it first.  Holds
   one directory fd at a time, so depth is bounded by memory, not by the
   fd limit; climbing back up through ".." is checked against the device
   and inode seen on the way down (CB_ERR_UNSAFE if the tree moved).
   ENOENT for NAME itself is not an error.  */
int cb_remove_tree_at(int dir_fd, const char *name, struct cb_error **err);

#endif
