#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/build-internal.h"
#include "builder/mounts.h"
#include "builder/rootfs.h"
#include "builder/sandbox.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/mem.h"
#include "layers/oci.h"
#include "common/banned.h"

#define DEFAULT_PATH \
  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The shell form's script: the command line and, for heredocs, their
   bodies after it, so that the shell reads them as it would from a file.
   A line that is nothing but one heredoc ("RUN <<EOF") runs the body as
   the script (BuildKit).  */
static char *
shell_script(const struct instr *in)
{
  const struct df_node *node = in->node;
  const char *cmd = in->nargs > 0 ? in->args[0] : "";
  struct cb_buf b = CB_BUF_INIT;

  if (node->nheredocs == 1 && cmd[0] == '<' && cmd[1] == '<' &&
      strchr(cmd, ' ') == NULL)
    return cb_xstrdup(node->heredocs[0].content);
  cb_buf_adds(&b, cmd);
  for (size_t i = 0; i < node->nheredocs; i++)
    cb_buf_addf(&b, "\n%s%s", node->heredocs[i].content,
                node->heredocs[i].name);
  return cb_buf_detach(&b, NULL);
}

/* The command: the exec form as written, or the image's Shell (default
   /bin/sh -c) with the script.  */
static char **
run_argv(const struct step *st)
{
  const struct instr *in = st->in;
  json_t *shell = oci_config_get(st->si->img.config, "Shell");
  char **v = cb_xcalloc(1, sizeof(char *));
  size_t n = 0, i;
  json_t *x;

  if (in->json) {
    for (i = 0; i < in->nargs; i++)
      cb_strv_push(&v, &n, cb_xstrdup(in->args[i]));
    return v;
  }
  if (json_is_array(shell) && json_array_size(shell) > 0) {
    json_array_foreach(shell, i, x)
      cb_strv_push(&v, &n, cb_xstrdup(json_string_value(x) ? json_string_value(x)
                                                        : ""));
  } else {
    cb_strv_push(&v, &n, cb_xstrdup("/bin/sh"));
    cb_strv_push(&v, &n, cb_xstrdup("-c"));
  }
  cb_strv_push(&v, &n, shell_script(in));
  return v;
}

static bool
env_has(char *const *v, size_t n, const char *name)
{
  size_t len = strlen(name);

  for (size_t i = 0; i < n; i++)
    if (strncmp(v[i], name, len) == 0 && v[i][len] == '=')
      return true;
  return false;
}

/* The image's Env, then the stage's ARGs that no ENV overrides (RUN sees
   build args as variables), then a default PATH.  */
static char **
run_env(const struct step *st)
{
  json_t *env = oci_config_get(st->si->img.config, "Env");
  const struct shell_env *args = &st->scope->args;
  char **v = cb_xcalloc(1, sizeof(char *));
  size_t n = 0, i;
  json_t *x;

  json_array_foreach(env, i, x)
    if (json_is_string(x))
      cb_strv_push(&v, &n, cb_xstrdup(json_string_value(x)));
  for (i = 0; i < args->n; i++)
    if (args->values[i] != NULL && !env_has(v, n, args->names[i]))
      cb_strv_push(&v, &n, cb_xasprintf("%s=%s", args->names[i],
                                     args->values[i]));
  if (!env_has(v, n, "PATH"))
    cb_strv_push(&v, &n, cb_xstrdup(DEFAULT_PATH));
  return v;
}

static bool
want_network_none(const struct step *st)
{
  const char *net = st->in->network;

  if (net != NULL && strcmp(net, "none") == 0)
    return true;
  if (net != NULL && strcmp(net, "host") == 0)
    return false;
  return st->b->o->network_none;
}

/* What the step's result depends on besides the instruction: the ARGs
   it sees and its flags.  For the key (EXTRA) and, as JSON, for saying
   what changed on a miss (INFO).  */
