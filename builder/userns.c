#include "config.h"

#include "builder/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/num.h"
#include "common/banned.h"

extern char **environ;

/* ---- /etc/subuid parsing ------------------------------------------- */

/* Split LINE (LEN bytes, no newline) into owner, start and count.  */
static bool
split_line(const char *line, size_t len, const char **owner, size_t *owner_len,
           uint32_t *start, uint32_t *count)
{
  const char *c1 = memchr(line, ':', len);
  const char *c2;
  const char *end = line + len;

  while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
    end--;
  if (c1 == NULL || c1 >= end)
    return false;
  c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
  if (c2 == NULL)
    return false;
  *owner = line;
  *owner_len = (size_t)(c1 - line);
  return *owner_len > 0 &&
         cb_parse_u32(c1 + 1, (size_t)(c2 - c1 - 1), UINT32_MAX, start) &&
         cb_parse_u32(c2 + 1, (size_t)(end - c2 - 1), UINT32_MAX, count);
}

static bool
owner_matches(const char *owner, size_t len, const char *name, uint32_t id)
{
  uint32_t n;

  if (name != NULL && strlen(name) == len && memcmp(owner, name, len) == 0)
    return true;
  return cb_parse_u32(owner, len, UINT32_MAX, &n) && n == id;
}

int
userns_parse_subid(const char *text, size_t len, const char *name, uint32_t id,
                   struct userns_range **ranges, size_t *n,
                   struct cb_error **err)
{
  cleanup_free struct userns_range *v = NULL;
  size_t nv = 0, alloc = 0;
  uint64_t total = 1; /* container id 0 is the caller */
  size_t pos = 0;

  while (pos < len) {
    const char *line = text + pos;
    const char *nl = memchr(line, '\n', len - pos);
    size_t line_len = nl != NULL ? (size_t)(nl - line) : len - pos;
    const char *owner;
    size_t owner_len;
    uint32_t start, count;

    pos += line_len + 1;
    if (line_len == 0 || line[0] == '#')
      continue;
    if (!split_line(line, line_len, &owner, &owner_len, &start, &count) ||
        count == 0 || (uint64_t)start + count > (1ull << 32))
      continue;
    if (!owner_matches(owner, owner_len, name, id))
      continue;
    if (nv == USERNS_MAX_RANGES)
      return cb_fail(err, CB_ERR_UNSAFE, 0,
                     "more than %d subordinate id ranges", USERNS_MAX_RANGES);
    total += count;
    /* Container ids run from 0 to 2^32 - 2 ((uid_t)-1 is invalid).  */
    if (total > UINT32_MAX)
      return cb_fail(err, CB_ERR_UNSAFE, 0,
                     "subordinate id ranges add up to more than 2^32 - 1");
    CB_GROW(v, alloc, nv + 1);
    v[nv].start = start;
    v[nv].count = count;
    nv++;
  }
  *ranges = steal_ptr(&v);
  *n = nv;
  return 0;
}

int
userns_read_subid(const char *path, const char *name, uint32_t id,
                  struct userns_range **ranges, size_t *n,
                  struct cb_error **err)
{
  cleanup_free char *buf = NULL;
  cleanup_close int fd = -1;
  size_t len = 0;

  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0 && errno == ENOENT) {
    *ranges = NULL;
    *n = 0;
    return 0;
  }
  if (fd < 0)
    return cb_fail_errno(err, "cannot open '%s'", path);
  if (cb_read_all(fd, CB_MAX_SUBID_FILE, &buf, &len, err) < 0 ||
      userns_parse_subid(buf, len, name, id, ranges, n, err) < 0)
    return cb_wrap(err, "'%s'", path);
  return 0;
}

/* ---- the plan ------------------------------------------------------- */

/* NAME in PATH (or the usual directories when PATH is unset), as a new
   string, or NULL.  */
