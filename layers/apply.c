#include "config.h"

#include "layers/apply.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/mem.h"
#include "layers/apply-internal.h"
#include "layers/decompress.h"
#include "layers/layer.h"

#include "common/banned.h"

#define APPLY_BUF_SIZE (64u * 1024)

/* image-spec "Whiteouts" and "Opaque Whiteout".  */
#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
/* aufs keeps its own metadata under ".wh..wh." names (".wh..wh.plnk"):
   not content, and not a whiteout.  */
#define WH_META_PREFIX ".wh..wh."

/* A directory whose mode and times are set once the tar has ended, when
   nothing more will be created in it.  */
struct dir_fixup {
  char *path; /* clean, relative to the root; owned */
  dev_t dev;  /* the directory we made, so that a later entry that */
  ino_t ino;  /* replaced it does not get its attributes */
  mode_t mode;
  struct timespec times[2];
};

struct apply_ctx {
  int root_fd; /* borrowed */
  const struct layer_apply_opts *opts;
  struct archive *ar;
  struct layer_reader *reader;
  struct cb_error *read_err; /* the reader's failure, seen by read_cb */
  unsigned char *buf;        /* what read_cb hands libarchive; owned */
  struct inode_set created;
  struct dir_fixup *dirs;
  size_t ndirs, dirs_alloc;
  struct layer_apply_result res;
};

/* --- libarchive glue --- */

static la_ssize_t
read_cb(struct archive *a, void *data, const void **buffer)
{
  struct apply_ctx *ctx = data;
  ssize_t n;

  n = layer_reader_read(ctx->reader, ctx->buf, APPLY_BUF_SIZE, &ctx->read_err);
  if (n < 0) {
    archive_set_error(a, EIO, "layer stream failed");
    return -1;
  }
  *buffer = ctx->buf;
  return n;
}

/* Hand E to the caller, keeping an error already there.  */
static int
move_error(struct cb_error **err, struct cb_error *e)
{
  if (*err == NULL)
    *err = e;
  else
    cb_error_free(e);
  return -1;
}

/* Turn a libarchive failure into *ERR: the stream's own error if it was
   the cause, else a tar parse error.  */
static int
archive_fail(struct apply_ctx *ctx, struct cb_error **err, const char *what)
{
  const char *msg = archive_error_string(ctx->ar);

  if (ctx->read_err != NULL)
    return move_error(err, steal_ptr(&ctx->read_err));
  return cb_fail(err, CB_ERR_PARSE, 0, "%s: %s", what,
                 msg != NULL ? msg : "invalid tar");
}

/* An entry name fit for a message: at most 200 bytes, control
   characters shown as '?', so a name cannot forge terminal output.  */
static const char *
printable(const char *name, char out[208])
{
  size_t i;

  for (i = 0; name[i] != '\0' && i < 200; i++) {
    unsigned char c = (unsigned char)name[i];

    out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
  }
  if (name[i] != '\0') {
    memcpy(out + i, "...", 3);
    i += 3;
  }
  out[i] = '\0';
  return out;
}

static int
wrap_name(struct cb_error **err, const char *name)
{
  char p[208];

  return cb_wrap(err, "'%s'", printable(name, p));
}

/* --- attributes --- */

static void
entry_times(struct archive_entry *ae, struct timespec ts[2])
{
  ts[1].tv_sec = archive_entry_mtime(ae);
  ts[1].tv_nsec = archive_entry_mtime_nsec(ae);
  if (ts[1].tv_nsec < 0 || ts[1].tv_nsec >= 1000000000L)
    ts[1].tv_nsec = 0;
  ts[0] = ts[1];
  if (archive_entry_atime_is_set(ae)) {
    ts[0].tv_sec = archive_entry_atime(ae);
    ts[0].tv_nsec = archive_entry_atime_nsec(ae);
    if (ts[0].tv_nsec < 0 || ts[0].tv_nsec >= 1000000000L)
      ts[0].tv_nsec = 0;
  }
}

/* chown through FD, or through DIR_FD + BASE without following it when
   FD is -1 (symlinks, devices).  */