static void
run_inputs(const struct step *st, char ***extra, json_t **info)
{
  const struct shell_env *args = &st->scope->args;
  const struct df_node *node = st->in->node;
  json_t *a = json_object(), *f = json_array();
  size_t n = 0;

  *extra = cb_xcalloc(1, sizeof(char *));
  for (size_t i = 0; i < args->n; i++) {
    const char *val = args->values[i] ? args->values[i] : "";

    cb_strv_push(extra, &n, cb_xasprintf("arg %s=%s", args->names[i], val));
    json_object_set_new(a, args->names[i], json_string(val));
  }
  for (size_t i = 0; i < node->nflags; i++) {
    cb_strv_push(extra, &n, cb_xasprintf("flag %s", node->flags[i]));
    json_array_append_new(f, json_string(node->flags[i]));
  }
  cb_strv_push(extra, &n, cb_xstrdup(want_network_none(st) ? "net none"
                                                         : "net host"));
  for (size_t i = 0; i < node->nheredocs; i++)
    cb_strv_push(extra, &n, cb_xasprintf("heredoc %s", node->heredocs[i].content));
  *info = json_pack("{s:s, s:o, s:o}", "instruction", node->original,
                    "build arg", a, "flags", f);
}

struct reader {
  struct progress *p;
  int step;
  int fd;
};

/* Forward the command's output, line by line, to the progress.  */
static void *
read_output(void *data)
{
  struct reader *r = data;
  char buf[8192];
  size_t have = 0;

  for (;;) {
    ssize_t n = read(r->fd, buf + have, sizeof(buf) - have);
    size_t start = 0;

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    have += (size_t)n;
    for (size_t i = 0; i < have; i++)
      if (buf[i] == '\n') {
        progress_log(r->p, r->step, buf + start, i - start);
        start = i + 1;
      }
    if (start == 0 && have == sizeof(buf)) /* a very long line */
      start = have, progress_log(r->p, r->step, buf, have);
    memmove(buf, buf + start, have - start);
    have -= start;
  }
  if (have > 0)
    progress_log(r->p, r->step, buf, have);
  return NULL;
}

/* Run SPEC with its output going to the progress.  */
static int
run_logged(struct step *st, struct sandbox_spec *spec, int *status,
           struct cb_error **err)
{
  struct reader r = { st->b->progress, st->b->step, -1 };
  cleanup_close int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  pthread_t thread;
  int fds[2], rc;

  if (devnull < 0 || pipe2(fds, O_CLOEXEC) < 0)
    return cb_fail_errno(err, "RUN: cannot set up the output");
  r.fd = fds[0];
  spec->in_fd = devnull;
  spec->out_fd = fds[1];
  if (pthread_create(&thread, NULL, read_output, &r) != 0) {
    close(fds[0]);
    close(fds[1]);
    return cb_fail(err, CB_ERR_SYSTEM, 0, "RUN: cannot start a thread");
  }
  rc = sandbox_run(spec, status, err);
  close(fds[1]); /* EOF for the reader once the sandbox is gone */
  pthread_join(thread, NULL);
  close(fds[0]);
  return rc;
}

static int
check_supported(const struct step *st, struct cb_error **err)
{
  const struct instr *in = st->in;

  if (in->security != NULL && strcmp(in->security, "sandbox") != 0)
    return cb_fail(err, CB_ERR_UNSUPPORTED, 0,
                   "%s:%d: RUN --security=%s is not supported (cbuild runs "
                   "every step rootless)", st->b->file, in->line,
                   in->security);
  return 0;
}

struct from_data {
  struct step *st;
  struct from_roots *fr;
};

static int
resolve_from(void *data, const char *from, struct cb_error **err)
{
  struct from_data *d = data;

  return from_root_open(d->st, d->fr, from, err);
}

/* The user the command runs as, with its groups (root too gets the
   groups /etc/group lists it in, as with Docker).  */
static int
run_user(struct step *st, char **lowers, struct sandbox_spec *spec,
         gid_t **groups, struct cb_error **err)
{
  const char *user = json_string_value(oci_config_get(st->si->img.config,
                                                      "User"));

  if (user == NULL || user[0] == '\0')
    user = "0";
  if (rootfs_resolve_user(st->b->s, lowers, user, &spec->uid, &spec->gid,
                          err) < 0 ||
      rootfs_user_groups(st->b->s, lowers, user, groups, &spec->n_groups,
                         err) < 0)
    return -1;
  spec->groups = *groups;
  return 0;
}

