#include "config.h"

#include "layers/apply-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fs.h"
#include "common/mem.h"

#include "common/banned.h"

/* --- names --- */

/* Append the components of NAME to B, dropping "" and "." parts.  */
static int
clean_components(const char *name, struct cb_buf *b, struct cb_error **err)
{
  const char *p = name;

  while (*p != '\0') {
    size_t len;

    while (*p == '/')
      p++;
    len = strcspn(p, "/");
    if (len == 0 || (len == 1 && p[0] == '.')) {
      p += len;
      continue;
    }
    /* Rejected even where it would stay inside ("a/../b"): a layer has
       no reason to write one, and a lexical rule is simple to trust.  */
    if (len == 2 && p[0] == '.' && p[1] == '.')
      return cb_fail(err, CB_ERR_UNSAFE, 0, "name has a '..' component");
    if (b->len > 0)
      cb_buf_addc(b, '/');
    cb_buf_add(b, p, len);
    p += len;
  }
  return 0;
}

int
entry_path_parse(const char *name, struct entry_path *ep, struct cb_error **err)
{
  cleanup_buf struct cb_buf b = CB_BUF_INIT;
  char *path;
  char *slash;

  if (name == NULL || name[0] == '\0')
    return cb_fail(err, CB_ERR_PARSE, 0, "empty name");
  if (strnlen(name, PATH_MAX) >= PATH_MAX)
    return cb_fail(err, CB_ERR_UNSAFE, 0, "name longer than %d bytes",
                   PATH_MAX - 1);
  if (clean_components(name, &b, err) < 0)
    return -1;
  path = cb_buf_detach(&b, NULL);
  slash = strrchr(path, '/');
  ep->path = path;
  if (slash == NULL) {
    ep->dir = cb_xstrdup(".");
    ep->base = path;
  } else {
    ep->dir = cb_xstrndup(path, (size_t)(slash - path));
    ep->base = slash + 1;
  }
  return 0;
}

void
entry_path_release(struct entry_path *ep)
{
  free(ep->path);
  free(ep->dir);
  ep->path = NULL;
  ep->dir = NULL;
  ep->base = NULL;
}

/* --- the set of inodes this layer made --- */

static size_t
inode_hash(dev_t dev, ino_t ino)
{
  uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull;

  h ^= (uint64_t)dev + (h >> 29);
  return (size_t)(h ^ (h >> 32));
}

/* Inode 0 is never a real file: an empty slot has ino 0.  */
static struct inode_key *
inode_slot(struct inode_key *keys, size_t alloc, dev_t dev, ino_t ino)
{
  size_t i = inode_hash(dev, ino) & (alloc - 1);

  while (keys[i].ino != 0 && (keys[i].ino != ino || keys[i].dev != dev))
    i = (i + 1) & (alloc - 1);
  return &keys[i];
}

static void
inode_set_grow(struct inode_set *s)
{
  size_t alloc = s->alloc ? s->alloc * 2 : 64;
  struct inode_key *keys = cb_xcalloc(alloc, sizeof(*keys));

  for (size_t i = 0; i < s->alloc; i++)
    if (s->keys[i].ino != 0)
      *inode_slot(keys, alloc, s->keys[i].dev, s->keys[i].ino) = s->keys[i];
  free(s->keys);
  s->keys = keys;
  s->alloc = alloc;
}

void
inode_set_add(struct inode_set *s, const struct stat *st)
{
  struct inode_key *k;

  if (st->st_ino == 0)
    return;
  if (2 * (s->n + 1) > s->alloc)
    inode_set_grow(s);
  k = inode_slot(s->keys, s->alloc, st->st_dev, st->st_ino);
  if (k->ino == 0) {
    k->dev = st->st_dev;
    k->ino = st->st_ino;
    s->n++;
  }
}

