#include "config.h"

#include "layers/tarwrite.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/mem.h"
#include "layers/layer.h"
#include "layers/tarwrite-internal.h"

#include "common/banned.h"

/* File content goes to libarchive in pieces of this size: small enough
   to stay in cache while it is hashed and copied on, large enough that
   syscalls do not matter.  */
#define READ_CHUNK (256u * 1024)

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

static int
default_lstat(int dir_fd, const char *name, struct stat *st)
{
  return fstatat(dir_fd, name, st, AT_SYMLINK_NOFOLLOW);
}

int (*tarwrite_lstat_hook)(int dir_fd, const char *name,
                           struct stat *st) = default_lstat;

bool
tarwrite_is_whiteout(const struct stat *st)
{
  return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

enum tarwrite_xattr
tarwrite_xattr_class(const char *name, const void *value, size_t len)
{
  static const char *const overlay[] = { "trusted.overlay.", "user.overlay." };

  if (strcmp(name, "security.selinux") == 0)
    return TARWRITE_XATTR_DROP;
  if (strcmp(name, LAYER_OWNER_XATTR) == 0)
    return TARWRITE_XATTR_OWNER;
  for (size_t i = 0; i < CB_N_ELEMENTS(overlay); i++) {
    size_t n = strlen(overlay[i]);
    const char *key = name + n;

    if (strncmp(name, overlay[i], n) != 0)
      continue;
    /* "y" is opaque; newer kernels also write "x" (a directory that holds
       xwhiteouts), which is not.  */
    if (strcmp(key, "opaque") == 0)
      return len == 1 && *(const char *)value == 'y' ? TARWRITE_XATTR_OPAQUE
                                                     : TARWRITE_XATTR_DROP;
    if (strcmp(key, "redirect") == 0 || strcmp(key, "metacopy") == 0)
      return TARWRITE_XATTR_UNSUPPORTED;
    return TARWRITE_XATTR_DROP;
  }
  return TARWRITE_XATTR_KEEP;
}

/* --- hard links: (st_dev, st_ino) -> the first name, open addressing --- */

struct hl_slot {
  dev_t dev;
  ino_t ino;
  char *path; /* owned; NULL: empty slot */
};

struct hl_map {
  struct hl_slot *v;
  size_t n;
  size_t cap; /* 0 or a power of two */
};

static size_t
hl_index(const struct hl_map *m, dev_t dev, ino_t ino)
{
  uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15u ^ (uint64_t)dev;

  h ^= h >> 29;
  return (size_t)h & (m->cap - 1);
}

static struct hl_slot *
hl_lookup(const struct hl_map *m, dev_t dev, ino_t ino)
{
  if (m->cap == 0)
    return NULL;
  for (size_t i = hl_index(m, dev, ino);; i = (i + 1) & (m->cap - 1)) {
    struct hl_slot *s = &m->v[i];

    if (s->path == NULL || (s->dev == dev && s->ino == ino))
      return s;
  }
}

static void
hl_add(struct hl_map *m, dev_t dev, ino_t ino, const char *path)
{
  struct hl_slot *s;

  if (2 * (m->n + 1) > m->cap) {
    struct hl_map bigger = { NULL, m->n, m->cap ? 2 * m->cap : 64 };

    bigger.v = cb_xcalloc(bigger.cap, sizeof(*bigger.v));
    for (size_t i = 0; i < m->cap; i++) {
      if (m->v[i].path != NULL)
        *hl_lookup(&bigger, m->v[i].dev, m->v[i].ino) = m->v[i];
    }
    free(m->v);
    *m = bigger;
  }
  s = hl_lookup(m, dev, ino);
  s->dev = dev;
  s->ino = ino;
  s->path = cb_xstrdup(path);
  m->n++;
}

static void
hl_release(struct hl_map *m)
{
  for (size_t i = 0; i < m->cap; i++)
    free(m->v[i].path);
  free(m->v);
}

/* --- the walk --- */

struct tw {
  const struct tarwrite_opts *opts;
  const struct cb_sink *out; /* borrowed */
  struct archive *a;         /* owned */
  struct archive_entry *ae;  /* owned, reused for every entry */
  struct cb_error *sink_err; /* owned; what OUT said when it failed */
  bool out_failed;           /* OUT failed: write nothing more */
  struct cb_buf path;        /* the current entry, relative */
  struct hl_map links;
  unsigned char *buf; /* owned, READ_CHUNK bytes */
  char *xlist;        /* owned, an xattr name list */
  size_t xlist_cap;
  char *xval; /* owned, an xattr value */
  size_t xval_cap;
};

struct dent {
  char *name;    /* owned */
  char *tarname; /* owned: name, or ".wh." name for a whiteout */
  bool whiteout;
};

static la_ssize_t
archive_out(struct archive *a, void *data, const void *buf, size_t len)
{
  struct tw *tw = data;

  if (tw->out_failed || cb_sink_write(tw->out, buf, len, &tw->sink_err) < 0) {
    tw->out_failed = true;
    archive_set_error(a, EIO, "output failed");
    return -1;
  }
  return (la_ssize_t)len;
}

/* A libarchive failure as a cb_error; when our own sink failed underneath,
   its error is the one passed up.  */
static int
archive_fail(struct tw *tw, const char *what, struct cb_error **err)
{
  if (tw->sink_err != NULL) {
    if (*err == NULL)
      *err = steal_ptr(&tw->sink_err);
    return -1;
  }
  return cb_fail(err, CB_ERR_SYSTEM, 0, "'%s': %s: %s", cb_buf_str(&tw->path),
                 what, archive_error_string(tw->a));
}

static time_t
clamp_mtime(const struct tw *tw, const struct stat *st)
{
  int64_t t = st->st_mtim.tv_sec;

  if (tw->opts->clamp_mtime >= 0 && t > tw->opts->clamp_mtime)
    t = tw->opts->clamp_mtime;
  return (time_t)t;
}

/* Start the entry for the current path: owner, permissions and mtime
   (whole seconds: sub-second times would need a pax record per entry and
   say nothing an image needs).  */
static void
entry_start(struct tw *tw, const char *tarpath, const struct stat *st)
{
  struct archive_entry *ae = tw->ae;

  archive_entry_clear(ae);
  archive_entry_copy_pathname(ae, tarpath);
  archive_entry_set_uid(ae, st->st_uid == tw->opts->root_uid ? 0
                                                              : st->st_uid);
  archive_entry_set_gid(ae, st->st_gid == tw->opts->root_gid ? 0
                                                              : st->st_gid);
  archive_entry_set_mode(ae, st->st_mode & (S_IFMT | 07777));
  archive_entry_set_mtime(ae, clamp_mtime(tw, st), 0);
}

static int
header_out(struct tw *tw, struct cb_error **err)
{
  int r = archive_write_header(tw->a, tw->ae);

  /* A warning is a name that is not UTF-8: it went out as raw bytes with
     hdrcharset=BINARY, which is what it is.  */
  if (r == ARCHIVE_WARN)
    cb_log(CB_LOG_INFO, "'%s': %s", cb_buf_str(&tw->path),
           archive_error_string(tw->a));
  else if (r != ARCHIVE_OK)
    return archive_fail(tw, "write header", err);
  return 0;
}

/* The path of the entry named NAME (or TARNAME) in the current directory:
   push it on tw->path, returning the length to pop back to.  */
static size_t
path_push(struct tw *tw, const char *name)
{
  size_t len = tw->path.len;

  if (len > 0)
    cb_buf_addc(&tw->path, '/');
  cb_buf_adds(&tw->path, name);
  return len;
}

static int
changed(struct tw *tw, struct cb_error **err)
{
  return cb_fail(err, CB_ERR_SYSTEM, 0, "'%s' changed while being read",
                 cb_buf_str(&tw->path));
}

/* --- extended attributes --- */

/* Read into tw->xlist the names of the xattrs of FD, or of PROC_PATH (not
   followed) when FD < 0.  Returns the list length; 0 when the file system
   has none.  */
static ssize_t
xattr_names(struct tw *tw, int fd, const char *proc_path, struct cb_error **err)
{
  for (;;) {
    ssize_t n =
        fd >= 0 ? flistxattr(fd, NULL, 0) : llistxattr(proc_path, NULL, 0);

    if (n < 0 && (errno == ENOTSUP || errno == ENOSYS))
      return 0;
    if (n < 0)
      return cb_fail_errno(err, "'%s': list xattrs", cb_buf_str(&tw->path));
    if (n == 0)
      return 0;
    if ((size_t)n > tw->xlist_cap) {
      free(tw->xlist);
      tw->xlist = cb_xmalloc((size_t)n);
      tw->xlist_cap = (size_t)n;
    }
    n = fd >= 0 ? flistxattr(fd, tw->xlist, tw->xlist_cap)
                : llistxattr(proc_path, tw->xlist, tw->xlist_cap);
    if (n >= 0)
      return n;
    if (errno != ERANGE) /* ERANGE: one was added meanwhile, again */
      return cb_fail_errno(err, "'%s': list xattrs", cb_buf_str(&tw->path));
  }
}

/* The value of NAME into tw->xval; -2 when it went away meanwhile.  */
static ssize_t
xattr_value(struct tw *tw, int fd, const char *proc_path, const char *name,
            struct cb_error **err)
{
  for (;;) {
    ssize_t n = fd >= 0 ? fgetxattr(fd, name, NULL, 0)
                        : lgetxattr(proc_path, name, NULL, 0);

    if (n < 0 && errno == ENODATA)
      return -2;
    if (n < 0)
      return cb_fail_errno(err, "'%s': get xattr '%s'", cb_buf_str(&tw->path),
                           name);
    if ((size_t)n + 1 > tw->xval_cap) {
      free(tw->xval);
      tw->xval = cb_xmalloc((size_t)n + 1);
      tw->xval_cap = (size_t)n + 1;
    }
    n = fd >= 0 ? fgetxattr(fd, name, tw->xval, tw->xval_cap)
                : lgetxattr(proc_path, name, tw->xval, tw->xval_cap);
    if (n >= 0)
      return n;
    if (errno == ENODATA)
      return -2;
    if (errno != ERANGE)
      return cb_fail_errno(err, "'%s': get xattr '%s'", cb_buf_str(&tw->path),
                           name);
  }
}

static int
cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The owner recorded in LAYER_OWNER_XATTR (LEN bytes in tw->xval) is the
   entry's: it is what chown could not set under the single id mapping.  */
static int
set_recorded_owner(struct tw *tw, size_t len, struct cb_error **err)
{
  unsigned uid, gid;

  if (!layer_owner_parse(tw->xval, len, &uid, &gid))
    return cb_fail(err, CB_ERR_PARSE, 0, "'%s': bad xattr '%s'",
                   cb_buf_str(&tw->path), LAYER_OWNER_XATTR);
  archive_entry_set_uid(tw->ae, uid);
  archive_entry_set_gid(tw->ae, gid);
  return 0;
}

/* Add the xattrs of the entry to tw->ae, in name order.  FD is the open
   file or directory; for other types it is -1 and the xattrs are read
   through /proc/self/fd/DIR_FD/NAME without following it (the l* calls):
   there is no fd to read them from, as O_PATH fds do not take
   fgetxattr.  Sets *OPAQUE for an overlay opaque marker.  */
static int
xattrs_add(struct tw *tw, int fd, int dir_fd, const char *name, bool *opaque,
           struct cb_error **err)
{
  char proc_path[64 + NAME_MAX] = "";
  cleanup_free const char **names = NULL;
  size_t count = 0;
  ssize_t len;

  *opaque = false;
  if (fd < 0)
    snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d/%s", dir_fd, name);
  len = xattr_names(tw, fd, proc_path, err);
  if (len <= 0)
    return (int)len;
  for (ssize_t i = 0; i < len; i += (ssize_t)strlen(tw->xlist + i) + 1)
    count++;
  names = cb_xcalloc(count, sizeof(*names));
  count = 0;
  for (ssize_t i = 0; i < len; i += (ssize_t)strlen(tw->xlist + i) + 1)
    names[count++] = tw->xlist + i;
  qsort(names, count, sizeof(*names), cmp_str);

  /* libarchive writes an entry's xattrs last added first.  */
  for (size_t i = count; i-- > 0;) {
    ssize_t n = xattr_value(tw, fd, proc_path, names[i], err);

    if (n == -2)
      continue;
    if (n < 0)
      return -1;
    switch (tarwrite_xattr_class(names[i], tw->xval, (size_t)n)) {
    case TARWRITE_XATTR_KEEP:
      archive_entry_xattr_add_entry(tw->ae, names[i], tw->xval, (size_t)n);
      break;
    case TARWRITE_XATTR_OPAQUE:
      *opaque = true;
      break;
    case TARWRITE_XATTR_UNSUPPORTED:
      if (tw->opts->mode == TARWRITE_OVERLAY)
        return cb_fail(err, CB_ERR_UNSUPPORTED, 0,
                       "'%s': overlay xattr '%s' (redirect_dir or metacopy) "
                       "cannot be expressed in a layer",
                       cb_buf_str(&tw->path), names[i]);
      break;
    case TARWRITE_XATTR_OWNER:
      if (set_recorded_owner(tw, (size_t)n, err) < 0)
        return -1;
      break;
    case TARWRITE_XATTR_DROP:
      break;
    }
  }
  return 0;
}

/* --- entries --- */

static int write_dir(struct tw *tw, int dir_fd, int depth,
                     struct cb_error **err);

static int
data_out(struct tw *tw, int fd, off_t size, struct cb_error **err)
{
  off_t left = size;

  while (left > 0) {
    size_t want = left < (off_t)READ_CHUNK ? (size_t)left : READ_CHUNK;
    ssize_t n = read(fd, tw->buf, want);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return cb_fail_errno(err, "read '%s'", cb_buf_str(&tw->path));
    if (n == 0)
      return cb_fail(err, CB_ERR_SYSTEM, 0, "'%s' shrank while being read",
                     cb_buf_str(&tw->path));
    if (archive_write_data(tw->a, tw->buf, (size_t)n) != n)
      return archive_fail(tw, "write data", err);
    left -= n;
  }
  return 0;
}

/* A second name of an inode already in the layer.  */
static int
write_hardlink(struct tw *tw, const struct stat *st, const char *target,
               struct cb_error **err)
{
  entry_start(tw, cb_buf_str(&tw->path), st);
  archive_entry_set_hardlink(tw->ae, target);
  archive_entry_set_size(tw->ae, 0);
  return header_out(tw, err);
}

/* Open NAME (as lstat saw it in *ST) and check that it is still that
   inode; refresh *ST from the fd.  */
static int
open_same(struct tw *tw, int dir_fd, const char *name, int flags,
          struct stat *st, struct cb_error **err)
{
  cleanup_close int fd = -1;
  struct stat now;

  fd = openat(dir_fd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
    return changed(tw, err);
  if (fd < 0)
    return cb_fail_errno(err, "open '%s'", cb_buf_str(&tw->path));
  if (fstat(fd, &now) < 0)
    return cb_fail_errno(err, "stat '%s'", cb_buf_str(&tw->path));
  if (now.st_dev != st->st_dev || now.st_ino != st->st_ino ||
      (now.st_mode & S_IFMT) != (st->st_mode & S_IFMT))
    return changed(tw, err);
  *st = now;
  return steal_fd(&fd);
}

static int
write_regular(struct tw *tw, int dir_fd, const char *name, struct stat *st,
              struct cb_error **err)
{
  cleanup_close int fd = -1;
  bool opaque;

  /* O_NONBLOCK: should NAME become a fifo meanwhile, open must not hang
     (and open_same then sees the change).  */
  fd = open_same(tw, dir_fd, name, O_RDONLY | O_NONBLOCK, st, err);
  if (fd < 0)
    return -1;
  entry_start(tw, cb_buf_str(&tw->path), st);
  archive_entry_set_size(tw->ae, st->st_size);
  if (xattrs_add(tw, fd, dir_fd, name, &opaque, err) < 0 ||
      header_out(tw, err) < 0)
    return -1;
  if (st->st_size > (off_t)READ_CHUNK) /* a syscall saved per small file */
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return data_out(tw, fd, st->st_size, err);
}

static int
write_symlink(struct tw *tw, int dir_fd, const char *name,
              const struct stat *st, struct cb_error **err)
{
  char target[PATH_MAX + 1];
  ssize_t n = readlinkat(dir_fd, name, target, sizeof(target));
  bool opaque;

  if (n < 0 && errno == EINVAL)
    return changed(tw, err);
  if (n < 0)
    return cb_fail_errno(err, "read link '%s'", cb_buf_str(&tw->path));
  if ((size_t)n >= sizeof(target))
    return cb_fail(err, CB_ERR_UNSAFE, 0, "'%s': link target too long",
                   cb_buf_str(&tw->path));
  target[n] = '\0';
  entry_start(tw, cb_buf_str(&tw->path), st);
  archive_entry_copy_symlink(tw->ae, target);
  if (xattrs_add(tw, -1, dir_fd, name, &opaque, err) < 0)
    return -1;
  return header_out(tw, err);
}

static int
write_special(struct tw *tw, int dir_fd, const char *name,
              const struct stat *st, struct cb_error **err)
{
  bool opaque;

  entry_start(tw, cb_buf_str(&tw->path), st);
  if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
    archive_entry_set_rdevmajor(tw->ae, major(st->st_rdev));
    archive_entry_set_rdevminor(tw->ae, minor(st->st_rdev));
  }
  if (xattrs_add(tw, -1, dir_fd, name, &opaque, err) < 0)
    return -1;
  return header_out(tw, err);
}

/* OCI image-spec layer.md "Whiteouts": an empty regular file named
   .wh.NAME says NAME is deleted.  */
static int
write_whiteout(struct tw *tw, const char *tarpath, const struct stat *st,
               struct cb_error **err)
{
  struct stat wh = *st;

  wh.st_mode = S_IFREG;
  wh.st_uid = 0;
  wh.st_gid = 0;
  entry_start(tw, tarpath, &wh);
  archive_entry_set_size(tw->ae, 0);
  return header_out(tw, err);
}

static int
write_directory(struct tw *tw, int dir_fd, const char *name, struct stat *st,
                int depth, struct cb_error **err)
{
  cleanup_close int fd = -1;
  bool opaque;

  if (depth >= TARWRITE_MAX_DEPTH)
    return cb_fail(err, CB_ERR_UNSAFE, 0,
                   "'%s': directories nested deeper than %d",
                   cb_buf_str(&tw->path), TARWRITE_MAX_DEPTH);
  fd = open_same(tw, dir_fd, name, O_RDONLY | O_DIRECTORY, st, err);
  if (fd < 0)
    return -1;
  entry_start(tw, cb_buf_str(&tw->path), st);
  if (xattrs_add(tw, fd, dir_fd, name, &opaque, err) < 0 ||
      header_out(tw, err) < 0)
    return -1;
  /* An opaque directory hides everything below it in lower layers: the
     marker comes first, so that a reader that applies entries in order
     clears the directory before this layer fills it.  */
  if (opaque && tw->opts->mode == TARWRITE_OVERLAY) {
    size_t len = path_push(tw, WHITEOUT_OPAQUE);
    int r = write_whiteout(tw, cb_buf_str(&tw->path), st, err);

    cb_buf_truncate(&tw->path, len);
    if (r < 0)
      return -1;
  }
  return write_dir(tw, fd, depth + 1, err);
}

static int
write_entry(struct tw *tw, int dir_fd, const struct dent *d, int depth,
            struct cb_error **err)
{
  struct hl_slot *link;
  struct stat st;

  if (tarwrite_lstat_hook(dir_fd, d->name, &st) < 0)
    return cb_fail_errno(err, "stat '%s'", cb_buf_str(&tw->path));
  if (d->whiteout !=
      (tw->opts->mode == TARWRITE_OVERLAY && tarwrite_is_whiteout(&st)))
    return changed(tw, err);
  if (d->whiteout)
    return write_whiteout(tw, cb_buf_str(&tw->path), &st, err);
  if (S_ISDIR(st.st_mode))
    return write_directory(tw, dir_fd, d->name, &st, depth, err);
  if (S_ISSOCK(st.st_mode)) {
    cb_log(CB_LOG_INFO, "'%s': a socket, left out of the layer",
           cb_buf_str(&tw->path));
    return 0;
  }
  link = st.st_nlink > 1 ? hl_lookup(&tw->links, st.st_dev, st.st_ino) : NULL;
  if (link != NULL && link->path != NULL)
    return write_hardlink(tw, &st, link->path, err);

  if (S_ISREG(st.st_mode)) {
    if (write_regular(tw, dir_fd, d->name, &st, err) < 0)
      return -1;
  } else if (S_ISLNK(st.st_mode)) {
    if (write_symlink(tw, dir_fd, d->name, &st, err) < 0)
      return -1;
  } else if (write_special(tw, dir_fd, d->name, &st, err) < 0) {
    return -1;
  }
  if (st.st_nlink > 1)
    hl_add(&tw->links, st.st_dev, st.st_ino, cb_buf_str(&tw->path));
  return 0;
}

static int
cmp_dent(const void *a, const void *b)
{
  return strcmp(((const struct dent *)a)->tarname,
                ((const struct dent *)b)->tarname);
}

static void
dents_free(struct dent *v, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if (v[i].tarname != v[i].name)
      free(v[i].tarname);
    free(v[i].name);
  }
  free(v);
}

