#include "config.h"

#include "builder/copy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/copy-internal.h"
#include "common/fs.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/banned.h"

/* --- missing directories --- */

static void
remember_made(struct copy_ctx *ctx, const char *base, const char *path)
{
  CB_GROW(ctx->made, ctx->made_alloc, ctx->nmade + 1);
  ctx->made[ctx->nmade++] =
      cb_xasprintf("%s%s%s", base, *base && *path ? "/" : "", path);
}

/* Make the last part of PREFIX (a clean path below ROOT_FD) in PARENT.  */
static int
make_one(struct copy_ctx *ctx, int root_fd, int parent, const char *base,
         const char *prefix, struct cb_error **err)
{
  const char *slash = strrchr(prefix, '/');
  const char *name = slash != NULL ? slash + 1 : prefix;
  uid_t uid = ctx->chown ? ctx->uid : 0;
  gid_t gid = ctx->chown ? ctx->gid : 0;

  if (mkdirat(parent, name, 0755) < 0) {
    /* Something is there that did not resolve to a directory: a dangling
       symlink, or a race; reopening says which.  */
    if (errno == EEXIST)
      return 0;
    return cb_fail_errno(err, "mkdir '/%s%s%s'", base, *base ? "/" : "",
                         prefix);
  }
  remember_made(ctx, base, prefix);
  /* 0755 exactly, whatever the umask; --chmod is not for these.  */
  return copy_set_meta(ctx, -1, parent, name, true, uid, gid, 0755, NULL,
                       err);
}

/* If NAME in DIR is a symlink (dangling, since its path did not open),
   the path to make instead: its target in place of PREFIX, then REST.
   Kept unclean: the kernel resolves ".." inside the root as it goes.  */
static char *
follow_dangling(int dir, const char *name, const char *prefix, size_t plen,
                const char *rest)
{
  char target[PATH_MAX];
  ssize_t n = readlinkat(dir, name, target, sizeof(target) - 1);
  size_t keep;

  if (n < 0)
    return NULL;
  target[n] = '\0';
  /* The parent part of PREFIX (PLEN bytes, NAME last).  */
  keep = plen > strlen(name) ? plen - strlen(name) - 1 : 0;
  if (target[0] == '/')
    keep = 0;
  return cb_xasprintf("%.*s%s%s%s%s", (int)keep, prefix, keep ? "/" : "",
                      target + strspn(target, "/"), *rest ? "/" : "", rest);
}

int
copy_mkdir_p(struct copy_ctx *ctx, int root_fd, const char *base,
             const char *path, struct cb_error **err)
{
  cleanup_free char *want = cb_xstrdup(path);
  cleanup_close int cur = -1;
  struct cb_buf prefix = CB_BUF_INIT;
  const char *p = want;
  int links = 0, rc = 0;

  cur = cb_open_in_root(root_fd, ".", O_PATH | O_DIRECTORY, 0, err);
  while (cur >= 0 && *p != '\0' && rc == 0) {
    size_t len = strcspn(p, "/");
    struct cb_error *e = NULL;
    char *next;
    int fd;

    if (len == 0) {
      p++;
      continue;
    }
    if (prefix.len > 0)
      cb_buf_addc(&prefix, '/');
    cb_buf_add(&prefix, p, len);
    p += len + (p[len] == '/');
    fd = cb_open_in_root(root_fd, prefix.data, O_PATH | O_DIRECTORY, 0, &e);
    if (fd < 0 && e->errnum == ENOENT) {
      const char *slash = strrchr(prefix.data, '/');
      const char *name = slash != NULL ? slash + 1 : prefix.data;

      cb_error_free(e);
      e = NULL;
      /* A dangling symlink: make its target, inside the root.  */
      next = follow_dangling(cur, name, prefix.data, prefix.len, p);
      if (next != NULL) {
        if (++links > CB_MAX_SYMLINKS) {
          free(next);
          rc = cb_fail(err, CB_ERR_SYSTEM, ELOOP, "'/%s'", path);
          break;
        }
        free(want);
        want = next;
        p = want;
        cb_buf_truncate(&prefix, 0);
        close(cur);
        cur = cb_open_in_root(root_fd, ".", O_PATH | O_DIRECTORY, 0, err);
        continue;
      }
      rc = make_one(ctx, root_fd, cur, base, prefix.data, err);
      if (rc == 0)
        fd = cb_open_in_root(root_fd, prefix.data, O_PATH | O_DIRECTORY, 0,
                             &e);
    }
    if (rc == 0 && fd < 0) {
      rc = cb_fail(err, e->kind, e->errnum, "'/%s%s%s'%s", base,
                   *base ? "/" : "", prefix.data,
                   e->errnum == ENOTDIR ? " is not a directory" : "");
      cb_error_free(e);
    }
    if (fd >= 0) {
      close(cur);
      cur = fd;
    }
  }
  cb_buf_release(&prefix);
  if (cur < 0 || rc < 0)
    return -1;
  return steal_fd(&cur);
}

