#include "config.h"

#include "builder/copy-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/mem.h"
#include "layers/layer.h"
#include "common/banned.h"

/* --- hard links: (dev, ino) of a source file -> its first copy --- */

struct link_ent {
  dev_t dev;
  ino_t ino; /* 0: empty slot */
  char *dest; /* path below the dest root; owned */
};

struct copy_links {
  struct link_ent *ents;
  size_t n, alloc;
};

static size_t
link_hash(dev_t dev, ino_t ino)
{
  uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull;

  h ^= (uint64_t)dev + (h >> 29);
  return (size_t)(h ^ (h >> 32));
}

static struct link_ent *
link_slot(struct link_ent *ents, size_t alloc, dev_t dev, ino_t ino)
{
  size_t i = link_hash(dev, ino) & (alloc - 1);

  while (ents[i].ino != 0 && (ents[i].ino != ino || ents[i].dev != dev))
    i = (i + 1) & (alloc - 1);
  return &ents[i];
}

static const char *
links_find(const struct copy_links *l, const struct stat *st)
{
  if (l == NULL || l->n == 0)
    return NULL;
  return link_slot(l->ents, l->alloc, st->st_dev, st->st_ino)->dest;
}

static void
links_add(struct copy_ctx *ctx, const struct stat *st, const char *dest)
{
  struct copy_links *l = ctx->links;
  struct link_ent *e;

  if (l == NULL)
    l = ctx->links = cb_xcalloc(1, sizeof(*l));
  if (2 * (l->n + 1) > l->alloc) {
    size_t alloc = l->alloc ? l->alloc * 2 : 64;
    struct link_ent *ents = cb_xcalloc(alloc, sizeof(*ents));

    for (size_t i = 0; i < l->alloc; i++)
      if (l->ents[i].ino != 0)
        *link_slot(ents, alloc, l->ents[i].dev, l->ents[i].ino) = l->ents[i];
    free(l->ents);
    l->ents = ents;
    l->alloc = alloc;
  }
  e = link_slot(l->ents, l->alloc, st->st_dev, st->st_ino);
  if (e->ino != 0)
    return;
  e->dev = st->st_dev;
  e->ino = st->st_ino;
  e->dest = cb_xstrdup(dest);
  l->n++;
}

void
copy_links_free(struct copy_links *l)
{
  if (l == NULL)
    return;
  for (size_t i = 0; i < l->alloc; i++)
    free(l->ents[i].dest);
  free(l->ents);
  free(l);
}

/* --- metadata --- */

void
copy_now(const struct copy_ctx *ctx, struct timespec ts[2])
{
  if (ctx->req->timestamp >= 0) {
    ts[0].tv_sec = (time_t)ctx->req->timestamp;
    ts[0].tv_nsec = 0;
  } else {
    clock_gettime(CLOCK_REALTIME, &ts[0]);
  }
  ts[1] = ts[0];
}

/* The times of source ST, clamped to the request's timestamp.  */
static void
source_times(const struct copy_ctx *ctx, const struct stat *st,
             struct timespec ts[2])
{
  ts[0] = st->st_atim;
  ts[1] = st->st_mtim;
  for (int i = 0; i < 2 && ctx->req->timestamp >= 0; i++) {
    if (ts[i].tv_sec >= ctx->req->timestamp) {
      ts[i].tv_sec = (time_t)ctx->req->timestamp;
      ts[i].tv_nsec = 0;
    }
  }
}

static void
owner_for(const struct copy_ctx *ctx, const struct stat *st, uid_t *uid,
          gid_t *gid)
{
  if (ctx->chown) {
    *uid = ctx->uid;
    *gid = ctx->gid;
  } else if (ctx->src->keep_owners && st != NULL) {
    *uid = st->st_uid;
    *gid = st->st_gid;
  } else {
    *uid = 0;
    *gid = 0;
  }
}

static mode_t
mode_for(const struct copy_ctx *ctx, const struct stat *st)
{
  if (ctx->has_chmod)
    return copy_chmod_apply(&ctx->chmod, st->st_mode, S_ISDIR(st->st_mode));
  return st->st_mode & 07777;
}