static int
set_owner(struct apply_ctx *ctx, int fd, int dir_fd, const char *base,
          struct archive_entry *ae, struct cb_error **err)
{
  la_int64_t uid = archive_entry_uid(ae);
  la_int64_t gid = archive_entry_gid(ae);
  int rc;

  /* (uid_t)-1 would mean "leave it", not an owner.  */
  if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX)
    return cb_fail(err, CB_ERR_PARSE, 0, "owner %lld:%lld out of range",
                   (long long)uid, (long long)gid);
  if (fd >= 0)
    rc = fchown(fd, (uid_t)uid, (gid_t)gid);
  else
    rc = fchownat(dir_fd, base, (uid_t)uid, (gid_t)gid, AT_SYMLINK_NOFOLLOW);
  if (rc == 0)
    return 0;
  /* EINVAL: the id has no mapping in this user namespace.  See
     LAYER_APPLY_RECORD_OWNERS.  */
  if ((errno == EPERM || errno == EINVAL) &&
      (ctx->opts->flags & LAYER_APPLY_IGNORE_OWNER_ERRORS)) {
    ctx->res.owner_failures++;
    if ((ctx->opts->flags & LAYER_APPLY_RECORD_OWNERS) &&
        !archive_entry_hardlink(ae) &&
        (fd >= 0 || (archive_entry_filetype(ae) & AE_IFMT) != AE_IFLNK))
      (void)layer_owner_record(fd, dir_fd, base, (unsigned)uid, (unsigned)gid);
    return 0;
  }
  return cb_fail_errno(err, "chown to %lld:%lld", (long long)uid,
                       (long long)gid);
}

static bool
has_prefix(const char *s, const char *prefix)
{
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int
set_xattr(struct apply_ctx *ctx, int fd, const char *name, const void *value,
          size_t size, struct cb_error **err)
{
  /* Only extraction itself records owners (set_owner), never a layer.  */
  if (strcmp(name, LAYER_OWNER_XATTR) == 0)
    return 0;
  /* overlayfs reads these from lower dirs (opaque, redirect, metacopy):
     a layer must not steer the overlay it will be part of.  */
  if (has_prefix(name, "trusted.overlay.") ||
      has_prefix(name, "user.overlay.")) {
    ctx->res.xattrs_skipped++;
    return 0;
  }
  if (fsetxattr(fd, name, value, size, 0) == 0)
    return 0;
  if (errno == ENOTSUP ||
      ((errno == EPERM || errno == EACCES) &&
       (has_prefix(name, "trusted.") || has_prefix(name, "security.")))) {
    ctx->res.xattrs_skipped++;
    return 0;
  }
  return cb_fail_errno(err, "set xattr '%s'", name);
}

static bool
seen_before(const char *const *names, size_t n, const char *name)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(names[i], name) == 0)
      return true;
  return false;
}

/* libarchive's pax writer records each xattr twice (LIBARCHIVE.xattr and
   SCHILY.xattr) and its reader returns both: set each name once.  */
static int
set_xattrs(struct apply_ctx *ctx, int fd, struct archive_entry *ae,
           struct cb_error **err)
{
  cleanup_free const char **seen = NULL;
  size_t n = 0, alloc = 0;
  const char *name;
  const void *value;
  size_t size;

  archive_entry_xattr_reset(ae);
  while (archive_entry_xattr_next(ae, &name, &value, &size) == ARCHIVE_OK) {
    if (seen_before(seen, n, name))
      continue;
    CB_GROW(seen, alloc, n + 1);
    seen[n++] = name; /* borrowed from AE, which does not change here */
    if (fd < 0)
      ctx->res.xattrs_skipped++;
    else if (set_xattr(ctx, fd, name, value, size, err) < 0)
      return -1;
  }
  return 0;
}

/* Types we cannot open safely (symlinks, devices, FIFOs) get no xattrs:
   they are counted as skipped.  */
static void
skip_xattrs(struct apply_ctx *ctx, struct archive_entry *ae)
{
  set_xattrs(ctx, -1, ae, NULL);
}

