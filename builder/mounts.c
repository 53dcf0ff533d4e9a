#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/mounts.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/banned.h"

/* ---- secrets ---------------------------------------------------------- */

static void
secret_wipe(struct build_secret *sec)
{
  if (sec->data != NULL)
    explicit_bzero(sec->data, sec->len);
  free(sec->data);
  free(sec->id);
  memset(sec, 0, sizeof(*sec));
}

void
build_secrets_release(struct build_secrets *s)
{
  for (size_t i = 0; i < s->n; i++)
    secret_wipe(&s->v[i]);
  free(s->v);
  memset(s, 0, sizeof(*s));
}

const struct build_secret *
build_secrets_find(const struct build_secrets *s, const char *id)
{
  if (s == NULL || id == NULL)
    return NULL;
  for (size_t i = s->n; i-- > 0;)
    if (strcmp(s->v[i].id, id) == 0)
      return &s->v[i];
  return NULL;
}

/* The fields of a --secret value: comma-separated key=value pairs.  */
struct secret_spec {
  char *id, *src, *env, *type; /* owned */
};

static void
secret_spec_release(struct secret_spec *sp)
{
  free(sp->id);
  free(sp->src);
  free(sp->env);
  free(sp->type);
}

static int
secret_spec_parse(const char *spec, struct secret_spec *sp,
                  struct cb_error **err)
{
  for (const char *p = spec; *p != '\0';) {
    size_t l = strcspn(p, ",");
    cleanup_free char *field = cb_xstrndup(p, l);
    char *eq = strchr(field, '='), **slot = NULL;

    p += l;
    if (*p == ',')
      p++;
    if (eq == NULL)
      return cb_fail(err, CB_ERR_USAGE, 0,
                     "--secret: '%s' is not a key=value pair", field);
    *eq++ = '\0';
    if (strcmp(field, "id") == 0)
      slot = &sp->id;
    else if (strcmp(field, "src") == 0 || strcmp(field, "source") == 0)
      slot = &sp->src;
    else if (strcmp(field, "env") == 0)
      slot = &sp->env;
    else if (strcmp(field, "type") == 0)
      slot = &sp->type;
    else
      return cb_fail(err, CB_ERR_USAGE, 0, "--secret: unknown key '%s'", field);
    free(*slot);
    *slot = cb_xstrdup(eq);
  }
  if (sp->id == NULL || sp->id[0] == '\0')
    return cb_fail(err, CB_ERR_USAGE, 0, "--secret '%s' has no id", spec);
  if (sp->type != NULL && strcmp(sp->type, "file") != 0 &&
      strcmp(sp->type, "env") != 0)
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "--secret id=%s: type is file or env, not '%s'", sp->id,
                   sp->type);
  return 0;
}

/* The secret's bytes from the variable NAME.  */
static int
secret_from_env(const char *id, const char *name, char **data, size_t *len,
                struct cb_error **err)
{
  const char *v = getenv(name);

  if (v == NULL)
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "--secret id=%s: variable '%s' is not set", id, name);
  *len = strlen(v);
  if (*len > CB_MAX_SECRET_SIZE)
    return cb_fail(err, CB_ERR_USAGE, 0, "--secret id=%s: larger than %u bytes",
                   id, CB_MAX_SECRET_SIZE);
  *data = cb_xstrdup(v);
  return 0;
}

/* The secret's bytes from the file PATH (the caller's own path).  */
static int
secret_from_file(const char *id, const char *path, char **data, size_t *len,
                 struct cb_error **err)
{
  cleanup_close int fd =
      open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  struct cb_error *inner = NULL;
  struct stat sb;

  if (fd < 0)
    return cb_fail_errno(err, "--secret id=%s: cannot open '%s'", id, path);
  if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "--secret id=%s: '%s' is not a regular file", id, path);
  /* The error of cb_read_all says nothing of the content.  */
  if (cb_read_all(fd, CB_MAX_SECRET_SIZE, data, len, &inner) < 0) {
    cb_error_free(inner);
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "--secret id=%s: cannot read '%s' (at most %u bytes)", id,
                   path, CB_MAX_SECRET_SIZE);
  }
  return 0;
}

int
build_secrets_add(struct build_secrets *s, const char *spec,
                  struct cb_error **err)
{
  struct secret_spec sp = { NULL, NULL, NULL, NULL };
  struct build_secret sec = { NULL, NULL, 0 };
  const char *name;
  bool use_env;
  int rc;

