/* Shared by the rootfs files of builder/ (rootfs.c, rootfs_upper.c).  */
#ifndef CBUILD_BUILDER_ROOTFS_INTERNAL_H
#define CBUILD_BUILDER_ROOTFS_INTERNAL_H

#ifndef CB_IN_BUILDER
#error "rootfs-internal.h is for builder/ only"
#endif

#include "builder/rootfs.h"

/* Directory fds of RF's lowers, top first (RF->n_lowers of them, through
   the l/N links the run dir holds).  *FDS is for rootfs_close_lowers.  */
int rootfs_open_lowers(const struct rootfs *rf, int **fds,
                       struct cb_error **err);
void rootfs_close_lowers(const struct rootfs *rf, int *fds);

#endif