/* With a timestamp, the directories made for missing parents get it,
   after everything below them is written.  */
static int
stamp_made(struct copy_ctx *ctx, struct cb_error **err)
{
  struct timespec ts[2];

  if (ctx->req->timestamp < 0)
    return 0;
  copy_now(ctx, ts);
  for (size_t i = ctx->nmade; i-- > 0;) {
    cleanup_close int fd = cb_open_in_root(ctx->dest_root, ctx->made[i],
                                           O_RDONLY | O_DIRECTORY, 0, err);

    if (fd < 0 || futimens(fd, ts) < 0)
      return fd < 0 ? -1 : cb_fail_errno(err, "'/%s': set times",
                                         ctx->made[i]);
  }
  return 0;
}

/* --- the destination --- */

struct dest {
  char *path;      /* clean, below the dest root; owned */
  char *parent;    /* its parent ("" at the top); owned */
  const char *base; /* its last part, in path */
  bool dir_syntax; /* ends in "/" (or is ".", or the root) */
};

static void
dest_release(struct dest *d)
{
  free(d->path);
  free(d->parent);
}

static void
dest_parse(const struct copy_request *req, struct dest *d)
{
  const char *s = req->dest;
  size_t len = strlen(s);
  const char *wd = req->workdir != NULL && *req->workdir ? req->workdir : "/";
  cleanup_free char *joined = NULL;
  const char *slash;

  d->dir_syntax = len == 0 || s[len - 1] == '/' || strcmp(s, ".") == 0 ||
                  (len >= 2 && strcmp(s + len - 2, "/.") == 0);
  joined = s[0] == '/' ? cb_xstrdup(s) : cb_xasprintf("%s/%s", wd, s);
  d->path = copy_clean_path(joined);
  if (d->path[0] == '\0')
    d->dir_syntax = true;
  slash = strrchr(d->path, '/');
  d->parent = slash != NULL ? cb_xstrndup(d->path, (size_t)(slash - d->path))
                            : cb_xstrdup("");
  d->base = slash != NULL ? slash + 1 : d->path;
}

/* What is at the dest now: 1 a directory (symlinks followed inside the
   root), 0 nothing, 2 something else.  */
static int
dest_kind(struct copy_ctx *ctx, const struct dest *d, struct cb_error **err)
{
  struct cb_error *e = NULL;
  cleanup_close int fd = -1;
  struct stat st;

  if (d->path[0] == '\0')
    return 1;
  fd = cb_open_in_root(ctx->dest_root, d->path, O_PATH, 0, &e);
  if (fd < 0 && (e->errnum == ENOENT)) {
    cb_error_free(e);
    return 0;
  }
  if (fd < 0) {
    *err = e;
    return cb_wrap(err, "destination '/%s'", d->path);
  }
  if (fstat(fd, &st) < 0)
    return cb_fail_errno(err, "destination '/%s'", d->path);
  return S_ISDIR(st.st_mode) ? 1 : 2;
}

static void
dpath_set(struct copy_ctx *ctx, const char *dir, const char *name)
{
  cb_buf_truncate(&ctx->dpath, 0);
  cb_buf_adds(&ctx->dpath, dir);
  if (*dir && name != NULL && *name)
    cb_buf_addc(&ctx->dpath, '/');
  if (name != NULL)
    cb_buf_adds(&ctx->dpath, name);
}

/* --- items --- */

