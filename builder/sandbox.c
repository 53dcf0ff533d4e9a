#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/sandbox.h"
#include "builder/confine.h"
#include "builder/sandbox-internal.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/fs.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/banned.h"

extern char **environ;

/* What the child sends back when a step fails.  The step is a static
   string: the child is a copy of us, so the pointer is valid here.  */
struct sandbox_report {
  const char *step;
  int errnum;
};

/* Host devices bound onto files in the new /dev.  */
static const char *const dev_nodes[][2] = {
  { "/dev/null", "dev/null" },       { "/dev/zero", "dev/zero" },
  { "/dev/full", "dev/full" },       { "/dev/random", "dev/random" },
  { "/dev/urandom", "dev/urandom" }, { "/dev/tty", "dev/tty" },
};

const char *const sandbox_mount_points[] = {
  "proc", "dev", "sys", "etc/hosts", "etc/hostname", "etc/resolv.conf", NULL,
};

/* The generated files of SPEC->files_dir bound onto /etc: name there,
   mount point, the step for errors.  */
static const char *const etc_files[][3] = {
  { "hosts", "etc/hosts", "bind /etc/hosts" },
  { "hostname", "etc/hostname", "bind /etc/hostname" },
  { "resolv.conf", "etc/resolv.conf", "bind /etc/resolv.conf" },
};

/* Everything the child needs, made before clone.  */
struct sandbox_child {
  const struct sandbox_spec *spec;
  const char *overlay_opts; /* "lowerdir=...,upperdir=...,workdir=..." */
  char *workdir;            /* a writable copy, for creating its parents */
  char **etc_src;           /* the etc_files' paths in FILES_DIR */
  const char *hostname;
  bool have_dev[CB_N_ELEMENTS(dev_nodes)]; /* which the host has */
  const struct confine *confine; /* what the command may do */
  struct sandbox_mounts *mounts; /* RUN --mount, or NULL */
  int rep_fd;
};

static const char *const dev_links[][2] = {
  { "/proc/self/fd", "dev/fd" },     { "/proc/self/fd/0", "dev/stdin" },
  { "/proc/self/fd/1", "dev/stdout" }, { "/proc/self/fd/2", "dev/stderr" },
  { "pts/ptmx", "dev/ptmx" },
};

/* Send {STEP, errno} to the parent and give up.  */
static void __attribute__((noreturn))
child_fail(int rep_fd, const char *step)
{
  struct sandbox_report r = { step, errno };
  ssize_t n;

  do
    n = write(rep_fd, &r, sizeof(r));
  while (n < 0 && errno == EINTR);
  _exit(127);
}

/* A directory NAME (relative to the cwd): created when missing, and it
   must not be a symlink or anything but a directory (the image decides
   what is there, and mount(2) would follow a symlink out of the root).
   Nothing else writes to the fresh upper dir meanwhile.  */
static int
ensure_dir(const char *name)
{
  struct stat sb;

  if (mkdir(name, 0755) < 0 && errno != EEXIST)
    return -1;
  if (lstat(name, &sb) < 0)
    return -1;
  if (!S_ISDIR(sb.st_mode)) {
    errno = ENOTDIR;
    return -1;
  }
  return 0;
}

/* A fresh empty regular file NAME (whatever was there is replaced).  */
static int
replace_file(const char *name)
{
  int fd;

  if (unlink(name) < 0 && errno != ENOENT)
    return -1;
  fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    return -1;
  return close(fd);
}

/* Make what the image lacks at the mount point PATH (relative to the cwd,
   the new root): the directories down to it, then a directory (DIR) or an
   empty regular file, with fixed modes (0755, 0644) whatever the umask.
   A file replaces a non-directory of the image (a symlink for
   /etc/resolv.conf is common); anything else in the way is ENOTDIR or
   EISDIR, and a symlink is never followed (mount(2) would follow it out
   of the root).  Whatever is made lands in the upper dir and changes the
   times of the image's directory it is made in: those are put back, so
   that the directory overlayfs copied up still looks as in the lower and
   rootfs_prune_upper() can take both away after the run.  */