  if (secret_spec_parse(spec, &sp, err) < 0) {
    secret_spec_release(&sp);
    return -1;
  }
  /* docker build: type decides; else src means a file and env a
     variable; with neither, the variable ID when set, else the file ID. */
  if (sp.type != NULL)
    use_env = strcmp(sp.type, "env") == 0;
  else if (sp.src != NULL || sp.env != NULL)
    use_env = sp.src == NULL;
  else
    use_env = getenv(sp.id) != NULL;
  /* With type given, the other key names the source too.  */
  name = use_env ? sp.env : sp.src;
  if (name == NULL)
    name = sp.src != NULL ? sp.src : sp.env != NULL ? sp.env : sp.id;
  if (use_env)
    rc = secret_from_env(sp.id, name, &sec.data, &sec.len, err);
  else
    rc = secret_from_file(sp.id, name, &sec.data, &sec.len, err);
  if (rc == 0) {
    sec.id = steal_ptr(&sp.id);
    s->v = cb_xreallocarray(s->v, s->n + 1, sizeof(*s->v));
    s->v[s->n++] = sec;
  }
  secret_spec_release(&sp);
  return rc;
}

/* ---- one RUN's mounts ------------------------------------------------- */

static const char *const type_names[] = { "bind", "cache", "tmpfs", "secret",
                                          "ssh" };

/* What prepare() works with.  */
struct prep {
  const struct run_mount_sources *src;
  struct layer_store *s;
  struct run_mounts *rm;
  int cache_fd; /* <store>/cache/mounts */
};

/* A cache named in this RUN (two mounts of one cache share it).  */
struct cache_use {
  char hex[CB_DIGEST_HEX_LEN + 1];
  enum mount_sharing sharing;
  const struct instr_mount *m; /* the first mount of it: mode, owner, from */
  int dir_fd;
};

/* "Dockerfile:3: RUN --mount=type=bind,target=/x", or without the file
   and RUN for a command line.  */
static char *
mount_where(const struct run_mount_sources *src, const struct instr_mount *m)
{
  struct cb_buf b = CB_BUF_INIT;

  if (src->file != NULL)
    cb_buf_addf(&b, "%s:%d: RUN ", src->file, src->line);
  cb_buf_addf(&b, "--mount=type=%s", type_names[m->type]);
  if (m->type == MOUNT_SECRET && m->id != NULL)
    cb_buf_addf(&b, ",id=%s", m->id);
  else if (m->type != MOUNT_SSH && m->target != NULL)
    cb_buf_addf(&b, ",target=%s", m->target);
  return cb_buf_detach(&b, NULL);
}

static int CB_PRINTF(6, 7)
    mount_fail(const struct prep *p, const struct instr_mount *m,
               struct cb_error **err, enum cb_err_kind kind, int errnum,
               const char *fmt, ...)
{
  cleanup_free char *where = mount_where(p->src, m);
  cleanup_free char *msg = NULL;
  va_list ap;

  va_start(ap, fmt);
  msg = cb_xvasprintf(fmt, ap);
  va_end(ap);
  return cb_fail(err, kind, errnum, "%s: %s", where, msg);
}

static int
mount_wrap(const struct prep *p, const struct instr_mount *m,
           struct cb_error **err)
{
  cleanup_free char *where = mount_where(p->src, m);

  return cb_wrap(err, "%s", where);
}

/* TARGET made absolute (below WORKDIR when relative) and lexically clean,
   as BuildKit's path.Join: "a/../b" is "/b", and ".." stops at "/".  */
static char *
clean_target(const char *workdir, const char *target)
{
  cleanup_free char *full =
      target[0] == '/'
          ? cb_xstrdup(target)
          : cb_xasprintf("%s/%s", workdir != NULL ? workdir : "/", target);
  char *out = cb_xmalloc(strlen(full) + 2);
  size_t len = 0;

  for (const char *c = full; *c != '\0';) {
    size_t l = strcspn(c, "/");

    if (l == 2 && c[0] == '.' && c[1] == '.') {
      while (len > 0 && out[len - 1] != '/')
        len--;
      if (len > 0)
        len--;
    } else if (l > 0 && !(l == 1 && c[0] == '.')) {
      out[len++] = '/';
      memcpy(out + len, c, l);
      len += l;
    }
    c += l;
    if (*c == '/')
      c++;
  }
  if (len == 0)
    out[len++] = '/';
  out[len] = '\0';
  return out;
}

