#include "config.h"

#include "builder/scan.h"
#include "builder/scan-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "builder/userns.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/mem.h"
#include "layers/archive.h"
#include "common/banned.h"

extern char **environ;

/* ---- configuration --------------------------------------------------- */

void
scan_config_init(struct scan_config *c)
{
  memset(c, 0, sizeof(*c));
  c->timeout_ms = SCAN_DEFAULT_TIMEOUT_MS;
}

void
scan_config_release(struct scan_config *c)
{
  cb_strv_free(c->cmds);
  cb_strv_free(c->keep_env);
  free(c->report_type);
  memset(c, 0, sizeof(*c));
}

int
scan_parse_duration(const char *s, int64_t *ms, struct cb_error **err)
{
  static const struct {
    char unit;
    int64_t ms;
  } units[] = { { 's', 1000 }, { 'm', 60 * 1000 }, { 'h', 3600 * 1000 } };
  int64_t n = 0, mult = 1000;
  const char *p = s;

  for (; *p >= '0' && *p <= '9'; p++) {
    n = n * 10 + (*p - '0');
    if (n > 86400)
      return cb_fail(err, CB_ERR_USAGE, 0, "duration '%s' is over a day", s);
  }
  if (p == s)
    goto bad;
  if (*p != '\0') {
    size_t i;

    for (i = 0; i < CB_N_ELEMENTS(units) && units[i].unit != *p; i++)
      ;
    if (i == CB_N_ELEMENTS(units) || p[1] != '\0')
      goto bad;
    mult = units[i].ms;
  }
  if (n == 0)
    goto bad;
  if (n * mult > 86400 * 1000)
    return cb_fail(err, CB_ERR_USAGE, 0, "duration '%s' is over a day", s);
  *ms = n * mult;
  return 0;
bad:
  return cb_fail(err, CB_ERR_USAGE, 0,
                 "bad duration '%s' (a positive number, with s, m or h)", s);
}

/* RFC 6838 restricted-name: alphanumeric first, then these too.  */
static size_t
restricted_name(const char *s)
{
  size_t n = 0;

  if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
        (s[0] >= '0' && s[0] <= '9')))
    return 0;
  while (s[n] != '\0' && s[n] != '/' &&
         ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
          (s[n] >= '0' && s[n] <= '9') || strchr("!#$&-^_.+", s[n]) != NULL))
    n++;
  return n <= 127 ? n : 0;
}

int
scan_check_media_type(const char *s, struct cb_error **err)
{
  size_t a = restricted_name(s), b;

  if (a == 0 || s[a] != '/')
    goto bad;
  b = restricted_name(s + a + 1);
  if (b == 0 || s[a + 1 + b] != '\0')
    goto bad;
  return 0;
bad:
  return cb_fail(err, CB_ERR_USAGE, 0,
                 "'%.80s' is not a media type "
                 "(TYPE/SUBTYPE)",
                 s);
}

static bool
valid_env_name(const char *s)
{
  if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
    return false;
  for (; *s != '\0'; s++) {
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
          (*s >= '0' && *s <= '9') || *s == '_'))
      return false;
  }
  return true;
}

int
scan_config_set(struct scan_config *c, const char *key, const char *value,
                struct cb_error **err)
{
  if (strcmp(key, "scan") == 0) {
    if (value[strspn(value, " \t")] == '\0')
      return cb_fail(err, CB_ERR_USAGE, 0, "scan: empty command");
    cb_strv_push(&c->cmds, &c->ncmds, cb_xstrdup(value));
    return 0;
  }
  if (strcmp(key, "scan-timeout") == 0)
    return scan_parse_duration(value, &c->timeout_ms, err) < 0
               ? cb_wrap(err, "scan-timeout")
               : 0;
  if (strcmp(key, "scan-report-type") == 0) {
    if (scan_check_media_type(value, err) < 0)
      return cb_wrap(err, "scan-report-type");
    free(c->report_type);
    c->report_type = cb_xstrdup(value);
    return 0;
  }
  if (strcmp(key, "scan-env") == 0) {
    if (!valid_env_name(value))
      return cb_fail(err, CB_ERR_USAGE, 0,
                     "scan-env: '%.80s' is not a variable name", value);
    cb_strv_push(&c->keep_env, &c->nkeep, cb_xstrdup(value));
    return 0;
  }
  return cb_fail(err, CB_ERR_USAGE, 0,
                 "unknown key '%.80s' (scan, "
                 "scan-timeout, scan-report-type, scan-env)",
                 key);
}