static int
make_mount_point(const char *path, bool dir)
{
  char buf[256];
  size_t len = strlen(path), plen = 0;
  struct stat sb, parent;
  bool made = false, restore = false;

  if (len >= sizeof(buf)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(buf, path, len + 1);
  memset(&parent, 0, sizeof(parent));
  for (char *p = buf;;) {
    char *slash = strchr(p, '/');
    bool want_dir = slash != NULL || dir, exists;

    if (slash != NULL)
      *slash = '\0';
    exists = lstat(buf, &sb) == 0;
    if (!exists && errno != ENOENT)
      return -1;
    if (exists && S_ISDIR(sb.st_mode) != want_dir) {
      errno = want_dir ? ENOTDIR : EISDIR;
      return -1;
    }
    if (!exists || (!want_dir && !S_ISREG(sb.st_mode))) {
      /* The first thing made: its parent is the image's (or the root).  */
      if (!made && p != buf) {
        restore = true;
        plen = (size_t)(p - buf - 1);
      }
      made = true;
      if (want_dir && (mkdir(buf, 0755) < 0 || chmod(buf, 0755) < 0))
        return -1;
      if (!want_dir && (replace_file(buf) < 0 || chmod(buf, 0644) < 0))
        return -1;
    } else if (!made) {
      parent = sb;
    }
    if (slash == NULL)
      break;
    *slash = '/';
    p = slash + 1;
  }
  if (restore) {
    struct timespec t[2] = { parent.st_atim, parent.st_mtim };

    buf[plen] = '\0';
    /* Not fatal: at worst the directory stays in the layer.  */
    (void)utimensat(AT_FDCWD, buf, t, AT_SYMLINK_NOFOLLOW);
  }
  return 0;
}

/* mkdir -p of the absolute PATH (changed in place, then restored).  */
static int
make_parents(char *path)
{
  for (char *p = path + 1;; p++) {
    char c = *p;

    if (c != '/' && c != '\0')
      continue;
    *p = '\0';
    if (p[-1] != '/' && mkdir(path, 0755) < 0 && errno != EEXIST) {
      *p = c;
      return -1;
    }
    *p = c;
    if (c == '\0')
      return 0;
  }
}

static int
loopback_up(void)
{
  struct ifreq ifr;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), e;

  if (fd < 0)
    return -1;
  memset(&ifr, 0, sizeof(ifr));
  memcpy(ifr.ifr_name, "lo", 3);
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) == 0)
      return close(fd);
  }
  e = errno;
  close(fd);
  errno = e;
  return -1;
}

/* /sys read-only: a sysfs of our own when the kernel allows it (it does
   with a network namespace of our own), else the host's bound
   read-only.  Neither working is not fatal: /sys stays empty.  */
static void
mount_sys(void)
{
  const unsigned long ro = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY;

  if (make_mount_point("sys", true) < 0)
    return;
  if (mount("sysfs", "sys", "sysfs", ro, NULL) == 0)
    return;
  if (mount("/sys", "sys", NULL, MS_BIND | MS_REC, NULL) < 0)
    return;
  /* The host's /sys has mounts below it (cgroups...): all read-only.  */
  if (confine_remount_ro("sys") < 0)
    umount2("sys", MNT_DETACH);
}

/* The new /dev: a tmpfs with the host's harmless devices bound in.  */
static int
mount_dev(const struct sandbox_child *c, const char **step)
{
  *step = "mount /dev";
  if (make_mount_point("dev", true) < 0 ||
      mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
            "mode=755,size=65536k") < 0)
    return -1;
  for (size_t i = 0; i < CB_N_ELEMENTS(dev_nodes); i++) {
    if (!c->have_dev[i])
      continue;
    *step = dev_nodes[i][0];
    if (replace_file(dev_nodes[i][1]) < 0 ||
        mount(dev_nodes[i][0], dev_nodes[i][1], NULL, MS_BIND, NULL) < 0)
      return -1;
  }
  *step = "create the /dev links";
  for (size_t i = 0; i < CB_N_ELEMENTS(dev_links); i++)
    if (symlink(dev_links[i][0], dev_links[i][1]) < 0)
      return -1;
  /* A pts instance of our own when permitted; without it there are no
     terminals inside, which RUN does not need.  */
  if (ensure_dir("dev/pts") == 0)
    (void)mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                "newinstance,ptmxmode=0666,mode=620");
  *step = "mount /dev/shm";
  if (ensure_dir("dev/shm") < 0 ||
      mount("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
            "mode=1777,size=65536k") < 0)
    return -1;
  return 0;
}