/* Add NAME, found in DIR_FD, to *V.  */
static int
dent_add(struct tw *tw, int dir_fd, const char *name, struct dent **v,
         size_t *n, size_t *alloc, struct cb_error **err)
{
  struct dent d = { cb_xstrdup(name), NULL, false };
  struct stat st;

  if (strncmp(name, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0) {
    size_t len = path_push(tw, name);

    cb_fail(err, CB_ERR_UNSUPPORTED, 0,
            "'%s': names starting with '" WHITEOUT_PREFIX
            "' are whiteouts in a layer",
            cb_buf_str(&tw->path));
    cb_buf_truncate(&tw->path, len);
    free(d.name);
    return -1;
  }
  d.tarname = d.name;
  if (tw->opts->mode == TARWRITE_OVERLAY) {
    if (tarwrite_lstat_hook(dir_fd, name, &st) < 0) {
      size_t len = path_push(tw, name);

      cb_fail_errno(err, "stat '%s'", cb_buf_str(&tw->path));
      cb_buf_truncate(&tw->path, len);
      free(d.name);
      return -1;
    }
    d.whiteout = tarwrite_is_whiteout(&st);
    if (d.whiteout)
      d.tarname = cb_xasprintf(WHITEOUT_PREFIX "%s", name);
  }
  CB_GROW(*v, *alloc, *n + 1);
  (*v)[(*n)++] = d;
  return 0;
}

/* The entries of DIR_FD, sorted by their names in the tar.  */
static int
read_dir(struct tw *tw, int dir_fd, struct dent **out, size_t *nout,
         struct cb_error **err)
{
  struct dent *v = NULL;
  size_t n = 0, alloc = 0;
  DIR *dir;
  int fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);

  if (fd < 0)
    return cb_fail_errno(err, "read dir '%s'", cb_buf_str(&tw->path));
  dir = fdopendir(fd);
  if (dir == NULL) {
    close(fd);
    return cb_fail_errno(err, "read dir '%s'", cb_buf_str(&tw->path));
  }
  for (;;) {
    struct dirent *de;

    errno = 0;
    de = readdir(dir);
    if (de == NULL && errno != 0) {
      cb_fail_errno(err, "read dir '%s'", cb_buf_str(&tw->path));
      goto fail;
    }
    if (de == NULL)
      break;
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    if (dent_add(tw, dir_fd, de->d_name, &v, &n, &alloc, err) < 0)
      goto fail;
  }
  closedir(dir);
  if (n > 1)
    qsort(v, n, sizeof(*v), cmp_dent);
  *out = v;
  *nout = n;
  return 0;

fail:
  closedir(dir);
  dents_free(v, n);
  return -1;
}