static int
write_heredoc(struct copy_ctx *ctx, const struct df_heredoc *h, int dir_fd,
              const char *name, struct cb_error **err)
{
  const char *shown = cb_buf_str(&ctx->dpath);
  cleanup_close int fd = -1;
  struct timespec ts[2];
  mode_t mode = 0644; /* BuildKit's heredoc files (moby/buildkit#3992) */

  if (copy_clear_target(dir_fd, name, shown, err) < 0)
    return -1;
  fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
              O_CLOEXEC, 0600);
  if (fd < 0)
    return cb_fail_errno(err, "create '/%s'", shown);
  if (cb_write_all(fd, h->content, strlen(h->content), err) < 0)
    return cb_wrap(err, "'/%s'", shown);
  if (ctx->has_chmod)
    mode = copy_chmod_apply(&ctx->chmod, S_IFREG | mode, false);
  copy_now(ctx, ts);
  if (copy_set_meta(ctx, fd, -1, NULL, true, ctx->chown ? ctx->uid : 0,
                    ctx->chown ? ctx->gid : 0, mode, ts, err) < 0)
    return -1;
  ctx->st->files++;
  ctx->st->bytes += strlen(h->content);
  return 0;
}

/* Make NAME in DIR_FD the directory a directory source fills when the
   dest does not exist yet: 0755 (BuildKit's MkdirAll), --chmod applied
   (moby/buildkit#4945), owned by --chown or 0:0.  */
static int
make_dest_dir(struct copy_ctx *ctx, int dir_fd, const char *name,
              struct cb_error **err)
{
  mode_t mode = 0755;

  if (ctx->has_chmod)
    mode = copy_chmod_apply(&ctx->chmod, S_IFDIR | mode, true);
  if (mkdirat(dir_fd, name, 0700) < 0)
    return cb_fail_errno(err, "mkdir '/%s'", cb_buf_str(&ctx->dpath));
  ctx->st->dirs++;
  remember_made(ctx, cb_buf_str(&ctx->dpath), "");
  return copy_set_meta(ctx, -1, dir_fd, name, true, ctx->chown ? ctx->uid : 0,
                       ctx->chown ? ctx->gid : 0, mode, NULL, err);
}

/* --parents: the directories between the dest and the kept path of IT,
   made like their source directories.  Returns the fd of the last.  */
static int
parents_dirs(struct copy_ctx *ctx, const struct copy_item *it,
             const struct dest *d, struct cb_error **err)
{
  cleanup_close int cur = -1;
  const char *kslash = strrchr(it->keep, '/');
  size_t klen = kslash != NULL ? (size_t)(kslash - it->keep) : 0;
  /* The source path of the pivot: IT's path without its kept part.  */
  size_t plen = strlen(it->path) - strlen(it->keep);

  cur = copy_mkdir_p(ctx, ctx->dest_root, "", d->path, err);
  for (size_t i = 0; cur >= 0 && i < klen;) {
    size_t len = strcspn(it->keep + i, "/");
    cleanup_free char *name = cb_xstrndup(it->keep + i, len);
    cleanup_free char *spath = cb_xstrndup(it->path, plen + i + len);
    cleanup_close int sfd = -1;
    struct stat st;
    int fd;

    dpath_set(ctx, d->path, NULL);
    cb_buf_truncate(&ctx->dpath, 0);
    cb_buf_adds(&ctx->dpath, d->path);
    if (ctx->dpath.len > 0)
      cb_buf_addc(&ctx->dpath, '/');
    cb_buf_add(&ctx->dpath, it->keep, i + len);
    if (mkdirat(cur, name, 0700) == 0) {
      struct timespec ts[2];
      uid_t uid = ctx->chown ? ctx->uid : 0;
      gid_t gid = ctx->chown ? ctx->gid : 0;

      sfd = cb_open_in_root(ctx->src->root_fd, spath, O_PATH, 0, err);
      if (sfd < 0 || fstat(sfd, &st) < 0)
        return sfd < 0 ? -1 : cb_fail_errno(err, "source '%s'", spath);
      if (!ctx->chown && ctx->src->keep_owners) {
        uid = st.st_uid;
        gid = st.st_gid;
      }
      ts[0] = st.st_atim;
      ts[1] = st.st_mtim;
      ctx->st->dirs++;
      if (copy_set_meta(ctx, -1, cur, name, true, uid, gid,
                        ctx->has_chmod ? copy_chmod_apply(&ctx->chmod,
                                                          st.st_mode, true)
                                       : st.st_mode & 07777,
                        ts, err) < 0)
        return -1;
    } else if (errno != EEXIST) {
      return cb_fail_errno(err, "mkdir '/%s'", cb_buf_str(&ctx->dpath));
    }
    fd = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      return cb_fail_errno(err, "'/%s'", cb_buf_str(&ctx->dpath));
    close(cur);
    cur = fd;
    i += len + 1;
  }
  return cur < 0 ? -1 : steal_fd(&cur);
}