int
copy_set_meta(struct copy_ctx *ctx, int fd, int dir_fd, const char *name,
              bool own, uid_t uid, gid_t gid, mode_t mode,
              const struct timespec times[2], struct cb_error **err)
{
  int rc = 0;

  /* Owner first: chown(2) clears set-id bits and capabilities.  */
  if (own) {
    rc = fd >= 0 ? fchown(fd, uid, gid)
                 : fchownat(dir_fd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
    /* EINVAL: the id has no mapping in this user namespace.  The layer
       writer takes the owner from LAYER_OWNER_XATTR instead; a symlink
       takes no user xattr, so only its failure is counted (and warned
       about).  */
    if (rc < 0 && (errno == EPERM || errno == EINVAL) &&
        (ctx->req->flags & COPY_IGNORE_OWNER_ERRORS)) {
      if (layer_owner_record(fd, dir_fd, name, uid, gid) < 0)
        ctx->st->owner_failures++;
    } else if (rc < 0) {
      return cb_fail_errno(err, "'%s': chown to %u:%u",
                           cb_buf_str(&ctx->dpath), (unsigned)uid,
                           (unsigned)gid);
    }
  }
  if (mode != (mode_t)-1) {
    rc = fd >= 0 ? fchmod(fd, mode) : fchmodat(dir_fd, name, mode, 0);
    if (rc < 0)
      return cb_fail_errno(err, "'%s': chmod", cb_buf_str(&ctx->dpath));
  }
  if (times != NULL) {
    rc = fd >= 0 ? futimens(fd, times)
                 : utimensat(dir_fd, name, times, AT_SYMLINK_NOFOLLOW);
    if (rc < 0)
      return cb_fail_errno(err, "'%s': set times", cb_buf_str(&ctx->dpath));
  }
  return 0;
}

/* Copy the wanted xattrs of IN to OUT (both open for reading at least).  */
static int
copy_xattrs(struct copy_ctx *ctx, int in, int out, struct cb_error **err)
{
  char list[4096];
  ssize_t n = flistxattr(in, list, sizeof(list));

  if (n < 0 && (errno == ENOTSUP || errno == ERANGE)) {
    /* ERANGE: a list over 4 KiB, not from anything we carry over.  */
    return 0;
  }
  if (n < 0)
    return cb_fail_errno(err, "'%s': list xattrs", cb_buf_str(&ctx->dpath));
  for (const char *name = list; name < list + n; name += strlen(name) + 1) {
    ssize_t len;

    if (!copy_xattr_wanted(name))
      continue;
    len = fgetxattr(in, name, ctx->iobuf, COPY_IO_BUF);
    if (len < 0)
      return cb_fail_errno(err, "'%s': read xattr '%s'",
                           cb_buf_str(&ctx->dpath), name);
    if (fsetxattr(out, name, ctx->iobuf, (size_t)len, 0) == 0)
      continue;
    if (errno != ENOTSUP && errno != EPERM && errno != EACCES)
      return cb_fail_errno(err, "'%s': set xattr '%s'",
                           cb_buf_str(&ctx->dpath), name);
    ctx->st->xattrs_skipped++;
  }
  return 0;
}

/* --- data --- */

static bool
unsupported(int e)
{
  return e == EOPNOTSUPP || e == ENOTTY || e == EXDEV || e == ENOSYS ||
         e == EINVAL || e == EBADF;
}

int
copy_data(struct copy_ctx *ctx, int in, int out, uint64_t len,
          struct cb_error **err)
{
  uint64_t done = 0;

  if (len == 0)
    return 0;
  /* A reflink shares the blocks: no data moves at all.  */
  if (!ctx->no_clone) {
    if (ioctl(out, FICLONE, in) == 0)
      return 0;
    if (unsupported(errno))
      ctx->no_clone = true;
  }
  /* The kernel copies without a round trip through user space; an error
     before the first byte means this pair of file systems cannot.  */
  while (!ctx->no_cfr && done < len) {
    ssize_t n = copy_file_range(in, NULL, out, NULL, len - done, 0);

    if (n > 0) {
      done += (uint64_t)n;
    } else if (n == 0) {
      break;
    } else if (errno == EINTR) {
      continue;
    } else if (done == 0 && unsupported(errno)) {
      ctx->no_cfr = true;
    } else {
      return cb_fail_errno(err, "'%s': copy", cb_buf_str(&ctx->dpath));
    }
  }
  while (!ctx->no_sendfile && done < len) {
    ssize_t n = sendfile(out, in, NULL, len - done);

    if (n > 0) {
      done += (uint64_t)n;
    } else if (n == 0) {
      break;
    } else if (errno == EINTR) {
      continue;
    } else if (done == 0 && unsupported(errno)) {
      ctx->no_sendfile = true;
    } else {
      return cb_fail_errno(err, "'%s': copy", cb_buf_str(&ctx->dpath));
    }
  }
  while (done < len) {
    size_t want = len - done < COPY_IO_BUF ? (size_t)(len - done) : COPY_IO_BUF;
    ssize_t n = read(in, ctx->iobuf, want);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return cb_fail_errno(err, "'%s': read", cb_buf_str(&ctx->dpath));
    if (n == 0)
      break;
    if (cb_write_all(out, ctx->iobuf, (size_t)n, err) < 0)
      return cb_wrap(err, "'%s'", cb_buf_str(&ctx->dpath));
    done += (uint64_t)n;
  }
  if (done != len)
    return cb_fail(err, CB_ERR_SYSTEM, 0,
                   "'%s': the source file shrank while it was copied",
                   cb_buf_str(&ctx->dpath));
  return 0;
}

/* --- targets --- */

int
copy_clear_target(int dir_fd, const char *name, const char *shown,
                  struct cb_error **err)
{
  struct stat st;

  if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : cb_fail_errno(err, "stat '/%s'", shown);
  if (S_ISDIR(st.st_mode))
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "cannot replace the directory '/%s' with a file", shown);
  if (unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
    return cb_fail_errno(err, "remove '/%s'", shown);
  return 0;
}

static void
dpath_push(struct copy_ctx *ctx, const char *name, size_t *mark)
{
  *mark = ctx->dpath.len;
  if (ctx->dpath.len > 0)
    cb_buf_addc(&ctx->dpath, '/');
  cb_buf_adds(&ctx->dpath, name);
}

/* A hard link to the first copy of ST, if there was one and it is still
   there.  Returns 1 if linked.  */
static int
try_link(struct copy_ctx *ctx, const struct stat *st, int dir_fd,
         const char *name)
{
  const char *first = st->st_nlink > 1 ? links_find(ctx->links, st) : NULL;
  cleanup_free char *dir = NULL;
  cleanup_close int dfd = -1;
  const char *slash;
  struct cb_error *e = NULL;

  if (first == NULL)
    return 0;
  slash = strrchr(first, '/');
  dir = slash != NULL ? cb_xstrndup(first, (size_t)(slash - first))
                      : cb_xstrdup(".");
  dfd = cb_open_in_root(ctx->dest_root, dir, O_PATH | O_DIRECTORY, 0, &e);
  cb_error_free(e);
  if (dfd < 0)
    return 0;
  if (linkat(dfd, slash != NULL ? slash + 1 : first, dir_fd, name, 0) < 0)
    return 0;
  ctx->st->hardlinks++;
  return 1;
}

static int
copy_file(struct copy_ctx *ctx, int in, const struct stat *st, int dir_fd,
          const char *name, struct cb_error **err)
{
  cleanup_close int out = -1;
  struct timespec ts[2];
  uid_t uid;
  gid_t gid;

  if (copy_clear_target(dir_fd, name, cb_buf_str(&ctx->dpath), err) < 0)
    return -1;
  if (try_link(ctx, st, dir_fd, name))
    return 0;
  out = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
               O_CLOEXEC, 0600);
  if (out < 0)
    return cb_fail_errno(err, "create '/%s'", cb_buf_str(&ctx->dpath));
  if (copy_data(ctx, in, out, (uint64_t)st->st_size, err) < 0)
    return -1;
  owner_for(ctx, st, &uid, &gid);
  source_times(ctx, st, ts);
  if (copy_set_meta(ctx, out, -1, NULL, true, uid, gid, mode_for(ctx, st),
                    NULL, err) < 0 ||
      copy_xattrs(ctx, in, out, err) < 0 ||
      copy_set_meta(ctx, out, -1, NULL, false, 0, 0, (mode_t)-1, ts, err) < 0)
    return -1;
  if (st->st_nlink > 1)
    links_add(ctx, st, cb_buf_str(&ctx->dpath));
  ctx->st->files += 1;
  ctx->st->bytes += (uint64_t)st->st_size;
  return 0;
}