/* The environment with the env= secrets of RUN --mount added.  */
static void
add_mount_env(char ***envp, char *const *extra)
{
  size_t n = cb_strv_len(*envp);

  for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
    cb_strv_push(envp, &n, cb_xstrdup(extra[i]));
}

/* Run the command on a fresh run dir RF; then commit its upper dir.  */
static int
run_in(struct step *st, struct rootfs *rf, struct sandbox_spec *spec,
       struct cache_record *rec, struct cb_error **err)
{
  struct build *b = st->b;
  cleanup_close int dir = -1;
  int status = 0;

  rootfs_fill_spec(rf, spec);
  if (run_logged(st, spec, &status, err) < 0)
    return -1;
  if (status != 0)
    return cb_fail(err, CB_ERR_STEP, 0, "exit code %d", status);
  if (rootfs_finish_upper(rf, sandbox_mount_points, err) < 0)
    return -1;
  dir = open(rf->dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0)
    return cb_fail_errno(err, "cannot open '%s'", rf->dir);
  return commit_upper(b, dir, "upper", step_now(b), rec, err);
}

/* Run the command on the image so far; on success *REC holds the step's
   layer.  */
static int
execute(struct step *st, struct cache_record *rec, struct cb_error **err)
{
  struct build *b = st->b;
  cleanup_strv char **lowers = NULL, **argv = NULL;
  cleanup_free gid_t *groups = NULL;
  const char *wd = json_string_value(oci_config_get(st->si->img.config,
                                                    "WorkingDir"));
  struct from_roots fr = { NULL, 0 };
  struct from_data fd = { st, &fr };
  cleanup_close int ctx_fd = -1;
  struct run_mount_sources src;
  struct rootfs rf = { 0 };
  struct run_mounts rm;
  struct sandbox_spec spec;
  char **envp = NULL;
  int rc = -1;

  memset(&spec, 0, sizeof(spec));
  memset(&rm, 0, sizeof(rm));
  rm.scratch_fd = -1;
  wd = wd != NULL && wd[0] == '/' ? wd : "/";
  src = (struct run_mount_sources){ -1, resolve_from, &fd,
                                    b->o->secrets, wd, b->file,
                                    st->in->line };
  lowers = stage_lowers(b, st->si, err);
  if (lowers == NULL || run_user(st, lowers, &spec, &groups, err) < 0)
    goto out;
  /* Binds of the context see it as the build does: .dockerignore
     applied.  */
  if (st->in->nmounts > 0 &&
      (src.context_fd = ctx_fd = context_root_open(st, &fr, err)) < 0)
    goto out;
  if (run_mounts_prepare(st->in->mounts, st->in->nmounts, &src, b->s, &rm,
                         err) < 0)
    goto out;
  argv = run_argv(st);
  envp = run_env(st);
  add_mount_env(&envp, rm.env);
  spec.argv = argv;
  spec.envp = envp;
  spec.workdir = wd;
  spec.network_none = want_network_none(st);
  spec.mounts = rm.mounts;
  spec.n_mounts = rm.n_mounts;
  if (build_rootfs_create(b, lowers, &rf, err) == 0)
    rc = run_in(st, &rf, &spec, rec, err);
out:
  rootfs_remove(&rf);
  run_mounts_release(&rm);
  from_roots_release(&fr);
  cb_strv_wipe_free(envp);
  return rc;
}

static int
execute_step(struct step *st, void *data, struct cache_record *rec,
             struct cb_error **err)
{
  return execute(st, rec, err);
}

int
step_run(struct step *st, struct cb_error **err)
{
  cleanup_strv char **extra = NULL;
  json_t *info = NULL;

  if (check_supported(st, err) < 0)
    return -1;
  run_inputs(st, &extra, &info);
  return step_through_cache(st, extra, info, false, execute_step, NULL, err);
}
