#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/mounts.h"
#include "builder/rootfs.h"
#include "builder/sandbox.h"
#include "builder/userns.h"
#include "cli/cli.h"
#include "cli/cli_store.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/digest.h"
#include "layers/image.h"
#include "layers/oci.h"
#include "parser/instructions.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild run [--root DIR] [--rm] [-e KEY=VALUE]... [-u USER[:GROUP]]\n"
  "                  [-w DIR] [--network host|none] [--mount SPEC]...\n"
  "                  [--secret id=ID,src=FILE|env=VAR]...\n"
  "                  [--storage-driver overlay|vfs|auto]\n"
  "                  IMAGE [COMMAND [ARG...]]\n"
  "\n"
  "Run COMMAND in IMAGE, rootless: in cbuild's user namespace, with mount,\n"
  "pid, ipc and uts namespaces of its own, on an overlay of the image's\n"
  "layers.  Changes go to a throwaway upper dir removed afterwards (--rm\n"
  "is the default and accepted for compatibility); the image never\n"
  "changes.  Without COMMAND the image's Entrypoint and Cmd run; with it,\n"
  "the Entrypoint (if any) and COMMAND.  Exits with the command's status\n"
  "(127 when it is not found, 128 + N when killed by signal N).\n"
  "\n"
  "  -e, --env KEY=VALUE      set a variable (KEY alone: the caller's value)\n"
  "  -u, --user USER[:GROUP]  ids, or names from the image's /etc/passwd\n"
  "                           and /etc/group (default: the image's User)\n"
  "  -w, --workdir DIR        absolute working directory, made if missing\n"
  "  --network MODE           host (default) or none (only lo)\n"
  "  --mount SPEC             a mount as RUN --mount takes it, e.g.\n"
  "                           type=bind,source=DIR,target=/x[,rw]\n"
  "                           type=cache,target=/x[,id=ID][,sharing=...]\n"
  "                           type=tmpfs,target=/x[,size=64m]\n"
  "                           type=secret,id=ID[,target=F][,env=VAR]\n"
  "                           bind sources are below the current\n"
  "                           directory and cannot leave it; writes to\n"
  "                           a rw bind are thrown away; caches live in\n"
  "                           the store (cache/mounts/)\n"
  "  --secret id=ID,src=FILE|env=VAR\n"
  "                           a secret for type=secret mounts: kept in\n"
  "                           memory and on a tmpfs, never in the store\n"

  "  --storage-driver NAME    overlay (a mount of the layers), vfs (a copy\n"
  "                           of them, for hosts without overlay in a user\n"
  "                           namespace) or auto (default: overlay when\n"
  "                           `cbuild doctor`'s check passes); the variable\n"
  "                           CBUILD_STORAGE_DRIVER sets it too\n"
  "\n"
  "For debugging:\n"
  "  --keep-upper DIR         after the command, move what it changed to DIR\n"
  "                           (new, on the store's file system) as the layer\n"
  "                           would be made of it: an overlay upper dir, with\n"
  "                           char 0/0 whiteouts and user.overlay.opaque=y\n";

struct run_opts {
  char **env; /* -e, in order; borrowed strings */
  size_t n_env;
  const char *user;
  const char *workdir;
  bool network_none;
  char **mounts; /* --mount, in order; borrowed strings */
  size_t n_mounts;
  char **secrets; /* --secret; borrowed strings */
  size_t n_secrets;
  const char *driver;     /* --storage-driver, or NULL */
  const char *keep_upper; /* --keep-upper, or NULL */
  int first; /* index of IMAGE */
};

/* Append the borrowed string V to the vector *V of length *N.  */
static void
opt_push(char ***v, size_t *n, const char *s)
{
  *v = cb_xreallocarray(*v, *n + 1, sizeof(char *));
  (*v)[(*n)++] = (char *)s;
}

/* A --mount value is checked at once, so that a bad one is a usage error
   before anything starts.  */
static int
check_mount(const char *spec, struct cb_error **err)
{
  struct instr_mount m;
  struct cb_error *inner = NULL;

  if (instr_parse_mount(spec, &m, &inner) < 0) {
    cli_usage_error(&cli_cmd_run, err, "--mount=%s: %s", spec, inner->msg);
    cb_error_free(inner);
    return -1;
  }
  instr_mount_release(&m);
  return 0;
}

/* The value of an option at ARGV[*I]: "--name=value", or the next
   word.  */