static char *
find_in_path(const char *name)
{
  const char *path = getenv("PATH");
  const char *p;

  if (path == NULL)
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (p = path;; p++) {
    const char *colon = strchr(p, ':');
    size_t dlen = colon != NULL ? (size_t)(colon - p) : strlen(p);
    struct stat st;

    /* An empty PATH entry means the working directory: never for a
       setuid helper.  */
    if (dlen > 0 && p[0] == '/') {
      cleanup_free char *full = cb_xasprintf("%.*s/%s", (int)dlen, p, name);

      if (stat(full, &st) == 0 && S_ISREG(st.st_mode) &&
          access(full, X_OK) == 0)
        return steal_ptr(&full);
    }
    if (colon == NULL)
      return NULL;
    p = colon;
  }
}

static char *
user_name(uid_t uid)
{
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  cleanup_free char *buf = NULL;
  struct passwd pw, *res = NULL;

  if (size <= 0 || size > 1 << 20)
    size = 16384;
  buf = cb_xmalloc((size_t)size);
  if (getpwuid_r(uid, &pw, buf, (size_t)size, &res) != 0 || res == NULL)
    return NULL;
  return cb_xstrdup(pw.pw_name);
}

/* Both files are keyed by the user (name or uid), never by the gid.  */
static int
plan_one(struct userns_idmap *m, const char *env, const char *file,
         const char *helper, const char *name, uint32_t id,
         struct cb_error **err)
{
  const char *path = getenv(env);

  if (path == NULL || *path == '\0')
    path = file;
  m->id = id;
  m->owner = (uint32_t)getuid();
  m->file = cb_xstrdup(path);
  if (userns_read_subid(path, name, m->owner, &m->ranges, &m->n_ranges, err) <
      0)
    return -1;
  m->helper = find_in_path(helper);
  if (m->n_ranges > 0 && m->helper != NULL) {
    m->mode = USERNS_MAP_HELPER;
    return 0;
  }
  if (m->n_ranges == 0)
    m->why_single = "no range";
  else
    m->why_single = m->helper == NULL && strcmp(helper, "newuidmap") == 0
                        ? "newuidmap not found"
                        : "newgidmap not found";
  m->mode = geteuid() == 0 ? USERNS_MAP_IDENTITY : USERNS_MAP_SINGLE;
  return 0;
}

int
userns_plan_init(struct userns_plan *plan, struct cb_error **err)
{
  cleanup_free char *name = user_name(getuid());

  memset(plan, 0, sizeof(*plan));
  if (plan_one(&plan->uid, "CBUILD_SUBUID_FILE", "/etc/subuid", "newuidmap",
               name, (uint32_t)getuid(), err) < 0 ||
      plan_one(&plan->gid, "CBUILD_SUBGID_FILE", "/etc/subgid", "newgidmap",
               name, (uint32_t)getgid(), err) < 0) {
    userns_plan_release(plan);
    return -1;
  }
  return 0;
}

void
userns_plan_release(struct userns_plan *plan)
{
  free(plan->uid.file);
  free(plan->gid.file);
  free(plan->uid.ranges);
  free(plan->uid.helper);
  free(plan->gid.ranges);
  free(plan->gid.helper);
  memset(plan, 0, sizeof(*plan));
}

bool
userns_plan_is_single(const struct userns_plan *plan)
{
  return plan->uid.mode == USERNS_MAP_SINGLE ||
         plan->gid.mode == USERNS_MAP_SINGLE;
}

static char *
describe_one(const struct userns_idmap *m, const char *kind, const char *helper)
{
  if (m->mode == USERNS_MAP_IDENTITY)
    return cb_xasprintf("identity mapping (root, %s)", m->why_single);
  if (m->mode == USERNS_MAP_SINGLE)
    return cb_xasprintf("single mapping (%s)", m->why_single);
  if (m->n_ranges == 1)
    return cb_xasprintf("sub%s range %u:%u via %s", kind, m->ranges[0].start,
                        m->ranges[0].count, helper);
  return cb_xasprintf("sub%s ranges %u:%u and %zu more via %s", kind,
                      m->ranges[0].start, m->ranges[0].count, m->n_ranges - 1,
                      helper);
}

