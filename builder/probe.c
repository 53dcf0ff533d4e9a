#include "config.h"

#include "builder/probe.h"
#include "builder/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/mem.h"
#include "common/banned.h"

void
probe_result_release(struct probe_result *r)
{
  free(r->detail);
  r->detail = NULL;
}

static void
set_result(struct probe_result *r, const char *name, bool ok, char *detail)
{
  r->name = name;
  r->ok = ok;
  r->detail = detail;
}

/* The number in a small /proc/sys file, or -1 if it cannot be read.  */
static long
sysctl_or_missing(const char *path)
{
  struct cb_error *err = NULL;
  cleanup_free char *buf = NULL;
  size_t len = 0;

  if (cb_read_file_at(AT_FDCWD, path, 64, &buf, &len, &err) < 0) {
    cb_error_free(err);
    return -1;
  }
  return strtol(buf, NULL, 10);
}

void
probe_userns(struct probe_result *r)
{
  const char *name = "user namespaces";
  long pid;
  int e;

  pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL,
                NULL, NULL);
  if (pid == 0)
    _exit(0);
  if (pid > 0) {
    int rc = userns_wait((pid_t)pid, NULL);

    set_result(r, name, rc == 0,
               rc == 0 ? cb_xstrdup("created one")
                       : cb_xasprintf("the child exited with %d", rc));
    return;
  }
  e = errno;
  if (sysctl_or_missing("/proc/sys/user/max_user_namespaces") == 0)
    set_result(r, name, false,
               cb_xasprintf("%s: user.max_user_namespaces is 0", strerror(e)));
  else if (sysctl_or_missing("/proc/sys/kernel/unprivileged_userns_clone") == 0)
    set_result(
        r, name, false,
        cb_xasprintf("%s: kernel.unprivileged_userns_clone is 0", strerror(e)));
  else if (sysctl_or_missing(
               "/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
    set_result(r, name, false,
               cb_xasprintf("%s: kernel.apparmor_restrict_unprivileged_userns "
                            "is 1",
                            strerror(e)));
  else
    set_result(r, name, false, cb_xasprintf("clone: %s", strerror(e)));
}

void
probe_subid(struct probe_result *r, const struct userns_plan *plan, bool subgid)
{
  const struct userns_idmap *m = subgid ? &plan->gid : &plan->uid;
  const char *name = subgid ? "subgid range" : "subuid range";
  cleanup_free char *list = NULL;

  if (m->n_ranges == 0) {
    set_result(r, name, false,
               cb_xasprintf("no line for uid %u in %s", m->owner, m->file));
    return;
  }
  list = cb_xstrdup("");
  for (size_t i = 0; i < m->n_ranges; i++) {
    char *next = cb_xasprintf("%s%s%u:%u", list, i > 0 ? ", " : "",
                              m->ranges[i].start, m->ranges[i].count);

    free(list);
    list = next;
  }
  set_result(r, name, true, cb_xasprintf("%s in %s", list, m->file));
}

void
probe_helper(struct probe_result *r, const struct userns_plan *plan, bool gid)
{
  const struct userns_idmap *m = gid ? &plan->gid : &plan->uid;
  const char *name = gid ? "newgidmap" : "newuidmap";
  struct stat st;

  if (m->helper == NULL) {
    set_result(r, name, false, cb_xstrdup("not found in PATH"));
    return;
  }
  if (stat(m->helper, &st) < 0) {
    set_result(r, name, false,
               cb_xasprintf("%s: %s", m->helper, strerror(errno)));
    return;
  }
  if ((st.st_mode & S_ISUID) && st.st_uid == 0) {
    set_result(r, name, true, cb_xasprintf("%s (setuid root)", m->helper));
    return;
  }
  /* Some distributions give the helpers file capabilities instead.  */
  if (getxattr(m->helper, "security.capability", NULL, 0) > 0) {
    set_result(r, name, true,
               cb_xasprintf("%s (file capabilities)", m->helper));
    return;
  }
  set_result(r, name, false,
             cb_xasprintf("%s is neither setuid root nor has file "
                          "capabilities",
                          m->helper));
}

static int
exit_at_once(void *data, const char **step)
{
  return 0;
}

void
probe_mapping(struct probe_result *r, const struct userns_plan *plan)
{
  const char *name = "id mapping";
  struct cb_error *err = NULL;
  pid_t pid = userns_spawn(plan, 0, exit_at_once, NULL, &err);
  int rc;

  if (pid < 0) {
    set_result(r, name, false, cb_error_text(err));
    cb_error_free(err);
    return;
  }
  rc = userns_wait(pid, NULL);
  if (rc != 0) {
    set_result(r, name, false, cb_xasprintf("the child exited with %d", rc));
    return;
  }
  set_result(r, name, true, userns_plan_describe(plan));
}

struct overlay_args {
  const char *merged;
  const char *opts;
  const char *file; /* in lower, written through merged */
};

/* In the child: async-signal-safe calls only.  */
static int
overlay_child(void *data, const char **step)
{
  const struct overlay_args *a = data;
  int fd;

  /* Keep the mount from propagating anywhere, as a sandbox would.  */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
    *step = "make mounts private";
    return -1;
  }
  if (mount("overlay", a->merged, "overlay", 0, a->opts) < 0) {
    *step = "mount overlay";
    return -1;
  }
  fd = open(a->file, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) {
    *step = "open a lower file for writing (copy-up)";
    return -1;
  }
  if (write(fd, "x", 1) != 1) {
    *step = "write through the overlay";
    return -1;
  }
  close(fd);
  return 0;
}

