#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/rootfs.h"
#include "builder/rootfs-internal.h"
#include "builder/vfs.h"
#include "common/cleanup.h"
#include "common/digest.h"
#include "common/buf.h"
#include "common/fs.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/num.h"
#include "layers/oci.h"
#include "common/banned.h"

int
rootfs_read_file(struct layer_store *s, char *const *lowers,
                 const char *path, char **buf, struct cb_error **err)
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

/* The first four colon-separated fields of LINE (LLEN bytes) into F and
   FLEN; returns how many there are.  */
static size_t
line_fields(const char *line, size_t llen, const char *f[4], size_t flen[4])
{
  size_t n = 0;

  for (const char *p = line; n < 4 && p <= line + llen; n++) {
    const char *c = memchr(p, ':', (size_t)(line + llen - p));

    f[n] = p;
    flen[n] = c != NULL ? (size_t)(c - p) : (size_t)(line + llen - p);
    if (c == NULL)
      return n + 1;
    p = c + 1;
  }
  return n;
}

/* In TEXT (/etc/passwd or /etc/group lines "name:x:ID:..."), find the
   line whose name is NAME (NLEN bytes) or, with NAME NULL, whose ID is
   *ID.  Writes *ID and, for passwd (GID_OUT not NULL), the line's gid.
   Returns the line (its name ends at the first ':'), or NULL.  */
static const char *
find_id_line(const char *text, const char *name, size_t nlen, uint32_t *id,
             uint32_t *gid_out)
{
  for (const char *line = text; line != NULL && *line != '\0';) {
    const char *end = strchr(line, '\n'), *start = line;
    size_t llen = end != NULL ? (size_t)(end - line) : strlen(line);
    const char *f[4];
    size_t n, flen[4];
    uint32_t v, g = 0;

    n = line_fields(line, llen, f, flen);
    line = end != NULL ? end + 1 : NULL;
    if (n < 3 || !cb_parse_id(f[2], flen[2], &v))
      continue;
    if (gid_out != NULL && (n < 4 || !cb_parse_id(f[3], flen[3], &g)))
      continue;
    if (name != NULL ? (flen[0] == nlen && memcmp(f[0], name, nlen) == 0)
                     : v == *id) {
      *id = v;
      if (gid_out != NULL)
        *gid_out = g;
      return start;
    }
  }
  return NULL;
}

/* Whether NAME (NLEN bytes) is in the comma-separated MEMBERS.  */
static bool
is_member(const char *members, size_t mlen, const char *name, size_t nlen)
{
  const char *end = members + mlen;

  for (const char *p = members; p < end;) {
    const char *c = memchr(p, ',', (size_t)(end - p));
    size_t len = c != NULL ? (size_t)(c - p) : (size_t)(end - p);

    if (len == nlen && memcmp(p, name, nlen) == 0)
      return true;
    p += len + 1;
  }
  return false;
}

/* The gids of the /etc/group lines in TEXT that list NAME (NLEN bytes)
   as a member, appended to *V (*N of *ALLOC).  */
static int
member_gids(const char *text, const char *name, size_t nlen, gid_t **v,
            size_t *n, size_t *alloc, struct cb_error **err)
{
  for (const char *line = text; line != NULL && *line != '\0';) {
    const char *end = strchr(line, '\n');
    size_t llen = end != NULL ? (size_t)(end - line) : strlen(line);
    const char *f[4];
    size_t flen[4];
    uint32_t g;

    if (line_fields(line, llen, f, flen) == 4 &&
        cb_parse_id(f[2], flen[2], &g) && is_member(f[3], flen[3], name, nlen)) {
      if (*n >= CB_MAX_GROUPS)
        return cb_fail(err, CB_ERR_UNSAFE, 0,
                       "user '%.*s' is in more than %d groups", (int)nlen,
                       name, CB_MAX_GROUPS);
      CB_GROW(*v, *alloc, *n + 1);
      (*v)[(*n)++] = (gid_t)g;
    }
    line = end != NULL ? end + 1 : NULL;
  }
  return 0;
}

int
rootfs_user_groups(struct layer_store *s, char *const *lowers,
                   const char *user, gid_t **groups, size_t *n_groups,
                   struct cb_error **err)
{
  cleanup_free char *passwd = NULL, *group = NULL;
  cleanup_free gid_t *v = NULL;
  size_t ulen = strcspn(user, ":"), n = 0, alloc = 0;
  const char *pw = NULL;
  uint32_t u = 0, pg = 0;

  /* As runc has it: a group given explicitly means no supplementary
     ones, and only a user with an /etc/passwd entry (by name or uid) has
     any.  */
  if (user[ulen] != ':') {
    if (rootfs_read_file(s, lowers, "etc/passwd", &passwd, err) < 0)
      return cb_wrap(err, "user '%s'", user);
    if (passwd != NULL)
      pw = cb_parse_id(user, ulen, &u)
               ? find_id_line(passwd, NULL, 0, &u, &pg)
               : find_id_line(passwd, user, ulen, &u, &pg);
  }
  if (pw != NULL) {
    if (rootfs_read_file(s, lowers, "etc/group", &group, err) < 0)
      return cb_wrap(err, "user '%s'", user);
    if (group != NULL &&
        member_gids(group, pw, strcspn(pw, ":"), &v, &n, &alloc, err) < 0)
      return -1;
  }
  *groups = steal_ptr(&v);
  *n_groups = n;
  return 0;
}

