/* Root filesystems for the sandbox: an image's (or a build's) unpacked
   layers as overlay lower dirs, and a run dir in the store for one run:

     <store>/run/XXXXXX/upper/   the command's changes (the next layer)
                        work/    overlayfs' work dir
                        merged/  where the overlay is mounted
                        l/0 ...  symlinks to unpacked/<hex>, top first, so
                                 that the mount options name each lower in
                                 a few bytes and hundreds of layers fit

   run/ sits beside unpacked/ so that upper and work share a filesystem
   with the lowers' parent, as overlayfs wants.  */
#ifndef CBUILD_BUILDER_ROOTFS_H
#define CBUILD_BUILDER_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "builder/sandbox.h"
#include "common/error.h"
#include "layers/image.h"
#include "layers/store.h"

struct rootfs {
  char *dir;       /* the run dir, absolute; owned */
  char **lowers;   /* hex diff_ids, top first; owned */
  char **short_lowers; /* "0", "1"... (l/N); owned */
  size_t n_lowers;
  char *lower_dir; /* <dir>/l */
  char *merged;    /* <dir>/merged */
};

/* Make sure every layer of IMG is unpacked and return their names (hex
   diff_ids) top first, NULL-terminated.  Ownership that could not be
   applied is warned about once.  */
char **rootfs_unpack_image(struct layer_store *s,
                           const struct store_image *img,
                           struct cb_error **err);

/* A fresh run dir for LOWERS (hex diff_ids below unpacked/, top first;
   may be empty: an empty lower is made).  RF is zeroed first.  */
int rootfs_create(struct layer_store *s, char *const *lowers,
                  struct rootfs *rf, struct cb_error **err);

/* Fill the root filesystem fields of SPEC from RF.  */
void rootfs_fill_spec(const struct rootfs *rf, struct sandbox_spec *spec);

/* Mount the overlay of RF (lowers, upper, work) on RF->merged in the
   caller's mount namespace (which must be its own: the executor's), for
   COPY and ADD to write through.  */
int rootfs_mount(const struct rootfs *rf, struct cb_error **err);
/* Detach the overlay again.  */
void rootfs_umount(const struct rootfs *rf);

/* Remove the run dir (when made) and free RF's fields.  */
void rootfs_remove(struct rootfs *rf);

/* Read PATH (relative, e.g. "etc/passwd") of the image made of LOWERS:
   from the top layer that has it, resolved inside that layer; a whiteout
   (char 0/0) hides it; opaque directories are not looked at.  *BUF is
   NULL when no layer has the file.  */
int rootfs_read_file(struct layer_store *s, char *const *lowers,
                     const char *path, char **buf, struct cb_error **err);

/* USER as Docker reads it: "USER[:GROUP]", each a number or a name from
   the image's /etc/passwd and /etc/group.  Without GROUP the gid is the
   user's from /etc/passwd (0 for an unknown numeric uid).  */
int rootfs_resolve_user(struct layer_store *s, char *const *lowers,
                        const char *user, uid_t *uid, gid_t *gid,
                        struct cb_error **err);

/* The supplementary groups Docker (runc) gives USER, same syntax as
   above: with no GROUP part and an /etc/passwd entry for USER (by name,
   or by uid for a number), the gid of every /etc/group line listing that
   entry's name as a member; none otherwise.  *GROUPS is the caller's to
   free (NULL when there are none).  More than CB_MAX_GROUPS is
   CB_ERR_UNSAFE.  */
int rootfs_user_groups(struct layer_store *s, char *const *lowers,
                       const char *user, gid_t **groups, size_t *n_groups,
                       struct cb_error **err);

#endif
