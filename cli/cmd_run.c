#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild run [--root DIR] [--rm] [-e KEY=VALUE]... [-u USER[:GROUP]]\n"
  "                  [-w DIR] [--network host|none] IMAGE [COMMAND [ARG...]]\n"
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
  "  --network MODE           host (default) or none (only lo)\n";

struct run_opts {
  char **env; /* -e, in order; borrowed strings */
  size_t n_env;
  const char *user;
  const char *workdir;
  bool network_none;
  int first; /* index of IMAGE */
};

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
      o->env = cb_xreallocarray(o->env, o->n_env + 1, sizeof(char *));
      o->env[o->n_env++] = (char *)v;
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
    if (!json_is_string(item))
      continue;
    *v = cb_xreallocarray(*v, *n + 2, sizeof(char *));
    (*v)[(*n)++] = cb_xstrdup(json_string_value(item));
    (*v)[*n] = NULL;
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
  *v = cb_xreallocarray(*v, *n + 2, sizeof(char *));
  (*v)[(*n)++] = cb_xstrdup(kv);
  (*v)[*n] = NULL;
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

/* Read PATH (e.g. "etc/passwd") of the image: from the top layer that
   has it, resolved inside that layer.  A whiteout (char 0/0) hides it.
   Opaque directories are not looked at.  *BUF is NULL when no layer has
   the file.  */
static int
read_image_file(struct layer_store *s, char **lowers, const char *path,
                char **buf, struct cb_error **err)
{
  cleanup_close int dir = openat(layer_store_root_fd(s), "unpacked",
                                 O_PATH | O_DIRECTORY | O_CLOEXEC);

  *buf = NULL;
  if (dir < 0)
    return cb_fail_errno(err, "store '%s': cannot open 'unpacked'",
                         layer_store_root(s));
  for (size_t i = 0; lowers[i] != NULL; i++) {
    cleanup_close int layer = openat(dir, lowers[i],
                                     O_PATH | O_DIRECTORY | O_CLOEXEC);
    cleanup_close int fd = -1;
    struct cb_error *e = NULL;
    struct stat sb;
    size_t len;

    if (layer < 0)
      return cb_fail_errno(err, "cannot open 'unpacked/%s'", lowers[i]);
    fd = cb_open_in_root(layer, path, O_PATH, 0, &e);
    if (fd < 0 && e->errnum == ENOENT) {
      cb_error_free(e);
      continue;
    }
    if (fd < 0) {
      *err = e;
      return cb_wrap(err, "image file '/%s'", path);
    }
    if (fstat(fd, &sb) < 0)
      return cb_fail_errno(err, "image file '/%s'", path);
    if (S_ISCHR(sb.st_mode) && sb.st_rdev == 0)
      return 0; /* whited out */
    if (!S_ISREG(sb.st_mode))
      return cb_fail(err, CB_ERR_UNSAFE, 0,
                     "image file '/%s' is not a regular file", path);
    cb_closep(&fd);
    fd = cb_open_in_root(layer, path, O_RDONLY | O_NONBLOCK, 0, err);
    if (fd < 0 || cb_read_all(fd, CB_MAX_IMAGE_ID_FILE, buf, &len, err) < 0)
      return cb_wrap(err, "image file '/%s'", path);
    return 0;
  }
  return 0;
}

static bool
parse_id(const char *s, size_t len, uint32_t *out)
{
  uint64_t v = 0;

  if (len == 0 || len > 10)
    return false;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (v >= UINT32_MAX)
    return false;
  *out = (uint32_t)v;
  return true;
}

/* In TEXT (/etc/passwd or /etc/group lines "name:x:ID:..."), find the
   line whose name is NAME (NLEN bytes) or, with NAME NULL, whose ID is
   *ID.  Writes *ID and, for passwd (GID_OUT not NULL), the line's gid.  */
