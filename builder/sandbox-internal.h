/* Inside builder/: the parts of the sandbox that sandbox.c calls into.  */
#ifndef CBUILD_BUILDER_SANDBOX_INTERNAL_H
#define CBUILD_BUILDER_SANDBOX_INTERNAL_H

#ifndef CB_IN_BUILDER
#error "builder/sandbox-internal.h is internal to builder/"
#endif

#include "builder/sandbox.h"
#include "common/error.h"

/* RUN --mount in the sandbox (sandbox_mounts.c).  Made before clone: it
   holds every buffer the child needs (the child is a raw clone and must
   not allocate) and a MAP_SHARED page where the child writes down the
   mount points it created, so that the parent can remove them.  */
struct sandbox_mounts;

/* Check SPEC's mounts and prepare for them.  *OUT is NULL when there are
   none.  CB_ERR_USAGE for a target that is not absolute and clean, or a
   mount without what its kind needs.  */
int sandbox_mounts_new(const struct sandbox_spec *spec,
                       struct sandbox_mounts **out, struct cb_error **err);

/* In the child, with the new root as the working directory (and /dev of
   the sandbox mounted): add every mount.  Only async-signal-safe calls.
   Returns -1 with errno set and *STEP naming what failed.  */
int sandbox_mounts_setup(struct sandbox_mounts *m, const char **step);

/* The target of the mount the child failed on, or NULL (borrowed from
   the spec).  */
const char *sandbox_mounts_failed_target(const struct sandbox_mounts *m);

/* After the child has exited: remove the mount points it created (when
   still empty) from CHANGES_FD, the directory holding the run's changes
   (the overlay upper dir), and restore the times of the directories they
   were created in.  What cannot be removed is left and warned about.  */
void sandbox_mounts_cleanup(struct sandbox_mounts *m, int changes_fd);

/* Free M (unmapping the shared page); NULL is a no-op.  */
void sandbox_mounts_free(struct sandbox_mounts *m);
void sandbox_mounts_freep(struct sandbox_mounts **m);
#define cleanup_sandbox_mounts __attribute__((cleanup(sandbox_mounts_freep)))

#endif