/* Symlinks, FIFOs, devices, sockets: nothing to open.  SRC_DIR + SNAME
   names the source (for a symlink's target).  */
static int
copy_special(struct copy_ctx *ctx, int src_dir, const char *sname,
             const struct stat *st, int dir_fd, const char *name,
             struct cb_error **err)
{
  const char *shown = cb_buf_str(&ctx->dpath);
  char target[PATH_MAX];
  struct timespec ts[2];
  mode_t mode = (mode_t)-1;
  uid_t uid;
  gid_t gid;
  int rc;

  if (S_ISSOCK(st->st_mode)) {
    ctx->st->devices_skipped += 1;
    return 0;
  }
  if (copy_clear_target(dir_fd, name, shown, err) < 0)
    return -1;
  if (S_ISLNK(st->st_mode)) {
    ssize_t n = readlinkat(src_dir, sname, target, sizeof(target) - 1);

    if (n < 0)
      return cb_fail_errno(err, "read link for '/%s'", shown);
    target[n] = '\0';
    rc = symlinkat(target, dir_fd, name);
  } else {
    mode = mode_for(ctx, st);
    rc = mknodat(dir_fd, name, (st->st_mode & S_IFMT) | 0600,
                 S_ISFIFO(st->st_mode) ? 0 : st->st_rdev);
    if (rc < 0 && errno == EPERM && !S_ISFIFO(st->st_mode)) {
      ctx->st->devices_skipped += 1;
      return 0;
    }
  }
  if (rc < 0)
    return cb_fail_errno(err, "create '/%s'", shown);
  owner_for(ctx, st, &uid, &gid);
  source_times(ctx, st, ts);
  if (copy_set_meta(ctx, -1, dir_fd, name, true, uid, gid, mode, ts, err) < 0)
    return -1;
  if (S_ISLNK(st->st_mode))
    ctx->st->symlinks += 1;
  else
    ctx->st->specials += 1;
  return 0;
}