int
rootfs_resolve_user(struct layer_store *s, char *const *lowers,
                    const char *user, uid_t *uid, gid_t *gid,
                    struct cb_error **err)
{
  cleanup_free char *passwd = NULL, *group = NULL;
  size_t ulen = strcspn(user, ":");
  const char *grp = user[ulen] == ':' ? user + ulen + 1 : NULL;
  uint32_t u = 0, g = 0, pg = 0;
  bool numeric = cb_parse_id(user, ulen, &u);

  if (rootfs_read_file(s, lowers, "etc/passwd", &passwd, err) < 0)
    return cb_wrap(err, "user '%s'", user);
  if (!numeric && (passwd == NULL ||
                   !find_id_line(passwd, user, ulen, &u, &pg)))
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "user '%.*s' is not in the image's /etc/passwd",
                   (int)ulen, user);
  if (numeric && passwd != NULL && find_id_line(passwd, NULL, 0, &u, &pg))
    numeric = false; /* pg is the user's gid */
  g = numeric ? 0 : pg;
  if (grp != NULL && !cb_parse_id(grp, strlen(grp), &g)) {
    if (rootfs_read_file(s, lowers, "etc/group", &group, err) < 0)
      return cb_wrap(err, "group '%s'", grp);
    if (group == NULL || !find_id_line(group, grp, strlen(grp), &g, NULL))
      return cb_fail(err, CB_ERR_USAGE, 0,
                     "group '%s' is not in the image's /etc/group", grp);
  }
  *uid = u;
  *gid = g;
  return 0;
}

/* A fresh run/<random>/ in the store with upper/, work/, merged/ and
   l/0, l/1, ... naming the lowers (an empty l/0 when there are none).
   *DIR is its path.  */
static int
make_run_dir(struct layer_store *s, char *const *lowers, char **dir,
             struct cb_error **err)
{
  int root = layer_store_root_fd(s);
  cleanup_close int fd = -1, l = -1;

