#include "config.h"

#include "builder/vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/mem.h"
#include "common/banned.h"

#define OPAQUE_XATTR "user.overlay.opaque"
#define COPY_BUF (128u * 1024)

/* --- the layers' view of one directory --- */

static bool
is_whiteout(const struct stat *st)
{
  return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* overlayfs' own xattrs: they steer the mount, they are not the file's.  */
static bool
is_overlay_xattr(const char *name)
{
  return strncmp(name, "user.overlay.", 13) == 0 ||
         strncmp(name, "trusted.overlay.", 16) == 0;
}

/* One name of a merged directory: the top layer that has it decides; the
   layers below that have it too are LAYERS[FIRST + 1 ..].  */
struct lower_ent {
  char *name; /* owned */
  size_t first, count;
  struct stat st; /* of the top entry */
};

struct lower_list {
  struct lower_ent *v;
  size_t n;
  size_t *layers; /* indices into the directory's layer fds */
};

static void
lower_list_release(struct lower_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i].name);
  free(l->v);
  free(l->layers);
  memset(l, 0, sizeof(*l));
}
#define cleanup_lower_list CB_CLEANUP(lower_list_release)

struct name_at {
  char *name;
  size_t layer;
};

static int
cmp_name_at(const void *a, const void *b)
{
  const struct name_at *x = a, *y = b;
  int c = strcmp(x->name, y->name);

  if (c != 0)
    return c;
  return x->layer < y->layer ? -1 : x->layer > y->layer;
}

static int
cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of directory FD, sorted.  */
static char **
sorted_names(int fd, size_t *n, struct cb_error **err)
{
  char **names = cb_list_dir(fd, err);

  if (names == NULL)
    return NULL;
  *n = cb_strv_len(names);
  qsort(names, *n, sizeof(char *), cmp_str);
  return names;
}

static void
free_pairs(struct name_at *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(p[i].name);
  free(p);
}

/* Gather every layer's names of the directory FDS[0..N) as (name, layer)
   pairs sorted by name, then by layer.  */
static int
collect_pairs(const int *fds, size_t n, struct name_at **out, size_t *nout,
              struct cb_error **err)
{
  struct name_at *p = NULL;
  size_t np = 0, alloc = 0;

  for (size_t i = 0; i < n; i++) {
    char **names = cb_list_dir(fds[i], err);

    if (names == NULL) {
      free_pairs(p, np);
      return -1;
    }
    for (size_t j = 0; names[j] != NULL; j++) {
      CB_GROW(p, alloc, np + 1);
      p[np].name = names[j];
      p[np++].layer = i;
    }
    free(names); /* the strings now belong to P */
  }
  if (np > 0)
    qsort(p, np, sizeof(*p), cmp_name_at);
  *out = p;
  *nout = np;
  return 0;
}

/* The directory as overlayfs shows it over the layer dirs FDS (top
   first): names sorted, whited-out names left out.  */
static int
lower_list_read(const int *fds, size_t n, struct lower_list *l,
                struct cb_error **err)
{
  struct name_at *p = NULL;
  size_t np = 0, alloc = 0, nl = 0;