static int copy_children(struct copy_ctx *ctx, int sfd, int dfd,
                         struct cb_error **err);

/* Make NAME in DIR_FD a directory (keeping one that is there) and copy
   the contents of source directory SFD into it; then, if it was made or
   SET_META, give it ST's metadata.  */
static int
copy_dir(struct copy_ctx *ctx, int sfd, const struct stat *st, int dir_fd,
         const char *name, bool set_meta, struct cb_error **err)
{
  const char *shown = cb_buf_str(&ctx->dpath);
  cleanup_close int dfd = -1, rfd = -1;
  bool made = mkdirat(dir_fd, name, 0700) == 0;
  struct timespec ts[2];
  struct stat dst;
  uid_t uid;
  gid_t gid;

  if (!made && errno != EEXIST)
    return cb_fail_errno(err, "mkdir '/%s'", shown);
  if (!made && (fstatat(dir_fd, name, &dst, AT_SYMLINK_NOFOLLOW) < 0 ||
                !S_ISDIR(dst.st_mode)))
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "cannot copy a directory onto the file '/%s'", shown);
  dfd = openat(dir_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return cb_fail_errno(err, "open '/%s'", shown);
  if (copy_children(ctx, sfd, dfd, err) < 0)
    return -1;
  if (made)
    ctx->st->dirs += 1;
  if (!made && !set_meta)
    return 0;
  owner_for(ctx, st, &uid, &gid);
  source_times(ctx, st, ts);
  rfd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (rfd < 0)
    return cb_fail_errno(err, "open '/%s'", shown);
  if (copy_set_meta(ctx, rfd, -1, NULL, true, uid, gid, mode_for(ctx, st),
                    NULL, err) < 0 ||
      copy_xattrs(ctx, sfd, rfd, err) < 0 ||
      copy_set_meta(ctx, rfd, -1, NULL, false, 0, 0, (mode_t)-1, ts, err) < 0)
    return -1;
  return 0;
}

