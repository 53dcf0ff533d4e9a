#include "config.h"

#include "builder/copy-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/banned.h"

/* The compressions Docker names for ADD (reference, "Adding local tar
   archives"), tar formats only: a zip or cpio is copied as a file.  */
static struct archive *
reader_new(int fd)
{
  struct archive *a = archive_read_new();

  archive_read_support_filter_gzip(a);
  archive_read_support_filter_bzip2(a);
  archive_read_support_filter_xz(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  if (archive_read_open_fd(a, fd, COPY_IO_BUF) != ARCHIVE_OK) {
    archive_read_free(a);
    return NULL;
  }
  return a;
}

int
copy_archive_probe(int fd, bool *is_tar, struct cb_error **err)
{
  struct archive *a;
  struct archive_entry *ae;
  struct stat st;
  int r;

  *is_tar = false;
  if (fstat(fd, &st) < 0)
    return cb_fail_errno(err, "stat archive");
  /* An empty file is a file, whatever its name says.  */
  if (st.st_size == 0)
    return 0;
  if (lseek(fd, 0, SEEK_SET) < 0)
    return cb_fail_errno(err, "seek archive");
  a = reader_new(fd);
  if (a != NULL) {
    r = archive_read_next_header(a, &ae);
    *is_tar = r == ARCHIVE_OK || r == ARCHIVE_WARN || r == ARCHIVE_EOF;
    archive_read_free(a);
  }
  if (lseek(fd, 0, SEEK_SET) < 0)
    return cb_fail_errno(err, "seek archive");
  return 0;
}

/* --- extraction --- */

struct dir_meta {
  char *path; /* below the extraction root; owned */
  mode_t mode;
  uid_t uid;
  gid_t gid;
  struct timespec ts[2];
};

struct extract {
  struct copy_ctx *ctx;
  struct archive *a;
  int root;          /* the extraction dir, O_PATH */
  const char *label; /* the archive, for messages */
  char *base;        /* the extraction dir below the dest root; owned */
  struct dir_meta *dirs;
  size_t ndirs, dirs_alloc;
};

static int
arc_fail(struct extract *x, struct cb_error **err, const char *what)
{
  int e = archive_errno(x->a);

  return cb_fail(err, e > 0 ? CB_ERR_SYSTEM : CB_ERR_PARSE, e > 0 ? e : 0,
                 "archive '%s': %s: %s", x->label, what,
                 archive_error_string(x->a) ? archive_error_string(x->a)
                                            : "unknown error");
}

/* NAME cleaned: a leading "/" and "." parts dropped; ".." refused, as a
   layer entry is (CB_ERR_UNSAFE).  "" for the root itself.  */
static int
clean_entry(struct extract *x, const char *name, char **out,
            struct cb_error **err)
{
  struct cb_buf b = CB_BUF_INIT;

  for (const char *p = name; *p != '\0';) {
    size_t len = strcspn(p, "/");

    if (len == 2 && p[0] == '.' && p[1] == '.') {
      cb_buf_release(&b);
      return cb_fail(err, CB_ERR_UNSAFE, 0,
                     "archive '%s': entry '%s' has a '..' component",
                     x->label, name);
    }
    if (len > 0 && !(len == 1 && p[0] == '.')) {
      if (b.len > 0)
        cb_buf_addc(&b, '/');
      cb_buf_add(&b, p, len);
    }
    p += len + (p[len] == '/');
  }
  if (b.len >= PATH_MAX) {
    cb_buf_release(&b);
    return cb_fail(err, CB_ERR_UNSAFE, 0, "archive '%s': name too long",
                   x->label);
  }
  *out = cb_buf_detach(&b, NULL);
  return 0;
}

/* Open the parent of PATH (made if missing) and point *LEAF at its last
   part.  */
static int
open_parent(struct extract *x, char *path, const char **leaf,
            struct cb_error **err)
{
  char *slash = strrchr(path, '/');
  int fd;

  if (slash == NULL) {
    *leaf = path;
    return copy_mkdir_p(x->ctx, x->root, x->base, "", err);
  }
  *slash = '\0';
  fd = copy_mkdir_p(x->ctx, x->root, x->base, path, err);
  *slash = '/';
  *leaf = slash + 1;
  return fd;
}

static int
entry_owner(struct extract *x, struct archive_entry *ae, uid_t *uid,
            gid_t *gid, struct cb_error **err)
{
  la_int64_t u = archive_entry_uid(ae), g = archive_entry_gid(ae);

  if (x->ctx->chown) {
    *uid = x->ctx->uid;
    *gid = x->ctx->gid;
    return 0;
  }
  if (u < 0 || u >= UINT32_MAX || g < 0 || g >= UINT32_MAX)
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "archive '%s': entry '%s': owner %lld:%lld out of range",
                   x->label, archive_entry_pathname(ae), (long long)u,
                   (long long)g);
  *uid = (uid_t)u;
  *gid = (gid_t)g;
  return 0;
}

