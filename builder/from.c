#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "builder/build-internal.h"
#include "builder/copy.h"
#include "builder/rootfs.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/banned.h"

/* The lowers of FROM: an earlier, built stage of this build (by name or
   number), else an image in the store.  */
static char **
from_lowers(struct step *st, const char *from, struct cb_error **err)
{
  struct build *b = st->b;
  int k = build_plan_find_stage(b->ep->plan, from);
  struct store_image img;
  char **lowers;

  if (k >= 0 && k < st->stage_idx && b->stages[k].built)
    return stage_lowers(b, &b->stages[k], err);
  if (k >= 0)
    return cb_fail(err, CB_ERR_USAGE, 0, "stage '%s' is not an earlier "
                   "stage", from), NULL;
  if (build_find_image(b, from, &img, err) < 0)
    return cb_wrap(err, "--from=%s", from), NULL;
  lowers = rootfs_unpack_image(b->s, &img, err);
  store_image_release(&img);
  return lowers;
}

int
from_root_open(struct step *st, struct from_roots *fr, const char *from,
               struct cb_error **err)
{
  cleanup_strv char **lowers = from_lowers(st, from, err);
  struct rootfs *rf;
  int fd;

  if (lowers == NULL)
    return -1;
  fr->v = cb_xreallocarray(fr->v, fr->n + 1, sizeof(*fr->v));
  rf = &fr->v[fr->n];
  /* Writes to it (a bind mount with rw) go to a throwaway upper dir.  */
  if (build_rootfs_create(st->b, lowers, rf, err) < 0) {
    rootfs_remove(rf);
    return -1;
  }
  fr->n++;
  if (rf->driver == ROOTFS_DRIVER_OVERLAY && rootfs_mount(rf, err) < 0)
    return -1;
  fd = open(rf->merged, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return cb_fail_errno(err, "cannot open '%s'", rf->merged);
  return fd;
}

void
from_roots_release(struct from_roots *fr)
{
  for (size_t i = 0; i < fr->n; i++) {
    rootfs_umount(&fr->v[i]);
    rootfs_remove(&fr->v[i]);
  }
  free(fr->v);
  fr->v = NULL;
  fr->n = 0;
}

/* --- the context as RUN --mount binds see it --- */

/* mkdir -p of the parents of PATH below DIR (an upper dir we own).  */
static int
make_parents_at(int dir, const char *path, struct cb_error **err)
{
  cleanup_free char *p = cb_xstrdup(path);

  for (char *s = strchr(p, '/'); s != NULL; s = strchr(s + 1, '/')) {
    *s = '\0';
    if (mkdirat(dir, p, 0755) < 0 && errno != EEXIST)
      return cb_fail_errno(err, "cannot create '%s'", p);
    *s = '/';
  }
  return 0;
}

/* Hide what .dockerignore excludes below the context dir FD (at REL,
   "" for the root) with whiteouts in UPPER.  A directory that an
   exception may reach into is walked instead of hidden.  */
static int
hide_ignored(const struct ignore_matcher *m, int fd, const char *rel,
             int upper, unsigned depth, struct cb_error **err)
{
  cleanup_strv char **names = cb_list_dir(fd, err);

  if (names == NULL)
    return cb_wrap(err, "context '%s'", rel[0] ? rel : ".");
  if (depth > CB_MAX_COPY_DEPTH)
    return cb_fail(err, CB_ERR_UNSAFE, 0, "context '%s': too deep", rel);
  for (size_t i = 0; names[i] != NULL; i++) {
    cleanup_free char *path = rel[0] ? cb_xasprintf("%s/%s", rel, names[i])
                                     : cb_xstrdup(names[i]);
    cleanup_close int sub = -1;
    bool excluded = false;
    struct stat sb;

    ignore_matcher_matches(m, path, &excluded, NULL);
    if (fstatat(fd, names[i], &sb, AT_SYMLINK_NOFOLLOW) < 0)
      return cb_fail_errno(err, "context '%s'", path);
    if (excluded && !(S_ISDIR(sb.st_mode) &&
                      ignore_matcher_may_include_below(m, path))) {
      if (make_parents_at(upper, path, err) < 0)
        return -1;
      if (mknodat(upper, path, S_IFCHR, makedev(0, 0)) < 0)
        return cb_fail_errno(err, "cannot hide '%s'", path);
      continue;
    }
    if (!S_ISDIR(sb.st_mode))
      continue;
    sub = openat(fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                 O_CLOEXEC);
    if (sub < 0 ||
        hide_ignored(m, sub, path, upper, depth + 1, err) < 0)
      return sub < 0 ? cb_fail_errno(err, "context '%s'", path) : -1;
  }
  return 0;
}

/* Point RF's only lower dir at the context.  */
static int
lower_is_context(const struct rootfs *rf, int ctx_fd, struct cb_error **err)
{
  cleanup_close int l = open(rf->lower_dir, O_PATH | O_DIRECTORY |
                             O_NOFOLLOW | O_CLOEXEC);
  char target[64];

  snprintf(target, sizeof(target), "/proc/self/fd/%d", ctx_fd);
  if (l < 0 || unlinkat(l, "0", AT_REMOVEDIR) < 0 ||
      symlinkat(target, l, "0") < 0)
    return cb_fail_errno(err, "cannot set up '%s'", rf->lower_dir);
  return 0;
}

/* The vfs driver has no overlay: copy what the context keeps into RF's
   tree instead.  */
static int
copy_context(struct step *st, struct rootfs *rf, struct cb_error **err)
{
  struct build_context *ctx = st->b->ctx;
  char *const srcs[] = { ".", NULL };
  struct copy_request req;
  struct copy_source src = { ctx->root_fd, ctx->ignore, false };
  cleanup_close int root = open(rf->merged, O_PATH | O_DIRECTORY |
                                O_NOFOLLOW | O_CLOEXEC);

  memset(&req, 0, sizeof(req));
  req.srcs = srcs;
  req.nsrcs = 1;
  req.dest = "/";
  req.unpack = -1;
  req.timestamp = -1;
  req.flags = COPY_IGNORE_OWNER_ERRORS;
  if (root < 0)
    return cb_fail_errno(err, "cannot open '%s'", rf->merged);
  return copy_apply(&req, &src, root, NULL, err);
}

int
context_root_open(struct step *st, struct from_roots *fr,
                  struct cb_error **err)
{
  enum rootfs_driver driver;
  bool vfs;
  struct build_context *ctx = st->b->ctx;
  char *const none[] = { NULL };
  cleanup_close int upper = -1, dir = -1;
  struct rootfs *rf;
  int fd;