/* S[0..LEN) without blanks at either end.  */
static char *
trimmed(const char *s, size_t len)
{
  while (len > 0 && (*s == ' ' || *s == '\t')) {
    s++;
    len--;
  }
  while (len > 0 &&
         (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
    len--;
  return cb_xstrndup(s, len);
}

static int
parse_line(struct scan_config *c, const char *line, size_t len,
           const char *file, unsigned lineno, struct cb_error **err)
{
  cleanup_free char *text = trimmed(line, len);
  cleanup_free char *key = NULL;
  cleanup_free char *value = NULL;
  struct cb_error *inner = NULL;
  char *eq;

  if (memchr(line, '\0', len) != NULL)
    return cb_fail(err, CB_ERR_PARSE, 0, "%s:%u: NUL byte", file, lineno);
  if (text[0] == '\0' || text[0] == '#')
    return 0;
  eq = strchr(text, '=');
  if (eq == NULL || eq == text)
    return cb_fail(err, CB_ERR_PARSE, 0, "%s:%u: expected KEY = VALUE", file,
                   lineno);
  key = trimmed(text, (size_t)(eq - text));
  value = trimmed(eq + 1, strlen(eq + 1));
  if (scan_config_set(c, key, value, &inner) < 0) {
    cb_fail(err, CB_ERR_PARSE, 0, "%s:%u: %s", file, lineno, inner->msg);
    cb_error_free(inner);
    return -1;
  }
  return 0;
}

int
scan_config_parse(struct scan_config *c, const char *text, size_t len,
                  const char *file, struct cb_error **err)
{
  unsigned lineno = 0;
  size_t pos = 0;

  while (pos < len) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t n = nl != NULL ? (size_t)(nl - text - pos) : len - pos;

    if (parse_line(c, text + pos, n, file, ++lineno, err) < 0)
      return -1;
    pos += n + 1;
  }
  return 0;
}

/* The user's file, else the system's: a new path, or NULL when neither
   exists.  */
static int
find_config(char **path, struct cb_error **err)
{
  const char *xdg = getenv("XDG_CONFIG_HOME");
  const char *home = getenv("HOME");
  cleanup_free char *user = NULL;
  struct stat st;

  if (xdg != NULL && xdg[0] == '/')
    user = cb_xasprintf("%s/cbuild/cbuild.conf", xdg);
  else if (home != NULL && home[0] == '/')
    user = cb_xasprintf("%s/.config/cbuild/cbuild.conf", home);
  if (user != NULL && stat(user, &st) == 0) {
    *path = steal_ptr(&user);
    return 0;
  }
  if (user != NULL && errno != ENOENT && errno != ENOTDIR)
    return cb_fail_errno(err, "cannot read '%s'", user);
  *path = stat("/etc/cbuild/cbuild.conf", &st) == 0
              ? cb_xstrdup("/etc/cbuild/cbuild.conf")
              : NULL;
  return 0;
}

int
scan_config_load(struct scan_config *c, struct cb_error **err)
{
  const char *env = getenv("CBUILD_SCAN");
  cleanup_free char *path = NULL;
  cleanup_free char *buf = NULL;
  size_t len = 0;

  if (find_config(&path, err) < 0)
    return -1;
  if (path != NULL &&
      (cb_read_file_at(AT_FDCWD, path, SCAN_MAX_CONFIG, &buf, &len, err) < 0 ||
       scan_config_parse(c, buf, len, path, err) < 0))
    return -1;
  for (const char *p = env; p != NULL && *p != '\0';) {
    const char *nl = strchr(p, '\n');
    size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
    cleanup_free char *cmd = trimmed(p, n);

    if (cmd[0] != '\0')
      cb_strv_push(&c->cmds, &c->ncmds, cb_xstrdup(cmd));
    p = nl != NULL ? nl + 1 : NULL;
  }
  return 0;
}

/* ---- the scanner's command and environment --------------------------- */

char *
scan_expand(const char *cmd, const char *archive)
{
  size_t alen = strlen(archive), n = strlen(cmd) + 1;
  char *out, *o;

  for (const char *p = strstr(cmd, "{}"); p != NULL; p = strstr(p + 2, "{}"))
    n += alen;
  out = o = cb_xmalloc(n);
  for (const char *p = cmd; *p != '\0';) {
    if (p[0] == '{' && p[1] == '}') {
      memcpy(o, archive, alen);
      o += alen;
      p += 2;
    } else {
      *o++ = *p++;
    }
  }
  *o = '\0';
  return out;
}

bool
scan_name_is_secret(const char *name)
{
  static const char *const parts[] = {
    "PASSWORD", "PASSWD", "TOKEN",      "SECRET",     "CREDENTIAL",
    "API_KEY",  "APIKEY", "ACCESS_KEY", "PRIVATE_KEY"
  };
  size_t len = strlen(name);

  for (size_t i = 0; i < CB_N_ELEMENTS(parts); i++)
    if (strcasestr(name, parts[i]) != NULL)
      return true;
  return (len >= 5 && strcasecmp(name + len - 5, "_AUTH") == 0) ||
         strcasecmp(name, "DOCKER_AUTH_CONFIG") == 0;
}

static bool
own_variable(const char *name)
{
  return strncmp(name, "CBUILD_IMAGE_", 13) == 0 ||
         strcmp(name, "CBUILD_REPORT") == 0 ||
         strcmp(name, USERNS_ENV_MARKER) == 0;
}

static bool
is_secret_value(const char *value, const struct build_secrets *secrets)
{
  size_t len = strlen(value);

  for (size_t i = 0; secrets != NULL && i < secrets->n; i++) {
    const struct build_secret *s = &secrets->v[i];

    if (s->len > 0 && s->len == len && memcmp(s->data, value, len) == 0)
      return true;
  }
  return false;
}

static bool
kept(const struct scan_config *c, const char *name)
{
  for (size_t i = 0; i < c->nkeep; i++)
    if (strcmp(c->keep_env[i], name) == 0)
      return true;
  return false;
}

char **
scan_env_new(char *const *env, const struct scan_config *c,
             const struct build_secrets *secrets, char *const *add)
{
  size_t n = cb_strv_len(env), na = cb_strv_len(add), j = 0;
  char **out = cb_xcalloc(n + na + 1, sizeof(*out));

  for (size_t i = 0; i < n; i++) {
    const char *eq = strchr(env[i], '=');
    cleanup_free char *name = NULL;

    if (eq == NULL)
      continue;
    name = cb_xstrndup(env[i], (size_t)(eq - env[i]));
    if (own_variable(name) || is_secret_value(eq + 1, secrets) ||
        (scan_name_is_secret(name) && !kept(c, name)))
      continue;
    out[j++] = cb_xstrdup(env[i]);
  }
  for (size_t i = 0; i < na; i++)
    out[j++] = cb_xstrdup(add[i]);
  return out;
}

/* ---- running a scanner ----------------------------------------------- */

static volatile sig_atomic_t stop_signal;

static void
on_stop_signal(int sig)
{
  stop_signal = sig;
}

static const int stop_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static int64_t
now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the forked child: only async-signal-safe calls.  */
static void __attribute__((noreturn))
exec_scanner(char *const *argv, char *const *envp, int devnull)
{
  struct sigaction dfl;
  sigset_t none;

  /* Its own process group, so that a timeout can kill all it started;
     signal dispositions and mask as a fresh process has them (cbuild's
     parent ignores SIGINT while its namespace child runs).  */
  setpgid(0, 0);
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (size_t i = 0; i < CB_N_ELEMENTS(stop_sigs); i++)
    sigaction(stop_sigs[i], &dfl, NULL);
  sigaction(SIGPIPE, &dfl, NULL);
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (dup2(devnull, STDIN_FILENO) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
    _exit(127);
  execve(argv[0], argv, envp);
  _exit(127);
}

/* Wait until PID has exited (not reaping it), the deadline passes, or a
   stop signal arrives.  Returns 0 when it exited, 1 at the deadline, 2
   on a signal.  */
static int
wait_exit(pid_t pid, int pidfd, int64_t deadline)
{
  for (;;) {
    siginfo_t si;
    int64_t left = deadline - now_ms();
    struct pollfd pfd = { pidfd, POLLIN, 0 };
    int wait_ms;

    if (stop_signal != 0)
      return 2;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        si.si_pid == pid)
      return 0;
    if (left <= 0)
      return 1;
    /* Without a pidfd (kernel < 5.3), look again every 50 ms.  */
    wait_ms = pidfd >= 0 ? (left > 60000 ? 60000 : (int)left)
                         : (left > 50 ? 50 : (int)left);
    (void)poll(&pfd, pidfd >= 0 ? 1 : 0, wait_ms);
  }
}

int
scan_exec(const char *cmd, char *const *envp, int64_t timeout_ms,
          struct scan_exit *ex, struct cb_error **err)
{
  char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)cmd, NULL };
  cleanup_close int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  cleanup_close int pidfd = -1;
  struct sigaction on_stop, old[CB_N_ELEMENTS(stop_sigs)];
  int64_t deadline = now_ms() + timeout_ms;
  int st = 0, why;
  pid_t pid;

  if (devnull < 0)
    return cb_fail_errno(err, "open /dev/null");
  memset(ex, 0, sizeof(*ex));
  stop_signal = 0;
  memset(&on_stop, 0, sizeof(on_stop));
  on_stop.sa_handler = on_stop_signal;
  sigemptyset(&on_stop.sa_mask);
  for (size_t i = 0; i < CB_N_ELEMENTS(stop_sigs); i++)
    sigaction(stop_sigs[i], &on_stop, &old[i]);
  fflush(NULL);
  pid = fork();
  if (pid == 0)
    exec_scanner(argv, envp, devnull);
  if (pid < 0) {
    for (size_t i = 0; i < CB_N_ELEMENTS(stop_sigs); i++)
      sigaction(stop_sigs[i], &old[i], NULL);
    return cb_fail_errno(err, "fork");
  }
  setpgid(pid, pid); /* as the child does: whichever runs first */
  pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  why = wait_exit(pid, pidfd, deadline);
  /* The shell is a zombie or still running: its pid, and so the group's
     id, cannot have been reused yet.  */
  kill(-pid, SIGKILL);
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  for (size_t i = 0; i < CB_N_ELEMENTS(stop_sigs); i++)
    sigaction(stop_sigs[i], &old[i], NULL);
  ex->timed_out = why == 1;
  ex->interrupted = why == 2 ? (int)stop_signal : 0;
  if (WIFSIGNALED(st))
    ex->signal = WTERMSIG(st);
  else
    ex->code = WEXITSTATUS(st);
  return 0;
}

