/* The RUN sandbox: a command in its own mount, pid, ipc and uts (and
   optionally network) namespaces, on an overlay of unpacked layers.

   The caller is already uid 0 of cbuild's user namespace (userns.h), so
   the new namespaces belong to it and the mounts below are permitted
   rootless.  The child is PID 1 of the new pid namespace: it sets up the
   root filesystem, forks the command, reaps every child and exits with
   the command's status.  The command runs confined (builder/confine.h):
   Docker's default capabilities, no_new_privs, a seccomp filter.  */
#ifndef CBUILD_BUILDER_SANDBOX_H
#define CBUILD_BUILDER_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

enum sandbox_mount_kind {
  /* SOURCE_FD (a directory or a regular file) bound at TARGET, without
     the mounts below it.  Read-only when READONLY.  Writable with
     UPPER_FD >= 0: an overlay with SOURCE_FD as its lower dir and
     UPPER_FD/WORK_FD taking the writes, so the source never changes;
     writable without: the source itself (a cache).  */
  SANDBOX_MOUNT_BIND,
  /* An empty tmpfs of SIZE bytes (0: the kernel's default).  */
  SANDBOX_MOUNT_TMPFS,
  /* A file holding LEN bytes of DATA, with MODE, UID and GID, on a tmpfs
     of its own: DATA (a secret) never touches a disk.  */
  SANDBOX_MOUNT_FILE,
};

/* One mount added to the root before pivot_root, in array order (so a
   later target may lie inside an earlier mount).  TARGET is absolute and
   lexically clean (no "." or ".." components); symlinks on its way are
   resolved inside the root, never out of it.  Missing components are
   created (mode 0755; the last one as a file when the source is one) and
   removed again after the run when still empty, with the times of the
   directory they were made in restored: what BuildKit leaves in the
   layer for its own mount points is nothing.

   Fds are borrowed O_PATH fds opened by the caller (safely: see
   cb_open_in_root); the child binds the objects they name, so no path
   from outside is resolved in the child.  */
struct sandbox_mount {
  enum sandbox_mount_kind kind;
  const char *target;
  int source_fd;         /* BIND */
  int upper_fd, work_fd; /* BIND: empty dirs on one filesystem, or -1 */
  bool readonly;         /* BIND, FILE */
  uint64_t size;         /* TMPFS */
  const char *data;      /* FILE; borrowed */
  size_t len;
  mode_t mode; /* FILE */
  uid_t uid;
  gid_t gid;
};

struct sandbox_spec {
  /* Paths, not fds: overlayfs refuses dirs whose mount belongs to
     another mount namespace, and fds opened before clone do.  The paths
     are ours (the store's), not the image's.  */
  const char *lower_dir; /* the child's cwd while mounting the overlay */
  char **lowers;         /* the layers, top first, relative to LOWER_DIR */
  size_t n_lowers;
  const char *upper; /* empty dir, on the same filesystem as WORK (may be */
  const char *work;  /* relative to LOWER_DIR); empty dir for overlayfs */
  const char *merged; /* empty dir to mount the overlay on */
  /* MERGED already holds the root tree (the vfs driver): it is bound onto
     itself, and LOWERS, UPPER and WORK are not used.  */
  bool bind_root;
  /* An empty dir outside MERGED where /etc/hosts, /etc/hostname and
     /etc/resolv.conf are written, to be bound into the root: generated
     files do not belong in the upper dir.  */
  const char *files_dir;
  char **argv;         /* the command; argv[0] is looked up in ENVP's PATH */
  char **envp;
  const char *workdir;  /* absolute; created when missing */
  const char *hostname; /* NULL: "cbuild" */
  uid_t uid;
  gid_t gid;
  const gid_t *groups; /* supplementary groups; borrowed, may be NULL */
  size_t n_groups;
  bool network_none; /* a new network namespace with only lo, up */
  /* The command's stdin, and its stdout and stderr both; -1: ours.  */
  int in_fd;
  int out_fd;
  const struct sandbox_mount *mounts; /* RUN --mount; borrowed */
  size_t n_mounts;
};

/* The paths (relative to the root) the sandbox mounts on, NULL-terminated.
   Where the image lacks one it is made (a directory, or an empty file for
   the /etc files, and the directories above it), and the times of the
   directory it was made in are put back, so that after the run
   rootfs_prune_upper() can take them out of the upper dir again.  */
extern const char *const sandbox_mount_points[];

/* Run SPEC and wait for it.  Returns 0 with *STATUS the command's exit
   status (128 + N when killed by signal N).  On failure returns -1 with
   *ERR naming the step ("sandbox: mount overlay: Permission denied");
   *STATUS is then 127 when the command was not found, 126 when it could
   not be run, and 0 when the sandbox itself could not be set up.  */
int sandbox_run(const struct sandbox_spec *spec, int *status,
                struct cb_error **err);

#endif
