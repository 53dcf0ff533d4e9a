/* builder/vfs: the copy of overlay lower dirs into a plain tree, the diff
   of a changed tree back into an overlay upper dir, and the check that an
   upper directory adds nothing, all on plain directories.  The diff is
   also checked by its defining property: the upper dir over the lowers,
   merged by the copy again, gives back the changed tree.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "builder/vfs.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/mem.h"
#include "tap.h"

#include "common/banned.h"


static int top_fd = -1; /* the test's temp dir */
static int counter;

static void __attribute__((noreturn, format(printf, 1, 2)))
bail(const char *fmt, ...)
{
  int saved = errno;
  va_list ap;

  printf("Bail out! ");
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf(": %s\n", strerror(saved));
  exit(1);
}

/* A fresh directory below the temp dir, as an fd.  */
static int
fresh_dir(const char *what)
{
  char name[64];
  int fd;

  snprintf(name, sizeof(name), "%s-%d", what, counter++);
  if (mkdirat(top_fd, name, 0755) < 0)
    bail("mkdir %s", name);
  fd = openat(top_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    bail("open %s", name);
  return fd;
}

/* Build entries in ROOT from lines "TYPE PATH [ARG]": d dir, f file with
   content ARG, l symlink to ARG, h hard link to ARG, w whiteout, o opaque
   dir, x sets xattr user.test=ARG on PATH, m chmod PATH to octal ARG, t
   sets PATH's mtime to ARG seconds.  Parents must come first.  */
static void
build(int root, const char *const *lines)
{
  for (size_t i = 0; lines[i] != NULL; i++) {
    char type, path[256], arg[256] = "";
    int fd;

    if (sscanf(lines[i], "%c %255s %255[^\n]", &type, path, arg) < 2)
      bail("bad line '%s'", lines[i]);
    switch (type) {
    case 'd':
    case 'o':
      if (mkdirat(root, path, 0755) < 0)
        bail("mkdir %s", path);
      if (type == 'o') {
        fd = openat(root, path, O_RDONLY | O_DIRECTORY);
        if (fd < 0 || fsetxattr(fd, "user.overlay.opaque", "y", 1, 0) < 0)
          bail("opaque %s", path);
        close(fd);
      }
      break;
    case 'f':
      fd = openat(root, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0 || write(fd, arg, strlen(arg)) != (ssize_t)strlen(arg))
        bail("write %s", path);
      close(fd);
      break;
    case 'l':
      if (symlinkat(arg, root, path) < 0)
        bail("symlink %s", path);
      break;
    case 'h':
      if (linkat(root, arg, root, path, 0) < 0)
        bail("link %s", path);
      break;
    case 'w':
      if (mknodat(root, path, S_IFCHR | 0, makedev(0, 0)) < 0)
        bail("whiteout %s (Linux 5.8 or later?)", path);
      break;
    case 'x':
      fd = openat(root, path, O_RDONLY);
      if (fd < 0 || fsetxattr(fd, "user.test", arg, strlen(arg), 0) < 0)
        bail("xattr %s", path);
      close(fd);
      break;
    case 'm':
      if (fchmodat(root, path, (mode_t)strtol(arg, NULL, 8), 0) < 0)
        bail("chmod %s", path);
      break;
    case 't': {
      struct timespec t[2] = { { atol(arg), 0 }, { atol(arg), 0 } };

      if (utimensat(root, path, t, AT_SYMLINK_NOFOLLOW) < 0)
        bail("utimensat %s", path);
      break;
    }
    default:
      bail("bad type in '%s'", lines[i]);
    }
  }
}

/* Hard links seen by the listing: inode -> first path.  */
struct seen {
  dev_t dev;
  ino_t ino;
  char *path;
};

struct listing {
  struct cb_buf out;
  struct seen *seen;
  size_t n, alloc;
  bool times; /* list mtimes of everything (false: files only) */
};

static int
cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line per entry below FD ("PREFIX" names it), sorted: path, type,
   mode, and by type content, link target or device; opaque mark, the
   user.test xattr, mtime, and for a second name of a file "=FIRST".  */
static void
list_into(struct listing *l, int fd, const char *prefix)
{
  struct cb_error *err = NULL;
  char **names = cb_list_dir(fd, &err);
  size_t n;

  if (names == NULL)
    bail("list %s", prefix);
  n = cb_strv_len(names);
  qsort(names, n, sizeof(char *), cmp_str);
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *path = cb_xasprintf("%s%s", prefix, names[i]);
    char buf[256], proc[512];
    struct stat st;
    ssize_t len;

    if (fstatat(fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
      bail("stat %s", path);
    cb_buf_addf(&l->out, "%s %c %o", path,
                S_ISDIR(st.st_mode)   ? 'd'
                : S_ISREG(st.st_mode) ? 'f'
                : S_ISLNK(st.st_mode) ? 'l'
                : S_ISCHR(st.st_mode) ? 'c'
                                      : '?',
                (unsigned)(st.st_mode & 07777));
    if (S_ISCHR(st.st_mode))
      cb_buf_addf(&l->out, " %u/%u", major(st.st_rdev), minor(st.st_rdev));
    if (S_ISLNK(st.st_mode)) {
      len = readlinkat(fd, names[i], buf, sizeof(buf) - 1);
      buf[len < 0 ? 0 : len] = '\0';
      cb_buf_addf(&l->out, " ->%s", buf);
    }
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", fd, names[i]);
    len = lgetxattr(proc, "user.overlay.opaque", buf, sizeof(buf) - 1);
    if (len > 0)
      cb_buf_adds(&l->out, " opaque");
    len = lgetxattr(proc, "user.test", buf, sizeof(buf) - 1);
    if (len >= 0) {
      buf[len] = '\0';
      cb_buf_addf(&l->out, " xattr=%s", buf);
    }
    if (l->times || !S_ISDIR(st.st_mode))
      cb_buf_addf(&l->out, " t=%lld.%09ld", (long long)st.st_mtim.tv_sec,
                  st.st_mtim.tv_nsec);
    if (S_ISREG(st.st_mode)) {
      int f = openat(fd, names[i], O_RDONLY);

      len = f < 0 ? -1 : read(f, buf, sizeof(buf) - 1);
      if (f >= 0)
        close(f);
      buf[len < 0 ? 0 : len] = '\0';
      cb_buf_addf(&l->out, " '%s'", buf);
      if (st.st_nlink > 1) {
        const char *first = NULL;

        for (size_t j = 0; j < l->n; j++)
          if (l->seen[j].dev == st.st_dev && l->seen[j].ino == st.st_ino)
            first = l->seen[j].path;
        if (first != NULL) {
          cb_buf_addf(&l->out, " =%s", first);
        } else {
          CB_GROW(l->seen, l->alloc, l->n + 1);
          l->seen[l->n++] =
              (struct seen){ st.st_dev, st.st_ino, cb_xstrdup(path) };
        }
      }
    }
    cb_buf_addc(&l->out, '\n');
    if (S_ISDIR(st.st_mode)) {
      cleanup_free char *sub = cb_xasprintf("%s/", path);
      int dfd = openat(fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW);

      if (dfd < 0)
        bail("open %s", path);
      list_into(l, dfd, sub);
      close(dfd);
    }
  }
  cb_strv_free(names);
}

/* The listing of FD; owned by the caller.  */
static char *
listing(int fd, bool times)
{
  struct listing l;

  memset(&l, 0, sizeof(l));
  l.times = times;
  list_into(&l, fd, "");
  for (size_t i = 0; i < l.n; i++)
    free(l.seen[i].path);
  free(l.seen);
  return cb_buf_detach(&l.out, NULL);
}

/* Only the lines of LIST for entries (not their mtimes or modes beyond
   what the test asks): path, type and the rest up to " t=".  */
static char *
shape(const char *list)
{
  struct cb_buf b = CB_BUF_INIT;

  for (const char *p = list; *p != '\0';) {
    const char *nl = strchr(p, '\n');
    const char *t = strstr(p, " t=");
    const char *end = t != NULL && t < nl ? t : nl;
    const char *q = t != NULL && t < nl ? strchr(t + 1, ' ') : NULL;

    cb_buf_add(&b, p, (size_t)(end - p));
    if (q != NULL && q < nl)
      cb_buf_add(&b, q, (size_t)(nl - q));
    cb_buf_addc(&b, '\n');
    p = nl + 1;
  }
  return cb_buf_detach(&b, NULL);
}

static int
copy(const int *lowers, size_t n, int dest)
{
  struct cb_error *err = NULL;
  int rc = vfs_copy_lowers(lowers, n, dest, NULL, &err);

  if (rc < 0) {
    cleanup_free char *text = cb_error_text(err);

    diag("copy: %s", text);
    cb_error_free(err);
  }
  return rc;
}

static int
diff(const int *lowers, size_t n, int tree, const struct timespec *since,
     int upper, struct vfs_stats *st)
{
  struct cb_error *err = NULL;
  int rc = vfs_diff(lowers, n, tree, since, upper, st, &err);

  if (rc < 0) {
    cleanup_free char *text = cb_error_text(err);

    diag("diff: %s", text);
    cb_error_free(err);
  }
  return rc;
}

/* A ctime taken now on this file system (as rootfs does after the copy). */
static struct timespec
stamp(void)
{
  struct stat st;
  char name[32];
  int fd;

  snprintf(name, sizeof(name), "stamp-%d", counter++);
  fd = openat(top_fd, name, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0 || fstat(fd, &st) < 0)
    bail("stamp");
  close(fd);
  return st.st_ctim;
}

/* The two layers most cases use: L[0] on top of L[1].  */
static const char *const bottom[] = {
  "d a",         "f a/x one",   "f a/y why",   "d b",
  "f b/z zed",   "f c file-c",  "d d",         "f d/k kay",
  "f e gone",    "f h1 linked", "h h2 h1",     "l s /etc/target",
  "f attr v",    "x attr val",  "f suid s",    "m suid 4755",
  "t suid 1000", "d keep",      "f keep/k1 1", "f keep/k2 2",
  "t a 100",     "t b 100",     "t d 100",     "t keep 100",
  NULL,
};
static const char *const top[] = {
  "d a",     "f a/x top", "w a/y",      "o b", "f b/n new",
  "d c",     "f c/q q",   "f d file-d", "w e", "t a 200",
  "t b 200", "t c 200",   NULL,
};

static void
make_layers(int l[2])
{
  l[0] = fresh_dir("top");
  l[1] = fresh_dir("bottom");
  build(l[1], bottom);
  build(l[0], top);
}

static const char *const merged_shape = "a d 755\n"
                                        "a/x f 644 'top'\n"
                                        "attr f 644 xattr=val 'v'\n"
                                        "b d 755\n"
                                        "b/n f 644 'new'\n"
                                        "c d 755\n"
                                        "c/q f 644 'q'\n"
                                        "d f 644 'file-d'\n"
                                        "h1 f 644 'linked'\n"
                                        "h2 f 644 'linked' =h1\n"
                                        "keep d 755\n"
                                        "keep/k1 f 644 '1'\n"
                                        "keep/k2 f 644 '2'\n"
                                        "s l 777 ->/etc/target\n"
                                        "suid f 4755 's'\n";

static void
test_copy(void)
{
  int l[2], t = fresh_dir("tree");
  cleanup_free char *got = NULL, *sh = NULL;
  struct stat a;

  make_layers(l);
  is_int(copy(l, 2, t), 0, "copy: two layers are merged");
  got = listing(t, false);
  sh = shape(got);
  is_str(sh, merged_shape,
         "copy: whiteouts, opaque dirs and type changes applied as "
         "overlayfs would");
  ok(strstr(got, " opaque") == NULL, "copy: no overlay xattr is copied");
  ok(strstr(got, "suid f 4755 t=1000.000000000 's'") != NULL,
     "copy: set-id bit and mtime kept");
  if (fstatat(t, "a", &a, 0) < 0)
    bail("stat a");
  is_int(a.st_mtim.tv_sec, 200,
         "copy: a merged directory has the top layer's times");
  close(t);
  close(l[0]);
  close(l[1]);
}

static void
test_copy_single(void)
{
  static const char *const only[] = { "w gone", "o dir", "f dir/f x", NULL };
  int l = fresh_dir("one"), t = fresh_dir("tree");
  cleanup_free char *got = NULL, *sh = NULL;

  build(l, only);
  is_int(copy(&l, 1, t), 0, "copy: one layer");
  got = listing(t, false);
  sh = shape(got);
  is_str(sh, "dir d 755\ndir/f f 644 'x'\n",
         "copy: a whiteout with nothing below is just left out");
  close(l);
  close(t);
}

/* Replace NAME in FD with a char device 0/0, as a command could.  */
static void
mk_whiteout(int fd, const char *name)
{
  if (unlinkat(fd, name, 0) < 0 ||
      mknodat(fd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
    bail("whiteout %s", name);
}

/* Overwrite a/x with same-size content and put its mtime back.  */
static void
rewrite_keeping_mtime(int t, const char *name, const char *text)
{
  struct stat st;
  int fd;

  if (fstatat(t, name, &st, 0) < 0)
    bail("stat %s", name);
  fd = openat(t, name, O_WRONLY | O_TRUNC);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
    bail("write %s", name);
  {
    struct timespec ts[2] = { st.st_atim, st.st_mtim };

    if (futimens(fd, ts) < 0)
      bail("futimens %s", name);
  }
  close(fd);
}

static void
test_diff(void)
{
  static const char *const changes[] = {
    "f new n",    "h new2 new", "m attr 600",   "d c2",
    "f c2/fresh", "d d2",       "f d2/inner i", NULL,
  };
  int l[3], t = fresh_dir("tree"), u = fresh_dir("upper");
  int t2 = fresh_dir("again");
  cleanup_free char *got = NULL, *sh = NULL, *want = NULL, *back = NULL;
  struct vfs_stats st = { 0, 0, 0, 0, 0 };
  struct timespec since;
  struct cb_error *err = NULL;

  make_layers(&l[1]);
  if (copy(&l[1], 2, t) < 0)
    bail("copy");
  since = stamp();
  rewrite_keeping_mtime(t, "a/x", "TOP");
  build(t, changes);
  /* rm -rf c && mkdir c (built as c2, then renamed), d: file -> dir.  */
  if (cb_remove_tree_at(t, "c", &err) < 0 || renameat(t, "c2", t, "c") < 0 ||
      unlinkat(t, "d", 0) < 0 || renameat(t, "d2", t, "d") < 0 ||
      unlinkat(t, "h2", 0) < 0 || unlinkat(t, "keep/k1", 0) < 0)
    bail("change the tree");
  mk_whiteout(t, "suid");
  is_int(diff(&l[1], 2, t, &since, u, &st), 0, "diff: runs");
  got = listing(u, false);
  sh = shape(got);
  is_str(sh,
         "a d 755\n"
         "a/x f 644 'TOP'\n"
         "attr f 600 xattr=val 'v'\n"
         "c d 755 opaque\n"
         "c/fresh f 644 ''\n"
         "d d 755 opaque\n"
         "d/inner f 644 'i'\n"
         "h2 c 0 0/0\n"
         "keep d 755\n"
         "keep/k1 c 0 0/0\n"
         "new f 644 'n'\n"
         "new2 f 644 'n' =new\n"
         "suid c 0 0/0\n",
         "diff: new, changed (same size and mtime too), deleted, replaced "
         "and retyped entries, overlay style");
  is_int((long long)st.whiteouts, 5, "diff: 3 whiteouts and 2 opaque dirs");
  /* What the upper dir is for: over the lowers it shows the tree (where
     overlayfs reads the command's char device 0/0 as nothing).  */
  if (unlinkat(t, "suid", 0) < 0)
    bail("unlink suid");
  l[0] = u;
  is_int(copy(l, 3, t2), 0, "diff: upper over the lowers merges");
  want = listing(t, true);
  back = listing(t2, true);
  is_str(back, want,
         "diff: upper over the lowers is the changed tree, "
         "times included");
  close(t);
  close(u);
  close(t2);
  close(l[1]);
  close(l[2]);
}

static void
test_diff_unchanged(void)
{
  int l[2], t = fresh_dir("tree"), u = fresh_dir("upper");
  cleanup_free char *got = NULL;
  struct timespec since, future = { 0, 0 };

  make_layers(l);
  if (copy(l, 2, t) < 0)
    bail("copy");
  since = stamp();
  is_int(diff(l, 2, t, &since, u, NULL), 0, "diff: an unchanged tree");
  got = listing(u, true);
  is_str(got, "", "diff: an unchanged tree gives an empty upper dir");
  close(u);
  /* The documented shortcut: a file whose ctime is before SINCE is not
     read, so a same-size, same-mtime change stays unseen.  */
  rewrite_keeping_mtime(t, "a/x", "TOP");
  future.tv_sec = since.tv_sec + 3600;
  u = fresh_dir("upper");
  is_int(diff(l, 2, t, &future, u, NULL), 0, "diff: with a later stamp");
  free(got);
  got = listing(u, true);
  is_str(got, "", "diff: files older than the stamp are not read");
  close(u);
  close(t);
  close(l[0]);
  close(l[1]);
}

static void
test_diff_partial(void)
{
  int l[2], t = fresh_dir("tree"), u = fresh_dir("upper");
  cleanup_free char *got = NULL, *sh = NULL;
  struct timespec since;
  struct cb_error *err = NULL;

  make_layers(l);
  if (copy(l, 2, t) < 0)
    bail("copy");
  since = stamp();
  /* Everything in keep goes but the dir stays: opaque, as no lower name
     is left.  In a, one of the names stays: whiteouts.  */
  if (unlinkat(t, "keep/k1", 0) < 0 || unlinkat(t, "keep/k2", 0) < 0 ||
      cb_remove_tree_at(t, "b", &err) < 0)
    bail("change the tree");
  is_int(diff(l, 2, t, &since, u, NULL), 0, "diff: deletions");
  got = listing(u, false);
  sh = shape(got);
  is_str(sh, "b c 0 0/0\nkeep d 755 opaque\n",
         "diff: a dir removed is a whiteout, a dir emptied is opaque");
  close(u);
  close(t);
  close(l[0]);
  close(l[1]);
}

static bool
redundant(int parent, const char *name, const char *path, const int *l,
          size_t n)
{
  struct cb_error *err = NULL;
  bool r = false;

  if (vfs_upper_dir_redundant(parent, name, path, l, n, &r, &err) < 0) {
    cleanup_free char *text = cb_error_text(err);

    diag("redundant: %s", text);
    cb_error_free(err);
    return false;
  }
  return r;
}

static void
test_redundant(void)
{
  static const char *const upper[] = {
    "d a",    "t a 200",    "d b",      "m b 700",   "t b 200",
    "d keep", "t keep 100", "f keep/k", "d c",       "t c 200",
    "o o",    "d e",        "d new",    "m new 755", NULL,
  };
  int l[2], u = fresh_dir("upper");

  make_layers(l);
  build(u, upper);
  ok(redundant(u, "a", "a", l, 2), "redundant: empty, as in the lowers");
  ok(!redundant(u, "b", "b", l, 2), "redundant: not with another mode");
  ok(!redundant(u, "keep", "keep", l, 2), "redundant: not when not empty");
  ok(!redundant(u, "o", "o", l, 2), "redundant: not when opaque");
  /* e is whited out in the top layer: the lowers show nothing there, and
     so for "new", which they never had.  As uid 0 such a dir as the
     sandbox makes it (0755, 0:0) adds nothing.  */
  is_int(redundant(u, "e", "e", l, 2), getuid() == 0,
         "redundant: a dir the lowers hide, as the sandbox makes it");
  is_int(redundant(u, "new", "new", l, 2), getuid() == 0,
         "redundant: a new dir, as the sandbox makes it");
  if (fsetxattr(u, "user.test", "x", 1, 0) < 0)
    bail("xattr");
  {
    int a = openat(u, "a", O_RDONLY | O_DIRECTORY);

    if (a < 0 || fsetxattr(a, "user.test", "x", 1, 0) < 0)
      bail("xattr a");
    close(a);
  }
  ok(!redundant(u, "a", "a", l, 2), "redundant: not with an xattr of its "
                                    "own");
  close(u);
  close(l[0]);
  close(l[1]);
}

int
main(void)
{
  char tmpl[] = "/tmp/cbuild-test-vfs.XXXXXX";
  const char *dir = mkdtemp(tmpl);
  struct cb_error *err = NULL;

  if (dir == NULL)
    bail("mkdtemp");
  top_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (top_fd < 0)
    bail("open %s", dir);
  umask(022);
  test_copy();
  test_copy_single();
  test_diff();
  test_diff_unchanged();
  test_diff_partial();
  test_redundant();
  if (cb_remove_tree_at(AT_FDCWD, dir, &err) < 0)
    cb_error_free(err);
  return done_testing();
}
