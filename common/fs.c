#include "config.h"

#include "common/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/banned.h"

bool cb_fs_force_walk = false;

/* The walk state: a stack of directory fds from the root down, so that
   ".." can pop without ever going above the root, and the part of the
   path still to resolve (symlink targets are spliced in front of it).  */
struct walk {
  int *fds;
  size_t n;
  size_t alloc;
  struct cb_buf rest;
  size_t pos; /* next byte of rest to resolve */
  int links;  /* symlinks followed so far */
};

/* What walk_step() returns when the path is not resolved yet.  */
#define WALK_MORE (-2)

static void
walk_release(struct walk *w)
{
  for (size_t i = 1; i < w->n; i++) /* fds[0] is the caller's root */
    close(w->fds[i]);
  free(w->fds);
  cb_buf_release(&w->rest);
}

static void
walk_push(struct walk *w, int fd)
{
  CB_GROW(w->fds, w->alloc, w->n + 1);
  w->fds[w->n++] = fd;
}

static void
walk_pop(struct walk *w)
{
  if (w->n > 1)
    close(w->fds[--w->n]);
}

static int
walk_dir(const struct walk *w)
{
  return w->fds[w->n - 1];
}

/* If NAME in the current directory is a symlink, put its target in front
   of the rest of the path; an absolute target restarts at the root.
   Returns 1 if NAME was a link, 0 if not (or if it is missing: the open
   that follows reports that), -1 with errno ELOOP after too many links. */
static int
walk_follow(struct walk *w, const char *name)
{
  struct cb_buf next = CB_BUF_INIT;
  char target[PATH_MAX];
  ssize_t len;

  len = readlinkat(walk_dir(w), name, target, sizeof(target) - 1);
  if (len < 0)
    return 0;
  if (++w->links > CB_MAX_SYMLINKS) {
    errno = ELOOP;
    return -1;
  }
  target[len] = '\0';
  if (target[0] == '/') {
    while (w->n > 1)
      walk_pop(w);
  }
  /* The rest is "" or starts with '/': adding none keeps a trailing slash
     where it was, and gives none to a final link.  */
  cb_buf_adds(&next, target);
  cb_buf_adds(&next, w->rest.data + w->pos);
  cb_buf_release(&w->rest);
  w->rest = next;
  w->pos = 0;
  return 1;
}

/* Whether an open with FLAGS follows a symlink in the last component:
   not with O_NOFOLLOW, and not with O_CREAT | O_EXCL either, which must
   fail on any existing name, a dangling link included (open(2)).  */
