/* What the command of the RUN sandbox may do once it runs: Docker's
   default capability set, no_new_privs, an open-files limit, the user's
   supplementary groups, and a seccomp filter in the spirit of Docker's
   default profile.

   Two halves, because the sandbox's command is a child of a raw clone:
   confine_prepare() runs before the clone and may allocate (libseccomp
   builds the filter there); confine_apply() runs in the command child
   and makes only system calls (async-signal-safe).

   Builder-internal: sandbox.c, probe.c and the unit tests use it.  */
#ifndef CBUILD_BUILDER_CONFINE_H
#define CBUILD_BUILDER_CONFINE_H

#ifndef CB_IN_BUILDER
#error "builder/confine.h is internal to builder/"
#endif

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

/* The soft and hard RLIMIT_NOFILE of the command when the kernel lets us
   set it (podman's choice for containers, and systemd's LimitNOFILE=
   infinity under dockerd gives the same); else the soft limit is raised
   to the hard one we inherited.  */
#define CONFINE_NOFILE 1048576

/* A capability the command keeps (Docker's default set).  */
struct confine_cap {
  const char *name; /* "CAP_CHOWN" */
  int cap;          /* its number */
};

extern const struct confine_cap confine_caps[];
extern const size_t confine_n_caps;

/* A system call the filter answers with an error instead of running.  */
struct confine_syscall {
  const char *name; /* as libseccomp names it */
  int errnum;       /* EPERM, or ENOSYS where libc should fall back */
  const char *why;
};

extern const struct confine_syscall confine_denied[];
extern const size_t confine_n_denied;

/* The kept capabilities as a mask (bit N for capability N), as
   /proc/PID/status prints CapBnd.  */
uint64_t confine_cap_mask(void);

struct confine {
  /* The seccomp programs, loaded one after the other (the kernel runs
     every filter and the strictest answer wins).  Owned.  */
  struct sock_fprog progs[2];
  size_t n_progs;
  /* The number of rules libseccomp took (for `cbuild doctor`).  */
  size_t n_rules;
  /* false when /proc/self/setgroups says "deny" (a user namespace
     mapped without a subordinate gid range): setgroups(2) would fail, so
     the supplementary groups stay as they are.  */
  bool setgroups_allowed;
};

/* no_new_privs, then the seccomp filters of CF, for the calling thread
   (confine_apply's last steps; `cbuild doctor` tries them in a child).
   Only system calls.  Returns 0, or -1 with errno set.  */
int confine_load_seccomp(const struct confine *cf);

/* Docker's masked paths (/proc/kcore, /proc/keys, /sys/firmware...: an
   empty file or directory on top) and read-only paths (/proc/sys,
   /proc/sysrq-trigger, ...), plus the host's /etc/resolv.conf bound in
   read-only.  In the sandbox's PID 1 after pivot_root, while it may still
   mount; a path that does not exist is skipped.  Only system calls.
   Returns 0, or -1 with errno set and *STEP naming the path.  */
int confine_paths(const char **step);

/* Make the mount at PATH and every mount below it read-only, nosuid,
   nodev and noexec (mount_setattr; before Linux 5.12 only PATH's own
   mount, keeping the flags the kernel locks).  Only system calls.
   Returns 0, or -1 with errno set.  */
int confine_remount_ro(const char *path);

/* Build the seccomp filter for this machine's architectures and read
   whether setgroups is allowed.  CF is zeroed first; release it with
   confine_release().  Fails (CB_ERR_SYSTEM) when libseccomp cannot build
   or export the filter; the message names "seccomp".  */
int confine_prepare(struct confine *cf, struct cb_error **err);

/* Free what confine_prepare() made; a no-op on a zeroed CF.  */
void confine_release(struct confine *cf);

/* In the command child, as uid 0 of the sandbox with every capability,
   right before exec: the open-files limit, the capability bounding set
   cut to confine_caps, setgroups(GROUPS) (when allowed), setresgid(GID),
   permitted/effective cut to confine_caps and inheritable emptied,
   setresuid(UID) (which, for UID != 0, empties permitted and effective
   as it does for Docker's non-root users), ambient capabilities cleared,
   no_new_privs, then the seccomp filters.  Only system calls, no
   allocation.  Returns 0, or -1 with errno set and *STEP naming what
   failed ("setuid", "seccomp", ...).  */
int confine_apply(const struct confine *cf, uid_t uid, gid_t gid,
                  const gid_t *groups, size_t n_groups, const char **step);

#endif