/* Build the root on the merged dir and pivot into it.  */
static int
setup_root(struct sandbox_child *c, const char **step)
{
  const struct sandbox_spec *spec = c->spec;

  *step = "make mounts private";
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return -1;
  *step = "enter the layer dir";
  if (chdir(spec->lower_dir) < 0)
    return -1;
  if (spec->bind_root) {
    /* pivot_root wants a mount point.  */
    *step = "bind the root tree";
    if (mount(spec->merged, spec->merged, NULL, MS_BIND | MS_REC, NULL) < 0)
      return -1;
  } else {
    *step = "mount overlay";
    if (mount("overlay", spec->merged, "overlay", 0, c->overlay_opts) < 0)
      return -1;
  }
  *step = "enter the new root";
  if (chdir(spec->merged) < 0)
    return -1;
  *step = "mount /proc";
  if (make_mount_point("proc", true) < 0 ||
      mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    return -1;
  if (mount_dev(c, step) < 0)
    return -1;
  mount_sys();
  for (size_t i = 0; i < CB_N_ELEMENTS(etc_files); i++) {
    *step = etc_files[i][2];
    if (make_mount_point(etc_files[i][1], false) < 0 ||
        mount(c->etc_src[i], etc_files[i][1], NULL, MS_BIND, NULL) < 0)
      return -1;
  }
  if (c->mounts != NULL && sandbox_mounts_setup(c->mounts, step) < 0)
    return -1;
  *step = "sethostname";
  if (sethostname(c->hostname, strlen(c->hostname)) < 0)
    return -1;
  *step = "bring up lo";
  if (spec->network_none && loopback_up() < 0)
    return -1;
  /* pivot_root(".", "."): the old root ends up stacked on the new one,
     and is detached at once (pivot_root(2), NOTES).  */
  *step = "pivot_root";
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    return -1;
  *step = "unmount the old root";
  if (umount2(".", MNT_DETACH) < 0)
    return -1;
  *step = "chdir /";
  if (chdir("/") < 0)
    return -1;
  *step = "create the working directory";
  if (make_parents(c->workdir) < 0)
    return -1;
  *step = "chdir to the working directory";
  if (chdir(c->workdir) < 0)
    return -1;
  return 0;
}

/* Every fd we did not mean to pass (one opened without O_CLOEXEC by a
   library, say) would be a way out of the root: mark them all
   close-on-exec.  The report pipe is CLOEXEC already.  */
static void
cloexec_from(int first)
{
  struct rlimit rl;

  if (syscall(SYS_close_range, (unsigned)first, ~0U, CLOSE_RANGE_CLOEXEC) ==
      0)
    return;
  /* Before Linux 5.11: one by one, up to the open-files limit.  */
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > 65536)
    rl.rlim_cur = 65536;
  for (int fd = first; fd < (int)rl.rlim_cur; fd++)
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static int
redirect_stdio(const struct sandbox_spec *spec, const char **step)
{
  *step = "redirect stdin";
  if (spec->in_fd >= 0 && dup2(spec->in_fd, STDIN_FILENO) < 0)
    return -1;
  *step = "redirect stdout";
  if (spec->out_fd >= 0 && (dup2(spec->out_fd, STDOUT_FILENO) < 0 ||
                            dup2(spec->out_fd, STDERR_FILENO) < 0))
    return -1;
  return 0;
}

/* The command: confined as the user it runs as, then exec'd.  */
static void __attribute__((noreturn))
command_main(struct sandbox_child *c)
{
  const struct sandbox_spec *spec = c->spec;
  const char *step = "";

  if (redirect_stdio(spec, &step) < 0)
    child_fail(c->rep_fd, step);
  cloexec_from(3);
  if (confine_apply(c->confine, spec->uid, spec->gid, spec->groups,
                    spec->n_groups, &step) < 0)
    child_fail(c->rep_fd, step);
  /* execvpe searches the PATH of environ, not that of its envp.  */
  environ = spec->envp;
  execvpe(spec->argv[0], spec->argv, spec->envp);
  child_fail(c->rep_fd, "exec");
}

/* PID 1 of the sandbox.  A raw clone made it: a copy of the parent
   without locks or atfork handlers, so only async-signal-safe calls.  */
static void __attribute__((noreturn))
child_main(struct sandbox_child *c)
{
  const char *step = "prctl PR_SET_PDEATHSIG";
  long cmd;
  int st;

  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
    child_fail(c->rep_fd, step);
  if (setup_root(c, &step) < 0 || confine_paths(&step) < 0)
    child_fail(c->rep_fd, step);
  step = "fork the command";
  cmd = syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, NULL);
  if (cmd < 0)
    child_fail(c->rep_fd, step);
  if (cmd == 0)
    command_main(c);
  close(c->rep_fd);
  /* Reap every orphan; leave with the command's status.  Our exit kills
     whatever else is left in the namespace.  */
  for (;;) {
    pid_t p = waitpid(-1, &st, 0);

    if (p < 0 && errno == EINTR)
      continue;
    if (p < 0)
      _exit(127);
    if (p != (pid_t)cmd)
      continue;
    if (WIFEXITED(st))
      _exit(WEXITSTATUS(st));
    if (WIFSIGNALED(st))
      _exit(128 + WTERMSIG(st));
  }
}