static bool
excluded_top(const struct copy_ctx *ctx, const struct copy_item *it)
{
  bool excluded = false;

  if (ctx->filter.excludes == NULL || S_ISDIR(it->st.st_mode))
    return false;
  ignore_matcher_matches_clean(ctx->filter.excludes,
                               it->keep != NULL ? it->keep : it->name,
                               &excluded, NULL);
  return excluded;
}

static int
item_parents(struct copy_ctx *ctx, const struct copy_item *it,
             const struct dest *d, struct cb_error **err)
{
  cleanup_close int dir = parents_dirs(ctx, it, d, err);
  const char *slash = strrchr(it->keep, '/');

  if (dir < 0)
    return -1;
  dpath_set(ctx, d->path, it->keep);
  if (it->keep[0] == '\0')
    return copy_tree_contents(ctx, it, dir, err);
  return copy_tree_item(ctx, it, dir, slash != NULL ? slash + 1 : it->keep,
                        err);
}

static int
item_archive(struct copy_ctx *ctx, const struct copy_item *it,
             const struct dest *d, bool *done, struct cb_error **err)
{
  cleanup_close int fd = -1, dir = -1;
  bool is_tar = false;

  *done = false;
  fd = copy_item_open(ctx->src, it, O_RDONLY | O_NOCTTY, err);
  if (fd < 0 || copy_archive_probe(fd, &is_tar, err) < 0)
    return -1;
  if (!is_tar)
    return 0;
  *done = true;
  dir = copy_mkdir_p(ctx, ctx->dest_root, "", d->path, err);
  if (dir < 0)
    return -1;
  dpath_set(ctx, d->path, NULL);
  if (lseek(fd, 0, SEEK_SET) < 0)
    return cb_fail_errno(err, "source '%s'", it->path);
  ctx->st->archives++;
  return copy_archive_extract(ctx, fd, dir, it->path, err);
}

/* A PATH, HEREDOC or URL item to the dest: INTO says the dest is a
   directory to put it in; else the dest names the item.  */
static int
item_apply(struct copy_ctx *ctx, const struct copy_item *it,
           const struct dest *d, struct cb_error **err)
{
  cleanup_close int dir = -1;
  int kind = dest_kind(ctx, d, err);
  bool into = d->dir_syntax || kind == 1;
  const char *name = into ? it->name : d->base;
  bool done = false;

  if (kind < 0)
    return -1;
  if (it->kind == COPY_ITEM_PATH && excluded_top(ctx, it))
    return 0;
  if (it->kind == COPY_ITEM_PATH && it->keep != NULL)
    return item_parents(ctx, it, d, err);
  if (it->kind == COPY_ITEM_PATH && ctx->req->add && ctx->req->unpack != 0 &&
      S_ISREG(it->st.st_mode)) {
    if (item_archive(ctx, it, d, &done, err) < 0)
      return -1;
    if (done)
      return 0;
  }
  if (it->kind == COPY_ITEM_URL && ctx->req->unpack == 1) {
    dir = copy_mkdir_p(ctx, ctx->dest_root, "", d->path, err);
    dpath_set(ctx, d->path, NULL);
    return dir < 0 ? -1 : copy_url_fetch(ctx, it->url, dir, NULL, true, err);
  }
  if (it->kind == COPY_ITEM_PATH && S_ISDIR(it->st.st_mode)) {
    if (kind == 2)
      return cb_fail(err, CB_ERR_USAGE, 0,
                     "cannot copy a directory onto the file '/%s'", d->path);
    dir = copy_mkdir_p(ctx, ctx->dest_root, "",
                       kind == 1 || d->dir_syntax ? d->path : d->parent, err);
    dpath_set(ctx, d->path, NULL);
    if (dir >= 0 && kind == 0 && !d->dir_syntax) {
      cleanup_close int parent = steal_fd(&dir);

      if (make_dest_dir(ctx, parent, d->base, err) < 0)
        return -1;
      dir = openat(parent, d->base, O_PATH | O_DIRECTORY | O_NOFOLLOW |
                   O_CLOEXEC);
      if (dir < 0)
        return cb_fail_errno(err, "'/%s'", d->path);
    }
    return dir < 0 ? -1 : copy_tree_contents(ctx, it, dir, err);
  }
  if (name == NULL || *name == '\0')
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "cannot tell a file name for '%s'; give the destination "
                   "a file name", it->url != NULL ? it->url : it->path);
  dir = copy_mkdir_p(ctx, ctx->dest_root, "", into ? d->path : d->parent,
                     err);
  if (dir < 0)
    return -1;
  dpath_set(ctx, into ? d->path : d->parent, name);
  if (it->kind == COPY_ITEM_HEREDOC)
    return write_heredoc(ctx, it->heredoc, dir, name, err);
  if (it->kind == COPY_ITEM_URL)
    return copy_url_fetch(ctx, it->url, dir, name, false, err);
  return copy_tree_item(ctx, it, dir, name, err);
}

