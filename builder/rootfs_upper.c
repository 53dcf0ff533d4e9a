#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "builder/rootfs-internal.h"
#include "builder/rootfs.h"
#include "builder/vfs.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/banned.h"

/* Mount point paths have at most this many parts.  */
#define MAX_PARTS 64

int
rootfs_open_lowers(const struct rootfs *rf, int **fds, struct cb_error **err)
{
  cleanup_close int l =
      open(rf->lower_dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int *v;

  if (l < 0)
    return cb_fail_errno(err, "cannot open '%s'", rf->lower_dir);
  v = cb_xcalloc(rf->n_lowers, sizeof(int));
  for (size_t i = 0; i < rf->n_lowers; i++) {
    /* l/N is our symlink to unpacked/<hex>: followed on purpose.  */
    v[i] = openat(l, rf->short_lowers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (v[i] < 0) {
      int e = errno;

      for (size_t j = 0; j < i; j++)
        close(v[j]);
      free(v);
      return cb_fail(err, CB_ERR_SYSTEM, e, "cannot open '%s/%s'",
                     rf->lower_dir, rf->short_lowers[i]);
    }
  }
  *fds = v;
  return 0;
}

void
rootfs_close_lowers(const struct rootfs *rf, int *fds)
{
  if (fds == NULL)
    return;
  for (size_t i = 0; i < rf->n_lowers; i++)
    close(fds[i]);
  free(fds);
}

/* Remove NAME (FLAGS for unlinkat) from directory FD and put FD's times
   back as they were (FD at DEPTH 0 is the upper dir itself, whose times
   do not matter).  */
static int
remove_keeping_times(int fd, size_t depth, const char *name, int flags,
                     const char *path, struct cb_error **err)
{
  struct stat sb;

  if (fstat(fd, &sb) < 0 || unlinkat(fd, name, flags) < 0)
    return cb_fail_errno(err, "upper dir: cannot remove '%s'", path);
  if (depth > 0) {
    struct timespec t[2] = { sb.st_atim, sb.st_mtim };

    if (futimens(fd, t) < 0)
      return cb_fail_errno(err,
                           "upper dir: cannot set the times of the "
                           "parent of '%s'",
                           path);
  }
  return 0;
}

/* Whether NAME in FD (SB) is a mount point file as the sandbox makes
   it: any xattr but overlayfs' own would be a change.  The link count is
   not looked at: the vfs diff links the tree's file here, and the command
   cannot link a file mounted over (EXDEV).  */
static bool
is_made_file(int fd, const char *name, const struct stat *sb)
{
  cleanup_close int f = -1;
  cleanup_free char *list = NULL;
  ssize_t n;

  if (!S_ISREG(sb->st_mode) || sb->st_size != 0 ||
      (sb->st_mode & 07777) != 0644 || sb->st_uid != 0 || sb->st_gid != 0)
    return false;
  f = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (f < 0)
    return false;
  n = flistxattr(f, NULL, 0);
  if (n <= 0)
    return n == 0 || errno == ENOTSUP;
  list = cb_xmalloc((size_t)n);
  n = flistxattr(f, list, (size_t)n);
  if (n < 0)
    return false;
  for (char *p = list; p < list + n; p += strlen(p) + 1)
    if (strncmp(p, "user.overlay.", 13) != 0 &&
        strncmp(p, "trusted.overlay.", 16) != 0)
      return false;
  return true;
}

/* PATH split into PARTS; false for a path that cannot name a mount
   point ("", ".", "..", absolute, too deep).  */
static bool
split_parts(char *path, char **parts, size_t *n)
{
  *n = 0;
  if (path[0] == '/' || path[0] == '\0')
    return false;
  for (char *p = path;;) {
    char *slash = strchr(p, '/');

    if (slash != NULL)
      *slash = '\0';
    if (*n == MAX_PARTS || *p == '\0' || strcmp(p, ".") == 0 ||
        strcmp(p, "..") == 0)
      return false;
    parts[(*n)++] = p;
    if (slash == NULL)
      return true;
    p = slash + 1;
  }
}

/* The prefix of PATH with K parts, for messages and lookups: PARTS point
   into a copy of PATH whose '/' became NUL, so they are joined again. */
static char *
prefix_of(char **parts, size_t k)
{
  struct cb_buf b = CB_BUF_INIT;

  for (size_t i = 0; i < k; i++) {
    if (i > 0)
      cb_buf_addc(&b, '/');
    cb_buf_adds(&b, parts[i]);
  }
  return cb_buf_detach(&b, NULL);
}

static void
close_all(int *fds, size_t n)
{
  for (size_t i = 1; i < n; i++) /* fds[0] is borrowed */
    close(fds[i]);
}

/* Prune the mount point MP: see rootfs_prune_upper().  */
static int
prune_one(int upper, const int *lowers, size_t n_lowers, const char *mp,
          struct cb_error **err)
{
  cleanup_free char *copy = cb_xstrdup(mp);
  char *parts[MAX_PARTS];
  int dirs[MAX_PARTS];
  size_t k, nd = 1, top;
  struct stat sb;
  int rc = 0;

  if (!split_parts(copy, parts, &k))
    return cb_fail(err, CB_ERR_USAGE, 0, "bad mount point '%s'", mp);
  /* The directories above it, as far as the upper dir has them as
     directories; none means nothing of MP is there.  */
  dirs[0] = upper;
  for (; nd < k; nd++) {
    dirs[nd] = openat(dirs[nd - 1], parts[nd - 1],
                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dirs[nd] < 0) {
      close_all(dirs, nd);
      return errno == ENOENT || errno == ENOTDIR || errno == ELOOP
                 ? 0
                 : cb_fail_errno(err, "upper dir: cannot open '%s'", mp);
    }
  }
  top = k;
  if (fstatat(dirs[k - 1], parts[k - 1], &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
      !S_ISDIR(sb.st_mode)) {
    top = k - 1;
    if (is_made_file(dirs[k - 1], parts[k - 1], &sb))
      rc = remove_keeping_times(dirs[k - 1], k - 1, parts[k - 1], 0, mp, err);
    else
      top = 0; /* not ours: its directories hold it */
  }
  /* Then the mount point if a directory, and the directories above it,
     deepest first, while they add nothing.  */
  for (size_t i = top; rc == 0 && i > 0; i--) {
    cleanup_free char *path = prefix_of(parts, i);
    bool redundant = false;

    if (fstatat(dirs[i - 1], parts[i - 1], &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
        !S_ISDIR(sb.st_mode))
      break;
    rc = vfs_upper_dir_redundant(dirs[i - 1], parts[i - 1], path, lowers,
                                 n_lowers, &redundant, err);
    if (rc < 0 || !redundant)
      break;
    rc = remove_keeping_times(dirs[i - 1], i - 1, parts[i - 1], AT_REMOVEDIR,
                              path, err);
  }
  close_all(dirs, nd);
  return rc;
}

int
rootfs_prune_upper(struct rootfs *rf, const char *const *mount_points,
                   struct cb_error **err)
{
  cleanup_close int upper =
      open(rf->upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int *lowers = NULL;
  int rc = 0;

  if (upper < 0)
    return cb_fail_errno(err, "cannot open '%s'", rf->upper);
  if (rootfs_open_lowers(rf, &lowers, err) < 0)
    return -1;
  for (size_t i = 0; rc == 0 && mount_points[i] != NULL; i++)
    rc = prune_one(upper, lowers, rf->n_lowers, mount_points[i], err);
  rootfs_close_lowers(rf, lowers);
  return rc;
}

/* vfs: what the command changed in merged/, as an overlay upper dir.  */
static int
diff_tree(struct rootfs *rf, struct cb_error **err)
{
  cleanup_close int tree = -1, upper = -1;
  struct vfs_stats st = { 0, 0, 0, 0, 0 };
  int *lowers = NULL;
  int rc;

  tree = open(rf->merged, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  upper = open(rf->upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (tree < 0 || upper < 0)
    return cb_fail_errno(err, "cannot open '%s'", rf->dir);
  if (rootfs_open_lowers(rf, &lowers, err) < 0)
    return -1;
  rc = vfs_diff(lowers, rf->n_lowers, tree, &rf->copied, upper, &st, err);
  rootfs_close_lowers(rf, lowers);
  if (rc == 0)
    cb_log(CB_LOG_DEBUG, "vfs: %llu entries changed, %llu whiteouts",
           (unsigned long long)st.entries, (unsigned long long)st.whiteouts);
  return rc;
}

int
rootfs_finish_upper(struct rootfs *rf, const char *const *mount_points,
                    struct cb_error **err)
{
  if (rf->driver == ROOTFS_DRIVER_VFS && diff_tree(rf, err) < 0)
    return -1;
  return rootfs_prune_upper(rf, mount_points, err);
}
