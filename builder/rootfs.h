/* Root filesystems for the sandbox: an image's (or a build's) unpacked
   layers as overlay lower dirs, and a run dir in the store for one run:

     <store>/run/XXXXXX/upper/   the command's changes (the next layer)
                        work/    overlayfs' work dir
                        merged/  where the overlay is mounted (vfs: the
                                 copy of the lowers the command runs in)
                        files/   /etc/hosts, /etc/hostname and
                                 /etc/resolv.conf, bound into the root
                        l/0 ...  symlinks to unpacked/<hex>, top first, so
                                 that the mount options name each lower in
                                 a few bytes and hundreds of layers fit

   run/ sits beside unpacked/ so that upper and work share a filesystem
   with the lowers' parent, as overlayfs wants.

   After the run, rootfs_finish_upper() leaves in upper/ only what the
   command did, in overlayfs' form (char 0/0 whiteouts, opaque dirs with
   user.overlay.opaque=y) whichever driver ran it: ready for the layer
   writer (TARWRITE_OVERLAY) and to become unpacked/<diff_id>.  */
#ifndef CBUILD_BUILDER_ROOTFS_H
#define CBUILD_BUILDER_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "builder/sandbox.h"
#include "common/error.h"
#include "layers/image.h"
#include "layers/store.h"

/* Where the sandbox's root comes from (--storage-driver).  */
enum rootfs_driver {
  ROOTFS_DRIVER_AUTO = 0, /* overlay when it works here, else vfs */
  ROOTFS_DRIVER_OVERLAY,  /* an overlay mount of the lowers (userxattr) */
  ROOTFS_DRIVER_VFS,      /* a copy of the lowers, compared afterwards */
};

/* "overlay", "vfs" or "auto" into *OUT; anything else is CB_ERR_USAGE
   naming SOURCE (the option or variable it came from).  */
int rootfs_driver_parse(const char *name, const char *source,
                        enum rootfs_driver *out, struct cb_error **err);

/* "overlay", "vfs" or "auto"; static.  */
const char *rootfs_driver_name(enum rootfs_driver d);

/* The driver asked for: NAME (an option's value, may be NULL) from
   OPTION, else $CBUILD_STORAGE_DRIVER, else AUTO.  *SOURCE (static) is
   OPTION, "CBUILD_STORAGE_DRIVER" or NULL.  */
int rootfs_driver_requested(const char *name, const char *option,
                            enum rootfs_driver *out, const char **source,
                            struct cb_error **err);

/* The decision: REQUESTED as SOURCE set it, or for AUTO overlay when
   OVERLAY_OK (the overlay-in-a-user-namespace probe said yes), else vfs
   with the probe's DETAIL.  *WHY (owned) says why in a few words.  */
enum rootfs_driver rootfs_driver_decide(enum rootfs_driver requested,
                                        const char *source, bool overlay_ok,
                                        const char *detail, char **why);

/* The driver for a run in store S: as rootfs_driver_requested() says,
   and for AUTO the probe (probe_overlay_here) in the store's run/.
   Returns 1 when the probe chose, 0 when it was set, -1 on error.  */
int rootfs_driver_choose(struct layer_store *s, const char *name,
                         const char *option, enum rootfs_driver *out,
                         char **why, struct cb_error **err);

struct rootfs {
  enum rootfs_driver driver; /* OVERLAY or VFS */
  char *dir;       /* the run dir, absolute; owned */
  char **lowers;   /* hex diff_ids, top first; owned */
  char **short_lowers; /* "0", "1"... (l/N); owned */
  size_t n_lowers;
  char *lower_dir; /* <dir>/l */
  char *merged;    /* <dir>/merged */
  char *upper;     /* <dir>/upper */
  char *files;     /* <dir>/files */
  struct timespec copied; /* vfs: a ctime taken when the copy was done */
};

/* Make sure every layer of IMG is unpacked and return their names (hex
   diff_ids) top first, NULL-terminated.  Ownership that could not be
   applied is warned about once.  */
char **rootfs_unpack_image(struct layer_store *s,
                           const struct store_image *img,
                           struct cb_error **err);

/* A fresh run dir for LOWERS (hex diff_ids below unpacked/, top first;
   may be empty: an empty lower is made) with DRIVER (OVERLAY or VFS; for
   VFS the lowers are copied into merged/ here).  RF is zeroed first;
   rootfs_remove() cleans up after a failure too.  */
int rootfs_create(struct layer_store *s, char *const *lowers,
                  enum rootfs_driver driver, struct rootfs *rf,
                  struct cb_error **err);

/* Fill the root filesystem fields of SPEC from RF.  */
void rootfs_fill_spec(const struct rootfs *rf, struct sandbox_spec *spec);

/* Mount the overlay of RF (lowers, upper, work) on RF->merged in the
   caller's mount namespace (which must be its own: the executor's), for
   COPY and ADD to write through.  */
int rootfs_mount(const struct rootfs *rf, struct cb_error **err);
/* Detach the overlay again.  */
void rootfs_umount(const struct rootfs *rf);

/* Take out of RF's upper dir what the sandbox made for MOUNT_POINTS
   (relative paths, NULL-terminated; sandbox_mount_points plus any the
   caller mounted): a mount point is removed when it is still what the
   sandbox makes (an empty regular file 0644 or an empty directory 0755,
   owned by 0:0, no xattrs but overlayfs' own), and then each directory
   above it that adds nothing over the lowers (vfs_upper_dir_redundant():
   empty, not opaque, and as in the lowers, or absent there and as the
   sandbox makes them).  The times of the directories they leave are kept.
   The command cannot have changed what it found mounted, so what is left
   is what it did.  */
int rootfs_prune_upper(struct rootfs *rf, const char *const *mount_points,
                       struct cb_error **err);

/* After the run, before the upper dir is used: for VFS, vfs_diff() of
   merged/ against the lowers into upper/; then rootfs_prune_upper().  */
int rootfs_finish_upper(struct rootfs *rf, const char *const *mount_points,
                        struct cb_error **err);

/* Remove the run dirs of cbuild processes that are gone (killed in the
   middle of a run), and their scratch dirs.  Best effort.  */
void rootfs_clean_stale(struct layer_store *s);

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