static const char *
opt_value(int argc, char **argv, int *i, const char *name,
          struct cb_error **err)
{
  const char *a = argv[*i];
  const char *eq = strchr(a, '=');

  if (a[1] == '-' && eq != NULL)
    return eq + 1;
  if (*i + 1 >= argc)
    return cli_usage_error(&cli_cmd_run, err, "%s needs a value", name),
           NULL;
  return argv[++*i];
}

static bool
opt_is(const char *a, const char *shrt, const char *lng)
{
  size_t n = strlen(lng);

  if (shrt != NULL && strcmp(a, shrt) == 0)
    return true;
  return strncmp(a, lng, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

/* Options come before IMAGE; everything after it is the command's.
   Returns 1 after --help, 0, or -1.  */
static int
parse_opts(int argc, char **argv, struct run_opts *o, struct cb_error **err)
{
  int i;

  for (i = 1; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i], *v;

    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
      return cli_print_usage(&cli_cmd_run), 1;
    if (strcmp(a, "--rm") == 0)
      continue;
    if (opt_is(a, "-e", "--env")) {
      if ((v = opt_value(argc, argv, &i, "--env", err)) == NULL)
        return -1;
      opt_push(&o->env, &o->n_env, v);
    } else if (opt_is(a, "-u", "--user")) {
      if ((o->user = opt_value(argc, argv, &i, "--user", err)) == NULL)
        return -1;
    } else if (opt_is(a, "-w", "--workdir")) {
      if ((o->workdir = opt_value(argc, argv, &i, "--workdir", err)) == NULL)
        return -1;
      if (o->workdir[0] != '/')
        return cli_usage_error(&cli_cmd_run, err,
                               "--workdir needs an absolute path, not '%s'",
                               o->workdir);
    } else if (opt_is(a, NULL, "--network")) {
      if ((v = opt_value(argc, argv, &i, "--network", err)) == NULL)
        return -1;
      if (strcmp(v, "none") == 0)
        o->network_none = true;
      else if (strcmp(v, "host") == 0)
        o->network_none = false;
      else
        return cli_usage_error(&cli_cmd_run, err,
                               "--network is host or none, not '%s'", v);
    } else if (opt_is(a, NULL, "--mount")) {
      if ((v = opt_value(argc, argv, &i, "--mount", err)) == NULL ||
          check_mount(v, err) < 0)
        return -1;
      opt_push(&o->mounts, &o->n_mounts, v);
    } else if (opt_is(a, NULL, "--secret")) {
      if ((v = opt_value(argc, argv, &i, "--secret", err)) == NULL)
        return -1;
      opt_push(&o->secrets, &o->n_secrets, v);
    } else if (opt_is(a, NULL, "--storage-driver")) {
      enum rootfs_driver d;

      if ((o->driver = opt_value(argc, argv, &i, "--storage-driver", err)) ==
          NULL)
        return -1;
      if (rootfs_driver_parse(o->driver, "--storage-driver", &d, err) < 0)
        return -1;
    } else if (opt_is(a, NULL, "--keep-upper")) {
      if ((o->keep_upper = opt_value(argc, argv, &i, "--keep-upper", err)) ==
          NULL)
        return -1;
    } else if (opt_is(a, NULL, "--root")) {
      if ((cli_root = opt_value(argc, argv, &i, "--root", err)) == NULL)
        return -1;
    } else {
      return cli_usage_error(&cli_cmd_run, err, "unknown option '%s'", a);
    }
  }
  if (i >= argc)
    return cli_usage_error(&cli_cmd_run, err, "expected IMAGE");
  o->first = i;
  return 0;
}

/* Append the strings of the JSON array ARR (anything else is skipped) to
   the vector *V of length *N.  */
static void
strv_add_json(char ***v, size_t *n, json_t *arr)
{
  size_t i;
  json_t *item;

  if (!json_is_array(arr))
    return;
  json_array_foreach(arr, i, item) {
    if (json_is_string(item))
      cb_strv_push(v, n, cb_xstrdup(json_string_value(item)));
  }
}

/* Set KV ("KEY=VALUE") in the environment vector, replacing KEY.  */
static void
env_set(char ***v, size_t *n, const char *kv)
{
  size_t klen = strcspn(kv, "=");

  for (size_t i = 0; i < *n; i++)
    if (strncmp((*v)[i], kv, klen) == 0 && (*v)[i][klen] == '=') {
      free((*v)[i]);
      (*v)[i] = cb_xstrdup(kv);
      return;
    }
  cb_strv_push(v, n, cb_xstrdup(kv));
}

/* The image's Env, a default PATH, then -e (KEY alone takes the caller's
   value, and is skipped when the caller has none).  */
static char **
make_env(json_t *cfg, const struct run_opts *o)
{
  char **v = cb_xcalloc(1, sizeof(char *));
  size_t n = 0;
  bool have_path = false;

  strv_add_json(&v, &n, json_object_get(cfg, "Env"));
  for (size_t i = 0; i < n; i++)
    have_path |= strncmp(v[i], "PATH=", 5) == 0;
  if (!have_path)
    env_set(&v, &n,
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  for (size_t i = 0; i < o->n_env; i++) {
    const char *e = o->env[i];

    if (strchr(e, '=') != NULL) {
      env_set(&v, &n, e);
    } else if (getenv(e) != NULL) {
      cleanup_free char *kv = cb_xasprintf("%s=%s", e, getenv(e));

      env_set(&v, &n, kv);
    }
  }
  return v;
}

/* Entrypoint, then COMMAND or the image's Cmd.  */
static char **
make_argv(json_t *cfg, char **cmd, int n_cmd)
{
  char **v = cb_xcalloc(1, sizeof(char *));
  size_t n = 0;

  strv_add_json(&v, &n, json_object_get(cfg, "Entrypoint"));
  if (n_cmd == 0) {
    strv_add_json(&v, &n, json_object_get(cfg, "Cmd"));
    return v;
  }
  v = cb_xreallocarray(v, n + (size_t)n_cmd + 1, sizeof(char *));
  for (int i = 0; i < n_cmd; i++)
    v[n++] = cb_xstrdup(cmd[i]);
  v[n] = NULL;
  return v;
}

/* --secret and --mount into RM: bind sources are below the current
   directory.  */
static int
prepare_mounts(const struct run_opts *o, struct layer_store *s,
               const char *wd, struct build_secrets *secrets,
               struct run_mounts *rm, struct cb_error **err)
{
  struct instr_mount *m = cb_xcalloc(o->n_mounts + 1, sizeof(*m));
  struct run_mount_sources src;
  cleanup_close int cwd = -1;
  size_t n = 0;
  int rc = -1;

  memset(&src, 0, sizeof(src));
  for (size_t i = 0; i < o->n_secrets; i++)
    if (build_secrets_add(secrets, o->secrets[i], err) < 0)
      goto out;
  for (; n < o->n_mounts; n++)
    if (instr_parse_mount(o->mounts[n], &m[n], err) < 0)
      goto out;
  cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (cwd < 0) {
    cb_fail_errno(err, "cannot open the current directory");
    goto out;
  }
  src.context_fd = cwd;
  src.secrets = secrets;
  src.workdir = wd;
  rc = run_mounts_prepare(m, n, &src, s, rm, err);
out:
  for (size_t i = 0; i < n; i++)
    instr_mount_release(&m[i]);
  free(m);
  return rc;
}

/* The storage driver for the run; a note when the probe chose vfs.  */
static int
pick_driver(struct layer_store *s, const struct run_opts *o,
            enum rootfs_driver *driver, struct cb_error **err)
{
  cleanup_free char *why = NULL;
  int rc = rootfs_driver_choose(s, o->driver, "--storage-driver", driver,
                                &why, err);

  if (rc > 0 && *driver == ROOTFS_DRIVER_VFS)
    cb_log(CB_LOG_WARN, "using the vfs storage driver (slower: the image "
           "is copied): %s", why);
  return rc < 0 ? -1 : 0;
}

/* --keep-upper: the run's changes as a layer would take them, moved to
   DIR.  */
static int
keep_upper(struct rootfs *rf, const char *dir, struct cb_error **err)
{
  if (rootfs_finish_upper(rf, sandbox_mount_points, err) < 0)
    return -1;
  if (rename(rf->upper, dir) < 0)
    return cb_fail_errno(err, "--keep-upper: cannot move the upper dir to "
                         "'%s'%s", dir,
                         errno == EXDEV ? " (not on the store's file system)"
                                        : "");
  return 0;
}

/* Inside the namespace: unpack, set up and run.  */
static int
run_image(const struct run_opts *o, char **cmd, int n_cmd, int *status,
          struct cb_error **err)
{
  cleanup_layer_store struct layer_store *s = NULL;
  cleanup_strv char **lowers = NULL;
  cleanup_strv char **argv = NULL;
  char **envp = NULL;
  cleanup_free gid_t *groups = NULL;
  struct build_secrets secrets = { NULL, 0 };
  struct run_mounts rm;
  struct rootfs rf = { 0 };
  enum rootfs_driver driver;
  struct sandbox_spec spec;
  struct store_image img;
  const char *user, *wd;
  size_t n_env;
  json_t *cfg;
  int rc = -1;

  memset(&rm, 0, sizeof(rm));
  rm.scratch_fd = -1;
  s = cli_store_open(err);
  if (s == NULL || layer_store_hold(s, err) < 0 ||
      layer_store_resolve(s, cmd[-1], &img, err) < 0)
    return -1;
  memset(&spec, 0, sizeof(spec));
  cfg = json_object_get(img.config, "config");
  argv = make_argv(cfg, cmd, n_cmd);
  envp = make_env(cfg, o);
  n_env = cb_strv_len(envp);
  user = o->user;
  if (user == NULL && json_is_string(json_object_get(cfg, "User")))
    user = json_string_value(json_object_get(cfg, "User"));
  wd = o->workdir;
  if (wd == NULL && json_is_string(json_object_get(cfg, "WorkingDir")))
    wd = json_string_value(json_object_get(cfg, "WorkingDir"));
  if (wd == NULL || wd[0] != '/')
    wd = "/";
  if (argv[0] == NULL) {
    cb_fail(err, CB_ERR_USAGE, 0, "no command given and '%s' has no Cmd",
            cmd[-1]);
    goto out;
  }
  lowers = rootfs_unpack_image(s, &img, err);
  if (lowers == NULL)
    goto out;
  if (user != NULL && user[0] != '\0' &&
      rootfs_resolve_user(s, lowers, user, &spec.uid, &spec.gid, err) < 0)
    goto out;
  /* Root gets the groups /etc/group lists it in too, as with Docker.  */
  if (rootfs_user_groups(s, lowers, user != NULL && user[0] != '\0' ? user
                                                                    : "0",
                         &groups, &spec.n_groups, err) < 0)
    goto out;
  spec.groups = groups;
  if (prepare_mounts(o, s, wd, &secrets, &rm, err) < 0)
    goto out;
  for (size_t i = 0; rm.env != NULL && rm.env[i] != NULL; i++)
    env_set(&envp, &n_env, rm.env[i]);
  rootfs_clean_stale(s);
  if (pick_driver(s, o, &driver, err) < 0 ||
      rootfs_create(s, lowers, driver, &rf, err) < 0)
    goto out;
  rootfs_fill_spec(&rf, &spec);
  spec.mounts = rm.mounts;
  spec.n_mounts = rm.n_mounts;
  spec.argv = argv;
  spec.envp = envp;
  spec.workdir = wd;
  spec.network_none = o->network_none;
  spec.in_fd = -1;
  spec.out_fd = -1;
  rc = sandbox_run(&spec, status, err);
  if (rc == 0 && o->keep_upper != NULL &&
      keep_upper(&rf, o->keep_upper, err) < 0)
    rc = -1;
out:
  rootfs_remove(&rf);
  run_mounts_release(&rm);
  build_secrets_release(&secrets);
  cb_strv_wipe_free(envp);
  store_image_release(&img);
  return rc;
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  cleanup_free char **env = NULL, **mounts = NULL, **secrets = NULL;
  struct run_opts o;
  int status = 0, rc;

  memset(&o, 0, sizeof(o));
  rc = parse_opts(argc, argv, &o, err);
  env = o.env;
  mounts = o.mounts;
  secrets = o.secrets;
  if (rc != 0)
    return rc < 0 ? -1 : 0;
  rc = userns_reexec(cli_main_argv, &status, err);
  if (rc < 0)
    return -1;
  if (rc > 0)
    return status;
  rc = run_image(&o, argv + o.first + 1, argc - o.first - 1, &status, err);
  if (rc < 0 && status > 0) {
    /* The command could not be started: say so once, exit like a
       shell.  */
    cleanup_free char *text = cb_error_text(*err);

    cb_log(CB_LOG_ERROR, "%s", text);
    cb_error_free(*err);
    *err = NULL;
    return status;
  }
  return rc < 0 ? -1 : status;
}

const struct cli_command cli_cmd_run = {
  .name = "run",
  .summary = "run a command in an image (rootless sandbox)",
  .usage = usage,
  .run = run,
};