char *
userns_plan_describe(const struct userns_plan *plan)
{
  cleanup_free char *u = describe_one(&plan->uid, "uid", "newuidmap");
  cleanup_free char *g = describe_one(&plan->gid, "gid", "newgidmap");

  /* "single mapping (no range)" once when uids and gids agree.  */
  if (plan->uid.mode != USERNS_MAP_HELPER && strcmp(u, g) == 0)
    return steal_ptr(&u);
  if (plan->uid.mode == USERNS_MAP_HELPER &&
      plan->gid.mode == USERNS_MAP_HELPER)
    return cb_xasprintf("%s, %s", u, g);
  return cb_xasprintf("uids: %s, gids: %s", u, g);
}

/* ---- child failure reports ------------------------------------------ */

/* What a child sends over its CLOEXEC pipe before _exit(127).  */
struct child_report {
  int errnum;
  char step[120];
};

/* Async-signal-safe: only strlen, memcpy and write.  */
static void
report_failure(int fd, const char *step, int errnum)
{
  struct child_report r;
  size_t len = strlen(step);

  memset(&r, 0, sizeof(r));
  r.errnum = errnum;
  if (len >= sizeof(r.step))
    len = sizeof(r.step) - 1;
  memcpy(r.step, step, len);
  while (write(fd, &r, sizeof(r)) < 0 && errno == EINTR)
    ;
}

/* Read a report from FD: 1 with *R filled, 0 at EOF (exec succeeded or
   the child exited without one).  */
static int
read_report(int fd, struct child_report *r)
{
  ssize_t n;

  do
    n = read(fd, r, sizeof(*r));
  while (n < 0 && errno == EINTR);
  if (n != (ssize_t)sizeof(*r))
    return 0;
  r->step[sizeof(r->step) - 1] = '\0';
  return 1;
}

int
userns_wait(pid_t pid, struct cb_error **err)
{
  int st;

  while (waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR)
      return cb_fail_errno(err, "wait for process %d", (int)pid);
  }
  if (WIFSIGNALED(st))
    return 128 + WTERMSIG(st);
  return WEXITSTATUS(st);
}

/* ---- newuidmap / newgidmap ------------------------------------------ */

/* Turn the helper's stderr into one line: newlines become "; ".  */
static void
one_line(char *s)
{
  size_t len = strlen(s);

  while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
    s[--len] = '\0';
  for (char *p = s; *p != '\0'; p++) {
    if (*p == '\n' || *p == '\r' || *p == '\t')
      *p = ' ';
  }
}

/* A helper started by helper_start, not waited for yet.  */
struct helper_run {
  pid_t pid;
  int out_r; /* its stderr */
  int rep_r; /* a failure to exec it */
};

static void
helper_run_release(struct helper_run *h)
{
  cb_closep(&h->out_r);
  cb_closep(&h->rep_r);
}

/* Start ARGV[0] with ARGV (fork + execve), its stderr going to a pipe
   that helper_finish reads.  */
static int
helper_start(char **argv, const char *what, struct helper_run *h,
             struct cb_error **err)
{
  cleanup_close int out_w = -1, rep_w = -1;
  int fds[2];

  h->pid = -1;
  h->out_r = h->rep_r = -1;
  if (pipe2(fds, O_CLOEXEC) < 0)
    return cb_fail_errno(err, "%s: pipe", what);
  h->out_r = fds[0];
  out_w = fds[1];
  if (pipe2(fds, O_CLOEXEC) < 0)
    return cb_fail_errno(err, "%s: pipe", what);
  h->rep_r = fds[0];
  rep_w = fds[1];
  h->pid = fork();
  if (h->pid < 0)
    return cb_fail_errno(err, "%s: fork", what);
  if (h->pid == 0) {
    /* dup2 clears CLOEXEC on fd 2 only.  */
    if (dup2(out_w, STDERR_FILENO) < 0) {
      report_failure(rep_w, "dup2", errno);
      _exit(127);
    }
    execve(argv[0], argv, environ);
    report_failure(rep_w, "execve", errno);
    _exit(127);
  }
  return 0;
}