void
run_mounts_cache_name(const char *id, const char *target, char out[65])
{
  const char *key = id != NULL && id[0] != '\0' ? id : target;
  struct cb_digest d;

  cb_digest_of(key, strlen(key), &d);
  cb_digest_hex(&d, out);
}

static int
keep_fd(struct run_mounts *rm, int fd)
{
  rm->fds = cb_xreallocarray(rm->fds, rm->n_fds + 1, sizeof(int));
  rm->fds[rm->n_fds++] = fd;
  return fd;
}

static const char *
keep_str(struct run_mounts *rm, char *s)
{
  rm->targets =
      cb_xreallocarray(rm->targets, rm->n_targets + 1, sizeof(char *));
  rm->targets[rm->n_targets++] = s;
  return s;
}

static struct sandbox_mount *
add_mount(struct run_mounts *rm, enum sandbox_mount_kind kind,
          const char *target)
{
  struct sandbox_mount *sm;

  rm->mounts =
      cb_xreallocarray(rm->mounts, rm->n_mounts + 1, sizeof(*rm->mounts));
  sm = &rm->mounts[rm->n_mounts++];
  memset(sm, 0, sizeof(*sm));
  sm->kind = kind;
  sm->target = target;
  sm->source_fd = sm->upper_fd = sm->work_fd = -1;
  return sm;
}

/* The run's scratch dir <store>/run/m-XXXXXX, made on first use.  */
static int
scratch_open(struct prep *p, struct cb_error **err)
{
  struct run_mounts *rm = p->rm;
  int root = layer_store_root_fd(p->s);
  char *dir;

  if (rm->scratch_fd >= 0)
    return rm->scratch_fd;
  if (mkdirat(root, "run", 0700) < 0 && errno != EEXIST)
    return cb_fail_errno(err, "store '%s': cannot create 'run'",
                         layer_store_root(p->s));
  /* Named like the run dirs, for rootfs_clean_stale().  */
  dir = cb_xasprintf("%s/run/m%ld-XXXXXX", layer_store_root(p->s),
                     (long)getpid());
  if (mkdtemp(dir) == NULL) {
    int e = errno;

    free(dir);
    return cb_fail(err, CB_ERR_SYSTEM, e,
                   "store '%s': cannot create a dir in 'run'",
                   layer_store_root(p->s));
  }
  rm->scratch = dir;
  rm->scratch_fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (rm->scratch_fd < 0)
    return cb_fail_errno(err, "cannot open '%s'", dir);
  return rm->scratch_fd;
}

/* A new directory NAME in the scratch dir, opened O_RDONLY.  */
static int
scratch_mkdir(struct prep *p, const char *name, mode_t mode,
              struct cb_error **err)
{
  int dir = scratch_open(p, err), fd;

  if (dir < 0)
    return -1;
  if (mkdirat(dir, name, mode) < 0)
    return cb_fail_errno(err, "cannot create '%s/%s'", p->rm->scratch, name);
  fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return cb_fail_errno(err, "cannot open '%s/%s'", p->rm->scratch, name);
  return fd;
}

/* ---- copies: a writable file bind, a cache seeded from FROM= ---------- */

static int
copy_data(int from, int to, struct cb_error **err)
{
  char buf[65536];

  for (;;) {
    ssize_t n = read(from, buf, sizeof(buf));

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return cb_fail_errno(err, "read");
    if (n == 0)
      return 0;
    if (cb_write_all(to, buf, (size_t)n, err) < 0)
      return -1;
  }
}

/* Mode and owner of SB onto FD.  An owner that is not mapped in the user
   namespace stays ours (as when unpacking layers without a subordinate
   range).  */
static int
copy_meta(int fd, const struct stat *sb, struct cb_error **err)
{
  if (fchown(fd, sb->st_uid, sb->st_gid) < 0 && errno != EINVAL &&
      errno != EPERM)
    return cb_fail_errno(err, "chown");
  if (fchmod(fd, sb->st_mode & 07777) < 0)
    return cb_fail_errno(err, "chmod");
  return 0;
}

/* A new regular file NAME in DIR with the content and metadata of the
   regular file SRC (an fd of any kind, O_PATH included).  */