/* Docker's rule for several sources; a wildcard over directories only
   merges them (BuildKit's "ADD dir* /5" test).  */
static int
check_dest(struct copy_ctx *ctx, const struct copy_plan *plan,
           const struct dest *d, struct cb_error **err)
{
  const char *what = ctx->req->add ? "ADD" : "COPY";

  if (d->dir_syntax)
    return 0;
  if (plan->nargs > 1)
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "when using %s with more than one source file, the "
                   "destination must be a directory and end with a /", what);
  if (plan->pattern_hits > 1 && plan->pattern_non_dir &&
      dest_kind(ctx, d, err) != 1)
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "when using %s with a wildcard that matches more than one "
                   "file, the destination must be a directory and end with "
                   "a /", what);
  return 0;
}

static void
ctx_release(struct copy_ctx *ctx)
{
  copy_chmod_release(&ctx->chmod);
  copy_filter_release(&ctx->filter);
  copy_links_free(ctx->links);
  cb_buf_release(&ctx->dpath);
  for (size_t i = 0; i < ctx->nmade; i++)
    free(ctx->made[i]);
  free(ctx->made);
  free(ctx->iobuf);
}

static int
apply(struct copy_ctx *ctx, struct cb_error **err)
{
  cleanup_copy_plan struct copy_plan plan = { 0 };
  struct dest d = { 0 };
  int rc = 0;

  if (ctx->req->chmod != NULL) {
    if (copy_chmod_parse(ctx->req->chmod, &ctx->chmod, err) < 0)
      return -1;
    ctx->has_chmod = true;
  }
  if (copy_filter_init(&ctx->filter, ctx->req, ctx->src, err) < 0 ||
      copy_plan_build(ctx->req, ctx->src, &plan, err) < 0)
    return -1;
  if (ctx->req->chown != NULL) {
    if (copy_chown_resolve(ctx->req->chown, ctx->dest_root, &ctx->uid,
                           &ctx->gid, err) < 0)
      return -1;
    ctx->chown = true;
  }
  dest_parse(ctx->req, &d);
  rc = check_dest(ctx, &plan, &d, err);
  for (size_t i = 0; rc == 0 && i < plan.n; i++)
    rc = item_apply(ctx, &plan.items[i], &d, err);
  if (rc == 0)
    rc = stamp_made(ctx, err);
  dest_release(&d);
  return rc;
}

int
copy_apply(const struct copy_request *req, const struct copy_source *src,
           int dest_root, struct copy_stats *st, struct cb_error **err)
{
  struct copy_stats local = { 0 };
  struct copy_ctx ctx = { 0 };
  int rc;

  ctx.req = req;
  ctx.src = src;
  ctx.dest_root = dest_root;
  ctx.st = st != NULL ? st : &local;
  ctx.iobuf = cb_xmalloc(COPY_IO_BUF);
  rc = apply(&ctx, err);
  ctx_release(&ctx);
  return rc;
}
