/* Host checks for `cbuild doctor`: each tries the facility for real (a
   user namespace, an overlay mount inside one, openat2, ...) rather than
   guessing from version numbers, and says why when it is missing.  */
#ifndef CBUILD_BUILDER_PROBE_H
#define CBUILD_BUILDER_PROBE_H

#include <stdbool.h>

#include "builder/userns.h"

struct probe_result {
  const char *name; /* static: "user namespaces", "openat2", ... */
  bool ok;
  char *detail; /* owned: the values found, or why not */
};

/* Free R->detail; a no-op on a zeroed result.  */
void probe_result_release(struct probe_result *r);

/* Create a user namespace with no mapping (a child that exits at once).
   On failure the detail names the sysctl that forbids it, if one does. */
void probe_userns(struct probe_result *r);

/* The caller's ranges in PLAN for uids (SUBGID false) or gids.  */
void probe_subid(struct probe_result *r, const struct userns_plan *plan,
                 bool subgid);

/* newuidmap (or newgidmap): found in PATH, and setuid root or with file
   capabilities.  */
void probe_helper(struct probe_result *r, const struct userns_plan *plan,
                  bool gid);

/* A child in a user namespace mapped as PLAN says.  */
void probe_mapping(struct probe_result *r, const struct userns_plan *plan);

/* Mount an overlay with "userxattr" in a child in new user and mount
   namespaces, with lower/upper/work/merged in a temporary directory made
   below DIR, and write through it (copy-up).  The directory is removed
   afterwards.  */
void probe_overlay(struct probe_result *r, const struct userns_plan *plan,
                   const char *dir);

/* The same from inside cbuild's user namespace (uid 0 there already): a
   child in a new mount namespace only.  `cbuild run` asks this when no
   storage driver is set.  */
void probe_overlay_here(struct probe_result *r, const char *dir);

/* openat2(2) with RESOLVE_IN_ROOT.  */
void probe_openat2(struct probe_result *r);

/* Seccomp filter mode in the kernel, the libseccomp version, and the
   filter RUN commands get (builder/confine.h): built, loaded in a child,
   and seen to refuse keyctl.  */
void probe_seccomp(struct probe_result *r);

/* The cgroup hierarchy at /sys/fs/cgroup: ok only for v2 (unified); the
   detail says v1 or hybrid otherwise.  */
void probe_cgroup(struct probe_result *r);

#endif
