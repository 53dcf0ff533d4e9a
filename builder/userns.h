/* The rootless model: a child process in a new user namespace whose ids
   are mapped from the caller's subordinate ranges.

   Container uid 0 is the caller; container uids 1..N are the caller's
   ranges from /etc/subuid, in file order (gids likewise from /etc/subgid).
   Those mappings are written by the setuid helpers newuidmap/newgidmap.
   Without a range or without the helper, cbuild writes a single mapping
   itself ("0 UID 1"), and ownership other than root can be recorded but
   not applied on disk.

   Real root takes the same path: with a range of its own in /etc/subuid it
   uses it like anyone else; without one it maps the whole id space onto
   itself ("0 0 4294967295"), so ownership is applied exactly as on the
   host.  Uid 0 inside another user namespace (cbuild in a rootless
   container, or under `cbuild unshare` without the marker) maps the ids
   its namespace has onto themselves, line by line.

   /etc/subuid and /etc/subgid are both keyed by the user (name or uid).  */
#ifndef CBUILD_BUILDER_USERNS_H
#define CBUILD_BUILDER_USERNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

/* One line of /etc/subuid or /etc/subgid that belongs to the caller.  */
struct userns_range {
  uint32_t start;
  uint32_t count;
};

/* Find the ranges of the user NAME (may be NULL) or numeric ID in TEXT,
   the contents of a subuid/subgid file (LEN bytes, need not end in NUL).
   Lines are "owner:start:count", owner a name or a decimal id; '#' starts
   a comment line; blank, malformed, zero-count and overflowing lines
   (start + count past 2^32) are skipped, as shadow's tools do.  At most
   USERNS_MAX_RANGES ranges are kept, and the ranges together must fit
   below container uid 2^32 - 1; more is CB_ERR_UNSAFE.  On success
   *RANGES (owned by the caller, NULL when there are none) and *N are
   written.  */
int userns_parse_subid(const char *text, size_t len, const char *name,
                       uint32_t id, struct userns_range **ranges, size_t *n,
                       struct cb_error **err);

/* The kernel takes at most 340 lines in uid_map; one is the caller's.  */
#define USERNS_MAX_RANGES 339

/* Read PATH (bounded by CB_MAX_SUBID_FILE) and parse it as above.  A
   missing file means no ranges.  */
int userns_read_subid(const char *path, const char *name, uint32_t id,
                      struct userns_range **ranges, size_t *n,
                      struct cb_error **err);

/* How one id kind (uid or gid) gets mapped.  */
enum userns_map_mode {
  USERNS_MAP_HELPER = 1, /* newuidmap/newgidmap with the ranges */
  USERNS_MAP_SINGLE,     /* "0 ID 1", written by us */
  USERNS_MAP_IDENTITY,   /* root without a range: our ids onto themselves */
};

struct userns_idmap {
  enum userns_map_mode mode;
  uint32_t id;                 /* the caller's uid or gid */
  uint32_t owner;              /* the uid the file's lines were matched on */
  char *file;                  /* owned; the subuid/subgid file read */
  struct userns_range *ranges; /* owned; for USERNS_MAP_HELPER */
  size_t n_ranges;
  char *helper;           /* owned; path of newuidmap/newgidmap, or NULL */
  const char *why_single; /* static text: why not the helper, or NULL */
};

/* The plan for the caller: which files were read and how uids and gids
   will be mapped.  */
struct userns_plan {
  struct userns_idmap uid;
  struct userns_idmap gid;
};

/* Work out the plan for the calling user.  The subuid/subgid files are
   /etc/subuid and /etc/subgid unless CBUILD_SUBUID_FILE or
   CBUILD_SUBGID_FILE name others (for tests: the helpers still check the
   real files).  newuidmap and newgidmap are looked up in PATH.  */
int userns_plan_init(struct userns_plan *plan, struct cb_error **err);
void userns_plan_release(struct userns_plan *plan);

/* True when ownership other than uid/gid 0 cannot be applied on disk.  */
bool userns_plan_is_single(const struct userns_plan *plan);

/* A short description for messages: "subuid range 200000:65536 via
   newuidmap" or "single mapping (no range)".  Owned by the caller.  */
char *userns_plan_describe(const struct userns_plan *plan);

/* Runs in the child, inside the new namespace, after the maps are
   written.  Only async-signal-safe calls are allowed.  Returns an exit
   status for the child (>= 0), or -1 with *STEP (static text) and errno
   set; the parent then fails with "STEP: strerror(errno)".  */
typedef int (*userns_child_fn)(void *data, const char **step);

/* Start FN(DATA) in a child in a new user namespace mapped as PLAN says
   (plus EXTRA_FLAGS, other CLONE_NEW* flags).  Everything FN needs must
   be prepared before the call.  Returns the child's pid (the caller waits
   for it with userns_wait()) once FN is running or has exec'd; -1 if the
   namespace or a mapping could not be set up (the error names the step,
   "newuidmap: exit 1: ...") or FN failed before exec.  */
pid_t userns_spawn(const struct userns_plan *plan, int extra_flags,
                   userns_child_fn fn, void *data, struct cb_error **err);

/* Wait for PID and return its exit status; a child killed by signal N
   gives 128 + N.  */
int userns_wait(pid_t pid, struct cb_error **err);

/* The environment variable that marks a process already inside the
   namespace (so that re-executing does not loop).  */
#define USERNS_ENV_MARKER "CBUILD_IN_USERNS"

/* Whether this process runs inside cbuild's namespace (USERNS_ENV_MARKER
   is "1").  */
bool userns_is_inside(void);

/* Set to 1, makes userns_reexec() always re-execute cbuild.  */
#define USERNS_ENV_EXEC "CBUILD_USERNS_EXEC"

/* For the start of commands that touch the store: unless the marker is
   set, start a child inside a new user namespace with the marker set in
   its environment, wait for it, and store its exit status in *STATUS.
   Returns 1 in the parent once the child is gone (the caller exits with
   *STATUS), 0 in the child and when already inside (the caller carries
   on), -1 on error.  A single mapping is warned about on stderr (through
   cb_log).

   The child is a fork that goes on with the command: nothing is loaded
   or parsed twice.  So the caller must not have started a thread, and
   what it opened before the call (close-on-exec or not) is open in the
   child too.  When the process has more than one thread, or
   CBUILD_USERNS_EXEC=1, the child re-executes /proc/self/exe with ARGV
   instead (stdin, stdout and stderr shared) and starts over.  Both ways
   are logged at debug level.  */
int userns_reexec(char **argv, int *status, struct cb_error **err);

/* What the parent does while the re-executed child runs (see
   userns_reexec_serve): called once the child has started, with its
   pid.  Returns 0, or -1 with *ERR set.  */
typedef int (*userns_parent_fn)(void *data, pid_t child, struct cb_error **err);

/* userns_reexec, plus: ENV_EXTRA ("NAME=VALUE" strings, NULL-terminated;
   may be NULL) is added to the child's environment (by setenv in a
   forked child), and FN(DATA) (may be
   NULL) runs in the parent, outside the namespace, while the child runs,
   with SIGTERM and SIGHUP forwarded to the child and SIGINT and SIGQUIT
   ignored, as while waiting.  The child is waited for after FN returns,
   whatever it returned; when FN failed, the result is -1 with FN's
   error.  */
int userns_reexec_serve(char **argv, char *const *env_extra,
                        userns_parent_fn fn, void *data, int *status,
                        struct cb_error **err);

#endif