/* Wait for the helper H started as ARGV; its stderr (up to 1 KiB) goes
   into the error message when it fails.  Releases H.  */
static int
helper_finish(char **argv, const char *what, struct helper_run *h,
              struct cb_error **err)
{
  char msg[1024];
  size_t got = 0;
  struct child_report r;
  int rc;

  for (;;) {
    ssize_t n = read(h->out_r, msg + got, sizeof(msg) - 1 - got);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
    if (got == sizeof(msg) - 1)
      break;
  }
  msg[got] = '\0';
  cb_closep(&h->out_r); /* a helper that writes more gets EPIPE, not stuck */
  rc = read_report(h->rep_r, &r);
  helper_run_release(h);
  if (rc) {
    (void)userns_wait(h->pid, NULL);
    return cb_fail(err, CB_ERR_SYSTEM, r.errnum, "%s: %s '%s'", what, r.step,
                   argv[0]);
  }
  rc = userns_wait(h->pid, err);
  if (rc < 0)
    return cb_wrap(err, "%s", what);
  if (rc != 0) {
    one_line(msg);
    return cb_fail(err, CB_ERR_SYSTEM, 0, "%s: exit %d%s%s", what, rc,
                   msg[0] != '\0' ? ": " : "", msg);
  }
  return 0;
}

/* The argv of M's helper for the namespace of PID: helper PID 0 ID 1,
   then "INSIDE START COUNT" per range.  */
static char **
helper_argv(pid_t pid, const struct userns_idmap *m)
{
  size_t argc = 5 + 3 * m->n_ranges;
  char **argv = cb_xcalloc(argc + 1, sizeof(char *));
  uint64_t inside = 1;
  size_t i = 0;

  argv[i++] = cb_xstrdup(m->helper);
  argv[i++] = cb_xasprintf("%d", (int)pid);
  argv[i++] = cb_xstrdup("0");
  argv[i++] = cb_xasprintf("%u", m->id);
  argv[i++] = cb_xstrdup("1");
  for (size_t k = 0; k < m->n_ranges; k++) {
    argv[i++] = cb_xasprintf("%llu", (unsigned long long)inside);
    argv[i++] = cb_xasprintf("%u", m->ranges[k].start);
    argv[i++] = cb_xasprintf("%u", m->ranges[k].count);
    inside += m->ranges[k].count; /* bounded by userns_parse_subid */
  }
  return argv;
}

/* newuidmap and newgidmap side by side: each is an exec of a setuid
   program, a good part of the cost of entering the namespace.  */
static int
map_both_with_helpers(pid_t pid, const struct userns_plan *plan,
                      struct cb_error **err)
{
  cleanup_strv char **uargv = helper_argv(pid, &plan->uid);
  cleanup_strv char **gargv = helper_argv(pid, &plan->gid);
  struct helper_run u, g;
  int rc;

  if (helper_start(uargv, "newuidmap", &u, err) < 0) {
    helper_run_release(&u);
    return -1;
  }
  if (helper_start(gargv, "newgidmap", &g, err) < 0) {
    helper_run_release(&g);
    (void)helper_finish(uargv, "newuidmap", &u, NULL);
    return -1;
  }
  rc = helper_finish(uargv, "newuidmap", &u, err);
  if (rc < 0) {
    (void)helper_finish(gargv, "newgidmap", &g, NULL);
    return -1;
  }
  return helper_finish(gargv, "newgidmap", &g, err);
}

static int
map_with_helper(pid_t pid, const struct userns_idmap *m, const char *what,
                struct cb_error **err)
{
  cleanup_strv char **argv = helper_argv(pid, m);
  struct helper_run h;

  if (helper_start(argv, what, &h, err) < 0) {
    helper_run_release(&h);
    return -1;
  }
  return helper_finish(argv, what, &h, err);
}

/* Write TEXT to /proc/PID/NAME in one write(2), as the kernel wants for
   the map files.  */