static int
copy_file(int src, int dir, const char *name, struct cb_error **err)
{
  cleanup_close int in = -1, out = -1;
  char proc[32];
  struct stat sb;

  /* Through /proc: the same file SRC names, opened for reading.  */
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", src);
  in = open(proc, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (in < 0 || fstat(in, &sb) < 0)
    return cb_fail_errno(err, "cannot read '%s'", name);
  if (!S_ISREG(sb.st_mode))
    return cb_fail(err, CB_ERR_UNSAFE, 0, "'%s' is not a regular file", name);
  out = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
               0600);
  if (out < 0)
    return cb_fail_errno(err, "cannot create '%s'", name);
  if (copy_data(in, out, err) < 0 || copy_meta(out, &sb, err) < 0)
    return cb_wrap(err, "copy '%s'", name);
  return 0;
}

static int copy_tree(int from, int to, unsigned depth, struct cb_error **err);

/* Copy the entry NAME of FROM into TO: directories, regular files and
   symlinks; anything else (devices, fifos, sockets) is left out.  */
static int
copy_entry(int from, int to, const char *name, unsigned depth,
           struct cb_error **err)
{
  cleanup_close int s = -1, d = -1;
  char target[PATH_MAX];
  struct stat sb;
  ssize_t n;

  if (fstatat(from, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
    return cb_fail_errno(err, "'%s'", name);
  if (S_ISREG(sb.st_mode)) {
    s = openat(from, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    return s < 0 ? cb_fail_errno(err, "'%s'", name)
                 : copy_file(s, to, name, err);
  }
  if (S_ISLNK(sb.st_mode)) {
    n = readlinkat(from, name, target, sizeof(target));
    if (n < 0 || (size_t)n >= sizeof(target))
      return cb_fail(err, CB_ERR_UNSAFE, n < 0 ? errno : ENAMETOOLONG,
                     "symlink '%s'", name);
    target[n] = '\0';
    if (symlinkat(target, to, name) < 0)
      return cb_fail_errno(err, "symlink '%s'", name);
    (void)fchownat(to, name, sb.st_uid, sb.st_gid, AT_SYMLINK_NOFOLLOW);
    return 0;
  }
  if (!S_ISDIR(sb.st_mode))
    return 0;
  if (mkdirat(to, name, 0700) < 0)
    return cb_fail_errno(err, "mkdir '%s'", name);
  s = openat(from, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  d = openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (s < 0 || d < 0)
    return cb_fail_errno(err, "open '%s'", name);
  if (copy_tree(s, d, depth + 1, err) < 0)
    return cb_wrap(err, "%s", name);
  return copy_meta(d, &sb, err);
}

/* Copy what is in the directory FROM into the directory TO, fd-relative
   and following no symlink.  */
static int
copy_tree(int from, int to, unsigned depth, struct cb_error **err)
{
  cleanup_strv char **names = NULL;

  if (depth > CB_MAX_COPY_DEPTH)
    return cb_fail(err, CB_ERR_UNSAFE, 0, "deeper than %u directories",
                   CB_MAX_COPY_DEPTH);
  names = cb_list_dir(from, err);
  if (names == NULL)
    return -1;
  for (size_t i = 0; names[i] != NULL; i++)
    if (copy_entry(from, to, names[i], depth, err) < 0)
      return -1;
  return 0;
}

/* ---- the kinds ---------------------------------------------------------- */

/* The root FROM= names (an fd the caller closes), or the context.  */
static int
source_root(struct prep *p, const struct instr_mount *m, int *owned,
            struct cb_error **err)
{
  *owned = -1;
  if (m->from == NULL)
    return p->src->context_fd;
  if (p->src->resolve_from == NULL)
    return mount_fail(p, m, err, CB_ERR_UNSUPPORTED, 0,
                      "from=%s: there are no stages or images to mount "
                      "from here",
                      m->from);
  *owned = p->src->resolve_from(p->src->resolve_data, m->from, err);
  if (*owned < 0)
    return mount_wrap(p, m, err);
  return *owned;
}

/* SOURCE (default: the root itself) below the mount's root, as an O_PATH
   fd of a directory or a regular file.  */
static int
open_source(struct prep *p, const struct instr_mount *m, bool want_dir,
            struct cb_error **err)
{
  const char *path = m->source != NULL ? m->source : ".";
  cleanup_close int from = -1, fd = -1;
  int root = source_root(p, m, &from, err);
  struct stat sb;

  if (root < 0)
    return -1;
  fd = cb_open_in_root(root, path, O_PATH, 0, err);
  if (fd < 0) {
    cb_wrap(err, "source");
    return mount_wrap(p, m, err);
  }
  if (fstat(fd, &sb) < 0)
    return cb_fail_errno(err, "source '%s'", path);
  if (!S_ISDIR(sb.st_mode) && (want_dir || !S_ISREG(sb.st_mode)))
    return mount_fail(p, m, err, CB_ERR_USAGE, 0,
                      "source '%s' is not a directory%s", path,
                      want_dir ? "" : " or a regular file");
  return steal_fd(&fd);
}

/* A writable bind: the source stays as it is.  A directory gets an
   overlay whose upper dir is thrown away with the scratch dir (no copy of
   a whole tree, and the writes are the command's to see); a file gets a
   copy of its own.  */
static int
bind_discard(struct prep *p, size_t i, struct sandbox_mount *sm,
             struct cb_error **err)
{
  cleanup_free char *name = cb_xasprintf("%zu", i);
  cleanup_close int dir = scratch_mkdir(p, name, 0700, err);
  struct stat sb;
  int fd;

  if (dir < 0 || fstat(sm->source_fd, &sb) < 0)
    return -1;
  if (S_ISDIR(sb.st_mode)) {
    if (mkdirat(dir, "upper", 0755) < 0 || mkdirat(dir, "work", 0700) < 0)
      return cb_fail_errno(err, "cannot create the scratch dirs");
    sm->upper_fd = openat(dir, "upper", O_PATH | O_DIRECTORY | O_CLOEXEC);
    sm->work_fd = openat(dir, "work", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (sm->upper_fd >= 0)
      keep_fd(p->rm, sm->upper_fd);
    if (sm->work_fd >= 0)
      keep_fd(p->rm, sm->work_fd);
    if (sm->upper_fd < 0 || sm->work_fd < 0)
      return cb_fail_errno(err, "cannot open the scratch dirs");
    return 0;
  }
  if (copy_file(sm->source_fd, dir, "file", err) < 0)
    return -1;
  fd = openat(dir, "file", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return cb_fail_errno(err, "cannot open the copy of the source");
  sm->source_fd = keep_fd(p->rm, fd);
  return 0;
}

static int
prep_bind(struct prep *p, size_t i, const struct instr_mount *m,
          const char *target, struct cb_error **err)
{
  struct sandbox_mount *sm;
  int fd = open_source(p, m, false, err);

  if (fd < 0)
    return -1;
  sm = add_mount(p->rm, SANDBOX_MOUNT_BIND, target);
  sm->source_fd = keep_fd(p->rm, fd);
  sm->readonly = m->readonly;
  if (!m->readonly && bind_discard(p, i, sm, err) < 0)
    return mount_wrap(p, m, err);
  return 0;
}

static int
prep_tmpfs(struct prep *p, const struct instr_mount *m, const char *target)
{
  struct sandbox_mount *sm = add_mount(p->rm, SANDBOX_MOUNT_TMPFS, target);

  sm->size = m->has_size ? m->size : 0;
  return 0;
}

/* path.Base of ID: its last component.  */
static char *
id_base(const char *id)
{
  size_t len = strlen(id);
  const char *start;

  while (len > 1 && id[len - 1] == '/')
    len--;
  start = id + len;
  while (start > id && start[-1] != '/')
    start--;
  return cb_xstrndup(start, (size_t)(id + len - start));
}

static void
add_env(struct run_mounts *rm, const char *key, const struct build_secret *sec)
{
  size_t n = cb_strv_len(rm->env), klen = strlen(key);
  char *kv = cb_xmalloc(klen + 1 + sec->len + 1);

  memcpy(kv, key, klen);
  kv[klen] = '=';
  memcpy(kv + klen + 1, sec->data, sec->len);
  kv[klen + 1 + sec->len] = '\0';
  rm->env = cb_xreallocarray(rm->env, n + 2, sizeof(char *));
  rm->env[n] = kv;
  rm->env[n + 1] = NULL;
}

/* BuildKit: the id is ID (or SOURCE), else the base name of TARGET; a
   file at TARGET, else /run/secrets/<base name of the id> unless ENV= is
   all that was asked for.  */
static int
prep_secret(struct prep *p, const struct instr_mount *m, struct cb_error **err)
{
  cleanup_free char *id = NULL;
  const struct build_secret *sec;
  struct sandbox_mount *sm;
  char *target;

  if (m->id == NULL && m->target == NULL)
    return mount_fail(p, m, err, CB_ERR_USAGE, 0, "needs an id or a target");
  id = m->id != NULL ? cb_xstrdup(m->id) : id_base(m->target);
  sec = build_secrets_find(p->src->secrets, id);
  if (sec == NULL && m->required)
    return mount_fail(p, m, err, CB_ERR_USAGE, 0,
                      "secret '%s' is required but was not given "
                      "(--secret id=%s,src=FILE)",
                      id, id);
  if (sec == NULL)
    return 0;
  if (m->env != NULL)
    add_env(p->rm, m->env, sec);
  if (m->env != NULL && m->target == NULL)
    return 0;
  if (m->target != NULL) {
    target = clean_target(p->src->workdir, m->target);
  } else {
    cleanup_free char *base = id_base(id);
    cleanup_free char *path = cb_xasprintf("/run/secrets/%s", base);

    target = clean_target("/", path);
  }
  sm = add_mount(p->rm, SANDBOX_MOUNT_FILE, keep_str(p->rm, target));
  sm->data = sec->data;
  sm->len = sec->len;
  sm->mode = m->has_mode ? m->mode : 0400;
  sm->uid = m->has_uid ? m->uid : 0;
  sm->gid = m->has_gid ? m->gid : 0;
  sm->readonly = m->readonly;
  return 0;
}

/* ---- caches -------------------------------------------------------------- */

/* A new cache directory NAME in DIR as the mount C describes: seeded from
   FROM='s SOURCE, then given its mode and owner.  */
static int
cache_make(struct prep *p, const struct cache_use *c, int dir, const char *name,
           struct cb_error **err)
{
  const struct instr_mount *m = c->m;
  cleanup_close int fd = -1, seed = -1;

  if (mkdirat(dir, name, 0700) < 0)
    return cb_fail_errno(err, "cannot create the cache directory");
  fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return cb_fail_errno(err, "cannot open the cache directory");
  if (m->from != NULL) {
    seed = open_source(p, m, true, err);
    if (seed < 0)
      return -1;
    if (copy_tree(seed, fd, 0, err) < 0) {
      cb_wrap(err, "seed the cache from '%s'", m->from);
      return mount_wrap(p, m, err);
    }
  }
  /* Without uid/gid it stays ours: uid 0 in the user namespace.  */
  if ((m->has_uid || m->has_gid) &&
      fchown(fd, m->has_uid ? m->uid : (uid_t)-1,
             m->has_gid ? m->gid : (gid_t)-1) < 0)
    return cb_fail_errno(err, "cannot set the owner of the cache to %u:%u",
                         (unsigned)m->uid, (unsigned)m->gid);
  if (fchmod(fd, m->has_mode ? m->mode : 0755) < 0)
    return cb_fail_errno(err, "cannot set the mode of the cache");
  return 0;
}

/* The persistent cache <hex>: made under a temporary name and renamed
   into place without replacing, so that of two runs making it at once
   one wins and the other uses the winner's.  */
static int
cache_create(struct prep *p, const struct cache_use *c, struct cb_error **err)
{
  cleanup_free char *tmp = cb_xasprintf("%s.new-%ld", c->hex, (long)getpid());

  /* A leftover of a killed run of the same pid.  */
  if (cb_remove_tree_at(p->cache_fd, tmp, err) < 0)
    return -1;
  if (cache_make(p, c, p->cache_fd, tmp, err) < 0) {
    cb_remove_tree_at(p->cache_fd, tmp, NULL);
    return -1;
  }
  if (renameat2(p->cache_fd, tmp, p->cache_fd, c->hex, RENAME_NOREPLACE) < 0) {
    int e = errno;

    cb_remove_tree_at(p->cache_fd, tmp, NULL);
    if (e != EEXIST)
      return cb_fail(err, CB_ERR_SYSTEM, e, "cannot publish the cache");
  }
  return 0;
}

/* Take C's lock as its sharing wants.  Returns 1 when the cache is ours
   to use, 0 when a private mount found it busy.  */
static int
cache_lock(struct prep *p, const struct cache_use *c, struct cb_error **err)
{
  cleanup_free char *name = cb_xasprintf("%s.lock", c->hex);
  int op = c->sharing == MOUNT_SHARING_SHARED ? LOCK_SH : LOCK_EX;
  int fd = openat(p->cache_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                  0600);

  if (fd < 0)
    return cb_fail_errno(err, "cannot open the cache lock");
  keep_fd(p->rm, fd);
  if (c->sharing == MOUNT_SHARING_PRIVATE)
    op |= LOCK_NB;
  while (flock(fd, op) < 0) {
    if (errno == EWOULDBLOCK && (op & LOCK_NB))
      return 0;
    if (errno != EINTR)
      return cb_fail_errno(err, "cannot lock the cache");
  }
  return 1;
}

/* Lock C and open its directory (a fresh private one when busy).  */
static int
cache_acquire(struct prep *p, struct cache_use *c, size_t k,
              struct cb_error **err)
{
  int rc = cache_lock(p, c, err), fd;

  if (rc < 0)
    return mount_wrap(p, c->m, err);
  if (rc == 0) {
    cleanup_free char *name = cb_xasprintf("cache-%zu", k);

    /* In the scratch dir: it goes with it.  */
    if (scratch_open(p, err) < 0 ||
        cache_make(p, c, p->rm->scratch_fd, name, err) < 0)
      return mount_wrap(p, c->m, err);
    fd = openat(p->rm->scratch_fd, name,
                O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  } else {
    fd = openat(p->cache_fd, c->hex,
                O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
      if (cache_create(p, c, err) < 0)
        return mount_wrap(p, c->m, err);
      fd = openat(p->cache_fd, c->hex,
                  O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
  }
  if (fd < 0)
    return cb_fail_errno(err, "cannot open the cache directory");
  c->dir_fd = keep_fd(p->rm, fd);
  return 0;
}

static int
cache_cmp(const void *a, const void *b)
{
  return strcmp(((const struct cache_use *)a)->hex,
                ((const struct cache_use *)b)->hex);
}

/* Two mounts of one cache in one RUN share its lock (a second flock on
   the same file would wait for the first forever); the strictest sharing
   wins.  */
static size_t
cache_find_or_add(struct cache_use **v, size_t *n, const char *hex,
                  const struct instr_mount *m)
{
  static const int strength[] = { [MOUNT_SHARING_SHARED] = 0,
                                  [MOUNT_SHARING_PRIVATE] = 1,
                                  [MOUNT_SHARING_LOCKED] = 2 };

  for (size_t k = 0; k < *n; k++) {
    if (strcmp((*v)[k].hex, hex) != 0)
      continue;
    if (strength[m->sharing] > strength[(*v)[k].sharing])
      (*v)[k].sharing = m->sharing;
    return k;
  }
  *v = cb_xreallocarray(*v, *n + 1, sizeof(**v));
  memset(&(*v)[*n], 0, sizeof(**v));
  memcpy((*v)[*n].hex, hex, sizeof((*v)[*n].hex));
  (*v)[*n].sharing = m->sharing;
  (*v)[*n].m = m;
  (*v)[*n].dir_fd = -1;
  return (*n)++;
}

static int
cache_ptr_cmp(const void *a, const void *b)
{
  return cache_cmp(*(const struct cache_use *const *)a,
                   *(const struct cache_use *const *)b);
}

/* Lock and open every cache, in the order of their names: two runs that
   want the same caches take them in the same order and cannot deadlock. */
static int
caches_acquire(struct prep *p, struct cache_use *v, size_t n,
               struct cb_error **err)
{
  cleanup_free struct cache_use **order = cb_xcalloc(n, sizeof(*order));
  int root = layer_store_root_fd(p->s);
  cleanup_close int cache = -1;

  if (mkdirat(root, "cache", 0755) < 0 && errno != EEXIST)
    return cb_fail_errno(err, "store '%s': cannot create 'cache'",
                         layer_store_root(p->s));
  cache = openat(root, "cache", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (cache < 0 || (mkdirat(cache, "mounts", 0700) < 0 && errno != EEXIST))
    return cb_fail_errno(err, "store '%s': cannot create 'cache/mounts'",
                         layer_store_root(p->s));
  p->cache_fd =
      keep_fd(p->rm, openat(cache, "mounts",
                            O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (p->cache_fd < 0)
    return cb_fail_errno(err, "store '%s': cannot open 'cache/mounts'",
                         layer_store_root(p->s));
  for (size_t k = 0; k < n; k++)
    order[k] = &v[k];
  qsort(order, n, sizeof(*order), cache_ptr_cmp);
  for (size_t k = 0; k < n; k++)
    if (cache_acquire(p, order[k], (size_t)(order[k] - v), err) < 0)
      return -1;
  return 0;
}

/* ---- prepare and release --------------------------------------------------
 */

/* One --mount into P->rm; a cache mount gets its fd later, and
 *CACHE_OF its index in *CACHES.  */
static int
prep_one(struct prep *p, size_t i, const struct instr_mount *m,
         struct cache_use **caches, size_t *n_caches, size_t *cache_of,
         struct cb_error **err)
{
  const char *target = NULL;
  char hex[CB_DIGEST_HEX_LEN + 1];

  if (m->type == MOUNT_SSH) {
    cleanup_free char *where = mount_where(p->src, m);

    return cb_fail(err, CB_ERR_UNSUPPORTED, 0, "%s is not supported yet",
                   where);
  }
  if (m->type == MOUNT_SECRET)
    return prep_secret(p, m, err);
  if (m->target == NULL)
    return mount_fail(p, m, err, CB_ERR_USAGE, 0, "no target");
  target = keep_str(p->rm, clean_target(p->src->workdir, m->target));
  if (strcmp(target, "/") == 0)
    return mount_fail(p, m, err, CB_ERR_USAGE, 0, "cannot mount over /");
  switch (m->type) {
  case MOUNT_BIND:
    return prep_bind(p, i, m, target, err);
  case MOUNT_TMPFS:
    return prep_tmpfs(p, m, target);
  case MOUNT_CACHE:
    /* BuildKit's default id is the target.  */
    run_mounts_cache_name(m->id, target, hex);
    cache_of[p->rm->n_mounts] = cache_find_or_add(caches, n_caches, hex, m);
    add_mount(p->rm, SANDBOX_MOUNT_BIND, target)->readonly = m->readonly;
    return 0;
  default:
    return mount_fail(p, m, err, CB_ERR_UNSUPPORTED, 0, "unknown type");
  }
}

int
run_mounts_prepare(const struct instr_mount *m, size_t n,
                   const struct run_mount_sources *src, struct layer_store *s,
                   struct run_mounts *out, struct cb_error **err)
{
  struct prep p = { src, s, out, -1 };
  cleanup_free struct cache_use *caches = NULL;
  cleanup_free size_t *cache_of = cb_xcalloc(n + 1, sizeof(size_t));
  size_t n_caches = 0;

  memset(out, 0, sizeof(*out));
  out->scratch_fd = -1;
  for (size_t i = 0; i <= n; i++)
    cache_of[i] = SIZE_MAX;
  /* Everything is checked before any cache is made or locked.  */
  for (size_t i = 0; i < n; i++)
    if (prep_one(&p, i, &m[i], &caches, &n_caches, cache_of, err) < 0)
      goto fail;
  if (n_caches > 0 && caches_acquire(&p, caches, n_caches, err) < 0)
    goto fail;
  for (size_t j = 0; j < out->n_mounts; j++)
    if (cache_of[j] != SIZE_MAX)
      out->mounts[j].source_fd = caches[cache_of[j]].dir_fd;
  return 0;
fail:
  run_mounts_release(out);
  return -1;
}

void
run_mounts_release(struct run_mounts *rm)
{
  for (size_t i = 0; rm->env != NULL && rm->env[i] != NULL; i++) {
    explicit_bzero(rm->env[i], strlen(rm->env[i]));
    free(rm->env[i]);
  }
  free(rm->env);
  /* Closing the lock fds drops the cache locks.  */
  for (size_t i = rm->n_fds; i-- > 0;)
    close(rm->fds[i]);
  free(rm->fds);
  if (rm->scratch_fd >= 0)
    close(rm->scratch_fd);
  if (rm->scratch != NULL)
    cb_remove_tree_at(AT_FDCWD, rm->scratch, NULL);
  free(rm->scratch);
  for (size_t i = 0; i < rm->n_targets; i++)
    free(rm->targets[i]);
  free(rm->targets);
  free(rm->mounts);
  memset(rm, 0, sizeof(*rm));
  rm->scratch_fd = -1;
}