static bool
find_id_line(const char *text, const char *name, size_t nlen, uint32_t *id,
             uint32_t *gid_out)
{
  for (const char *line = text; line != NULL && *line != '\0';) {
    const char *end = strchr(line, '\n');
    size_t llen = end != NULL ? (size_t)(end - line) : strlen(line);
    const char *f[4];
    size_t n = 0, flen[4];
    uint32_t v, g = 0;

    /* The first four colon-separated fields of the line.  */
    for (const char *p = line; n < 4 && p <= line + llen; n++) {
      const char *c = memchr(p, ':', (size_t)(line + llen - p));

      f[n] = p;
      flen[n] = c != NULL ? (size_t)(c - p) : (size_t)(line + llen - p);
      if (c == NULL) {
        n++;
        break;
      }
      p = c + 1;
    }
    line = end != NULL ? end + 1 : NULL;
    if (n < 3 || !parse_id(f[2], flen[2], &v))
      continue;
    if (gid_out != NULL && (n < 4 || !parse_id(f[3], flen[3], &g)))
      continue;
    if (name != NULL ? (flen[0] == nlen && memcmp(f[0], name, nlen) == 0)
                     : v == *id) {
      *id = v;
      if (gid_out != NULL)
        *gid_out = g;
      return true;
    }
  }
  return false;
}

/* USER: "USER[:GROUP]", each a number or a name from the image's
   /etc/passwd and /etc/group.  Without GROUP the gid is the user's in
   /etc/passwd, else 0.  */
static int
resolve_user(struct layer_store *s, char **lowers, const char *user,
             uid_t *uid, gid_t *gid, struct cb_error **err)
{
  cleanup_free char *passwd = NULL, *group = NULL;
  size_t ulen = strcspn(user, ":");
  const char *grp = user[ulen] == ':' ? user + ulen + 1 : NULL;
  uint32_t u = 0, g = 0, pg = 0;
  bool numeric = parse_id(user, ulen, &u);

  if (read_image_file(s, lowers, "etc/passwd", &passwd, err) < 0)
    return cb_wrap(err, "user '%s'", user);
  if (!numeric && (passwd == NULL ||
                   !find_id_line(passwd, user, ulen, &u, &pg)))
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "user '%.*s' is not in the image's /etc/passwd",
                   (int)ulen, user);
  if (numeric && passwd != NULL && find_id_line(passwd, NULL, 0, &u, &pg))
    numeric = false; /* pg is the user's gid */
  g = numeric ? 0 : pg;
  if (grp != NULL && !parse_id(grp, strlen(grp), &g)) {
    if (read_image_file(s, lowers, "etc/group", &group, err) < 0)
      return cb_wrap(err, "group '%s'", grp);
    if (group == NULL || !find_id_line(group, grp, strlen(grp), &g, NULL))
      return cb_fail(err, CB_ERR_USAGE, 0,
                     "group '%s' is not in the image's /etc/group", grp);
  }
  *uid = u;
  *gid = g;
  return 0;
}

/* A fresh run/<random>/ in the store, beside unpacked/ so that
   overlayfs has upper and work on one filesystem: upper/, work/,
   merged/, and l/0, l/1, ... symlinks to the lower dirs LOWERS (top
   first), so that the overlay options name them in a few bytes each and
   hundreds of layers fit in the one-page option string.  *DIR is its
   path.  */
static int
make_run_dir(struct layer_store *s, char **lowers, char **dir,
             struct cb_error **err)
{
  int root = layer_store_root_fd(s);
  cleanup_close int fd = -1, l = -1;

  if (mkdirat(root, "run", 0700) < 0 && errno != EEXIST)
    return cb_fail_errno(err, "store '%s': cannot create 'run'",
                         layer_store_root(s));
  *dir = cb_xasprintf("%s/run/XXXXXX", layer_store_root(s));
  if (mkdtemp(*dir) == NULL) {
    int e = errno;

    free(*dir);
    *dir = NULL;
    return cb_fail(err, CB_ERR_SYSTEM, e, "store '%s': cannot create a dir "
                   "in 'run'", layer_store_root(s));
  }
  fd = open(*dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || mkdirat(fd, "upper", 0755) < 0 ||
      mkdirat(fd, "work", 0700) < 0 || mkdirat(fd, "merged", 0755) < 0 ||
      mkdirat(fd, "l", 0700) < 0)
    return cb_fail_errno(err, "cannot set up '%s'", *dir);
  l = openat(fd, "l", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (l < 0)
    return cb_fail_errno(err, "cannot set up '%s/l'", *dir);
  for (size_t i = 0; lowers[i] != NULL; i++) {
    cleanup_free char *target =
        cb_xasprintf("../../../unpacked/%s", lowers[i]);
    char name[24];

    snprintf(name, sizeof(name), "%zu", i);
    if (symlinkat(target, l, name) < 0)
      return cb_fail_errno(err, "cannot set up '%s/l/%s'", *dir, name);
  }
  return 0;
}

/* Unpack every layer of IMG and name the lower dirs, top first.  */
static char **
unpack_layers(struct layer_store *s, const struct store_image *img,
              struct cb_error **err)
{
  cleanup_free struct cb_digest *ids = NULL;
  struct flatten_stats st = { 0, 0, 0, 0 };
  size_t n = img->manifest->n_layers, n_ids = 0;
  char **names = NULL;