static int
write_proc(pid_t pid, const char *name, const char *text, struct cb_error **err)
{
  cleanup_free char *path = cb_xasprintf("/proc/%d/%s", (int)pid, name);
  cleanup_close int fd = -1;
  size_t len = strlen(text);
  ssize_t n;

  fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return cb_fail_errno(err, "cannot open '%s'", path);
  n = write(fd, text, len);
  if (n < 0)
    return cb_fail_errno(err, "write '%s'", path);
  if ((size_t)n != len)
    return cb_fail(err, CB_ERR_SYSTEM, EIO, "short write to '%s'", path);
  return 0;
}

/* Every id of our own namespace mapped to itself: "0 0 4294967295" in
   the initial namespace, and only the ids we have when cbuild runs as
   root inside another user namespace.  Returns the text for the map
   file (owned by the caller).  */
static char *
identity_map(const char *self_map, struct cb_error **err)
{
  cleanup_free char *map = NULL;
  struct cb_buf out = CB_BUF_INIT;
  size_t len = 0;
  const char *p;

  if (cb_read_file_at(AT_FDCWD, self_map, 64 * 1024, &map, &len, err) < 0)
    return NULL;
  for (p = map; *p != '\0';) {
    unsigned long inside, outside, count;
    int used = 0;

    if (sscanf(p, " %lu %lu %lu%n", &inside, &outside, &count, &used) != 3)
      break;
    cb_buf_addf(&out, "%lu %lu %lu\n", inside, inside, count);
    p += used;
  }
  if (out.len == 0) {
    cb_buf_release(&out);
    return cb_fail_null(err, CB_ERR_SYSTEM, 0, "'%s' maps no ids", self_map);
  }
  return cb_buf_detach(&out, NULL);
}

static int
map_one(pid_t pid, const struct userns_idmap *m, bool is_uid,
        struct cb_error **err)
{
  const char *file = is_uid ? "uid_map" : "gid_map";
  cleanup_free char *line = NULL;

  switch (m->mode) {
  case USERNS_MAP_HELPER:
    return map_with_helper(pid, m, is_uid ? "newuidmap" : "newgidmap", err);
  case USERNS_MAP_IDENTITY:
    line =
        identity_map(is_uid ? "/proc/self/uid_map" : "/proc/self/gid_map", err);
    if (line == NULL)
      return -1;
    return write_proc(pid, file, line, err);
  case USERNS_MAP_SINGLE:
    /* Without privilege the kernel takes a gid map only once setgroups(2)
       is disabled for the namespace (user_namespaces(7)).  */
    if (!is_uid && write_proc(pid, "setgroups", "deny\n", err) < 0)
      return -1;
    line = cb_xasprintf("0 %u 1\n", m->id);
    return write_proc(pid, file, line, err);
  }
  return cb_fail(err, CB_ERR_SYSTEM, EINVAL, "no id mapping planned");
}

/* Both maps of the namespace of PID, as PLAN says.  */
static int
map_ids(pid_t pid, const struct userns_plan *plan, struct cb_error **err)
{
  if (plan->uid.mode == USERNS_MAP_HELPER &&
      plan->gid.mode == USERNS_MAP_HELPER)
    return map_both_with_helpers(pid, plan, err);
  if (map_one(pid, &plan->uid, true, err) < 0 ||
      map_one(pid, &plan->gid, false, err) < 0)
    return -1;
  return 0;
}

/* ---- spawning ------------------------------------------------------- */

static void __attribute__((noreturn))
child_main(int sync_fd, int rep_fd, userns_child_fn fn, void *data)
{
  const char *step = "wait for the id maps";
  char c;
  ssize_t n;
  int rc;

  /* The raw clone gave us a copy of the parent: no locks, no atfork
     handlers, so from here on only async-signal-safe calls.  */
  do
    n = read(sync_fd, &c, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1)
    _exit(127); /* the parent failed and reports why */
  close(sync_fd);
  /* Do not outlive the cbuild that waits for us.  */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
    step = "prctl PR_SET_PDEATHSIG";
    goto fail;
  }
  rc = fn(data, &step);
  if (rc >= 0)
    _exit(rc);