static int
write_dir(struct tw *tw, int dir_fd, int depth, struct cb_error **err)
{
  struct dent *v = NULL;
  size_t n = 0;
  int r = 0;

  if (read_dir(tw, dir_fd, &v, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n && r == 0; i++) {
    size_t len = path_push(tw, v[i].tarname);

    r = write_entry(tw, dir_fd, &v[i], depth, err);
    cb_buf_truncate(&tw->path, len);
  }
  dents_free(v, n);
  return r;
}

static int
tw_open(struct tw *tw, struct cb_error **err)
{
  tw->a = archive_write_new();
  tw->ae = archive_entry_new();
  if (tw->a == NULL || tw->ae == NULL)
    return cb_fail(err, CB_ERR_SYSTEM, ENOMEM, "tar: cannot start");
  /* Restricted pax: ustar headers unless something does not fit.  Names
     go out as the bytes they are (hdrcharset BINARY would add a pax record
     to every entry); xattrs only as SCHILY.xattr, which Go's archive/tar
     (containerd, Docker) and GNU tar read.  No blocking: the stream ends
     after the two zero blocks, as Go's tar writer ends it.  */
  if (archive_write_set_format_pax_restricted(tw->a) != ARCHIVE_OK ||
      archive_write_set_format_option(tw->a, "pax", "xattrheader", "SCHILY") !=
          ARCHIVE_OK ||
      archive_write_set_bytes_per_block(tw->a, 0) != ARCHIVE_OK ||
      archive_write_open2(tw->a, tw, NULL, archive_out, NULL, NULL) !=
          ARCHIVE_OK)
    return archive_fail(tw, "set up", err);
  return 0;
}

/* libarchive turns names into pax records through the locale: under "C"
   every non-ASCII name becomes hdrcharset=BINARY, under a UTF-8 locale only
   the names that are not UTF-8 do.  The digest must not depend on the
   caller's locale, so this thread writes under C.UTF-8 (glibc >= 2.35 has
   it built in), whatever the process uses.  */
static locale_t
utf8_locale(struct cb_error **err)
{
  static const char *const names[] = { "C.UTF-8", "C.utf8", "en_US.UTF-8" };

  for (size_t i = 0; i < CB_N_ELEMENTS(names); i++) {
    locale_t l = newlocale(LC_CTYPE_MASK, names[i], (locale_t)0);

    if (l != (locale_t)0)
      return l;
  }
  return (locale_t)cb_fail_null(err, CB_ERR_UNSUPPORTED, 0,
                                "tar: no UTF-8 locale (C.UTF-8)");
}

int
tarwrite_tree(int dir_fd, const struct tarwrite_opts *opts,
              const struct cb_sink *out, struct cb_error **err)
{
  struct tw tw = { .opts = opts, .out = out, .path = CB_BUF_INIT };
  cleanup_close int root = -1;
  locale_t utf8, saved;
  int r = -1;

  root = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return cb_fail_errno(err, "open layer root");
  utf8 = utf8_locale(err);
  if (utf8 == (locale_t)0)
    return -1;
  saved = uselocale(utf8);
  tw.buf = cb_xmalloc(READ_CHUNK);
  if (tw_open(&tw, err) == 0 && write_dir(&tw, root, 0, err) == 0) {
    if (archive_write_close(tw.a) != ARCHIVE_OK)
      archive_fail(&tw, "finish", err);
    else
      r = 0;
  }
  /* After a failure, freeing would close the archive and write its end:
     a half layer must not look complete to OUT.  */
  tw.out_failed = true;
  if (tw.a != NULL)
    archive_write_free(tw.a);
  archive_entry_free(tw.ae);
  cb_error_free(tw.sink_err);
  cb_buf_release(&tw.path);
  hl_release(&tw.links);
  free(tw.buf);
  free(tw.xlist);
  free(tw.xval);
  uselocale(saved);
  freelocale(utf8);
  return r;
}