static int
make_overlay_dirs(const char *top, struct cb_error **err)
{
  static const char *const sub[] = { "lower", "upper", "work", "merged" };
  cleanup_free char *f = NULL;
  int fd;

  for (size_t i = 0; i < CB_N_ELEMENTS(sub); i++) {
    cleanup_free char *p = cb_xasprintf("%s/%s", top, sub[i]);

    if (mkdir(p, 0700) < 0)
      return cb_fail_errno(err, "mkdir '%s'", p);
  }
  f = cb_xasprintf("%s/lower/file", top);
  fd = open(f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return cb_fail_errno(err, "create '%s'", f);
  close(fd);
  return 0;
}

/* overlay_child in a child in a new mount namespace of our own user
   namespace; its failure comes back as {step, errno} through a pipe.  */
static pid_t
spawn_here(struct overlay_args *a, struct cb_error **err)
{
  struct {
    const char *step;
    int errnum;
  } rep;
  cleanup_close int rd = -1, wr = -1;
  int fds[2];
  ssize_t n;
  long pid;

  if (pipe2(fds, O_CLOEXEC) < 0)
    return cb_fail_errno(err, "pipe");
  rd = fds[0];
  wr = fds[1];
  fflush(NULL); /* the child must not flush our buffers again */
  pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWNS | SIGCHLD), NULL, NULL,
                NULL, NULL);
  if (pid < 0)
    return cb_fail_errno(err, "clone (new mount namespace)");
  if (pid == 0) {
    rep.step = NULL;
    if (overlay_child(a, &rep.step) < 0) {
      rep.errnum = errno;
      (void)!write(wr, &rep, sizeof(rep));
      _exit(1);
    }
    _exit(0);
  }
  cb_closep(&wr);
  do
    n = read(rd, &rep, sizeof(rep));
  while (n < 0 && errno == EINTR);
  if (n == (ssize_t)sizeof(rep)) {
    (void)userns_wait((pid_t)pid, NULL);
    return cb_fail(err, CB_ERR_SYSTEM, rep.errnum, "%s", rep.step);
  }
  return (pid_t)pid;
}

/* Run the overlay child in TOP (in a new user namespace mapped as PLAN,
   or with PLAN NULL in ours); on failure the reason is in *err.  */
static int
try_overlay(const struct userns_plan *plan, const char *top,
            struct cb_error **err)
{
  cleanup_free char *merged = cb_xasprintf("%s/merged", top);
  cleanup_free char *file = cb_xasprintf("%s/merged/file", top);
  cleanup_free char *opts =
      cb_xasprintf("lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work,"
                   "userxattr,volatile",
                   top, top, top);
  struct overlay_args a = { merged, opts, file };
  pid_t pid;
  int rc;

  if (make_overlay_dirs(top, err) < 0)
    return -1;
  pid = plan != NULL
            ? userns_spawn(plan, CLONE_NEWNS, overlay_child, &a, err)
            : spawn_here(&a, err);
  if (pid < 0)
    return -1;
  rc = userns_wait(pid, err);
  if (rc != 0)
    return rc < 0
               ? -1
               : cb_fail(err, CB_ERR_SYSTEM, 0, "the child exited with %d", rc);
  return 0;
}

void
probe_overlay_here(struct probe_result *r, const char *dir)
{
  probe_overlay(r, NULL, dir);
}