fail:
  report_failure(rep_fd, step, errno);
  _exit(127);
}

/* The two pipes of the parent-child handshake: SYNC (the parent's "maps
   written") and REP (the child's failure report).  */
static int
handshake_pipes(int *sync_r, int *sync_w, int *rep_r, int *rep_w,
                struct cb_error **err)
{
  int fds[2];

  if (pipe2(fds, O_CLOEXEC) < 0)
    return cb_fail_errno(err, "pipe");
  *sync_r = fds[0];
  *sync_w = fds[1];
  if (pipe2(fds, O_CLOEXEC) < 0)
    return cb_fail_errno(err, "pipe");
  *rep_r = fds[0];
  *rep_w = fds[1];
  return 0;
}

pid_t
userns_spawn(const struct userns_plan *plan, int extra_flags,
             userns_child_fn fn, void *data, struct cb_error **err)
{
  cleanup_close int sync_r = -1, sync_w = -1, rep_r = -1, rep_w = -1;
  struct child_report r;
  long pid;

  if (handshake_pipes(&sync_r, &sync_w, &rep_r, &rep_w, err) < 0)
    return -1;
  fflush(NULL); /* the child must not flush our buffers again */
  /* clone rather than fork + unshare: the child is in the namespace from
     its first instruction, so one pipe is enough for the handshake, and
     it works from a multi-threaded process.  With a NULL stack it
     behaves like fork on every architecture.  */
  pid =
      syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | extra_flags | SIGCHLD),
              NULL, NULL, NULL, NULL);
  if (pid < 0)
    return cb_fail_errno(err, "clone (new user namespace)");
  if (pid == 0) {
    close(sync_w);
    close(rep_r);
    child_main(sync_r, rep_w, fn, data);
  }
  cb_closep(&sync_r);
  cb_closep(&rep_w);
  if (map_ids((pid_t)pid, plan, err) < 0) {
    cb_closep(&sync_w); /* the child reads EOF and exits */
    (void)userns_wait((pid_t)pid, NULL);
    return -1;
  }
  if (write(sync_w, "1", 1) != 1) {
    int e = errno;

    kill((pid_t)pid, SIGKILL);
    (void)userns_wait((pid_t)pid, NULL);
    return cb_fail(err, CB_ERR_SYSTEM, e, "start the namespace child");
  }
  cb_closep(&sync_w);
  if (read_report(rep_r, &r)) {
    (void)userns_wait((pid_t)pid, NULL);
    return cb_fail(err, CB_ERR_SYSTEM, r.errnum, "%s", r.step);
  }
  return (pid_t)pid;
}

/* ---- entering without exec ----------------------------------------- */

/* The number of threads of this process (field 20 of /proc/self/stat),
   or -1 when it cannot be read.  */
static long
thread_count(void)
{
  cleanup_free char *stat = NULL;
  size_t len = 0;
  const char *p;
  int field = 2; /* the one ending at the last ')' */

  if (cb_read_file_at(AT_FDCWD, "/proc/self/stat", 4096, &stat, &len, NULL) < 0)
    return -1;
  p = strrchr(stat, ')');
  while (p != NULL && field < 20) {
    p = strchr(p + 1, ' ');
    field++;
  }
  if (p == NULL)
    return -1;
  return strtol(p + 1, NULL, 10);
}

/* Why the namespace must be entered by re-executing cbuild, or NULL when
   a fork is enough.  The forked child goes on with the command, so the
   process must have a single thread: another one's locks (the
   allocator's, a library's) would be copied held.  */
static const char *
exec_reason(void)
{
  const char *force = getenv(USERNS_ENV_EXEC);

  if (force != NULL && strcmp(force, "1") == 0)
    return USERNS_ENV_EXEC "=1";
  if (thread_count() != 1)
    return "more than one thread";
  return NULL;
}