  if (oci_config_diff_ids(img->config, &ids, &n_ids, err) < 0)
    return NULL;
  names = cb_xcalloc(n + 1, sizeof(char *));
  for (size_t i = 0; i < n; i++) {
    char hex[CB_DIGEST_HEX_LEN + 1];
    int fd = store_image_unpack_layer(s, img, i, &st, err);

    if (fd < 0) {
      cb_strv_free(names);
      return NULL;
    }
    close(fd);
    cb_digest_hex(&ids[i], hex);
    names[n - 1 - i] = cb_xstrdup(hex);
  }
  if (st.owner_failures > 0 || st.devices_skipped > 0)
    cb_log(CB_LOG_WARN, "unpacking: %llu owners could not be set, %llu "
           "devices were skipped", (unsigned long long)st.owner_failures,
           (unsigned long long)st.devices_skipped);
  return names;
}

/* Inside the namespace: unpack, set up and run.  */
static int
run_image(const struct run_opts *o, char **cmd, int n_cmd, int *status,
          struct cb_error **err)
{
  cleanup_layer_store struct layer_store *s = NULL;
  cleanup_free char *dir = NULL, *lower_dir = NULL, *merged = NULL;
  cleanup_strv char **lowers = NULL;
  cleanup_strv char **short_lowers = NULL;
  size_t n_lowers;
  cleanup_strv char **argv = NULL;
  cleanup_strv char **envp = NULL;
  struct sandbox_spec spec;
  struct store_image img;
  const char *user, *wd;
  json_t *cfg;
  int rc = -1;

  s = cli_store_open(err);
  if (s == NULL || layer_store_resolve(s, cmd[-1], &img, err) < 0)
    return -1;
  memset(&spec, 0, sizeof(spec));
  cfg = json_object_get(img.config, "config");
  argv = make_argv(cfg, cmd, n_cmd);
  envp = make_env(cfg, o);
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
  lowers = unpack_layers(s, &img, err);
  if (lowers == NULL)
    goto out;
  if (user != NULL && user[0] != '\0' &&
      resolve_user(s, lowers, user, &spec.uid, &spec.gid, err) < 0)
    goto out;
  if (make_run_dir(s, lowers, &dir, err) < 0)
    goto out;
  n_lowers = cb_strv_len(lowers);
  short_lowers = cb_xcalloc(n_lowers + 1, sizeof(char *));
  for (size_t i = 0; i < n_lowers; i++)
    short_lowers[i] = cb_xasprintf("%zu", i);
  lower_dir = cb_xasprintf("%s/l", dir);
  merged = cb_xasprintf("%s/merged", dir);
  spec.lower_dir = lower_dir;
  spec.lowers = short_lowers;
  spec.n_lowers = n_lowers;
  spec.upper = "../upper"; /* relative to LOWER_DIR, like the lowers */
  spec.work = "../work";
  spec.merged = merged;
  spec.argv = argv;
  spec.envp = envp;
  spec.workdir = wd;
  spec.network_none = o->network_none;
  rc = sandbox_run(&spec, status, err);
out:
  if (dir != NULL)
    cb_remove_tree_at(AT_FDCWD, dir, NULL);
  store_image_release(&img);
  return rc;
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  cleanup_free char **env = NULL;
  struct run_opts o;
  int status = 0, rc;

  memset(&o, 0, sizeof(o));
  rc = parse_opts(argc, argv, &o, err);
  env = o.env;
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