  if (ignore_matcher_count(ctx->ignore) == 0)
    return fcntl(ctx->root_fd, F_DUPFD_CLOEXEC, 3);
  if (st->b->o->probe)
    return build_probe_stop(st->b, "a filtered view of the context", err);
  if (build_driver(st->b, &driver, err) < 0)
    return -1;
  vfs = driver == ROOTFS_DRIVER_VFS;
  dir = openat(ctx->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return cb_fail_errno(err, "cannot read the context");
  fr->v = cb_xreallocarray(fr->v, fr->n + 1, sizeof(*fr->v));
  rf = &fr->v[fr->n];
  /* An overlay of the context under whiteouts for what it excludes, so
     nothing is copied; writes (rw binds) go to the throwaway upper.  */
  if (rootfs_create(st->b->s, none, vfs ? ROOTFS_DRIVER_VFS
                                        : ROOTFS_DRIVER_OVERLAY, rf, err) < 0) {
    rootfs_remove(rf);
    return -1;
  }
  fr->n++;
  if (vfs && copy_context(st, rf, err) < 0)
    return -1;
  if (vfs)
    goto open_root;
  upper = open(rf->upper, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (upper < 0)
    return cb_fail_errno(err, "cannot open '%s'", rf->upper);
  if (hide_ignored(ctx->ignore, dir, "", upper, 0, err) < 0 ||
      lower_is_context(rf, dir, err) < 0 || rootfs_mount(rf, err) < 0)
    return -1;
open_root:
  fd = open(rf->merged, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return cb_fail_errno(err, "cannot open '%s'", rf->merged);
  return fd;
}