static bool
follows_final_link(int flags)
{
  if (flags & O_NOFOLLOW)
    return false;
  return (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
}

/* Resolve the next component of the rest of the path.  Returns the final
   fd, WALK_MORE, or -1 with errno set.  */
static int
walk_step(struct walk *w, int flags, mode_t mode)
{
  const char *p = w->rest.data + w->pos + strspn(w->rest.data + w->pos, "/");
  size_t len = strcspn(p, "/");
  size_t slashes = strspn(p + len, "/");
  bool last = p[len + slashes] == '\0';
  cleanup_free char *name = cb_xstrndup(p, len);
  int fd;

  w->pos = (size_t)(p + len - w->rest.data);
  if (strcmp(name, "..") == 0)
    walk_pop(w);
  if (len == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return last ? openat(walk_dir(w), ".", flags | O_CLOEXEC, mode) : WALK_MORE;
  /* A trailing slash makes the last name a directory to enter, and a final
     symlink is then followed even with O_NOFOLLOW (path_resolution(7));
     the "" after the slash opens it.  O_CREAT cannot make a directory.  */
  if (last && slashes > 0) {
    if (flags & O_CREAT) {
      errno = EISDIR;
      return -1;
    }
    last = false;
  }
  if (!last || follows_final_link(flags)) {
    int followed = walk_follow(w, name);

    if (followed != 0)
      return followed < 0 ? -1 : WALK_MORE;
  }
  if (last)
    return openat(walk_dir(w), name, flags | O_CLOEXEC | O_NOFOLLOW, mode);
  fd = openat(walk_dir(w), name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  walk_push(w, fd);
  return WALK_MORE;
}

/* Fallback for kernels without openat2: resolve one component at a time
   with O_PATH|O_NOFOLLOW, following symlinks ourselves inside the root and
   stopping after CB_MAX_SYMLINKS (ELOOP), like crun's safe walk.  */
static int
open_in_root_walk(int root_fd, const char *path, int flags, mode_t mode,
                  struct cb_error **err)
{
  struct walk w = { .fds = NULL, .rest = CB_BUF_INIT };
  int fd;

  /* As open(2) and openat2: "" names nothing (the root is "." or "/").  */
  if (path[0] == '\0') {
    errno = ENOENT;
    return cb_fail_errno(err, "open '%s'", path);
  }
  walk_push(&w, root_fd);
  cb_buf_adds(&w.rest, path);
  do
    fd = walk_step(&w, flags, mode);
  while (fd == WALK_MORE);
  if (fd < 0)
    cb_fail_errno(err, "open '%s'", path);
  walk_release(&w);
  return fd;
}

int
cb_open_in_root(int root_fd, const char *path, int flags, mode_t mode,
                struct cb_error **err)
{
  /* openat2 refuses a mode unless it creates, where open(2) ignores it.
     O_TMPFILE includes the O_DIRECTORY bit: test all of its bits.  */
  bool creates = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
  struct open_how how = {
    .flags = (uint64_t)(flags | O_CLOEXEC),
    .mode = creates ? mode : 0,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  long fd;
  int tries = 0;

  if (cb_fs_force_walk)
    return open_in_root_walk(root_fd, path, flags, mode, err);
  /* EAGAIN: a rename raced with the lookup; bounded, as the tree may be
     changed on purpose by whoever controls it.  */
  do
    fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
  while (fd < 0 && (errno == EINTR || errno == EAGAIN) && ++tries < 64);
  /* ENOSYS: kernel < 5.6.  EPERM: a seccomp profile (older container
     runtimes' defaults) that refuses syscalls it does not know; openat2
     itself reports permission problems as EACCES.  */
  if (fd < 0 && (errno == ENOSYS || errno == EPERM))
    return open_in_root_walk(root_fd, path, flags, mode, err);
  if (fd < 0)
    return cb_fail_errno(err, "open '%s'", path);
  return (int)fd;
}

int
cb_read_all(int fd, size_t max, char **buf, size_t *len,
            struct cb_error **err)
{
  cleanup_buf struct cb_buf b = CB_BUF_INIT;

  for (;;) {
    ssize_t n;

    cb_buf_reserve(&b, 65536);
    n = read(fd, b.data + b.len, b.alloc - b.len - 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return cb_fail_errno(err, "read");
    if (n == 0)
      break;
    b.len += (size_t)n;
    b.data[b.len] = '\0';
    if (b.len > max)
      return cb_fail(err, CB_ERR_UNSAFE, 0, "larger than %zu bytes", max);
  }
  *buf = cb_buf_detach(&b, len);
  return 0;
}

int
cb_read_file_at(int dir_fd, const char *name, size_t max, char **buf,
                size_t *len, struct cb_error **err)
{
  cleanup_close int fd = -1;

  fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return cb_fail_errno(err, "cannot open '%s'", name);
  if (cb_read_all(fd, max, buf, len, err) < 0)
    return cb_wrap(err, "'%s'", name);
  return 0;
}

int
cb_write_all(int fd, const void *buf, size_t len, struct cb_error **err)
{
  const char *p = buf;

  while (len > 0) {
    ssize_t n = write(fd, p, len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return cb_fail_errno(err, "write");
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int
cb_replace_file(const char *dest, mode_t mode, cb_fill_fn fill, void *data,
                struct cb_error **err)
{
  cleanup_free char *tmp = cb_xasprintf("%s.tmp-XXXXXX", dest);
  cleanup_close int fd = mkostemp(tmp, O_CLOEXEC);
  int rc;

  if (fd < 0)
    return cb_fail_errno(err, "cannot create '%s'", dest);
  rc = fill(fd, data, err);
  if (rc == 0 && (fchmod(fd, mode) < 0 || fsync(fd) < 0 ||
                  rename(tmp, dest) < 0))
    rc = cb_fail_errno(err, "cannot write '%s'", dest);
  if (rc < 0)
    unlink(tmp);
  return rc;
}