/* Owner first: chown(2) clears set-id bits and file capabilities, so mode
   and xattrs come after it; times come last.  */
static int
set_attrs_fd(struct apply_ctx *ctx, int fd, struct archive_entry *ae,
             struct cb_error **err)
{
  struct timespec ts[2];

  if (set_owner(ctx, fd, -1, NULL, ae, err) < 0)
    return -1;
  if (fchmod(fd, archive_entry_perm(ae) & 07777) < 0)
    return cb_fail_errno(err, "chmod");
  if (set_xattrs(ctx, fd, ae, err) < 0)
    return -1;
  entry_times(ae, ts);
  if (futimens(fd, ts) < 0)
    return cb_fail_errno(err, "set times");
  return 0;
}

/* The same for a leaf that is not opened: DIR_FD + BASE, never followed. */
static int
set_attrs_at(struct apply_ctx *ctx, int dir_fd, const char *base,
             struct archive_entry *ae, bool chmod, struct cb_error **err)
{
  struct timespec ts[2];

  if (set_owner(ctx, -1, dir_fd, base, ae, err) < 0)
    return -1;
  if (chmod && fchmodat(dir_fd, base, archive_entry_perm(ae) & 07777,
                        AT_SYMLINK_NOFOLLOW) < 0)
    return cb_fail_errno(err, "chmod");
  skip_xattrs(ctx, ae);
  entry_times(ae, ts);
  if (utimensat(dir_fd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
    return cb_fail_errno(err, "set times");
  return 0;
}

static int
track_fd(struct apply_ctx *ctx, int fd, struct stat *st, struct cb_error **err)
{
  if (fstat(fd, st) < 0)
    return cb_fail_errno(err, "stat");
  inode_set_add(&ctx->created, st);
  return 0;
}

static int
track_at(struct apply_ctx *ctx, int dir_fd, const char *base,
         struct cb_error **err)
{
  struct stat st;

  if (fstatat(dir_fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return cb_fail_errno(err, "stat");
  inode_set_add(&ctx->created, &st);
  return 0;
}

/* --- entries --- */

/* Make room for a new leaf BASE in DIR_FD: a later layer wins, so what is
   there goes, except that a directory over a directory is kept (*KEPT)
   and takes the new attributes (image-spec "Changeset over existing
   files").  */
static int
prepare_leaf(int dir_fd, const char *base, bool want_dir, bool *kept,
             struct cb_error **err)
{
  struct stat st;

  if (kept != NULL)
    *kept = false;
  if (fstatat(dir_fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : cb_fail_errno(err, "stat");
  if (want_dir && S_ISDIR(st.st_mode)) {
    *kept = true;
    return 0;
  }
  return cb_remove_tree_at(dir_fd, base, err);
}

/* The parent of EP, made if missing, and room for its leaf.  */
static int
open_leaf_parent(struct apply_ctx *ctx, const struct entry_path *ep,
                 bool want_dir, bool *kept, struct cb_error **err)
{
  cleanup_close int dir_fd = -1;

  dir_fd = open_dir_in_root(ctx->root_fd, ep->dir, &ctx->created, err);
  if (dir_fd < 0)
    return -1;
  if (prepare_leaf(dir_fd, ep->base, want_dir, kept, err) < 0)
    return -1;
  return steal_fd(&dir_fd);
}

static int
pwrite_all(int fd, const void *buf, size_t len, off_t off,
           struct cb_error **err)
{
  const char *p = buf;

  while (len > 0) {
    ssize_t n = pwrite(fd, p, len, off);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return cb_fail_errno(err, "write");
    p += n;
    off += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Copy the entry's data into FD.  Blocks come with their offsets, so a
   sparse file keeps its holes; the size was bounded in check_size().  */
static int
write_data(struct apply_ctx *ctx, int fd, struct archive_entry *ae,
           struct cb_error **err)
{
  la_int64_t size = archive_entry_size(ae);
  la_int64_t end = 0;

  for (;;) {
    const void *block;
    size_t len;
    la_int64_t off;
    int rc = archive_read_data_block(ctx->ar, &block, &len, &off);

    if (rc == ARCHIVE_EOF)
      break;
    if (rc != ARCHIVE_OK)
      return archive_fail(ctx, err, "read data");
    if (off < 0 || off > size || (la_int64_t)len > size - off)
      return cb_fail(err, CB_ERR_PARSE, 0, "data beyond the entry's size");
    if (pwrite_all(fd, block, len, (off_t)off, err) < 0)
      return -1;
    end = off + (la_int64_t)len;
    ctx->res.bytes += len;
  }
  if (end < size && ftruncate(fd, (off_t)size) < 0)
    return cb_fail_errno(err, "truncate");
  return 0;
}

static int
apply_regular(struct apply_ctx *ctx, struct archive_entry *ae,
              const struct entry_path *ep, struct cb_error **err)
{
  cleanup_close int dir_fd = -1;
  cleanup_close int fd = -1;
  struct stat st;

  dir_fd = open_leaf_parent(ctx, ep, false, NULL, err);
  if (dir_fd < 0)
    return -1;
  fd = openat(dir_fd, ep->base,
              O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return cb_fail_errno(err, "create");
  if (track_fd(ctx, fd, &st, err) < 0 || write_data(ctx, fd, ae, err) < 0)
    return -1;
  return set_attrs_fd(ctx, fd, ae, err);
}

static void
add_dir_fixup(struct apply_ctx *ctx, const char *path, const struct stat *st,
              struct archive_entry *ae)
{
  struct dir_fixup *f;

  CB_GROW(ctx->dirs, ctx->dirs_alloc, ctx->ndirs + 1);
  f = &ctx->dirs[ctx->ndirs++];
  f->path = cb_xstrdup(path);
  f->dev = st->st_dev;
  f->ino = st->st_ino;
  f->mode = archive_entry_perm(ae) & 07777;
  entry_times(ae, f->times);
}

/* Mode and times wait for the end (add_dir_fixup): entries created in the
   directory would change its mtime, and a read-only mode would keep an
   unprivileged extractor from creating them.  */
static int
apply_dir(struct apply_ctx *ctx, struct archive_entry *ae,
          const struct entry_path *ep, struct cb_error **err)
{
  cleanup_close int dir_fd = -1;
  cleanup_close int fd = -1;
  struct stat st;
  bool kept;

  dir_fd = open_leaf_parent(ctx, ep, true, &kept, err);
  if (dir_fd < 0)
    return -1;
  if (!kept && mkdirat(dir_fd, ep->base, 0700) < 0)
    return cb_fail_errno(err, "mkdir");
  fd =
      openat(dir_fd, ep->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return cb_fail_errno(err, "open directory");
  /* A merged directory is this layer's too: whiteouts keep it.  */
  if (track_fd(ctx, fd, &st, err) < 0)
    return -1;
  if (set_owner(ctx, fd, -1, NULL, ae, err) < 0 ||
      set_xattrs(ctx, fd, ae, err) < 0)
    return -1;
  add_dir_fixup(ctx, ep->path, &st, ae);
  return 0;
}

static int
apply_symlink(struct apply_ctx *ctx, struct archive_entry *ae,
              const struct entry_path *ep, struct cb_error **err)
{
  cleanup_close int dir_fd = -1;
  const char *target = archive_entry_symlink(ae);

  /* The target is stored, never followed here: cb_open_in_root keeps any
     later lookup through it inside the root.  */
  if (target == NULL || target[0] == '\0')
    return cb_fail(err, CB_ERR_PARSE, 0, "symlink without a target");
  if (strnlen(target, PATH_MAX) >= PATH_MAX)
    return cb_fail(err, CB_ERR_UNSAFE, 0, "symlink target longer than %d bytes",
                   PATH_MAX - 1);
  dir_fd = open_leaf_parent(ctx, ep, false, NULL, err);
  if (dir_fd < 0)
    return -1;
  if (symlinkat(target, dir_fd, ep->base) < 0)
    return cb_fail_errno(err, "symlink");
  if (track_at(ctx, dir_fd, ep->base, err) < 0)
    return -1;
  return set_attrs_at(ctx, dir_fd, ep->base, ae, false, err);
}

static int
apply_special(struct apply_ctx *ctx, struct archive_entry *ae,
              const struct entry_path *ep, struct cb_error **err)
{
  cleanup_close int dir_fd = -1;
  mode_t type = archive_entry_filetype(ae);
  dev_t dev = 0;

  if (type != AE_IFIFO)
    dev = makedev(archive_entry_rdevmajor(ae), archive_entry_rdevminor(ae));
  dir_fd = open_leaf_parent(ctx, ep, false, NULL, err);
  if (dir_fd < 0)
    return -1;
  if (mknodat(dir_fd, ep->base, type | 0600, dev) < 0) {
    /* Without CAP_MKNOD in the initial namespace (rootless), devices
       cannot be made; the count lets the caller warn.  */
    if (errno == EPERM && type != AE_IFIFO) {
      ctx->res.devices_skipped++;
      cb_log(CB_LOG_DEBUG, "skipping device '%s': not permitted", ep->path);
      return 0;
    }
    return cb_fail_errno(err, "mknod");
  }
  if (track_at(ctx, dir_fd, ep->base, err) < 0)
    return -1;
  return set_attrs_at(ctx, dir_fd, ep->base, ae, true, err);
}

/* Hard links name an entry already in the root; the target is checked
   like a name and resolved in the same root (libarchive's
   test_write_disk_secure746 is the classic escape through one).  */
static int
open_link_target(struct apply_ctx *ctx, const char *linkname,
                 struct entry_path *tp, struct stat *st, struct cb_error **err)
{
  cleanup_close int tdir_fd = -1;
  char p[208];

  if (entry_path_parse(linkname, tp, err) < 0)
    return cb_wrap(err, "hardlink target '%s'", printable(linkname, p));
  if (tp->path[0] == '\0')
    return cb_fail(err, CB_ERR_UNSAFE, 0, "hardlink to the root");
  tdir_fd = open_dir_in_root(ctx->root_fd, tp->dir, NULL, err);
  if (tdir_fd < 0)
    return cb_wrap(err, "hardlink target '%s'", printable(linkname, p));
  if (fstatat(tdir_fd, tp->base, st, AT_SYMLINK_NOFOLLOW) < 0)
    return cb_fail_errno(err, "hardlink target '%s'", printable(linkname, p));
  if (S_ISLNK(st->st_mode) || S_ISDIR(st->st_mode))
    return cb_fail(err, CB_ERR_UNSAFE, 0, "hardlink target '%s' is a %s",
                   printable(linkname, p),
                   S_ISLNK(st->st_mode) ? "symlink" : "directory");
  return steal_fd(&tdir_fd);
}

/* The link shares the target's inode and so its attributes: the
   entry's own are not applied (as GNU tar does).  A target from a lower
   layer is not added to ctx->created: that would shield the lower file
   from whiteouts.  */
static int
apply_hardlink(struct apply_ctx *ctx, struct archive_entry *ae,
               const struct entry_path *ep, struct cb_error **err)
{
  cleanup_entry_path struct entry_path tp = { NULL, NULL, NULL };
  cleanup_close int tdir_fd = -1;
  cleanup_close int dir_fd = -1;
  struct stat tst, st;

  tdir_fd = open_link_target(ctx, archive_entry_hardlink(ae), &tp, &tst, err);
  if (tdir_fd < 0)
    return -1;
  dir_fd = open_dir_in_root(ctx->root_fd, ep->dir, &ctx->created, err);
  if (dir_fd < 0)
    return -1;
  if (fstatat(dir_fd, ep->base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      st.st_dev == tst.st_dev && st.st_ino == tst.st_ino)
    return 0; /* already this file, a link to itself included */
  if (prepare_leaf(dir_fd, ep->base, false, NULL, err) < 0)
    return -1;
  if (linkat(tdir_fd, tp.base, dir_fd, ep->base, 0) < 0)
    return cb_fail_errno(err, "link");
  return 0;
}

/* --- whiteouts (image-spec "Whiteouts") --- */

/* "Whiteout files MUST only apply to resources in lower/parent layers":
   the opaque marker empties DIR of lower content whether it comes before
   or after this layer's entries in DIR, because ctx->created shields
   those.  The layer declares DIR, so it is made if missing.  */
static int
apply_opaque(struct apply_ctx *ctx, const char *dir, struct cb_error **err)
{
  cleanup_close int dir_fd = -1;

  dir_fd = open_dir_in_root(ctx->root_fd, dir, &ctx->created, err);
  if (dir_fd < 0)
    return -1;
  ctx->res.whiteouts++;
  return remove_lower_children(dir_fd, &ctx->created, err);
}

/* LAYER_APPLY_OVERLAY_WHITEOUTS: the marker in overlayfs' form.  */
static int
overlay_opaque(struct apply_ctx *ctx, const char *dir, struct cb_error **err)
{
  cleanup_close int dir_fd = -1, fd = -1;

  dir_fd = open_dir_in_root(ctx->root_fd, dir, &ctx->created, err);
  if (dir_fd < 0)
    return -1;
  fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsetxattr(fd, "user.overlay.opaque", "y", 1, 0) < 0)
    return cb_fail_errno(err, "mark opaque");
  ctx->res.whiteouts++;
  return 0;
}

static int
overlay_whiteout(struct apply_ctx *ctx, const struct entry_path *ep,
                 const char *victim, struct cb_error **err)
{
  cleanup_close int dir_fd = -1;
  struct stat st;

  dir_fd = open_dir_in_root(ctx->root_fd, ep->dir, &ctx->created, err);
  if (dir_fd < 0)
    return -1;
  if (fstatat(dir_fd, victim, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      inode_set_has(&ctx->created, &st))
    return 0; /* this layer's own entry stays */
  if (prepare_leaf(dir_fd, victim, false, NULL, err) < 0)
    return -1;
  /* Unprivileged users may make this one device (Linux 5.8).  */
  if (mknodat(dir_fd, victim, S_IFCHR | 0000, makedev(0, 0)) < 0)
    return cb_fail_errno(err, "make whiteout");
  ctx->res.whiteouts++;
  return 0;
}

static int
apply_whiteout(struct apply_ctx *ctx, const struct entry_path *ep,
               struct cb_error **err)
{
  bool overlay = (ctx->opts->flags & LAYER_APPLY_OVERLAY_WHITEOUTS) != 0;
  const char *victim = ep->base + strlen(WH_PREFIX);
  struct cb_error *e = NULL;
  cleanup_close int dir_fd = -1;

  if (strcmp(ep->base, WH_OPAQUE) == 0)
    return overlay ? overlay_opaque(ctx, ep->dir, err)
                   : apply_opaque(ctx, ep->dir, err);
  if (has_prefix(ep->base, WH_META_PREFIX))
    return 0;
  /* ".wh.", ".wh.." and ".wh..." would remove the directory holding the
     marker, or its parent.  */
  if (victim[0] == '\0' || strcmp(victim, ".") == 0 ||
      strcmp(victim, "..") == 0)
    return cb_fail(err, CB_ERR_UNSAFE, 0,
                   "whiteout of '%s' is not a sibling entry", victim);
  if (overlay)
    return overlay_whiteout(ctx, ep, victim, err);
  dir_fd = open_dir_in_root(ctx->root_fd, ep->dir, NULL, &e);
  if (dir_fd < 0 && (e->errnum == ENOENT || e->errnum == ENOTDIR)) {
    cb_error_free(e); /* nothing below to hide */
    return 0;
  }
  if (dir_fd < 0)
    return move_error(err, e);
  ctx->res.whiteouts++;
  return remove_lower_at(dir_fd, victim, &ctx->created, err);
}

/* --- dispatch --- */

static int
check_size(struct archive_entry *ae, struct cb_error **err)
{
  la_int64_t size = archive_entry_size(ae);

  if (size < 0 || (uint64_t)size > CB_MAX_LAYER_ENTRY_SIZE)
    return cb_fail(err, CB_ERR_UNSAFE, 0,
                   "size %lld is over the limit of %llu bytes", (long long)size,
                   (unsigned long long)CB_MAX_LAYER_ENTRY_SIZE);
  return 0;
}

static int
apply_by_type(struct apply_ctx *ctx, struct archive_entry *ae,
              const struct entry_path *ep, struct cb_error **err)
{
  mode_t type = archive_entry_filetype(ae);

  if (archive_entry_hardlink(ae) != NULL)
    return apply_hardlink(ctx, ae, ep, err);
  switch (type) {
  case AE_IFREG:
    return apply_regular(ctx, ae, ep, err);
  case AE_IFDIR:
    return apply_dir(ctx, ae, ep, err);
  case AE_IFLNK:
    return apply_symlink(ctx, ae, ep, err);
  case AE_IFCHR:
  case AE_IFBLK:
  case AE_IFIFO:
    return apply_special(ctx, ae, ep, err);
  default:
    break;
  }
  return cb_fail(err, CB_ERR_PARSE, 0, "unsupported entry type 0%o",
                 (unsigned)type);
}

static int
apply_entry(struct apply_ctx *ctx, struct archive_entry *ae,
            struct cb_error **err)
{
  cleanup_entry_path struct entry_path ep = { NULL, NULL, NULL };
  const char *name = archive_entry_pathname(ae);

  if (name == NULL)
    return cb_fail(err, CB_ERR_PARSE, 0, "entry without a usable name");
  if (entry_path_parse(name, &ep, err) < 0 || check_size(ae, err) < 0)
    return wrap_name(err, name);
  if (has_prefix(ep.base, WH_PREFIX)) {
    if (apply_whiteout(ctx, &ep, err) < 0)
      return wrap_name(err, name);
    return 0;
  }
  /* aufs metadata directories (".wh..wh.plnk/...") are not content.  */
  if (has_prefix(ep.path, WH_META_PREFIX))
    return 0;
  if (ep.path[0] == '\0') {
    /* The root's own attributes belong to the caller.  */
    if (archive_entry_filetype(ae) == AE_IFDIR)
      return 0;
    cb_fail(err, CB_ERR_UNSAFE, 0, "entry would replace the root");
    return wrap_name(err, name);
  }
  if (apply_by_type(ctx, ae, &ep, err) < 0)
    return wrap_name(err, name);
  return 0;
}

/* Set the mode and times of the directories this layer made, now that
   nothing more will be created in them.  A directory replaced later in
   the layer (another inode now) is left alone.  */
static int
fix_dir(struct apply_ctx *ctx, const struct dir_fixup *f, struct cb_error **err)
{
  cleanup_entry_path struct entry_path ep = { NULL, NULL, NULL };
  cleanup_close int dir_fd = -1;
  cleanup_close int fd = -1;
  struct cb_error *e = NULL;
  struct stat st;

  if (entry_path_parse(f->path, &ep, err) < 0)
    return -1;
  dir_fd = open_dir_in_root(ctx->root_fd, ep.dir, NULL, &e);
  if (dir_fd < 0) {
    cb_error_free(e);
    return 0;
  }
  fd = openat(dir_fd, ep.base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &st) < 0 || st.st_dev != f->dev ||
      st.st_ino != f->ino)
    return 0;
  if (fchmod(fd, f->mode) < 0)
    return cb_fail_errno(err, "chmod");
  if (futimens(fd, f->times) < 0)
    return cb_fail_errno(err, "set times");
  return 0;
}

static int
fix_dirs(struct apply_ctx *ctx, struct cb_error **err)
{
  for (size_t i = 0; i < ctx->ndirs; i++)
    if (fix_dir(ctx, &ctx->dirs[i], err) < 0)
      return wrap_name(err, ctx->dirs[i].path);
  return 0;
}

static int
apply_entries(struct apply_ctx *ctx, struct cb_error **err)
{
  for (;;) {
    struct archive_entry *ae;
    int rc = archive_read_next_header(ctx->ar, &ae);

    if (rc == ARCHIVE_EOF)
      return 0;
    if (rc == ARCHIVE_WARN)
      cb_log(CB_LOG_WARN, "layer tar: %s",
             archive_error_string(ctx->ar) != NULL
                 ? archive_error_string(ctx->ar)
                 : "warning");
    else if (rc != ARCHIVE_OK)
      return archive_fail(ctx, err, "read tar header");
    ctx->res.entries++;
    if (apply_entry(ctx, ae, err) < 0)
      return -1;
  }
}

static int
check_digest(const char *what, const struct cb_digest *want,
             const struct cb_digest *got, struct cb_error **err)
{
  char w[CB_DIGEST_STR_LEN], g[CB_DIGEST_STR_LEN];

  if (want == NULL || cb_digest_equal(want, got))
    return 0;
  cb_digest_str(want, w);
  cb_digest_str(got, g);
  return cb_fail(err, CB_ERR_DIGEST, 0, "%s is %s, expected %s", what, g, w);
}

/* Read the tar to its end, then the rest of the stream, then compare.  */
static int
apply_stream(struct apply_ctx *ctx, int blob_fd, struct cb_error **err)
{
  struct layer_apply_result *res = &ctx->res;

  ctx->reader = layer_reader_open(blob_fd, err);
  if (ctx->reader == NULL)
    return -1;
  ctx->ar = archive_read_new();
  if (ctx->ar == NULL)
    return cb_fail(err, CB_ERR_SYSTEM, ENOMEM, "start tar reader");
  /* The tar format only (ustar, pax, GNU): no libarchive filters, so the
     bytes hashed are exactly the bytes applied.  */
  archive_read_support_format_tar(ctx->ar);
  if (archive_read_open(ctx->ar, ctx, NULL, read_cb, NULL) != ARCHIVE_OK)
    return archive_fail(ctx, err, "open tar");
  if (apply_entries(ctx, err) < 0 || fix_dirs(ctx, err) < 0)
    return -1;
  if (layer_reader_drain(ctx->reader, err) < 0)
    return -1;
  res->compression = layer_reader_compression(ctx->reader);
  layer_reader_digests(ctx->reader, &res->blob, &res->diff_id);
  layer_reader_sizes(ctx->reader, &res->blob_size, &res->tar_size);
  if (check_digest("blob digest", ctx->opts->expected_blob, &res->blob, err) <
      0)
    return -1;
  return check_digest("diff_id", ctx->opts->expected_diff_id, &res->diff_id,
                      err);
}

static void
apply_ctx_release(struct apply_ctx *ctx)
{
  if (ctx->ar != NULL)
    archive_read_free(ctx->ar);
  layer_reader_free(ctx->reader);
  cb_error_free(ctx->read_err);
  free(ctx->buf);
  inode_set_release(&ctx->created);
  for (size_t i = 0; i < ctx->ndirs; i++)
    free(ctx->dirs[i].path);
  free(ctx->dirs);
}

static void
layer_label(const struct layer_apply_opts *opts, char *out, size_t size)
{
  char hex[CB_DIGEST_HEX_LEN + 1];

  if (opts->label != NULL) {
    snprintf(out, size, "%s", opts->label);
  } else if (opts->expected_blob != NULL) {
    cb_digest_hex(opts->expected_blob, hex);
    snprintf(out, size, "%.12s", hex);
  } else {
    snprintf(out, size, "(unnamed)");
  }
}

int
layer_apply(int root_fd, int blob_fd, const struct layer_apply_opts *opts,
            struct layer_apply_result *res, struct cb_error **err)
{
  static const struct layer_apply_opts no_opts;
  struct apply_ctx ctx;
  char label[128];
  int rc;

  if (opts == NULL)
    opts = &no_opts;
  memset(&ctx, 0, sizeof(ctx));
  ctx.root_fd = root_fd;
  ctx.opts = opts;
  ctx.buf = cb_xmalloc(APPLY_BUF_SIZE);
  rc = apply_stream(&ctx, blob_fd, err);
  if (rc == 0)
    *res = ctx.res;
  apply_ctx_release(&ctx);
  if (rc < 0) {
    layer_label(opts, label, sizeof(label));
    return cb_wrap(err, "layer %s", label);
  }
  return 0;
}