/* NAME=VALUE into the environment (a copy).  */
static int
put_env(const char *entry)
{
  const char *eq = strchr(entry, '=');
  cleanup_free char *name = NULL;

  if (eq == NULL || eq == entry) {
    errno = EINVAL;
    return -1;
  }
  name = cb_xasprintf("%.*s", (int)(eq - entry), entry);
  return setenv(name, eq + 1, 1);
}

/* The forked child, before it carries on: the environment it would have
   had after an exec, a namespace of its own, the word to the parent
   (over REP_FD: errnum 0, or what failed) and the parent's word back
   (over SYNC_FD) once the maps are written.  Returns only on success.  */
static void
fork_child(int sync_fd, int rep_fd, pid_t parent, char *const *env_extra)
{
  const char *step = "set the environment";
  char c;
  ssize_t n;

  if (setenv(USERNS_ENV_MARKER, "1", 1) < 0)
    goto fail;
  for (size_t i = 0; env_extra != NULL && env_extra[i] != NULL; i++) {
    if (put_env(env_extra[i]) < 0)
      goto fail;
  }
  step = "unshare (new user namespace)";
  if (unshare(CLONE_NEWUSER) < 0)
    goto fail;
  report_failure(rep_fd, "", 0);
  do
    n = read(sync_fd, &c, 1);
  while (n < 0 && errno == EINTR);
  /* EOF: the parent failed and reports why.  Do not outlive the cbuild
     that waits for us either.  */
  if (n != 1 || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
      getppid() != parent)
    _exit(127);
  return;
fail:
  report_failure(rep_fd, step, errno);
  _exit(127);
}

/* Fork a child that enters a new user namespace mapped as PLAN says, with
   the marker and ENV_EXTRA in its environment, and goes on from here.
   Returns its pid in the parent, 0 in the child, -1 on error.  */
static pid_t
fork_in(const struct userns_plan *plan, char *const *env_extra,
        struct cb_error **err)
{
  cleanup_close int sync_r = -1, sync_w = -1, rep_r = -1, rep_w = -1;
  struct child_report r;
  pid_t parent = getpid();
  pid_t pid;

  if (handshake_pipes(&sync_r, &sync_w, &rep_r, &rep_w, err) < 0)
    return -1;
  fflush(NULL); /* the child must not write our buffers again */
  /* fork (not a raw clone) runs the atfork handlers and gives the child
     its own thread id in libc, as it carries on with everything.  */
  pid = fork();
  if (pid < 0)
    return cb_fail_errno(err, "fork");
  if (pid == 0) {
    cb_closep(&sync_w);
    cb_closep(&rep_r);
    fork_child(sync_r, rep_w, parent, env_extra);
    return 0; /* the cleanups close the pipes */
  }
  cb_closep(&sync_r);
  cb_closep(&rep_w);
  if (!read_report(rep_r, &r)) {
    (void)userns_wait(pid, NULL);
    return cb_fail(err, CB_ERR_SYSTEM, 0, "the namespace child exited");
  }
  if (r.errnum != 0) {
    (void)userns_wait(pid, NULL);
    return cb_fail(err, CB_ERR_SYSTEM, r.errnum, "%s", r.step);
  }
  if (map_ids(pid, plan, err) < 0) {
    cb_closep(&sync_w); /* the child reads EOF and exits */
    (void)userns_wait(pid, NULL);
    return -1;
  }
  if (write(sync_w, "1", 1) != 1) {
    int e = errno;

    kill(pid, SIGKILL);
    (void)userns_wait(pid, NULL);
    return cb_fail(err, CB_ERR_SYSTEM, e, "start the namespace child");
  }
  return pid;
}

/* ---- re-executing cbuild -------------------------------------------- */

struct exec_args {
  const char *path;
  char **argv;
  char **envp;
};

static int
exec_child(void *data, const char **step)
{
  const struct exec_args *a = data;

  execve(a->path, a->argv, a->envp);
  *step = "execute /proc/self/exe";
  return -1;
}

/* environ without any marker, plus MARKER=1 and EXTRA (may be NULL); the
   strings are borrowed.  */