/* The lower dirs relative to LOWER_DIR (the child changes into it), so
   that more layers fit in the one-page option string.  */
static char *
overlay_options(const struct sandbox_spec *spec, struct cb_error **err)
{
  struct cb_buf b = CB_BUF_INIT;

  /* overlayfs splits its options at ',' and lowerdir at ':'.  */
  if (strpbrk(spec->upper, ",:\\") != NULL ||
      strpbrk(spec->work, ",:\\") != NULL)
    return cb_fail_null(err, CB_ERR_UNSUPPORTED, 0,
                        "sandbox: the overlay dirs '%s' and '%s' must not "
                        "contain ',', ':' or '\\' (move the store)",
                        spec->upper, spec->work);
  for (size_t i = 0; i < spec->n_lowers; i++)
    if (strpbrk(spec->lowers[i], ",:\\") != NULL)
      return cb_fail_null(err, CB_ERR_UNSUPPORTED, 0,
                          "sandbox: bad lower dir name '%s'", spec->lowers[i]);
  cb_buf_adds(&b, "lowerdir=");
  for (size_t i = 0; i < spec->n_lowers; i++)
    cb_buf_addf(&b, "%s%s", i > 0 ? ":" : "", spec->lowers[i]);
  /* volatile: overlayfs skips every sync of the upper fs, above all the
     one at umount, which wrote a step's whole upper dir to disk (3.7 s for
     a 2 GiB COPY on ext4) only for the layer writer to read it back from
     the page cache and remove it.  An upper dir never outlives a crash in
     use: it is a layer already, or litter.  Kernels that mount overlay in
     a user namespace (5.11) all have it (5.10).  */
  cb_buf_addf(&b, ",upperdir=%s,workdir=%s,userxattr,volatile", spec->upper,
              spec->work);
  if (b.len >= 4096) {
    cb_buf_release(&b);
    return cb_fail_null(err, CB_ERR_UNSUPPORTED, 0,
                        "sandbox: %zu layers make the overlay options too "
                        "long", spec->n_lowers);
  }
  return cb_buf_detach(&b, NULL);
}

/* Write NAME in DIR_FD holding TEXT.  */
static int
write_file_at(int dir_fd, const char *name, const char *text, size_t len,
              struct cb_error **err)
{
  cleanup_close int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC |
                                O_NOFOLLOW | O_CLOEXEC, 0644);

  if (fd < 0 || cb_write_all(fd, text, len, err) < 0)
    return fd < 0 ? cb_fail_errno(err, "sandbox: cannot write '%s'", name)
                  : cb_wrap(err, "sandbox: '%s'", name);
  return 0;
}

/* Write /etc/hosts, /etc/hostname and /etc/resolv.conf for HOSTNAME in
   SPEC's files_dir and return their paths (as etc_files).  resolv.conf
   is a copy of the host's (empty when it has none), so that the command
   may change it, as in Docker, without touching the host's.  */
static char **
write_etc_files(const struct sandbox_spec *spec, const char *name,
                struct cb_error **err)
{
  char **paths;
  cleanup_close int dir = open(spec->files_dir,
                               O_PATH | O_DIRECTORY | O_CLOEXEC);
  cleanup_free char *hosts = NULL, *hostname = NULL, *resolv = NULL;
  struct cb_error *e = NULL;
  size_t resolv_len = 0;