  memset(l, 0, sizeof(*l));
  if (collect_pairs(fds, n, &p, &np, err) < 0)
    return -1;
  l->layers = cb_xcalloc(np + 1, sizeof(size_t));
  for (size_t i = 0; i < np;) {
    size_t j = i;
    struct stat st;

    while (j < np && strcmp(p[j].name, p[i].name) == 0)
      j++;
    if (fstatat(fds[p[i].layer], p[i].name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      cb_fail_errno(err, "stat '%s'", p[i].name);
      free_pairs(p, np);
      return -1;
    }
    if (!is_whiteout(&st)) {
      CB_GROW(l->v, alloc, l->n + 1);
      l->v[l->n] = (struct lower_ent){ p[i].name, nl, j - i, st };
      p[i].name = NULL;
      for (size_t k = i; k < j; k++)
        l->layers[nl++] = p[k].layer;
      l->n++;
    }
    i = j;
  }
  free_pairs(p, np);
  return 0;
}

static int
open_dir_at(int dir_fd, const char *name)
{
  return openat(dir_fd, name,
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
}

static bool
is_opaque(int dir_fd)
{
  char v[2];

  return fgetxattr(dir_fd, OPAQUE_XATTR, v, sizeof(v)) == 1 && v[0] == 'y';
}

static void
close_fds(int *fds, size_t n)
{
  for (size_t i = 0; i < n; i++)
    close(fds[i]);
  free(fds);
}

/* The layer dirs that merge into directory E of the layer dirs FDS: from
   the top one down to the first opaque one, stopping above a whiteout or
   a non-directory.  *OUT (fds, owned) and *NOUT are written on success. */
static int
open_child_layers(const int *fds, const struct lower_list *l,
                  const struct lower_ent *e, int **out, size_t *nout,
                  struct cb_error **err)
{
  int *v = cb_xcalloc(e->count, sizeof(int));
  size_t nv = 0;

  for (size_t k = 0; k < e->count; k++) {
    int pfd = fds[l->layers[e->first + k]];
    struct stat st;
    int fd;

    if (k > 0 && (fstatat(pfd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                  !S_ISDIR(st.st_mode)))
      break;
    fd = open_dir_at(pfd, e->name);
    if (fd < 0) {
      cb_fail_errno(err, "open '%s'", e->name);
      close_fds(v, nv);
      return -1;
    }
    v[nv++] = fd;
    if (is_opaque(fd))
      break;
  }
  *out = v;
  *nout = nv;
  return 0;
}

/* --- xattrs --- */

/* "/proc/self/fd/DIR_FD/NAME" for the l*xattr calls, which have no *at()
   form before Linux 6.13.  The lookup starts at our fd through its magic
   link, NAME is one component from readdir, and the last one is not
   followed: nothing outside DIR_FD is reached.  */
static void
fd_path(char buf[static PATH_MAX], int dir_fd, const char *name)
{
  snprintf(buf, PATH_MAX, "/proc/self/fd/%d/%s", dir_fd, name);
}

struct xattr {
  char *name;  /* borrowed from the list buffer */
  char *value; /* owned */
  size_t len;
};

struct xattrs {
  char *list; /* owned */
  struct xattr *v;
  size_t n;
};

static void
xattrs_release(struct xattrs *x)
{
  for (size_t i = 0; i < x->n; i++)
    free(x->v[i].value);
  free(x->v);
  free(x->list);
  memset(x, 0, sizeof(*x));
}
#define cleanup_xattrs CB_CLEANUP(xattrs_release)

static int
cmp_xattr(const void *a, const void *b)
{
  return strcmp(((const struct xattr *)a)->name,
                ((const struct xattr *)b)->name);
}

static bool
xattr_unsupported(int e)
{
  return e == ENOTSUP || e == EOPNOTSUPP;
}

/* The names of PATH's xattrs into X->list; *LEN its size.  */
static int
xattr_names(const char *path, struct xattrs *x, ssize_t *len, const char *what,
            struct cb_error **err)
{
  for (;;) {
    ssize_t n = llistxattr(path, NULL, 0);

    if (n < 0 && xattr_unsupported(errno))
      n = 0;
    if (n < 0)
      return cb_fail_errno(err, "list xattrs of '%s'", what);
    if (n == 0) {
      *len = 0;
      return 0;
    }
    x->list = cb_xmalloc((size_t)n);
    *len = llistxattr(path, x->list, (size_t)n);
    if (*len >= 0)
      return 0;
    free(x->list);
    x->list = NULL;
    if (errno != ERANGE) /* ERANGE: it grew meanwhile */
      return cb_fail_errno(err, "list xattrs of '%s'", what);
  }
}

/* The xattrs of NAME in DIR_FD, overlay's own left out, sorted by name.
   WHAT names the entry in errors.  */
static int
xattrs_read(int dir_fd, const char *name, struct xattrs *x, const char *what,
            struct cb_error **err)
{
  char path[PATH_MAX];
  ssize_t len;
  size_t alloc = 0;

  memset(x, 0, sizeof(*x));
  fd_path(path, dir_fd, name);
  if (xattr_names(path, x, &len, what, err) < 0)
    return -1;
  for (char *p = x->list; p < x->list + len; p += strlen(p) + 1) {
    ssize_t vlen;

    if (is_overlay_xattr(p))
      continue;
    CB_GROW(x->v, alloc, x->n + 1);
    x->v[x->n] = (struct xattr){ p, NULL, 0 };
    vlen = lgetxattr(path, p, NULL, 0);
    if (vlen < 0 && errno == ENODATA)
      continue; /* removed meanwhile */
    if (vlen < 0)
      return cb_fail_errno(err, "read xattr '%s' of '%s'", p, what);
    x->v[x->n].value = cb_xmalloc((size_t)vlen + 1);
    vlen = lgetxattr(path, p, x->v[x->n].value, (size_t)vlen);
    if (vlen < 0) {
      free(x->v[x->n].value);
      return cb_fail_errno(err, "read xattr '%s' of '%s'", p, what);
    }
    x->v[x->n++].len = (size_t)vlen;
  }
  if (x->n > 1)
    qsort(x->v, x->n, sizeof(*x->v), cmp_xattr);
  return 0;
}

static bool
xattrs_equal(const struct xattrs *a, const struct xattrs *b)
{
  if (a->n != b->n)
    return false;
  for (size_t i = 0; i < a->n; i++)
    if (strcmp(a->v[i].name, b->v[i].name) != 0 || a->v[i].len != b->v[i].len ||
        memcmp(a->v[i].value, b->v[i].value, a->v[i].len) != 0)
      return false;
  return true;
}

/* --- copying one entry --- */

/* A file seen under another name before: (dev, ino) -> its copy's path
   below the destination root.  */
struct link_ent {
  dev_t dev;
  ino_t ino;
  char *path; /* owned */
};

struct copy_ctx {
  int root_fd;                /* the destination root; borrowed */
  struct cb_buf path;         /* the current directory below it, "" or "a/b/" */
  struct link_ent *links;     /* open addressing, path NULL when free */
  size_t n_links, links_size; /* links_size: 0 or a power of two */
  bool link_files;            /* hard-link regular files instead of copying */
  size_t depth;
  struct vfs_stats st;
};

static void
copy_ctx_release(struct copy_ctx *c)
{
  for (size_t i = 0; i < c->links_size; i++)
    free(c->links[i].path);
  free(c->links);
  cb_buf_release(&c->path);
}

/* The path of NAME below the root, for messages; owned by the caller.  */
static char *
rel(const struct copy_ctx *c, const char *name)
{
  return cb_xasprintf("%s%s", cb_buf_str(&c->path), name);
}

static int
fail_at(struct copy_ctx *c, struct cb_error **err, int e, const char *what,
        const char *name)
{
  cleanup_free char *p = rel(c, name);

  return cb_fail(err, CB_ERR_SYSTEM, e, "'%s': %s", p, what);
}

static size_t
link_slot(const struct link_ent *v, size_t size, dev_t dev, ino_t ino)
{
  size_t i = (size_t)((ino * 0x9e3779b97f4a7c15ull) ^ dev) & (size - 1);

  while (v[i].path != NULL && (v[i].dev != dev || v[i].ino != ino))
    i = (i + 1) & (size - 1);
  return i;
}

static const struct link_ent *
link_find(const struct copy_ctx *c, const struct stat *st)
{
  size_t i;

  if (c->links_size == 0)
    return NULL;
  i = link_slot(c->links, c->links_size, st->st_dev, st->st_ino);
  return c->links[i].path != NULL ? &c->links[i] : NULL;
}

static void
link_add(struct copy_ctx *c, const struct stat *st, const char *name)
{
  size_t i;

  if (2 * (c->n_links + 1) > c->links_size) { /* keep it half empty */
    size_t size = c->links_size > 0 ? 2 * c->links_size : 64;
    struct link_ent *v = cb_xcalloc(size, sizeof(*v));

    for (size_t j = 0; j < c->links_size; j++)
      if (c->links[j].path != NULL)
        v[link_slot(v, size, c->links[j].dev, c->links[j].ino)] = c->links[j];
    free(c->links);
    c->links = v;
    c->links_size = size;
  }
  i = link_slot(c->links, c->links_size, st->st_dev, st->st_ino);
  c->links[i] = (struct link_ent){ st->st_dev, st->st_ino, rel(c, name) };
  c->n_links++;
}

/* Copy the xattrs of NAME in SRC_FD onto NAME in DST_FD.  The caller has
   set the owner already: chown(2) clears security.capability.  */
static int
copy_xattrs(struct copy_ctx *c, int src_fd, int dst_fd, const char *name,
            struct cb_error **err)
{
  cleanup_xattrs struct xattrs x = { NULL, NULL, 0 };
  cleanup_free char *what = rel(c, name);
  char path[PATH_MAX];

  if (xattrs_read(src_fd, name, &x, what, err) < 0)
    return -1;
  fd_path(path, dst_fd, name);
  for (size_t i = 0; i < x.n; i++) {
    if (lsetxattr(path, x.v[i].name, x.v[i].value, x.v[i].len, 0) == 0)
      continue;
    /* trusted.* without privilege, security.* a module refuses, user.*
       on a file system without: as layer_apply counts them.  */
    if (errno == EPERM || errno == EACCES || xattr_unsupported(errno)) {
      c->st.xattrs_skipped++;
      continue;
    }
    return cb_fail(err, CB_ERR_SYSTEM, errno, "'%s': set xattr '%s'", what,
                   x.v[i].name);
  }
  return 0;
}

/* Owner, xattrs, permission bits and times of NAME in DST_FD from ST and
   NAME in SRC_FD, in the order that keeps set-id bits and capabilities.  */
static int
copy_meta(struct copy_ctx *c, int src_fd, int dst_fd, const char *name,
          const struct stat *st, struct cb_error **err)
{
  struct timespec t[2] = { st->st_atim, st->st_mtim };

  if (fchownat(dst_fd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno != EPERM && errno != EINVAL)
      return fail_at(c, err, errno, "chown", name);
    c->st.owner_failures++;
  }
  if (copy_xattrs(c, src_fd, dst_fd, name, err) < 0)
    return -1;
  /* fchmodat follows a symlink, and a symlink's mode means nothing.  */
  if (!S_ISLNK(st->st_mode) &&
      fchmodat(dst_fd, name, st->st_mode & 07777, 0) < 0)
    return fail_at(c, err, errno, "chmod", name);
  if (utimensat(dst_fd, name, t, AT_SYMLINK_NOFOLLOW) < 0)
    return fail_at(c, err, errno, "set times", name);
  return 0;
}

/* Copy the data of IN into OUT: a reflink where the file system can,
   else copy_file_range, else read and write.  */
static int
copy_data(struct copy_ctx *c, int in, int out, const char *name,
          struct cb_error **err)
{
  cleanup_free char *buf = NULL;
  bool plain = false;

  if (ioctl(out, FICLONE, in) == 0)
    return 0;
  for (;;) {
    ssize_t n, w;

    if (!plain) {
      n = copy_file_range(in, NULL, out, NULL, COPY_BUF, 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
                    xattr_unsupported(errno))) {
        plain = true;
        buf = cb_xmalloc(COPY_BUF);
        continue;
      }
    } else {
      n = read(in, buf, COPY_BUF);
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return fail_at(c, err, errno, "copy", name);
    if (n == 0)
      return 0;
    c->st.bytes += (uint64_t)n;
    for (ssize_t off = 0; plain && off < n; off += w) {
      w = write(out, buf + off, (size_t)(n - off));
      if (w < 0 && errno != EINTR)
        return fail_at(c, err, errno, "write", name);
      if (w < 0)
        w = 0;
    }
  }
}

static int
copy_regular(struct copy_ctx *c, int src_fd, int dst_fd, const char *name,
             const struct stat *st, struct cb_error **err)
{
  cleanup_close int in = -1, out = -1;
  struct stat got;

  if (c->link_files && linkat(src_fd, name, dst_fd, name, 0) == 0)
    return 0;
  in = openat(src_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (in < 0)
    return fail_at(c, err, errno, "open", name);
  if (fstat(in, &got) < 0)
    return fail_at(c, err, errno, "stat", name);
  if (got.st_dev != st->st_dev || got.st_ino != st->st_ino)
    return fail_at(c, err, EAGAIN, "changed while copied", name);
  out = openat(dst_fd, name,
               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0)
    return fail_at(c, err, errno, "create", name);
  if (copy_data(c, in, out, name, err) < 0)
    return -1;
  return copy_meta(c, src_fd, dst_fd, name, st, err);
}

static int
copy_symlink(struct copy_ctx *c, int src_fd, int dst_fd, const char *name,
             const struct stat *st, struct cb_error **err)
{
  char target[PATH_MAX];
  ssize_t n = readlinkat(src_fd, name, target, sizeof(target));

  if (n < 0)
    return fail_at(c, err, errno, "readlink", name);
  if ((size_t)n >= sizeof(target))
    return fail_at(c, err, ENAMETOOLONG, "readlink", name);
  target[n] = '\0';
  if (symlinkat(target, dst_fd, name) < 0)
    return fail_at(c, err, errno, "symlink", name);
  return copy_meta(c, src_fd, dst_fd, name, st, err);
}

/* A copy of the non-directory NAME (ST) of SRC_FD in DST_FD: a second
   name of a file already copied becomes a hard link to the copy.  */
static int
copy_leaf(struct copy_ctx *c, int src_fd, int dst_fd, const char *name,
          const struct stat *st, struct cb_error **err)
{
  const struct link_ent *l = NULL;
  int rc;

  c->st.entries++;
  if (!S_ISDIR(st->st_mode) && st->st_nlink > 1)
    l = link_find(c, st);
  /* The copy's path holds only directories made by this copy, so the
     lookup from the root meets no symlink.  */
  if (l != NULL && linkat(c->root_fd, l->path, dst_fd, name, 0) == 0)
    return 0;
  if (l != NULL)
    return fail_at(c, err, errno, "hard link", name);
  if (S_ISREG(st->st_mode))
    rc = copy_regular(c, src_fd, dst_fd, name, st, err);
  else if (S_ISLNK(st->st_mode))
    rc = copy_symlink(c, src_fd, dst_fd, name, st, err);
  else if (mknodat(dst_fd, name, (st->st_mode & S_IFMT) | 0600, st->st_rdev) <
           0)
    rc = fail_at(c, err, errno, "mknod", name);
  else
    rc = copy_meta(c, src_fd, dst_fd, name, st, err);
  if (rc == 0 && st->st_nlink > 1)
    link_add(c, st, name);
  return rc;
}

/* Make directory NAME in DST_FD (mode 0700 until its content is in) and
   return an fd of it; the caller descends into it with path_push.  */
static int
make_dir(struct copy_ctx *c, int dst_fd, const char *name,
         struct cb_error **err)
{
  int fd;

  if (c->depth >= VFS_MAX_DEPTH) {
    cleanup_free char *p = rel(c, name);

    return cb_fail(err, CB_ERR_UNSAFE, 0,
                   "'%s': directories nested deeper than %d", p, VFS_MAX_DEPTH);
  }
  if (mkdirat(dst_fd, name, 0700) < 0)
    return fail_at(c, err, errno, "mkdir", name);
  fd = open_dir_at(dst_fd, name);
  if (fd < 0)
    return fail_at(c, err, errno, "open", name);
  c->st.entries++;
  return fd;
}

static size_t
path_push(struct copy_ctx *c, const char *name)
{
  size_t len = c->path.len;

  cb_buf_adds(&c->path, name);
  cb_buf_addc(&c->path, '/');
  c->depth++;
  return len;
}

static void
path_pop(struct copy_ctx *c, size_t len)
{
  cb_buf_truncate(&c->path, len);
  c->depth--;
}

/* --- the copy of the lowers --- */

static int copy_merged(struct copy_ctx *c, const int *fds, size_t n, int dst_fd,
                       struct cb_error **err);

static int
copy_merged_dir(struct copy_ctx *c, const int *fds, const struct lower_list *l,
                const struct lower_ent *e, int dst_fd, struct cb_error **err)
{
  int *sub = NULL;
  size_t nsub = 0, len;
  cleanup_close int fd = -1;
  int rc;

  if (open_child_layers(fds, l, e, &sub, &nsub, err) < 0)
    return -1;
  fd = make_dir(c, dst_fd, e->name, err);
  if (fd < 0) {
    close_fds(sub, nsub);
    return -1;
  }
  len = path_push(c, e->name);
  rc = copy_merged(c, sub, nsub, fd, err);
  path_pop(c, len);
  close_fds(sub, nsub);
  if (rc < 0)
    return -1;
  return copy_meta(c, fds[l->layers[e->first]], dst_fd, e->name, &e->st, err);
}

static int
copy_merged(struct copy_ctx *c, const int *fds, size_t n, int dst_fd,
            struct cb_error **err)
{
  cleanup_lower_list struct lower_list l = { NULL, 0, NULL };

  if (lower_list_read(fds, n, &l, err) < 0)
    return -1;
  for (size_t i = 0; i < l.n; i++) {
    const struct lower_ent *e = &l.v[i];
    int rc = S_ISDIR(e->st.st_mode)
                 ? copy_merged_dir(c, fds, &l, e, dst_fd, err)
                 : copy_leaf(c, fds[l.layers[e->first]], dst_fd, e->name,
                             &e->st, err);

    if (rc < 0)
      return -1;
  }
  return 0;
}

static void
add_stats(struct vfs_stats *to, const struct vfs_stats *from)
{
  if (to == NULL)
    return;
  to->entries += from->entries;
  to->bytes += from->bytes;
  to->whiteouts += from->whiteouts;
  to->owner_failures += from->owner_failures;
  to->xattrs_skipped += from->xattrs_skipped;
}

int
vfs_copy_lowers(const int *lower_fds, size_t n, int dest_fd,
                struct vfs_stats *st, struct cb_error **err)
{
  struct copy_ctx c;
  int rc;

  memset(&c, 0, sizeof(c));
  c.root_fd = dest_fd;
  rc = copy_merged(&c, lower_fds, n, dest_fd, err);
  add_stats(st, &c.st);
  copy_ctx_release(&c);
  return rc < 0 ? cb_wrap(err, "vfs: copy of the layers") : 0;
}

/* --- copying the tree's changes into the upper dir --- */

static int copy_plain(struct copy_ctx *c, int src_fd, int dst_fd,
                      struct cb_error **err);

/* NAME of SRC_FD (ST, from the tree) into DST_FD as it is, directories
   whole, opaque when OPAQUE.  A char device 0/0 in the tree is a name the
   command deleted (overlayfs reads it so), so nothing is written.  */
static int
copy_entry(struct copy_ctx *c, int src_fd, int dst_fd, const char *name,
           const struct stat *st, bool opaque, struct cb_error **err)
{
  cleanup_close int sfd = -1, dfd = -1;
  size_t len;
  int rc;

  if (is_whiteout(st))
    return 0;
  if (!S_ISDIR(st->st_mode))
    return copy_leaf(c, src_fd, dst_fd, name, st, err);
  sfd = open_dir_at(src_fd, name);
  if (sfd < 0)
    return fail_at(c, err, errno, "open", name);
  dfd = make_dir(c, dst_fd, name, err);
  if (dfd < 0)
    return -1;
  if (opaque && fsetxattr(dfd, OPAQUE_XATTR, "y", 1, 0) < 0)
    return fail_at(c, err, errno, "set " OPAQUE_XATTR, name);
  c->st.whiteouts += opaque;
  len = path_push(c, name);
  rc = copy_plain(c, sfd, dfd, err);
  path_pop(c, len);
  if (rc < 0)
    return -1;
  return copy_meta(c, src_fd, dst_fd, name, st, err);
}

/* Everything in SRC_FD into DST_FD.  */
static int
copy_plain(struct copy_ctx *c, int src_fd, int dst_fd, struct cb_error **err)
{
  cleanup_strv char **names = cb_list_dir(src_fd, err);

  if (names == NULL)
    return -1;
  for (size_t i = 0; names[i] != NULL; i++) {
    struct stat st;

    if (fstatat(src_fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
      return fail_at(c, err, errno, "stat", names[i]);
    if (copy_entry(c, src_fd, dst_fd, names[i], &st, false, err) < 0)
      return -1;
  }
  return 0;
}

/* --- the diff --- */

struct diff_ctx {
  struct copy_ctx up; /* writes into the upper dir */
  struct timespec since;
};

static bool
ts_equal(const struct timespec *a, const struct timespec *b)
{
  return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static bool
ts_before(const struct timespec *a, const struct timespec *b)
{
  return a->tv_sec < b->tv_sec ||
         (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Type, permission bits, owner and mtime.  */
static bool
attrs_equal(const struct stat *a, const struct stat *b)
{
  return a->st_mode == b->st_mode && a->st_uid == b->st_uid &&
         a->st_gid == b->st_gid && ts_equal(&a->st_mtim, &b->st_mtim);
}

static int
xattrs_differ(struct diff_ctx *d, int tfd, int lfd, const char *name,
              bool *differ, struct cb_error **err)
{
  cleanup_xattrs struct xattrs a = { NULL, NULL, 0 };
  cleanup_xattrs struct xattrs b = { NULL, NULL, 0 };
  cleanup_free char *what = rel(&d->up, name);

  if (xattrs_read(tfd, name, &a, what, err) < 0 ||
      xattrs_read(lfd, name, &b, what, err) < 0)
    return -1;
  *differ = !xattrs_equal(&a, &b);
  return 0;
}

static int
content_differs(struct diff_ctx *d, int tfd, int lfd, const char *name,
                bool *differ, struct cb_error **err)
{
  cleanup_close int a = -1, b = -1;
  cleanup_free char *ba = cb_xmalloc(COPY_BUF), *bb = cb_xmalloc(COPY_BUF);

  a = openat(tfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  b = openat(lfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (a < 0 || b < 0)
    return fail_at(&d->up, err, errno, "open", name);
  for (;;) {
    ssize_t na = read(a, ba, COPY_BUF), nb = 0, r;

    if (na < 0 && errno == EINTR)
      continue;
    if (na < 0)
      return fail_at(&d->up, err, errno, "read", name);
    /* Fill the same amount from the lower file.  */
    while (nb < na) {
      r = read(b, bb + nb, (size_t)(na - nb));
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return fail_at(&d->up, err, errno, "read", name);
      if (r == 0)
        break;
      nb += r;
    }
    if (na != nb || memcmp(ba, bb, (size_t)na) != 0) {
      *differ = true;
      return 0;
    }
    if (na == 0) {
      *differ = false;
      return 0;
    }
  }
}

/* Whether the non-directory NAME differs between the tree (TFD, TS) and
   the lowers' top entry (LFD, LS); see vfs.h for the rule.  */
static int
leaf_differs(struct diff_ctx *d, int tfd, const struct stat *ts, int lfd,
             const struct stat *ls, const char *name, bool *differ,
             struct cb_error **err)
{
  *differ = true;
  if (!attrs_equal(ts, ls))
    return 0;
  if (S_ISREG(ts->st_mode) && ts->st_size != ls->st_size)
    return 0;
  if ((S_ISCHR(ts->st_mode) || S_ISBLK(ts->st_mode)) &&
      ts->st_rdev != ls->st_rdev)
    return 0;
  if (S_ISLNK(ts->st_mode)) {
    char a[PATH_MAX], b[PATH_MAX];
    ssize_t na = readlinkat(tfd, name, a, sizeof(a));
    ssize_t nb = readlinkat(lfd, name, b, sizeof(b));

    if (na < 0 || nb < 0)
      return fail_at(&d->up, err, errno, "readlink", name);
    if (na != nb || memcmp(a, b, (size_t)na) != 0)
      return 0;
  }
  if (xattrs_differ(d, tfd, lfd, name, differ, err) < 0)
    return -1;
  if (*differ)
    return 0;
  if (S_ISREG(ts->st_mode) && !ts_before(&ts->st_ctim, &d->since))
    return content_differs(d, tfd, lfd, name, differ, err);
  return 0;
}

static int
whiteout(struct diff_ctx *d, int ufd, const char *name, struct cb_error **err)
{
  if (mknodat(ufd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
    return fail_at(&d->up, err, errno,
                   errno == EPERM ? "create a whiteout (a char device 0/0 "
                                    "needs Linux 5.8 or later in a user "
                                    "namespace)"
                                  : "create a whiteout",
                   name);
  d->up.st.whiteouts++;
  return 0;
}

static int diff_dir(struct diff_ctx *d, int tfd, char **tnames, size_t nt,
                    const int *lfds, const struct lower_list *l, int ufd,
                    size_t *written, struct cb_error **err);

/* No name of L is among the sorted TNAMES.  */
static bool
none_left(char **tnames, size_t nt, const struct lower_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    if (bsearch(&l->v[i].name, tnames, nt, sizeof(char *), cmp_str) != NULL)
      return false;
  return true;
}

/* NAME is a directory in the tree (TS, TFD) and in the lowers (E).  */
static int
diff_both_dirs(struct diff_ctx *d, int tfd, const struct stat *ts,
               const int *lfds, const struct lower_list *l,
               const struct lower_ent *e, int ufd, size_t *written,
               struct cb_error **err)
{
  cleanup_lower_list struct lower_list sub = { NULL, 0, NULL };
  cleanup_strv char **tnames = NULL;
  cleanup_close int tcfd = -1, ucfd = -1;
  int *lsub = NULL;
  size_t nl = 0, nt = 0, below = 0, len;
  bool differ = true;
  int rc;

  tcfd = open_dir_at(tfd, e->name);
  if (tcfd < 0)
    return fail_at(&d->up, err, errno, "open", e->name);
  tnames = sorted_names(tcfd, &nt, err);
  if (tnames == NULL || open_child_layers(lfds, l, e, &lsub, &nl, err) < 0)
    return -1;
  rc = lower_list_read(lsub, nl, &sub, err);
  if (rc == 0 && sub.n > 0 && none_left(tnames, nt, &sub)) {
    close_fds(lsub, nl);
    (*written)++;
    return copy_entry(&d->up, tfd, ufd, e->name, ts, true, err);
  }
  ucfd = rc < 0 ? -1 : make_dir(&d->up, ufd, e->name, err);
  if (ucfd < 0) {
    close_fds(lsub, nl);
    return -1;
  }
  len = path_push(&d->up, e->name);
  rc = diff_dir(d, tcfd, tnames, nt, lsub, &sub, ucfd, &below, err);
  path_pop(&d->up, len);
  if (rc == 0 && attrs_equal(ts, &e->st))
    rc =
        xattrs_differ(d, tfd, lfds[l->layers[e->first]], e->name, &differ, err);
  close_fds(lsub, nl);
  if (rc < 0)
    return -1;
  if (below == 0 && !differ) {
    d->up.st.entries--;
    return unlinkat(ufd, e->name, AT_REMOVEDIR) < 0
               ? fail_at(&d->up, err, errno, "rmdir", e->name)
               : 0;
  }
  (*written)++;
  return copy_meta(&d->up, tfd, ufd, e->name, ts, err);
}

/* NAME is in the tree (TFD) and in the lowers (E).  */
static int
diff_both(struct diff_ctx *d, int tfd, const int *lfds,
          const struct lower_list *l, const struct lower_ent *e, int ufd,
          size_t *written, struct cb_error **err)
{
  int lfd = lfds[l->layers[e->first]];
  struct stat ts;
  bool differ;

  if (fstatat(tfd, e->name, &ts, AT_SYMLINK_NOFOLLOW) < 0)
    return fail_at(&d->up, err, errno, "stat", e->name);
  if (is_whiteout(&ts)) {
    (*written)++;
    return whiteout(d, ufd, e->name, err);
  }
  if (S_ISDIR(ts.st_mode) && S_ISDIR(e->st.st_mode))
    return diff_both_dirs(d, tfd, &ts, lfds, l, e, ufd, written, err);
  if (S_ISDIR(ts.st_mode)) { /* replaces a non-directory */
    (*written)++;
    return copy_entry(&d->up, tfd, ufd, e->name, &ts, true, err);
  }
  if (S_ISDIR(e->st.st_mode))
    differ = true;
  else if (leaf_differs(d, tfd, &ts, lfd, &e->st, e->name, &differ, err) < 0)
    return -1;
  if (!differ)
    return 0;
  (*written)++;
  return copy_entry(&d->up, tfd, ufd, e->name, &ts, false, err);
}

/* NAME is only in the tree.  */
static int
diff_new(struct diff_ctx *d, int tfd, const char *name, int ufd,
         size_t *written, struct cb_error **err)
{
  struct stat ts;

  if (fstatat(tfd, name, &ts, AT_SYMLINK_NOFOLLOW) < 0)
    return fail_at(&d->up, err, errno, "stat", name);
  if (is_whiteout(&ts))
    return 0;
  (*written)++;
  return copy_entry(&d->up, tfd, ufd, name, &ts, false, err);
}

/* The tree's directory TFD (its sorted names TNAMES) against the lowers'
   (L over LFDS) into UFD; *WRITTEN counts the entries put in UFD.  */
static int
diff_dir(struct diff_ctx *d, int tfd, char **tnames, size_t nt, const int *lfds,
         const struct lower_list *l, int ufd, size_t *written,
         struct cb_error **err)
{
  size_t i = 0, j = 0;

  while (i < nt || j < l->n) {
    int c = i >= nt ? 1 : j >= l->n ? -1 : strcmp(tnames[i], l->v[j].name);
    int rc;

    if (c < 0) {
      rc = diff_new(d, tfd, tnames[i++], ufd, written, err);
    } else if (c > 0) {
      (*written)++;
      rc = whiteout(d, ufd, l->v[j++].name, err);
    } else {
      rc = diff_both(d, tfd, lfds, l, &l->v[j], ufd, written, err);
      i++;
      j++;
    }
    if (rc < 0)
      return -1;
  }
  return 0;
}

int
vfs_diff(const int *lower_fds, size_t n, int tree_fd,
         const struct timespec *since, int upper_fd, struct vfs_stats *st,
         struct cb_error **err)
{
  cleanup_lower_list struct lower_list l = { NULL, 0, NULL };
  cleanup_strv char **tnames = NULL;
  struct diff_ctx d;
  size_t nt = 0, written = 0;
  int rc = -1;

  memset(&d, 0, sizeof(d));
  d.up.root_fd = upper_fd;
  d.up.link_files = true;
  d.since = *since;
  tnames = sorted_names(tree_fd, &nt, err);
  if (tnames != NULL && lower_list_read(lower_fds, n, &l, err) == 0)
    rc = diff_dir(&d, tree_fd, tnames, nt, lower_fds, &l, upper_fd, &written,
                  err);
  add_stats(st, &d.up.st);
  copy_ctx_release(&d.up);
  return rc < 0 ? cb_wrap(err, "vfs: changes of the run") : 0;
}

/* --- is an upper directory needed? --- */

/* The entry the layer dirs FDS show at COMPS[0..K) (overlayfs' lookup: the
   first layer that has a name decides, a whiteout or a non-directory
   stops the layers below, an opaque directory too after itself).  On
   success *FOUND says whether there is one; then *ST is it and *PARENT
   (owned) the winning layer's directory holding it.  */
static int
lower_lookup(const int *fds, size_t n, char **comps, size_t k, bool *found,
             struct stat *st, int *parent, struct cb_error **err)
{
  int *cur = cb_xcalloc(n + 1, sizeof(int)), *next = NULL;
  size_t ncur = n, nnext = 0;
  bool borrowed = true; /* CUR holds the caller's fds */

  memcpy(cur, fds, n * sizeof(int));
  *found = false;
  for (size_t j = 0; j < k; j++) {
    next = cb_xcalloc(ncur + 1, sizeof(int));
    nnext = 0;
    for (size_t i = 0; i < ncur; i++) {
      struct stat sb;
      int fd;

      if (fstatat(cur[i], comps[j], &sb, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
          continue;
        cb_fail_errno(err, "stat '%s' in a layer", comps[j]);
        goto fail;
      }
      if (j + 1 == k) { /* the first layer that has it decides */
        if (!is_whiteout(&sb)) {
          *found = true;
          *st = sb;
          *parent = fcntl(cur[i], F_DUPFD_CLOEXEC, 0);
          if (*parent < 0) {
            cb_fail_errno(err, "dup");
            goto fail;
          }
        }
        break;
      }
      if (!S_ISDIR(sb.st_mode)) /* whiteout or non-directory: stop */
        break;
      fd = open_dir_at(cur[i], comps[j]);
      if (fd < 0) {
        cb_fail_errno(err, "open '%s' in a layer", comps[j]);
        goto fail;
      }
      next[nnext++] = fd;
      if (is_opaque(fd))
        break;
    }
    if (borrowed)
      free(cur);
    else
      close_fds(cur, ncur);
    borrowed = false;
    cur = next;
    ncur = nnext;
  }
  if (borrowed)
    free(cur);
  else
    close_fds(cur, ncur);
  return 0;
fail:
  close_fds(next, nnext);
  if (borrowed)
    free(cur);
  else
    close_fds(cur, ncur);
  return -1;
}

/* An overlay xattr other than those overlayfs adds on copy-up to keep
   track of the lower file (origin, impure, nlink): opaque, redirect,
   metacopy change what the directory shows.  */
static bool
has_overlay_marker(const char *path, struct cb_error **err, bool *marked)
{
  struct xattrs x = { NULL, NULL, 0 };
  ssize_t len;

  *marked = false;
  if (xattr_names(path, &x, &len, path, err) < 0)
    return false;
  for (char *p = x.list; p < x.list + len; p += strlen(p) + 1) {
    const char *s = strchr(p, '.') != NULL ? strchr(p, '.') + 1 : p;

    if (is_overlay_xattr(p) && strcmp(s, "overlay.origin") != 0 &&
        strcmp(s, "overlay.impure") != 0 && strcmp(s, "overlay.nlink") != 0)
      *marked = true;
  }
  free(x.list);
  return true;
}

static int
split_path(char *buf, char **comps, size_t max, size_t *k)
{
  *k = 0;
  for (char *p = buf; *p != '\0';) {
    char *slash = strchr(p, '/');

    if (slash != NULL)
      *slash = '\0';
    if (*k == max || *p == '\0' || strcmp(p, ".") == 0 || strcmp(p, "..") == 0)
      return -1;
    comps[(*k)++] = p;
    if (slash == NULL)
      break;
    p = slash + 1;
  }
  return *k > 0 ? 0 : -1;
}

int
vfs_upper_dir_redundant(int parent_fd, const char *name, const char *path,
                        const int *lower_fds, size_t n, bool *redundant,
                        struct cb_error **err)
{
  cleanup_xattrs struct xattrs ux = { NULL, NULL, 0 };
  cleanup_xattrs struct xattrs lx = { NULL, NULL, 0 };
  cleanup_strv char **names = NULL;
  cleanup_free char *buf = cb_xstrdup(path);
  cleanup_close int fd = -1, lparent = -1;
  char *comps[VFS_MAX_DEPTH], fpath[PATH_MAX];
  struct stat us, ls;
  size_t k;
  bool found, marked;

  *redundant = false;
  if (split_path(buf, comps, VFS_MAX_DEPTH, &k) < 0)
    return cb_fail(err, CB_ERR_USAGE, 0, "bad path '%s'", path);
  fd = open_dir_at(parent_fd, name);
  if (fd < 0 || fstat(fd, &us) < 0)
    return cb_fail_errno(err, "open '%s' in the upper dir", path);
  names = cb_list_dir(fd, err);
  fd_path(fpath, parent_fd, name);
  if (names == NULL || !has_overlay_marker(fpath, err, &marked))
    return cb_wrap(err, "'%s' in the upper dir", path);
  if (names[0] != NULL || marked)
    return 0;
  if (xattrs_read(parent_fd, name, &ux, path, err) < 0 ||
      lower_lookup(lower_fds, n, comps, k, &found, &ls, &lparent, err) < 0)
    return -1;
  if (!found) {
    /* As the sandbox makes a missing mount point or its parents.  */
    *redundant = (us.st_mode & 07777) == 0755 && us.st_uid == 0 &&
                 us.st_gid == 0 && ux.n == 0;
    return 0;
  }
  if (!S_ISDIR(ls.st_mode) || !attrs_equal(&us, &ls))
    return 0;
  if (xattrs_read(lparent, comps[k - 1], &lx, path, err) < 0)
    return -1;
  *redundant = xattrs_equal(&ux, &lx);
  return 0;
}