  if (mkdirat(root, "run", 0700) < 0 && errno != EEXIST)
    return cb_fail_errno(err, "store '%s': cannot create 'run'",
                         layer_store_root(s));
  /* The pid in the name lets rootfs_clean_stale() find the dirs of
     runs that were killed.  */
  *dir = cb_xasprintf("%s/run/%ld-XXXXXX", layer_store_root(s),
                      (long)getpid());
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
      mkdirat(fd, "files", 0755) < 0 || mkdirat(fd, "l", 0700) < 0)
    return cb_fail_errno(err, "cannot set up '%s'", *dir);
  l = openat(fd, "l", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (l < 0)
    return cb_fail_errno(err, "cannot set up '%s/l'", *dir);
  if (lowers[0] == NULL && mkdirat(l, "0", 0755) < 0)
    return cb_fail_errno(err, "cannot set up '%s/l/0'", *dir);
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

char **
rootfs_unpack_image(struct layer_store *s, const struct store_image *img,
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

/* The vfs driver's root: the lowers copied into merged/, and the time
   from which a file there may have been changed.  */
static int
copy_lowers(struct rootfs *rf, struct cb_error **err)
{
  cleanup_close int merged = -1, stamp = -1, dir = -1;
  struct vfs_stats st = { 0, 0, 0, 0, 0 };
  int *fds = NULL;
  struct stat sb;
  int rc;

  if (rootfs_open_lowers(rf, &fds, err) < 0)
    return -1;
  merged = open(rf->merged, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (merged < 0) {
    rootfs_close_lowers(rf, fds);
    return cb_fail_errno(err, "cannot open '%s'", rf->merged);
  }
  rc = vfs_copy_lowers(fds, rf->n_lowers, merged, &st, err);
  rootfs_close_lowers(rf, fds);
  if (rc < 0)
    return -1;
  if (st.owner_failures > 0 || st.xattrs_skipped > 0)
    cb_log(CB_LOG_WARN, "vfs: %llu owners and %llu xattrs could not be "
           "copied", (unsigned long long)st.owner_failures,
           (unsigned long long)st.xattrs_skipped);
  cb_log(CB_LOG_DEBUG, "vfs: copied %llu entries, %llu bytes",
         (unsigned long long)st.entries, (unsigned long long)st.bytes);
  /* Made after the copy: whatever has a ctime before this one was not
     touched since.  */
  dir = open(rf->dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  stamp = dir < 0 ? -1 : openat(dir, "copied", O_WRONLY | O_CREAT | O_EXCL |
                                O_NOFOLLOW | O_CLOEXEC, 0600);
  if (stamp < 0 || fstat(stamp, &sb) < 0)
    return cb_fail_errno(err, "cannot create '%s/copied'", rf->dir);
  rf->copied = sb.st_ctim;
  return 0;
}

int
rootfs_create(struct layer_store *s, char *const *lowers,
              enum rootfs_driver driver, struct rootfs *rf,
              struct cb_error **err)
{
  size_t n = cb_strv_len(lowers);

  memset(rf, 0, sizeof(*rf));
  if (driver != ROOTFS_DRIVER_OVERLAY && driver != ROOTFS_DRIVER_VFS)
    return cb_fail(err, CB_ERR_USAGE, 0, "rootfs: no storage driver chosen");
  rf->driver = driver;
  rf->lowers = cb_strv_dup(lowers);
  if (make_run_dir(s, lowers, &rf->dir, err) < 0)
    return -1;
  rf->n_lowers = n > 0 ? n : 1;
  rf->short_lowers = cb_xcalloc(rf->n_lowers + 1, sizeof(char *));
  for (size_t i = 0; i < rf->n_lowers; i++)
    rf->short_lowers[i] = cb_xasprintf("%zu", i);
  rf->lower_dir = cb_xasprintf("%s/l", rf->dir);
  rf->merged = cb_xasprintf("%s/merged", rf->dir);
  rf->upper = cb_xasprintf("%s/upper", rf->dir);
  rf->files = cb_xasprintf("%s/files", rf->dir);
  if (driver == ROOTFS_DRIVER_VFS)
    return copy_lowers(rf, err);
  return 0;
}

void
rootfs_fill_spec(const struct rootfs *rf, struct sandbox_spec *spec)
{
  spec->lower_dir = rf->lower_dir;
  spec->lowers = rf->short_lowers;
  spec->n_lowers = rf->n_lowers;
  spec->upper = "../upper"; /* relative to LOWER_DIR, like the lowers */
  spec->work = "../work";
  spec->merged = rf->merged;
  spec->bind_root = rf->driver == ROOTFS_DRIVER_VFS;
  spec->files_dir = rf->files;
}

void
rootfs_remove(struct rootfs *rf)
{
  if (rf->dir != NULL)
    cb_remove_tree_at(AT_FDCWD, rf->dir, NULL);
  free(rf->dir);
  cb_strv_free(rf->lowers);
  cb_strv_free(rf->short_lowers);
  free(rf->lower_dir);
  free(rf->merged);
  free(rf->upper);
  free(rf->files);
  memset(rf, 0, sizeof(*rf));
}

int
rootfs_mount(const struct rootfs *rf, struct cb_error **err)
{
  struct cb_buf opts = CB_BUF_INIT;
  cleanup_free char *text = NULL;
  cleanup_close int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  int rc = 0;

  /* Relative lower dirs (from inside l/), as the sandbox does, so that
     many layers fit in the one-page option string.  */
  cb_buf_adds(&opts, "lowerdir=");
  for (size_t i = 0; i < rf->n_lowers; i++)
    cb_buf_addf(&opts, "%s%s", i > 0 ? ":" : "", rf->short_lowers[i]);
  /* volatile: no sync of the upper fs at umount (see overlay_options in
     sandbox.c).  */
  cb_buf_adds(&opts, ",upperdir=../upper,workdir=../work,userxattr,volatile");
  text = cb_buf_detach(&opts, NULL);
  if (cwd < 0 || chdir(rf->lower_dir) < 0)
    return cb_fail_errno(err, "cannot enter '%s'", rf->lower_dir);
  if (mount("overlay", rf->merged, "overlay", 0, text) < 0)
    rc = cb_fail_errno(err, "mount overlay on '%s'", rf->merged);
  if (fchdir(cwd) < 0 && rc == 0)
    rc = cb_fail_errno(err, "cannot return to the working directory");
  return rc;
}

void
rootfs_umount(const struct rootfs *rf)
{
  if (rf->merged != NULL)
    umount2(rf->merged, MNT_DETACH);
}

/* Whether NAME ("<pid>-XXXXXX" or "m<pid>-XXXXXX") names a process that
   is gone.  */
static bool
run_dir_is_stale(const char *name)
{
  const char *p = name[0] == 'm' ? name + 1 : name;
  char *end = NULL;
  long pid = strtol(p, &end, 10);

  if (end == p || *end != '-' || pid <= 0)
    return false;
  return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

void
rootfs_clean_stale(struct layer_store *s)
{
  cleanup_close int run = openat(layer_store_root_fd(s), "run",
                                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                 O_CLOEXEC);
  cleanup_strv char **names = NULL;
  struct cb_error *e = NULL;

  if (run < 0 || (names = cb_list_dir(run, &e)) == NULL) {
    cb_error_free(e);
    return;
  }
  for (size_t i = 0; names[i] != NULL; i++) {
    if (!run_dir_is_stale(names[i]))
      continue;
    if (cb_remove_tree_at(run, names[i], &e) < 0) {
      cb_log(CB_LOG_DEBUG, "run/%s: %s", names[i], e->msg);
      cb_error_free(e);
      e = NULL;
    }
  }
}