  if (dir < 0)
    return cb_fail_null(err, CB_ERR_SYSTEM, errno,
                        "sandbox: cannot open '%s'", spec->files_dir);
  hosts = cb_xasprintf("127.0.0.1\tlocalhost %s\n"
                       "::1\tlocalhost ip6-localhost ip6-loopback\n",
                       name);
  hostname = cb_xasprintf("%s\n", name);
  if (cb_read_file_at(AT_FDCWD, "/etc/resolv.conf", CB_MAX_RESOLV_CONF,
                      &resolv, &resolv_len, &e) < 0) {
    cb_error_free(e);
    resolv_len = 0;
  }
  if (write_file_at(dir, "hosts", hosts, strlen(hosts), err) < 0 ||
      write_file_at(dir, "hostname", hostname, strlen(hostname), err) < 0 ||
      write_file_at(dir, "resolv.conf", resolv != NULL ? resolv : "",
                    resolv_len, err) < 0)
    return NULL;
  paths = cb_xcalloc(CB_N_ELEMENTS(etc_files) + 1, sizeof(char *));
  for (size_t i = 0; i < CB_N_ELEMENTS(etc_files); i++)
    paths[i] = cb_xasprintf("%s/%s", spec->files_dir, etc_files[i][0]);
  return paths;
}

static volatile sig_atomic_t sandbox_pid;

/* SIGTERM or SIGHUP for cbuild ends the sandbox: killing its PID 1 kills
   everything in the pid namespace, and we still clean up.  */
static void
kill_sandbox(int sig)
{
  if (sandbox_pid > 0)
    kill((pid_t)sandbox_pid, SIGKILL);
}

static const int sandbox_sigs[4] = { SIGTERM, SIGHUP, SIGINT, SIGQUIT };

/* While PID (PID 1 of the sandbox) runs, handle the signals that would
   kill us, so that cbuild outlives it and removes the upper dir.  SIGINT
   and SIGQUIT from the terminal reach the command itself (same process
   group): we ignore them and wait.  In the parent only: SIG_IGN would
   survive the command's exec.  */
static void
signals_catch(pid_t pid, struct sigaction old[4])
{
  struct sigaction kill_sa, ign;

  memset(&kill_sa, 0, sizeof(kill_sa));
  kill_sa.sa_handler = kill_sandbox;
  sigemptyset(&kill_sa.sa_mask);
  memset(&ign, 0, sizeof(ign));
  ign.sa_handler = SIG_IGN;
  sandbox_pid = pid;
  for (size_t i = 0; i < 4; i++)
    sigaction(sandbox_sigs[i], i < 2 ? &kill_sa : &ign, &old[i]);
}

static void
signals_restore(const struct sigaction old[4])
{
  sandbox_pid = 0;
  for (size_t i = 0; i < 4; i++)
    sigaction(sandbox_sigs[i], &old[i], NULL);
}

/* The failure the child reported, as an error.  */
static int
child_error(const struct sandbox_child *c, const struct sandbox_report *r,
            int *status, struct cb_error **err)
{
  const struct sandbox_spec *spec = c->spec;
  const char *target = sandbox_mounts_failed_target(c->mounts);

  if (target != NULL)
    return cb_fail(err, CB_ERR_SYSTEM, r->errnum, "sandbox: mount '%s': %s",
                   target, r->step);
  if ((strcmp(r->step, "setuid") == 0 || strcmp(r->step, "setgid") == 0) &&
      r->errnum == EINVAL)
    return cb_fail(err, CB_ERR_SYSTEM, 0,
                   "sandbox: %s: uid %u or gid %u is not mapped in the user "
                   "namespace (no subordinate id range?)",
                   r->step, (unsigned)spec->uid, (unsigned)spec->gid);
  if (strcmp(r->step, "setgroups") == 0 && r->errnum == EINVAL)
    return cb_fail(err, CB_ERR_SYSTEM, 0,
                   "sandbox: setgroups: a supplementary group of uid %u is "
                   "not mapped in the user namespace",
                   (unsigned)spec->uid);
  if (strcmp(r->step, "exec") != 0)
    return cb_fail(err, CB_ERR_SYSTEM, r->errnum, "sandbox: %s", r->step);
  if (r->errnum == ENOENT) {
    *status = 127;
    return cb_fail(err, CB_ERR_SYSTEM, 0, "'%s': command not found",
                   spec->argv[0]);
  }
  *status = 126;
  return cb_fail(err, CB_ERR_SYSTEM, r->errnum, "cannot run '%s'",
                 spec->argv[0]);
}