static char **
env_with_marker(char *const *extra)
{
  size_t n = cb_strv_len(environ), j = 0;
  size_t nx = extra != NULL ? cb_strv_len(extra) : 0;
  size_t mlen = strlen(USERNS_ENV_MARKER);
  char **envp = cb_xcalloc(n + nx + 2, sizeof(char *));

  for (size_t i = 0; i < n; i++) {
    if (strncmp(environ[i], USERNS_ENV_MARKER, mlen) == 0 &&
        environ[i][mlen] == '=')
      continue;
    envp[j++] = environ[i];
  }
  for (size_t i = 0; i < nx; i++)
    envp[j++] = extra[i];
  envp[j] = (char *)USERNS_ENV_MARKER "=1";
  return envp;
}

static volatile sig_atomic_t forward_pid;

static void
forward_signal(int sig)
{
  if (forward_pid > 0)
    kill((pid_t)forward_pid, sig);
}

bool
userns_is_inside(void)
{
  const char *marker = getenv(USERNS_ENV_MARKER);

  return marker != NULL && strcmp(marker, "1") == 0;
}

int
userns_reexec_serve(char **argv, char *const *env_extra, userns_parent_fn fn,
                    void *data, int *status, struct cb_error **err)
{
  cleanup_free char **envp = NULL;
  struct userns_plan plan;
  struct sigaction fwd, ign, old[4];
  static const int sigs[4] = { SIGTERM, SIGHUP, SIGINT, SIGQUIT };
  struct cb_error *fn_err = NULL;
  struct exec_args args;
  const char *why_exec;
  pid_t pid;
  int rc;

  if (userns_is_inside())
    return 0;
  if (userns_plan_init(&plan, err) < 0)
    return -1;
  if (userns_plan_is_single(&plan))
    cb_log(CB_LOG_WARN,
           "no subordinate id range for this user (or no "
           "newuidmap/newgidmap): using a single id mapping; ownership "
           "other than root is recorded, not applied");
  why_exec = exec_reason();
  if (why_exec == NULL) {
    pid = fork_in(&plan, env_extra, err);
  } else {
    cb_log(CB_LOG_DEBUG, "user namespace: entering by exec (%s)", why_exec);
    envp = env_with_marker(env_extra);
    args.path = "/proc/self/exe";
    args.argv = argv;
    args.envp = envp;
    pid = userns_spawn(&plan, 0, exec_child, &args, err);
  }
  userns_plan_release(&plan);
  if (pid < 0)
    return cb_wrap(err, "user namespace");
  if (pid == 0) {
    cb_log(CB_LOG_DEBUG, "user namespace: entered without exec");
    return 0;
  }
  /* The terminal sends SIGINT and SIGQUIT to the child too; other
     signals aimed at us are passed on.  */
  memset(&fwd, 0, sizeof(fwd));
  fwd.sa_handler = forward_signal;
  sigemptyset(&fwd.sa_mask);
  memset(&ign, 0, sizeof(ign));
  ign.sa_handler = SIG_IGN;
  forward_pid = pid;
  for (size_t i = 0; i < CB_N_ELEMENTS(sigs); i++)
    sigaction(sigs[i], i < 2 ? &fwd : &ign, &old[i]);
  if (fn != NULL && fn(data, pid, &fn_err) < 0 && fn_err == NULL)
    cb_fail(&fn_err, CB_ERR_SYSTEM, 0, "the parent side of the child failed");
  rc = userns_wait(pid, err);
  forward_pid = 0;
  for (size_t i = 0; i < CB_N_ELEMENTS(sigs); i++)
    sigaction(sigs[i], &old[i], NULL);
  if (fn_err != NULL) {
    cb_error_free(rc < 0 ? *err : NULL);
    *err = fn_err;
    return -1;
  }
  if (rc < 0)
    return -1;
  *status = rc;
  return 1;
}

int
userns_reexec(char **argv, int *status, struct cb_error **err)
{
  return userns_reexec_serve(argv, NULL, NULL, NULL, status, err);
}