void
probe_overlay(struct probe_result *r, const struct userns_plan *plan,
              const char *dir)
{
  const char *name = "overlay (userxattr)";
  cleanup_free char *top = cb_xasprintf("%s/cbuild-doctor-XXXXXX", dir);
  struct cb_error *err = NULL;
  int rc;

  if (mkdtemp(top) == NULL) {
    set_result(r, name, false,
               cb_xasprintf("mkdtemp in '%s': %s", dir, strerror(errno)));
    return;
  }
  rc = try_overlay(plan, top, &err);
  if (rc < 0) {
    cleanup_free char *text = cb_error_text(err);

    set_result(r, name, false, cb_xasprintf("%s (in %s)", text, dir));
    cb_error_free(err);
    err = NULL;
  } else {
    set_result(r, name, true,
               cb_xasprintf("mounted and written in a user namespace "
                            "(in %s)",
                            dir));
  }
  if (cb_remove_tree_at(AT_FDCWD, top, &err) < 0)
    cb_error_free(err);
}

void
probe_openat2(struct probe_result *r)
{
  struct open_how how = {
    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  long fd = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));

  if (fd < 0) {
    set_result(r, "openat2", false,
               errno == ENOSYS
                   ? cb_xstrdup("not in this kernel (before 5.6) or blocked by "
                                "seccomp: paths are resolved one by one")
                   : cb_xasprintf("openat2: %s", strerror(errno)));
    return;
  }
  close((int)fd);
  set_result(r, "openat2", true, cb_xstrdup("RESOLVE_IN_ROOT works"));
}

/* Build the RUN filter, load it in a child and see it refuse keyctl.
   On failure *WHY (owned) says what went wrong.  */
static bool
try_run_filter(char **why)
{
  CB_CLEANUP(confine_release) struct confine cf = { 0 };
  struct cb_error *err = NULL;
  int st;
  pid_t pid;

  if (confine_prepare(&cf, &err) < 0) {
    *why = cb_error_text(err);
    cb_error_free(err);
    return false;
  }
  pid = fork();
  if (pid < 0) {
    *why = cb_xasprintf("fork: %s", strerror(errno));
    return false;
  }
  if (pid == 0) {
    if (confine_load_seccomp(&cf) < 0)
      _exit(2);
    _exit(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING,
                  0) < 0 &&
                  errno == EPERM
              ? 0
              : 3);
  }
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
    return true;
  *why = cb_xstrdup(WIFEXITED(st) && WEXITSTATUS(st) == 2
                        ? "the RUN filter cannot be loaded: RUN would fail"
                        : "the RUN filter did not refuse keyctl");
  return false;
}

void
probe_seccomp(struct probe_result *r)
{
  char *why = NULL;

  const struct scmp_version *v = seccomp_version();
  int mode = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);

  if (mode < 0) {
    set_result(r, "seccomp", false,
               cb_xasprintf("prctl(PR_GET_SECCOMP): %s", strerror(errno)));
    return;
  }
  /* A NULL filter asks whether filter mode exists without installing
     anything: EFAULT means it does, EINVAL that the kernel lacks it.  */
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, NULL, 0, 0) == 0 ||
      errno != EFAULT) {
    set_result(
        r, "seccomp", false,
        cb_xasprintf("no filter mode in this kernel (%s)", strerror(errno)));
    return;
  }
  if (!try_run_filter(&why)) {
    set_result(r, "seccomp", false, why);
    return;
  }
  set_result(r, "seccomp", true,
             cb_xasprintf("filter mode, libseccomp %u.%u.%u%s; RUN commands "
                          "get cbuild's filter (tried: keyctl refused)",
                          v->major, v->minor, v->micro,
                          mode == 2 ? ", cbuild itself is filtered" : ""));
}

void
probe_cgroup(struct probe_result *r)
{
  struct statfs st;

  if (statfs("/sys/fs/cgroup", &st) < 0) {
    set_result(r, "cgroup v2", false,
               cb_xasprintf("/sys/fs/cgroup: %s", strerror(errno)));
    return;
  }
  if (st.f_type == CGROUP2_SUPER_MAGIC) {
    set_result(r, "cgroup v2", true, cb_xstrdup("unified hierarchy"));
    return;
  }
  if (statfs("/sys/fs/cgroup/unified", &st) == 0 &&
      st.f_type == CGROUP2_SUPER_MAGIC) {
    set_result(r, "cgroup v2", false,
               cb_xstrdup("hybrid: v1 controllers, v2 at "
                          "/sys/fs/cgroup/unified"));
    return;
  }
  set_result(r, "cgroup v2", false, cb_xstrdup("v1 only"));
}
