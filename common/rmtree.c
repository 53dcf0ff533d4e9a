#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/mem.h"
#include "common/fs.h"

#include "common/banned.h"

char **
cb_list_dir(int dir_fd, struct cb_error **err)
{
  char **names = NULL;
  size_t n = 0, alloc = 0;
  DIR *d;
  int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return cb_fail_null(err, CB_ERR_SYSTEM, errno, "cannot open directory");
  d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return cb_fail_null(err, CB_ERR_SYSTEM, errno, "cannot open directory");
  }
  CB_GROW(names, alloc, 1);
  for (;;) {
    struct dirent *e;

    errno = 0;
    e = readdir(d);
    if (e == NULL)
      break;
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    CB_GROW(names, alloc, n + 2);
    names[n++] = cb_xstrdup(e->d_name);
  }
  names[n] = NULL;
  if (errno != 0) {
    int saved = errno;

    closedir(d);
    cb_strv_free(names);
    return cb_fail_null(err, CB_ERR_SYSTEM, saved, "cannot read directory");
  }
  closedir(d);
  return names;
}

/* One directory on the way down: the subdirectories still to remove, and
   its identity, to check ".." against on the way back up.  */
struct frame {
  char **subdirs; /* owned, NULL-terminated */
  size_t next;
  dev_t dev;
  ino_t ino;
};

/* Open directory NAME below DIR_FD for removing its entries: give it
   u+rwx if it lacks it (a layer may hold 0555 dirs), and check that what
   we opened is what we looked at.  */
static int
open_for_removal(int dir_fd, const char *name, struct stat *st,
                 struct cb_error **err)
{
  cleanup_close int path_fd = -1;
  struct stat st2;
  int fd;

  path_fd = openat(dir_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (path_fd < 0 || fstat(path_fd, st) < 0)
    return cb_fail_errno(err, "cannot open '%s'", name);
  /* fchmodat cannot refuse symlinks, but NAME was a directory a moment
     ago and only this store's owner can change it; the identity check
     below catches a swap.  */
  if ((st->st_mode & S_IRWXU) != S_IRWXU &&
      fchmodat(dir_fd, name, (st->st_mode & 07777) | S_IRWXU, 0) < 0)
    return cb_fail_errno(err, "cannot make '%s' writable", name);
  fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return cb_fail_errno(err, "cannot open '%s'", name);
  if (fstat(fd, &st2) < 0 || st2.st_dev != st->st_dev ||
      st2.st_ino != st->st_ino) {
    close(fd);
    return cb_fail(err, CB_ERR_UNSAFE, 0, "'%s' changed while removing it",
                   name);
  }
  return fd;
}

/* Unlink the entries of FD that are not directories; return the names of
   the directories (a new NULL-terminated array), left for the caller to
   descend into.  */
static char **
remove_files(int fd, struct cb_error **err)
{
  cleanup_strv char **names = cb_list_dir(fd, err);
  cleanup_strv char **dirs = NULL;
  size_t ndirs = 0, alloc = 0;

  if (names == NULL)
    return NULL;
  CB_GROW(dirs, alloc, 1);
  dirs[0] = NULL;
  for (size_t i = 0; names[i] != NULL; i++) {
    struct stat st;

    if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT)
        continue;
      return cb_fail_null(err, CB_ERR_SYSTEM, errno, "cannot stat '%s'",
                          names[i]);
    }
    if (S_ISDIR(st.st_mode)) {
      CB_GROW(dirs, alloc, ndirs + 2);
      dirs[ndirs++] = cb_xstrdup(names[i]);
      dirs[ndirs] = NULL;
    } else if (unlinkat(fd, names[i], 0) < 0 && errno != ENOENT) {
      return cb_fail_null(err, CB_ERR_SYSTEM, errno, "cannot remove '%s'",
                          names[i]);
    }
  }
  return steal_ptr(&dirs);
}

static void
frames_free(struct frame *frames, size_t n)
{
  for (size_t i = 0; i < n; i++)
    cb_strv_free(frames[i].subdirs);
  free(frames);
}

/* Go up from *FD to its parent, which must be FRAME's directory.  */
static int
climb(int *fd, const struct frame *frame, struct cb_error **err)
{
  struct stat st;
  int up = openat(*fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (up < 0)
    return cb_fail_errno(err, "cannot open '..'");
  if (fstat(up, &st) < 0 || st.st_dev != frame->dev ||
      st.st_ino != frame->ino) {
    close(up);
    return cb_fail(err, CB_ERR_UNSAFE, 0, "directory moved while removing it");
  }
  close(*fd);
  *fd = up;
  return 0;
}

/* Descend into the next subdirectory of the top frame (never onto another
   file system), or, when it has none left, climb back and remove it.
   Returns 1 when the tree below the first frame is empty.  */
static int
remove_step(int *fd, struct frame **frames, size_t *n, size_t *alloc,
            struct cb_error **err)
{
  struct frame *top = &(*frames)[*n - 1];
  const char *sub = top->subdirs[top->next];
  struct stat st;
  int child;

  if (sub == NULL) {
    if (*n == 1)
      return 1;
    if (climb(fd, &(*frames)[*n - 2], err) < 0)
      return -1;
    cb_strv_free(top->subdirs);
    (*n)--;
    top = &(*frames)[*n - 1];
    if (unlinkat(*fd, top->subdirs[top->next], AT_REMOVEDIR) < 0)
      return cb_fail_errno(err, "cannot remove '%s'", top->subdirs[top->next]);
    top->next++;
    return 0;
  }
  child = open_for_removal(*fd, sub, &st, err);
  if (child < 0)
    return -1;
  /* A mount point (say, a bind mount left by a crashed step) is another
     file system: emptying it would remove what was mounted.  */
  if (st.st_dev != (*frames)[0].dev) {
    close(child);
    return cb_fail(err, CB_ERR_UNSAFE, 0, "'%s' is a mount point", sub);
  }
  close(*fd);
  *fd = child;
  CB_GROW(*frames, *alloc, *n + 1);
  (*frames)[*n] = (struct frame){ NULL, 0, st.st_dev, st.st_ino };
  (*n)++;
  (*frames)[*n - 1].subdirs = remove_files(*fd, err);
  return (*frames)[*n - 1].subdirs == NULL ? -1 : 0;
}

int
cb_remove_tree_at(int dir_fd, const char *name, struct cb_error **err)
{
  struct frame *frames = NULL;
  size_t n = 0, alloc = 0;
  struct stat st;
  int fd, r = 0;

  if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : cb_fail_errno(err, "cannot stat '%s'", name);
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
      return cb_fail_errno(err, "cannot remove '%s'", name);
    return 0;
  }
  fd = open_for_removal(dir_fd, name, &st, err);
  if (fd < 0)
    return -1;
  CB_GROW(frames, alloc, 1);
  frames[0] = (struct frame){ remove_files(fd, err), 0, st.st_dev, st.st_ino };
  n = frames[0].subdirs != NULL ? 1 : 0;
  while (n > 0 && r == 0)
    r = remove_step(&fd, &frames, &n, &alloc, err);
  close(fd);
  frames_free(frames, n);
  if (r < 0 || n == 0)
    return cb_wrap(err, "cannot remove '%s'", name);
  if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return cb_fail_errno(err, "cannot remove '%s'", name);
  return 0;
}