/* ---- the scan -------------------------------------------------------- */

/* The command for messages: one line, cut at 200 characters.  */
static char *
label(const char *cmd)
{
  size_t len = strlen(cmd);
  char *s = cb_xasprintf("%.200s%s", cmd, len > 200 ? "..." : "");

  for (char *p = s; *p != '\0'; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
  return s;
}

static char *
format_duration(int64_t ms)
{
  if (ms % 3600000 == 0)
    return cb_xasprintf("%lldh", (long long)(ms / 3600000));
  if (ms % 60000 == 0)
    return cb_xasprintf("%lldm", (long long)(ms / 60000));
  if (ms % 1000 == 0)
    return cb_xasprintf("%llds", (long long)(ms / 1000));
  return cb_xasprintf("%lldms", (long long)ms);
}

/* A directory of our own under $TMPDIR, or /tmp when $TMPDIR is unset or
   has characters a shell would read differently ("{}" is replaced by a
   path in it without quoting).  */
static char *
private_dir(struct cb_error **err)
{
  const char *tmp = getenv("TMPDIR");
  char *dir;

  if (tmp == NULL || tmp[0] != '/' ||
      tmp[strspn(tmp, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789/._+-")] != '\0' ||
      strlen(tmp) > 1024)
    tmp = "/tmp";
  dir = cb_xasprintf("%s/cbuild-scan-XXXXXX", tmp);
  if (mkdtemp(dir) == NULL) {
    cb_fail_errno(err, "cannot create a directory in '%s'", tmp);
    free(dir);
    return NULL;
  }
  return dir;
}

static bool
has_report(const char *path)
{
  struct stat st;

  return lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

/* What a failed scanner gets said about it.  */
static int
scanner_failed(const char *cmd, const struct scan_exit *ex, int64_t timeout,
               const char *report, struct cb_error **err)
{
  cleanup_free char *what = label(cmd);
  cleanup_free char *how = NULL;
  cleanup_free char *d = format_duration(timeout);
  cleanup_free char *rep = has_report(report)
                               ? cb_xasprintf("report: %s", report)
                               : cb_xstrdup("no report");

  if (ex->interrupted)
    how = cb_xasprintf("was stopped by signal %d to cbuild", ex->interrupted);
  else if (ex->timed_out)
    how = cb_xasprintf("was killed after %s (--scan-timeout)", d);
  else if (ex->signal != 0)
    how = cb_xasprintf("was killed by signal %d", ex->signal);
  else
    how = cb_xasprintf("exited with status %d", ex->code);
  return cb_fail(err, CB_ERR_STEP, 0,
                 "scanner '%s' %s (%s); nothing was published", what, how, rep);
}

struct scan_job {
  const struct scan_config *c;
  const struct store_image *img;
  const char *ref;
  const struct build_secrets *secrets;
  const char *layout, *archive;
};

static int
run_one(const struct scan_job *j, size_t i, const char *report,
        struct cb_error **err)
{
  char md[CB_DIGEST_STR_LEN], id[CB_DIGEST_STR_LEN];
  cleanup_free char *cmd = scan_expand(j->c->cmds[i], j->archive);
  cleanup_free char *what = label(j->c->cmds[i]);
  cleanup_strv char **add = cb_xcalloc(7, sizeof(char *));
  cleanup_strv char **envp = NULL;
  struct scan_exit ex;

  cb_digest_str(&j->img->manifest_digest, md);
  cb_digest_str(&j->img->id, id);
  add[0] = cb_xasprintf("CBUILD_IMAGE_LAYOUT=%s", j->layout);
  add[1] = cb_xasprintf("CBUILD_IMAGE_ARCHIVE=%s", j->archive);
  add[2] = cb_xasprintf("CBUILD_IMAGE_REF=%s", j->ref != NULL ? j->ref : "");
  add[3] = cb_xasprintf("CBUILD_IMAGE_DIGEST=%s", md);
  add[4] = cb_xasprintf("CBUILD_IMAGE_ID=%s", id);
  add[5] = cb_xasprintf("CBUILD_REPORT=%s", report);
  envp = scan_env_new(environ, j->c, j->secrets, add);
  cb_log(CB_LOG_INFO, "scanner '%s': running", what);
  if (scan_exec(cmd, envp, j->c->timeout_ms, &ex, err) < 0)
    return cb_wrap(err, "scanner '%s'", what);
  if (ex.interrupted || ex.timed_out || ex.signal != 0 || ex.code != 0)
    return scanner_failed(j->c->cmds[i], &ex, j->c->timeout_ms, report, err);
  cb_log(CB_LOG_INFO, "scanner '%s': passed", what);
  return 0;
}

/* Remove the copies of the image from DIR, leaving the reports.  */
static void
remove_image_copies(const char *dir)
{
  cleanup_close int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return;
  (void)cb_remove_tree_at(fd, "image", NULL);
  (void)cb_remove_tree_at(fd, "image.tar", NULL);
}

static int
write_copies(struct layer_store *s, const struct scan_job *j,
             struct cb_error **err)
{
  if (layer_store_save(s, j->img, j->ref, ARCHIVE_OCI_DIR, j->layout, err) <
          0 ||
      layer_store_save(s, j->img, j->ref, ARCHIVE_OCI, j->archive, err) < 0)
    return cb_wrap(err, "scan: writing the image");
  return 0;
}

int
scan_run(const struct scan_config *c, struct layer_store *s,
         const struct store_image *img, const char *ref,
         const struct build_secrets *secrets, struct scan_outcome *out,
         struct cb_error **err)
{
  struct scan_outcome o = { NULL, NULL, 0 };
  cleanup_free char *layout = NULL;
  cleanup_free char *archive = NULL;
  struct scan_job j = { c, img, ref, secrets, NULL, NULL };

  if (c->ncmds == 0) {
    *out = o;
    return 0;
  }
  o.dir = private_dir(err);
  if (o.dir == NULL)
    return -1;
  j.layout = layout = cb_xasprintf("%s/image", o.dir);
  j.archive = archive = cb_xasprintf("%s/image.tar", o.dir);
  if (write_copies(s, &j, err) < 0) {
    scan_outcome_release(&o, false);
    return -1;
  }
  for (size_t i = 0; i < c->ncmds; i++) {
    cleanup_free char *report = cb_xasprintf("%s/report-%zu", o.dir, i + 1);

    if (run_one(&j, i, report, err) < 0) {
      /* The failed scanner's report stays for the user to read.  */
      bool keep = has_report(report);

      remove_image_copies(o.dir);
      scan_outcome_release(&o, keep);
      return -1;
    }
    if (has_report(report))
      cb_strv_push(&o.reports, &o.nreports, cb_xstrdup(report));
  }
  remove_image_copies(o.dir);
  *out = o;
  return 0;
}

void
scan_outcome_release(struct scan_outcome *o, bool keep)
{
  if (!keep && o->dir != NULL)
    (void)cb_remove_tree_at(AT_FDCWD, o->dir, NULL);
  free(o->dir);
  cb_strv_free(o->reports);
  memset(o, 0, sizeof(*o));
}