static void
entry_times(struct extract *x, struct archive_entry *ae, struct timespec ts[2])
{
  int64_t clamp = x->ctx->req->timestamp;

  ts[1].tv_sec = archive_entry_mtime(ae);
  ts[1].tv_nsec = archive_entry_mtime_nsec(ae);
  ts[0] = ts[1];
  if (archive_entry_atime_is_set(ae)) {
    ts[0].tv_sec = archive_entry_atime(ae);
    ts[0].tv_nsec = archive_entry_atime_nsec(ae);
  }
  for (int i = 0; i < 2 && clamp >= 0; i++)
    if (ts[i].tv_sec >= clamp) {
      ts[i].tv_sec = (time_t)clamp;
      ts[i].tv_nsec = 0;
    }
}

/* Remove what is at LEAF unless it is a directory and KEEP_DIR.  */
static int
clear_leaf(struct extract *x, int dir, const char *leaf, bool keep_dir,
           struct cb_error **err)
{
  struct stat st;

  if (fstatat(dir, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : cb_fail_errno(err, "stat '%s'", leaf);
  if (S_ISDIR(st.st_mode) && keep_dir)
    return 1;
  if (cb_remove_tree_at(dir, leaf, err) < 0)
    return cb_wrap(err, "archive '%s'", x->label);
  return 0;
}

static int
write_data(struct extract *x, int fd, struct archive_entry *ae,
           struct cb_error **err)
{
  la_int64_t size = archive_entry_size(ae);
  uint64_t total = 0;

  if (size < 0 || (uint64_t)size > CB_MAX_LAYER_ENTRY_SIZE)
    return cb_fail(err, CB_ERR_UNSAFE, 0,
                   "archive '%s': entry '%s' is too large", x->label,
                   archive_entry_pathname(ae));
  for (;;) {
    la_ssize_t n = archive_read_data(x->a, x->ctx->iobuf, COPY_IO_BUF);

    if (n < 0)
      return arc_fail(x, err, archive_entry_pathname(ae));
    if (n == 0)
      break;
    if (cb_write_all(fd, x->ctx->iobuf, (size_t)n, err) < 0)
      return cb_wrap(err, "archive '%s': '%s'", x->label,
                     archive_entry_pathname(ae));
    total += (uint64_t)n;
  }
  x->ctx->st->bytes += total;
  return 0;
}

/* The archive's xattrs that we carry over; pax writers may give a name
   twice, and setting it twice does no harm.  */
static int
set_xattrs(struct extract *x, int fd, struct archive_entry *ae,
           struct cb_error **err)
{
  const char *name;
  const void *value;
  size_t size;

  archive_entry_xattr_reset(ae);
  while (archive_entry_xattr_next(ae, &name, &value, &size) == ARCHIVE_OK) {
    if (!copy_xattr_wanted(name))
      continue;
    if (fsetxattr(fd, name, value, size, 0) == 0)
      continue;
    if (errno != ENOTSUP && errno != EPERM && errno != EACCES)
      return cb_fail_errno(err, "archive '%s': '%s': set xattr '%s'",
                           x->label, archive_entry_pathname(ae), name);
    x->ctx->st->xattrs_skipped++;
  }
  return 0;
}

static int
extract_file(struct extract *x, int dir, const char *leaf,
             struct archive_entry *ae, struct cb_error **err)
{
  cleanup_close int fd = -1;
  struct timespec ts[2];
  uid_t uid;
  gid_t gid;

  fd = openat(dir, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
              O_CLOEXEC, 0600);
  if (fd < 0)
    return cb_fail_errno(err, "archive '%s': create '%s'", x->label,
                         archive_entry_pathname(ae));
  if (write_data(x, fd, ae, err) < 0 ||
      entry_owner(x, ae, &uid, &gid, err) < 0)
    return -1;
  entry_times(x, ae, ts);
  if (copy_set_meta(x->ctx, fd, -1, NULL, true, uid, gid,
                    archive_entry_perm(ae) & 07777, NULL, err) < 0 ||
      set_xattrs(x, fd, ae, err) < 0 ||
      copy_set_meta(x->ctx, fd, -1, NULL, false, 0, 0, (mode_t)-1, ts,
                    err) < 0)
    return -1;
  x->ctx->st->files++;
  return 0;
}

/* A hard link must name a regular file already extracted, resolved inside
   the extraction dir (libarchive's test_write_disk_secure746).  */
static int
extract_hardlink(struct extract *x, int dir, const char *leaf,
                 struct archive_entry *ae, struct cb_error **err)
{
  cleanup_free char *target = NULL;
  cleanup_close int tdir = -1;
  const char *tleaf;
  struct stat st;

  if (clean_entry(x, archive_entry_hardlink(ae), &target, err) < 0)
    return -1;
  if (*target == '\0')
    return cb_fail(err, CB_ERR_UNSAFE, 0,
                   "archive '%s': hard link '%s' to the root", x->label,
                   archive_entry_pathname(ae));
  tdir = open_parent(x, target, &tleaf, err);
  if (tdir < 0)
    return -1;
  if (fstatat(tdir, tleaf, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
      !S_ISREG(st.st_mode))
    return cb_fail(err, CB_ERR_UNSAFE, 0,
                   "archive '%s': hard link '%s' to '%s', which is not a "
                   "file extracted before it", x->label,
                   archive_entry_pathname(ae), archive_entry_hardlink(ae));
  if (linkat(tdir, tleaf, dir, leaf, 0) < 0)
    return cb_fail_errno(err, "archive '%s': link '%s'", x->label,
                         archive_entry_pathname(ae));
  x->ctx->st->hardlinks++;
  return 0;
}

static int
extract_other(struct extract *x, int dir, const char *leaf,
              struct archive_entry *ae, struct cb_error **err)
{
  mode_t type = archive_entry_filetype(ae);
  mode_t mode = (mode_t)-1;
  struct timespec ts[2];
  uid_t uid;
  gid_t gid;
  int rc;

  if (type == AE_IFLNK) {
    rc = symlinkat(archive_entry_symlink(ae), dir, leaf);
  } else if (type == AE_IFIFO || type == AE_IFCHR || type == AE_IFBLK) {
    mode = archive_entry_perm(ae) & 07777;
    rc = mknodat(dir, leaf, type | 0600, archive_entry_rdev(ae));
    if (rc < 0 && errno == EPERM && type != AE_IFIFO) {
      x->ctx->st->devices_skipped++;
      return 0;
    }
  } else {
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "archive '%s': entry '%s' has an unknown type", x->label,
                   archive_entry_pathname(ae));
  }
  if (rc < 0)
    return cb_fail_errno(err, "archive '%s': create '%s'", x->label,
                         archive_entry_pathname(ae));
  if (entry_owner(x, ae, &uid, &gid, err) < 0)
    return -1;
  entry_times(x, ae, ts);
  if (type == AE_IFLNK)
    x->ctx->st->symlinks++;
  else
    x->ctx->st->specials++;
  return copy_set_meta(x->ctx, -1, dir, leaf, true, uid, gid, mode, ts, err);
}

static int
extract_dir(struct extract *x, int dir, const char *leaf, const char *path,
            struct archive_entry *ae, struct cb_error **err)
{
  struct dir_meta *m;

  if (mkdirat(dir, leaf, 0700) < 0 && errno != EEXIST)
    return cb_fail_errno(err, "archive '%s': mkdir '%s'", x->label,
                         archive_entry_pathname(ae));
  x->ctx->st->dirs++;
  CB_GROW(x->dirs, x->dirs_alloc, x->ndirs + 1);
  m = &x->dirs[x->ndirs++];
  m->path = cb_xstrdup(path);
  m->mode = archive_entry_perm(ae) & 07777;
  entry_times(x, ae, m->ts);
  return entry_owner(x, ae, &m->uid, &m->gid, err);
}

static int
extract_entry(struct extract *x, struct archive_entry *ae,
              struct cb_error **err)
{
  cleanup_free char *path = NULL;
  cleanup_close int dir = -1;
  bool is_dir = archive_entry_filetype(ae) == AE_IFDIR;
  const char *leaf;
  int kept;

  if (clean_entry(x, archive_entry_pathname(ae), &path, err) < 0)
    return -1;
  if (*path == '\0')
    return 0; /* the extraction dir's own metadata is not the archive's */
  dir = open_parent(x, path, &leaf, err);
  if (dir < 0)
    return -1;
  kept = clear_leaf(x, dir, leaf, is_dir, err);
  if (kept < 0)
    return -1;
  if (is_dir)
    return extract_dir(x, dir, leaf, path, ae, err);
  if (archive_entry_hardlink(ae) != NULL)
    return extract_hardlink(x, dir, leaf, ae, err);
  if (archive_entry_filetype(ae) == AE_IFREG)
    return extract_file(x, dir, leaf, ae, err);
  return extract_other(x, dir, leaf, ae, err);
}

/* Directory metadata last, deepest first, so that writing into them
   neither fails on a read-only mode nor moves their times.  */
static int
finish_dirs(struct extract *x, struct cb_error **err)
{
  for (size_t i = x->ndirs; i-- > 0;) {
    struct dir_meta *m = &x->dirs[i];
    cleanup_close int dir = -1, fd = -1;
    const char *leaf;

    dir = open_parent(x, m->path, &leaf, err);
    if (dir < 0)
      return -1;
    fd = openat(dir, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      return cb_fail_errno(err, "archive '%s': open '%s'", x->label,
                           m->path);
    if (copy_set_meta(x->ctx, fd, -1, NULL, true, m->uid, m->gid, m->mode,
                      m->ts, err) < 0)
      return -1;
  }
  return 0;
}

int
copy_archive_extract(struct copy_ctx *ctx, int fd, int dir_fd,
                     const char *label, struct cb_error **err)
{
  struct extract x = { .ctx = ctx, .root = dir_fd, .label = label };
  struct archive_entry *ae;
  int rc = 0;

  x.a = reader_new(fd);
  if (x.a == NULL)
    return cb_fail(err, CB_ERR_PARSE, 0, "archive '%s': cannot read it",
                   label);
  x.base = cb_xstrdup(cb_buf_str(&ctx->dpath));
  for (;;) {
    int r = archive_read_next_header(x.a, &ae);

    if (r == ARCHIVE_EOF)
      break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      rc = arc_fail(&x, err, "read");
      break;
    }
    rc = extract_entry(&x, ae, err);
    if (rc < 0)
      break;
  }
  if (rc == 0)
    rc = finish_dirs(&x, err);
  for (size_t i = 0; i < x.ndirs; i++)
    free(x.dirs[i].path);
  free(x.dirs);
  free(x.base);
  archive_read_free(x.a);
  return rc;
}