bool
inode_set_has(const struct inode_set *s, const struct stat *st)
{
  if (s->n == 0 || st->st_ino == 0)
    return false;
  return inode_slot(s->keys, s->alloc, st->st_dev, st->st_ino)->ino != 0;
}

void
inode_set_release(struct inode_set *s)
{
  free(s->keys);
  s->keys = NULL;
  s->n = s->alloc = 0;
}

/* --- directories --- */

/* Hand E to the caller, keeping an error already there.  */
static int
pass_error(struct cb_error **err, struct cb_error *e)
{
  if (*err == NULL)
    *err = e;
  else
    cb_error_free(e);
  return -1;
}

/* Make the last component of DIR, whose parent may be missing too.  */
static int
make_dir_in_root(int root_fd, const char *dir, struct inode_set *created,
                 struct cb_error **err)
{
  cleanup_free char *parent = NULL;
  cleanup_close int parent_fd = -1;
  const char *slash = strrchr(dir, '/');
  const char *base = slash != NULL ? slash + 1 : dir;
  struct stat st;

  parent =
      slash != NULL ? cb_xstrndup(dir, (size_t)(slash - dir)) : cb_xstrdup(".");
  parent_fd = open_dir_in_root(root_fd, parent, created, err);
  if (parent_fd < 0)
    return -1;
  /* EEXIST: something is there but did not resolve to a directory (a
     dangling symlink, say); opening DIR again reports why.  */
  if (mkdirat(parent_fd, base, 0755) < 0)
    return errno == EEXIST ? 0 : cb_fail_errno(err, "mkdir '%s'", dir);
  if (fstatat(parent_fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return cb_fail_errno(err, "stat '%s'", dir);
  inode_set_add(created, &st);
  return 0;
}

int
open_dir_in_root(int root_fd, const char *dir, struct inode_set *created,
                 struct cb_error **err)
{
  struct cb_error *e = NULL;
  int fd;

  fd = cb_open_in_root(root_fd, dir, O_PATH | O_DIRECTORY, 0, &e);
  if (fd >= 0)
    return fd;
  if (created == NULL || e->errnum != ENOENT || strcmp(dir, ".") == 0)
    return pass_error(err, e);
  cb_error_free(e);
  if (make_dir_in_root(root_fd, dir, created, err) < 0)
    return -1;
  return cb_open_in_root(root_fd, dir, O_PATH | O_DIRECTORY, 0, err);
}

static int
open_subdir(int dir_fd, const char *name, struct cb_error **err)
{
  int fd =
      openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

  if (fd < 0)
    return cb_fail_errno(err, "open '%s'", name);
  return fd;
}

int
remove_lower_at(int dir_fd, const char *name, const struct inode_set *keep,
                struct cb_error **err)
{
  cleanup_close int fd = -1;
  struct stat st;
  bool kept;

  if (keep->n == 0)
    return cb_remove_tree_at(dir_fd, name, err);
  if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : cb_fail_errno(err, "stat '%s'", name);
  kept = inode_set_has(keep, &st);
  if (!S_ISDIR(st.st_mode)) {
    if (!kept && unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
      return cb_fail_errno(err, "remove '%s'", name);
    return 0;
  }
  fd = open_subdir(dir_fd, name, err);
  if (fd < 0 || remove_lower_children(fd, keep, err) < 0)
    return -1;
  /* A lower directory that still holds this layer's entries stays: it is
     their parent, implied by them.  */
  if (!kept && unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOTEMPTY &&
      errno != EEXIST)
    return cb_fail_errno(err, "remove '%s'", name);
  return 0;
}

int
remove_lower_children(int dir_fd, const struct inode_set *keep,
                      struct cb_error **err)
{
  cleanup_strv char **names = NULL;

  names = cb_list_dir(dir_fd, err);
  if (names == NULL)
    return -1;
  for (size_t i = 0; names[i] != NULL; i++)
    if (remove_lower_at(dir_fd, names[i], keep, err) < 0)
      return -1;
  return 0;
}