/* One entry SNAME of source directory SFD (stat ST) to NAME in DFD.  */
static int
copy_entry(struct copy_ctx *ctx, int sfd, const char *sname,
           const struct stat *st, int dfd, const char *name,
           struct cb_error **err)
{
  cleanup_close int in = -1;

  if (S_ISREG(st->st_mode)) {
    in = openat(sfd, sname, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    if (in < 0)
      return cb_fail_errno(err, "open source of '/%s'",
                           cb_buf_str(&ctx->dpath));
    return copy_file(ctx, in, st, dfd, name, err);
  }
  if (S_ISDIR(st->st_mode)) {
    in = openat(sfd, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
      return cb_fail_errno(err, "open source of '/%s'",
                           cb_buf_str(&ctx->dpath));
    return copy_dir(ctx, in, st, dfd, name, true, err);
  }
  return copy_special(ctx, sfd, sname, st, dfd, name, err);
}

static int
copy_children(struct copy_ctx *ctx, int sfd, int dfd, struct cb_error **err)
{
  cleanup_copy_dirlist struct copy_dirlist dl = { 0 };

  if (copy_dirlist_read(sfd, &dl, err) < 0)
    return cb_wrap(err, "'/%s'", cb_buf_str(&ctx->dpath));
  for (size_t i = 0; i < dl.n; i++) {
    const char *name = dl.names + dl.offs[i];
    size_t fmark[2], dmark;
    struct stat st;
    int rc = 0;

    if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      return cb_fail_errno(err, "stat source of '/%s/%s'",
                           cb_buf_str(&ctx->dpath), name);
    copy_filter_push(&ctx->filter, name, fmark);
    if (copy_filter_check(&ctx->filter, S_ISDIR(st.st_mode)) != COPY_SKIP) {
      dpath_push(ctx, name, &dmark);
      rc = copy_entry(ctx, sfd, name, &st, dfd, name, err);
      cb_buf_truncate(&ctx->dpath, dmark);
    }
    copy_filter_pop(&ctx->filter, fmark);
    if (rc < 0)
      return -1;
  }
  return 0;
}

int
copy_tree_item(struct copy_ctx *ctx, const struct copy_item *it, int dir_fd,
               const char *name, struct cb_error **err)
{
  cleanup_close int in = -1;

  copy_filter_start(&ctx->filter, it);
  if (S_ISREG(it->st.st_mode)) {
    in = copy_item_open(ctx->src, it, O_RDONLY | O_NOCTTY, err);
    return in < 0 ? -1 : copy_file(ctx, in, &it->st, dir_fd, name, err);
  }
  if (S_ISDIR(it->st.st_mode)) {
    in = copy_item_open(ctx->src, it, O_RDONLY | O_DIRECTORY, err);
    return in < 0 ? -1 : copy_dir(ctx, in, &it->st, dir_fd, name, true, err);
  }
  /* A top-level symlink was followed: what is left has nothing to open. */
  return copy_special(ctx, -1, NULL, &it->st, dir_fd, name, err);
}

int
copy_tree_contents(struct copy_ctx *ctx, const struct copy_item *it,
                   int dir_fd, struct cb_error **err)
{
  cleanup_close int in = -1;

  copy_filter_start(&ctx->filter, it);
  in = copy_item_open(ctx->src, it, O_RDONLY | O_DIRECTORY, err);
  if (in < 0)
    return -1;
  return copy_children(ctx, in, dir_fd, err);
}
