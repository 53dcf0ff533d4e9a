#include "config.h"

#include "common/fs.h"

#include <errno.h>
#include <fcntl.h>
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
   ".." can pop without ever going above the root.  */
struct walk {
  int *fds;
  size_t n;
  size_t alloc;
};

static void
walk_release(struct walk *w)
{
  for (size_t i = 1; i < w->n; i++) /* fds[0] is the caller's root */
    close(w->fds[i]);
  free(w->fds);
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

static void
walk_reset(struct walk *w)
{
  while (w->n > 1)
    walk_pop(w);
}

/* Prepend TARGET to the unresolved REST; an absolute target restarts at
   the root.  */
static void
walk_splice_link(struct walk *w, struct cb_buf *rest, size_t pos,
                 const char *target)
{
  struct cb_buf next = CB_BUF_INIT;

  if (target[0] == '/')
    walk_reset(w);
  cb_buf_adds(&next, target);
  cb_buf_addc(&next, '/');
  cb_buf_adds(&next, rest->data + pos);
  cb_buf_release(rest);
  *rest = next;
}

/* Fallback for kernels without openat2: resolve one component at a time
   with O_PATH|O_NOFOLLOW, following symlinks ourselves inside the root and
   stopping after CB_MAX_SYMLINKS (ELOOP), like crun's safe walk.  */
static int
open_in_root_walk(int root_fd, const char *path, int flags, mode_t mode,
                  struct cb_error **err)
{
  struct cb_buf rest = CB_BUF_INIT;
  struct walk w = { NULL, 0, 0 };
  size_t pos = 0;
  int links = 0;
  int result = -1;

  walk_push(&w, root_fd);
  cb_buf_adds(&rest, path);
  for (;;) {
    char *name;
    size_t end;
    bool last;
    int fd;
    char target[4096];
    ssize_t tl;

    while (rest.data[pos] == '/')
      pos++;
    end = pos;
    while (rest.data[end] != '\0' && rest.data[end] != '/')
      end++;
    last = rest.data[end + strspn(rest.data + end, "/")] == '\0';
    name = cb_xstrndup(rest.data + pos, end - pos);
    if (name[0] == '\0' || strcmp(name, ".") == 0) {
      free(name);
      if (!last) {
        pos = end;
        continue;
      }
      result = openat(w.fds[w.n - 1], ".", flags | O_CLOEXEC, mode);
      if (result < 0)
        cb_fail_errno(err, "open '%s'", path);
      break;
    }
    if (strcmp(name, "..") == 0) {
      free(name);
      walk_pop(&w);
      pos = end;
      if (last) {
        result = openat(w.fds[w.n - 1], ".", flags | O_CLOEXEC, mode);
        if (result < 0)
          cb_fail_errno(err, "open '%s'", path);
        break;
      }
      continue;
    }
    tl = readlinkat(w.fds[w.n - 1], name, target, sizeof(target) - 1);
    if (tl >= 0 && !(last && (flags & O_NOFOLLOW))) {
      free(name);
      if (++links > CB_MAX_SYMLINKS) {
        errno = ELOOP;
        cb_fail_errno(err, "open '%s'", path);
        break;
      }
      target[tl] = '\0';
      walk_splice_link(&w, &rest, end, target);
      pos = 0;
      continue;
    }
    if (last) {
      result = openat(w.fds[w.n - 1], name, flags | O_CLOEXEC | O_NOFOLLOW,
                      mode);
      if (result < 0)
        cb_fail_errno(err, "open '%s'", path);
      free(name);
      break;
    }
    fd = openat(w.fds[w.n - 1], name,
                O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    free(name);
    if (fd < 0) {
      cb_fail_errno(err, "open '%s'", path);
      break;
    }
    walk_push(&w, fd);
    pos = end;
  }
  walk_release(&w);
  cb_buf_release(&rest);
  return result;
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

  if (cb_fs_force_walk)
    return open_in_root_walk(root_fd, path, flags, mode, err);
  do
    fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
  while (fd < 0 && (errno == EINTR || errno == EAGAIN));
  if (fd < 0 && errno == ENOSYS) /* kernel < 5.6 */
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