/* Once the sandbox is gone, take the mount points it made out of the upper
   dir: it is the layer.  */
static void
mounts_cleanup(const struct sandbox_spec *spec, struct sandbox_mounts *m)
{
  cleanup_close int dir = -1, upper = -1;

  if (m == NULL)
    return;
  dir = open(spec->lower_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0)
    upper = openat(dir, spec->upper, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (upper >= 0)
    sandbox_mounts_cleanup(m, upper);
}

int
sandbox_run(const struct sandbox_spec *spec, int *status,
            struct cb_error **err)
{
  cleanup_free char *opts = NULL, *workdir = NULL;
  cleanup_strv char **etc_src = NULL;
  cleanup_close int rep_r = -1, rep_w = -1;
  CB_CLEANUP(confine_release) struct confine cf = { 0 };
  cleanup_sandbox_mounts struct sandbox_mounts *mounts = NULL;
  unsigned long flags =
      CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
  struct sandbox_child c;
  struct sandbox_report r;
  struct sigaction old[4];
  int fds[2], st, e;
  pid_t w;
  ssize_t n;
  long pid;

  *status = 0;
  if ((!spec->bind_root && spec->n_lowers == 0) || spec->argv == NULL ||
      spec->argv[0] == NULL || spec->workdir == NULL ||
      spec->workdir[0] != '/' || spec->files_dir == NULL)
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "sandbox: need layers, a command, an absolute workdir "
                   "and a files dir");
  memset(&c, 0, sizeof(c));
  c.spec = spec;
  c.hostname = spec->hostname != NULL ? spec->hostname : "cbuild";
  if (!spec->bind_root) {
    c.overlay_opts = opts = overlay_options(spec, err);
    if (opts == NULL)
      return -1;
  }
  c.workdir = workdir = cb_xstrdup(spec->workdir);
  c.etc_src = etc_src = write_etc_files(spec, c.hostname, err);
  if (etc_src == NULL)
    return -1;
  /* A host without /dev/tty (some CI containers) gets a /dev without.  */
  for (size_t i = 0; i < CB_N_ELEMENTS(dev_nodes); i++) {
    struct stat sb;

    c.have_dev[i] = stat(dev_nodes[i][0], &sb) == 0 && S_ISCHR(sb.st_mode);
  }
  if (confine_prepare(&cf, err) < 0)
    return cb_wrap(err, "sandbox");
  if (spec->n_groups > 0 && !cf.setgroups_allowed)
    cb_log(CB_LOG_DEBUG, "sandbox: setgroups is denied in this user "
           "namespace: %zu supplementary groups not set", spec->n_groups);
  c.confine = &cf;
  if (spec->network_none)
    flags |= CLONE_NEWNET;
  if (sandbox_mounts_new(spec, &mounts, err) < 0)
    return -1;
  c.mounts = mounts;
  if (pipe2(fds, O_CLOEXEC) < 0)
    return cb_fail_errno(err, "sandbox: pipe");
  rep_r = fds[0];
  rep_w = fds[1];
  c.rep_fd = rep_w;
  fflush(NULL); /* the child must not flush our buffers again */
  pid = syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
  if (pid < 0)
    return cb_fail_errno(err, "sandbox: clone");
  if (pid == 0) {
    close(rep_r);
    child_main(&c);
  }
  signals_catch((pid_t)pid, old);
  cb_closep(&rep_w);
  /* EOF once PID 1 closed its end and the command exec'd.  */
  do
    n = read(rep_r, &r, sizeof(r));
  while (n < 0 && errno == EINTR);
  while ((w = waitpid((pid_t)pid, &st, 0)) < 0 && errno == EINTR)
    ;
  e = errno;
  signals_restore(old);
  if (w >= 0)
    mounts_cleanup(spec, mounts);
  if (w < 0)
    return cb_fail(err, CB_ERR_SYSTEM, e, "sandbox: wait");
  if (n == (ssize_t)sizeof(r))
    return child_error(&c, &r, status, err);
  if (WIFEXITED(st))
    *status = WEXITSTATUS(st);
  else if (WIFSIGNALED(st))
    *status = 128 + WTERMSIG(st);
  return 0;
}
