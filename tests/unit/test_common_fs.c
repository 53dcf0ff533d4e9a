/* common/fs: cb_open_in_root() against a real tree with hostile paths, each
   case through openat2 and through the walk fallback (which must agree),
   then the bounded read and the write helpers.  */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/mem.h"
#include "tap.h"

#include "common/banned.h"

/* The root sits two levels below the temp dir, so that a path or link that
   climbs out ("../..") lands in directories the test owns and watches.  */
#define ROOT_DIR "o1/o2/root"
/* A dangling link in the root points at "/" CANARY; the host's "/" must
   never get it.  */
#define CANARY "cbuild-escape-canary"
/* More than this many links in one lookup is ELOOP (Linux's MAXSYMLINKS). */
#define MAX_LINKS 40

static char *top; /* the mkdtemp directory */
static int top_fd = -1;
static int root_fd = -1; /* O_PATH on TOP/ROOT_DIR */
static char *outside;    /* fingerprint of everything but the root */

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

/* ---- the tree ---------------------------------------------------------- */

static void
make_dir(int dir_fd, const char *name)
{
  if (mkdirat(dir_fd, name, 0755) < 0)
    bail("mkdir '%s'", name);
}

static void
make_file(int dir_fd, const char *name, const char *text)
{
  cleanup_close int fd = -1;
  struct cb_error *err = NULL;

  fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    bail("create '%s'", name);
  if (cb_write_all(fd, text, strlen(text), &err) < 0)
    bail("write '%s'", name);
}

static void
make_link(int dir_fd, const char *target, const char *name)
{
  if (symlinkat(target, dir_fd, name) < 0)
    bail("symlink '%s'", name);
}

/* Decoys outside the root carry the names that hostile paths aim at, so an
   escape opens a different inode instead of failing with ENOENT.  */
static void
make_outside(void)
{
  make_dir(top_fd, "o1");
  make_dir(top_fd, "o1/o2");
  make_dir(top_fd, ROOT_DIR);
  make_file(top_fd, "x", "decoy top/x\n");
  make_file(top_fd, "o1/x", "decoy o1/x\n");
  make_file(top_fd, "o1/o2/x", "decoy o1/o2/x\n");
  make_dir(top_fd, "o1/o2/etc");
  make_file(top_fd, "o1/o2/etc/passwd", "decoy passwd\n");
  make_file(top_fd, "o1/o2/sentinel", "sentinel\n");
}

static void
make_chain(void)
{
  make_dir(root_fd, "ch");
  /* ch/0 -> 1 -> ... -> 40 -> ../x: MAX_LINKS + 1 links from ch/0.  */
  for (int i = 0; i <= MAX_LINKS; i++) {
    char name[32], target[32];

    snprintf(name, sizeof(name), "ch/%d", i);
    if (i == MAX_LINKS)
      snprintf(target, sizeof(target), "../x");
    else
      snprintf(target, sizeof(target), "%d", i + 1);
    make_link(root_fd, target, name);
  }
}

static void
make_root(void)
{
  make_file(root_fd, "x", "root x\n");
  make_dir(root_fd, "etc");
  make_file(root_fd, "etc/passwd", "root passwd\n");
  make_dir(root_fd, "a");
  make_dir(root_fd, "abs");
  make_dir(root_fd, "d");
  make_file(root_fd, "d/f", "root d/f\n");
  make_link(root_fd, "../d", "a/to_d");
  make_link(root_fd, "/", "to_slash");
  make_link(root_fd, "../../..", "to_up");
  make_link(root_fd, "x", "to_x");
  make_link(root_fd, "d", "link_d");
  make_link(root_fd, "d/f/", "to_f_slash");
  make_link(root_fd, "a/climb2", "climb1");
  make_link(root_fd, "../../climb3", "a/climb2");
  make_link(root_fd, "../../../etc", "climb3");
  make_link(root_fd, "loop2", "loop1");
  make_link(root_fd, "loop1", "loop2");
  make_link(root_fd, "self", "self");
  make_link(root_fd, "new1", "dangling");
  make_link(root_fd, "/d/new2", "dangling_abs");
  make_link(root_fd, "../../new3", "dangling_up");
  make_link(root_fd, "/" CANARY, "dangling_host");
  make_link(root_fd, "newdir/", "dangling_slash");
  make_chain();
}

/* Remove NAME below DIR_FD without following any symlink in it.  */
static void
remove_tree(int dir_fd, const char *name)
{
  struct stat st;
  DIR *d;
  int fd;

  if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return;
  if (!S_ISDIR(st.st_mode)) {
    unlinkat(dir_fd, name, 0);
    return;
  }
  fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  d = fd >= 0 ? fdopendir(fd) : NULL;
  if (d == NULL)
    bail("cannot list '%s' for removal", name);
  for (struct dirent *de = readdir(d); de != NULL; de = readdir(d)) {
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
      remove_tree(fd, de->d_name);
  }
  closedir(d);
  unlinkat(dir_fd, name, AT_REMOVEDIR);
}

static int
cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line per entry below DIR_FD (type, inode, size, mtime), skipping the
   root if asked; directories are entered without following symlinks.  */
static void
fingerprint_dir(int dir_fd, const char *prefix, bool skip_root, char ***lines,
                size_t *n, size_t *alloc)
{
  cleanup_close int fd =
      openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

  if (d == NULL)
    bail("cannot list '%s'", prefix);
  fd = -1; /* owned by D now */
  for (struct dirent *de = readdir(d); de != NULL; de = readdir(d)) {
    cleanup_free char *path = NULL;
    struct stat st;

    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    path = cb_xasprintf("%s/%s", prefix, de->d_name);
    if (skip_root && strcmp(path, "./" ROOT_DIR) == 0)
      continue;
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      bail("stat '%s'", path);
    CB_GROW(*lines, *alloc, *n + 2);
    (*lines)[(*n)++] =
        cb_xasprintf("%s %o %ju %jd %jd.%09ld", path, (unsigned)st.st_mode,
                     (uintmax_t)st.st_ino, (intmax_t)st.st_size,
                     (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    (*lines)[*n] = NULL;
    if (S_ISDIR(st.st_mode)) {
      cleanup_close int sub = openat(
          dirfd(d), de->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

      if (sub < 0)
        bail("open '%s'", path);
      fingerprint_dir(sub, path, skip_root, lines, n, alloc);
    }
  }
  closedir(d);
}

/* The whole temp tree, or all of it but the root, plus whether the host's
   "/" got the canary.  */
static char *
fingerprint(bool skip_root)
{
  cleanup_strv char **lines = NULL;
  struct cb_buf b = CB_BUF_INIT;
  size_t n = 0, alloc = 0;

  fingerprint_dir(top_fd, ".", skip_root, &lines, &n, &alloc);
  if (lines != NULL)
    qsort(lines, n, sizeof(*lines), cmp_str);
  for (size_t i = 0; i < n; i++)
    cb_buf_addf(&b, "%s\n", lines[i]);
  if (faccessat(AT_FDCWD, "/" CANARY, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    cb_buf_adds(&b, "/" CANARY " exists on the host\n");
  return cb_buf_detach(&b, NULL);
}

static void
setup_tree(void)
{
  const char *tmp = getenv("TMPDIR");

  if (tmp == NULL || *tmp == '\0')
    tmp = "/tmp";
  top = cb_xasprintf("%s/cbuild-test-fs-XXXXXX", tmp);
  if (mkdtemp(top) == NULL)
    bail("mkdtemp '%s'", top);
  top_fd = open(top, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (top_fd < 0)
    bail("open '%s'", top);
  make_outside();
  root_fd = openat(top_fd, ROOT_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    bail("open '%s'", ROOT_DIR);
  make_root();
  if (faccessat(AT_FDCWD, "/" CANARY, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    bail("/" CANARY " exists before the test; remove it");
  outside = fingerprint(true);
}

static void
teardown_tree(void)
{
  cleanup_free char *parent = cb_xstrdup(top);
  char *slash = strrchr(parent, '/');
  cleanup_close int parent_fd = -1;

  *slash = '\0';
  parent_fd =
      open(*parent != '\0' ? parent : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  close(root_fd);
  close(top_fd);
  if (parent_fd >= 0)
    remove_tree(parent_fd, slash + 1);
  ok(parent_fd >= 0 && faccessat(parent_fd, slash + 1, F_OK, 0) < 0,
     "the temp tree is removed");
  free(outside);
  free(top);
}

/* ---- cb_open_in_root --------------------------------------------------- */

struct open_case {
  const char *path;
  int flags;
  const char *want; /* the file it opens, below the root; NULL: it fails */
  int want_errno;
  bool creates; /* WANT is made by the call */
};

/* What a case did, to compare the two ways.  A created file is deleted
   after each run, so its inode number says nothing: record whether the
   right file was created instead.  */
struct outcome {
  int errnum; /* 0 when something was opened */
  dev_t dev;
  ino_t ino;
  bool created; /* WANT was created */
};

#define CREATE (O_WRONLY | O_CREAT)
#define DIR_RD (O_RDONLY | O_DIRECTORY)

static const struct open_case open_cases[] = {
  /* ".." stops at the root.  */
  { "../x", O_RDONLY, "x", 0, false },
  { "a/../../x", O_RDONLY, "x", 0, false },
  { "/abs/../../x", O_RDONLY, "x", 0, false },
  { "../../../../../../etc/passwd", O_RDONLY, "etc/passwd", 0, false },
  { "..", DIR_RD, ".", 0, false },
  { "a/to_d/../x", O_RDONLY, "x", 0, false },
  /* Absolute paths resolve inside the root.  */
  { "/x", O_RDONLY, "x", 0, false },
  { "/etc/passwd", O_RDONLY, "etc/passwd", 0, false },
  { "//etc//passwd", O_RDONLY, "etc/passwd", 0, false },
  { "/", DIR_RD, ".", 0, false },
  /* Symlinks resolve as if the root were "/".  */
  { "to_slash/etc/passwd", O_RDONLY, "etc/passwd", 0, false },
  { "to_slash", DIR_RD, ".", 0, false },
  { "to_up/x", O_RDONLY, "x", 0, false },
  { "to_up/etc/passwd", O_RDONLY, "etc/passwd", 0, false },
  { "climb1/passwd", O_RDONLY, "etc/passwd", 0, false },
  { "to_x", O_RDONLY, "x", 0, false },
  /* Loops and long chains.  */
  { "loop1", O_RDONLY, NULL, ELOOP, false },
  { "loop1/x", O_RDONLY, NULL, ELOOP, false },
  { "self", O_RDONLY, NULL, ELOOP, false },
  { "ch/0", O_RDONLY, NULL, ELOOP, false },
  { "ch/1", O_RDONLY, "x", 0, false },
  /* O_CREAT through a dangling link creates its target inside the root. */
  { "dangling", CREATE, "new1", 0, true },
  { "dangling_abs", CREATE, "d/new2", 0, true },
  { "dangling_up", CREATE, "new3", 0, true },
  { "dangling_host", CREATE, CANARY, 0, true },
  { "to_slash/d/new4", CREATE, "d/new4", 0, true },
  /* ... and so does O_CREAT through "..", or from "/".  */
  { "../../new6", CREATE, "new6", 0, true },
  { "/a/../../../new7", CREATE, "new7", 0, true },
  /* O_CREAT | O_EXCL never follows a final symlink.  */
  { "dangling", CREATE | O_EXCL, NULL, EEXIST, false },
  { "to_x", CREATE | O_EXCL, NULL, EEXIST, false },
  { "to_slash/d/new5", CREATE | O_EXCL, "d/new5", 0, true },
  /* O_NOFOLLOW only concerns the last component.  */
  { "to_x", O_RDONLY | O_NOFOLLOW, NULL, ELOOP, false },
  { "to_x", O_PATH | O_NOFOLLOW, "to_x", 0, false },
  { "to_slash/etc/passwd", O_RDONLY | O_NOFOLLOW, "etc/passwd", 0, false },
  /* "." is the directory it is in.  */
  { ".", DIR_RD, ".", 0, false },
  { "a/.", DIR_RD, "a", 0, false },
  { "./etc/./passwd", O_RDONLY, "etc/passwd", 0, false },
  /* "" names nothing.  */
  { "", O_RDONLY, NULL, ENOENT, false },
  { "", DIR_RD, NULL, ENOENT, false },
  /* A path through a regular file.  */
  { "d/f/x", O_RDONLY, NULL, ENOTDIR, false },
  { "x/..", O_RDONLY, NULL, ENOTDIR, false },
  { "to_x/y", O_RDONLY, NULL, ENOTDIR, false },
  { "d/f/.", O_RDONLY, NULL, ENOTDIR, false },
  /* Missing components.  */
  { "missing", O_RDONLY, NULL, ENOENT, false },
  { "missing/x", CREATE, NULL, ENOENT, false },
  /* A trailing slash asks for a directory, and follows a final symlink even
     with O_NOFOLLOW; O_CREAT cannot make a directory.  */
  { "d/", O_RDONLY, "d", 0, false },
  { "d//", O_RDONLY, "d", 0, false },
  { "link_d/", O_RDONLY | O_NOFOLLOW, "d", 0, false },
  { "link_d/", O_PATH | O_NOFOLLOW, "d", 0, false },
  { "d/f/", O_RDONLY, NULL, ENOTDIR, false },
  { "to_x/", O_RDONLY, NULL, ENOTDIR, false },
  { "to_f_slash", O_RDONLY, NULL, ENOTDIR, false },
  { "newdir/", CREATE, NULL, EISDIR, false },
  { "dangling_slash", CREATE, NULL, EISDIR, false },
  { "d/", CREATE, NULL, EISDIR, false },
  { "x/", CREATE, NULL, EISDIR, false },
  { "link_d/", CREATE, NULL, EISDIR, false },
  { "link_d//.", DIR_RD, "d", 0, false },
  { "to_slash/", DIR_RD, ".", 0, false },
  { "x/", O_PATH, NULL, ENOTDIR, false },
  { "missing/", O_RDONLY, NULL, ENOENT, false },
  { "../", DIR_RD, ".", 0, false },
};

static bool
stat_in_root(const char *path, struct stat *st)
{
  return fstatat(root_fd, path, st, AT_SYMLINK_NOFOLLOW) == 0;
}

static const char *
mode_name(bool walk)
{
  return walk ? "walk" : "openat2";
}

/* Check an error from a failed case: a system error that names the path. */
static void
check_failure(const struct open_case *c, bool walk, int fd,
              const struct cb_error *err, struct outcome *out)
{
  cleanup_free char *quoted = cb_xasprintf("'%s'", c->path);

  out->errnum = err != NULL ? err->errnum : -1;
  if (c->want != NULL) {
    ok(false, "%s: '%s' opens ROOT/%s (got %s)", mode_name(walk), c->path,
       c->want, strerror(out->errnum));
  } else {
    is_int(out->errnum, c->want_errno, "%s: '%s' fails with %s",
           mode_name(walk), c->path, strerror(c->want_errno));
  }
  ok(fd < 0 && err != NULL && err->kind == CB_ERR_SYSTEM &&
         strstr(err->msg, quoted) != NULL,
     "%s: '%s' error is a system error naming the path", mode_name(walk),
     c->path);
}

/* Check the fd of a case that opened something: the expected inode, and
   close-on-exec.  */
static void
check_opened(const struct open_case *c, bool walk, int fd, bool existed_before,
             struct outcome *out)
{
  struct stat got, want;
  bool same;

  if (fstat(fd, &got) < 0)
    bail("fstat");
  same = c->want != NULL && !(c->creates && existed_before) &&
         stat_in_root(c->want, &want) && want.st_dev == got.st_dev &&
         want.st_ino == got.st_ino;
  if (c->creates) {
    out->created = same;
  } else {
    out->dev = got.st_dev;
    out->ino = got.st_ino;
  }
  if (c->want == NULL)
    ok(false, "%s: '%s' fails with %s (but it opened something)",
       mode_name(walk), c->path, strerror(c->want_errno));
  else
    ok(same, "%s: '%s' %s ROOT/%s", mode_name(walk), c->path,
       c->creates ? "creates" : "opens", c->want);
  ok(fcntl(fd, F_GETFD) == FD_CLOEXEC, "%s: '%s' fd is close-on-exec",
     mode_name(walk), c->path);
}

/* Lines of A that B lacks, as diagnostics.  */
static void
diag_missing_lines(const char *a, const char *b, char sign)
{
  for (const char *line = a; *line != '\0';) {
    const char *nl = strchr(line, '\n');
    size_t len = nl != NULL ? (size_t)(nl - line) + 1 : strlen(line);
    cleanup_free char *one = cb_xstrndup(line, len);

    if (strstr(b, one) == NULL)
      diag("%c %.*s", sign, (int)len - 1, line);
    line += len;
  }
}

static void
check_unchanged(const char *before, const char *after, bool walk,
                const struct open_case *c)
{
  if (!ok(strcmp(before, after) == 0, "%s: '%s' changes nothing %s",
          mode_name(walk), c->path,
          c->creates ? "outside the root" : "in the tree")) {
    diag_missing_lines(before, after, '-');
    diag_missing_lines(after, before, '+');
  }
}

static void
run_open_case(const struct open_case *c, bool walk, struct outcome *out)
{
  cleanup_error struct cb_error *err = NULL;
  cleanup_close int fd = -1;
  /* A case that creates a file changes the root (its mtime at least): only
     the outside must stay the same then.  */
  cleanup_free char *before = fingerprint(c->creates);
  cleanup_free char *after = NULL;
  struct stat st;
  bool existed_before = c->creates && stat_in_root(c->want, &st);

  memset(out, 0, sizeof(*out));
  cb_fs_force_walk = walk;
  /* A mode is passed even without O_CREAT: open(2) ignores it then.  */
  fd = cb_open_in_root(root_fd, c->path, c->flags, 0644, &err);
  cb_fs_force_walk = false;
  if (fd < 0)
    check_failure(c, walk, fd, err, out);
  else
    check_opened(c, walk, fd, existed_before, out);
  if (c->creates)
    unlinkat(root_fd, c->want, 0);
  after = fingerprint(c->creates);
  check_unchanged(before, after, walk, c);
}

/* Open fds of this process, to catch fds the walk leaves behind.  */
static int
count_fds(void)
{
  DIR *d = opendir("/proc/self/fd");
  int n = 0;

  if (d == NULL)
    return -1;
  while (readdir(d) != NULL)
    n++;
  closedir(d);
  return n;
}

static void
test_open_in_root(void)
{
  cleanup_free char *after = NULL;
  int fds = count_fds();

  for (size_t i = 0; i < CB_N_ELEMENTS(open_cases); i++) {
    const struct open_case *c = &open_cases[i];
    struct outcome fast, walk;

    run_open_case(c, false, &fast);
    run_open_case(c, true, &walk);
    ok(fast.errnum == walk.errnum && fast.dev == walk.dev &&
           fast.ino == walk.ino && fast.created == walk.created,
       "'%s' (flags %#o): openat2 and the walk agree", c->path,
       (unsigned)c->flags);
  }
  after = fingerprint(true);
  ok(strcmp(after, outside) == 0, "nothing outside the root changed");
  is_int(count_fds(), fds, "no fd is left open");
}

/* Under tests/unit/no_openat2 (meson sets CB_EXPECT_NO_OPENAT2=1) the
   syscall itself must fail, or the second run proves nothing.  */
static void
test_no_openat2(void)
{
  const char *expect = getenv("CB_EXPECT_NO_OPENAT2");
  struct open_how how = { .flags = O_PATH | O_CLOEXEC };
  long fd;
  int e;

  fd = syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof(how));
  e = errno;
  if (fd >= 0)
    close((int)fd);
  if (expect == NULL || strcmp(expect, "1") != 0) {
    diag("openat2 here: %s", fd >= 0 ? "available" : strerror(e));
    skip(1, "not run under tests/unit/no_openat2");
    return;
  }
  ok(fd == -1 && e == ENOSYS, "under no_openat2, openat2 fails with ENOSYS");
}

/* ---- reads and writes -------------------------------------------------- */

static char *
pattern(size_t len)
{
  char *p = cb_xmalloc(len + 1);

  for (size_t i = 0; i < len; i++)
    p[i] = (char)('a' + i % 23);
  p[len] = '\0';
  return p;
}

static int
open_io_file(const char *name, const char *text, size_t len)
{
  struct cb_error *err = NULL;
  int fd;

  fd = openat(top_fd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || cb_write_all(fd, text, len, &err) < 0 ||
      lseek(fd, 0, SEEK_SET) < 0)
    bail("cannot write '%s'", name);
  return fd;
}

/* Read a file of LEN bytes with limit MAX; true when it read all of it. */
static bool
read_sized(size_t len, size_t max, struct cb_error **err)
{
  cleanup_free char *want = pattern(len);
  cleanup_close int fd = open_io_file("sized", want, len);
  char *buf = (char *)"untouched";
  size_t got = 12345;

  if (cb_read_all(fd, max, &buf, &got, err) < 0)
    return buf != NULL && strcmp(buf, "untouched") == 0 && got == 12345;
  ok(got == len && memcmp(buf, want, len) == 0 && buf[len] == '\0',
     "%zu bytes read back, NUL-terminated", len);
  free(buf);
  return true;
}

static void
test_read_all_limits(void)
{
  static const size_t sizes[] = { 1, 100, 65535, 65536, 65537, 200000 };

  for (size_t i = 0; i < CB_N_ELEMENTS(sizes); i++) {
    size_t n = sizes[i];
    struct cb_error *err = NULL;

    ok(read_sized(n, n, &err) && err == NULL, "%zu bytes with max %zu", n, n);
    ok(read_sized(n, n - 1, &err) && err != NULL && err->kind == CB_ERR_UNSAFE,
       "%zu bytes with max %zu: unsafe, outputs untouched", n, n - 1);
    cb_error_free(err);
  }
}

static void
test_read_all_empty(void)
{
  cleanup_close int fd = open_io_file("empty", "", 0);
  cleanup_error struct cb_error *err = NULL;
  cleanup_free char *buf = NULL;
  size_t len = 99;

  is_int(cb_read_all(fd, 0, &buf, &len, &err), 0, "empty file, max 0");
  ok(buf != NULL && buf[0] == '\0' && len == 0, "empty file gives \"\", 0");
}

static void
test_read_all_pipe(void)
{
  /* More than a pipe holds, so reads come back short.  */
  enum { N = 300000 };
  cleanup_free char *want = pattern(N);
  cleanup_error struct cb_error *err = NULL;
  cleanup_free char *buf = NULL;
  size_t len = 0;
  int p[2], status;
  pid_t pid;

  if (pipe2(p, O_CLOEXEC) < 0)
    bail("pipe");
  pid = fork();
  if (pid < 0)
    bail("fork");
  if (pid == 0) {
    close(p[0]);
    _exit(cb_write_all(p[1], want, N, &err) < 0 ? 1 : 0);
  }
  close(p[1]);
  is_int(cb_read_all(p[0], N, &buf, &len, &err), 0, "read a pipe");
  close(p[0]);
  ok(buf != NULL && len == N && memcmp(buf, want, N) == 0,
     "all %d bytes of the pipe, in order", N);
  ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0,
     "the writer wrote everything");
}

static void
test_read_all_error(void)
{
  cleanup_close int fd =
      openat(top_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_error struct cb_error *err = NULL;
  char *buf = NULL;
  size_t len = 0;

  is_int(cb_read_all(fd, 100, &buf, &len, &err), -1, "read a directory");
  ok(err != NULL && err->kind == CB_ERR_SYSTEM && err->errnum == EISDIR,
     "reading a directory is EISDIR");
  ok(buf == NULL, "no buffer on failure");
}

static void
check_read_file_error(const char *name, size_t max, enum cb_err_kind kind,
                      int errnum)
{
  cleanup_error struct cb_error *err = NULL;
  cleanup_free char *quoted = cb_xasprintf("'%s'", name);
  char *buf = NULL;
  size_t len = 0;

  is_int(cb_read_file_at(top_fd, name, max, &buf, &len, &err), -1,
         "read_file_at '%s' fails", name);
  ok(err != NULL && err->kind == kind && err->errnum == errnum,
     "'%s': error kind %d, errno %d", name, (int)kind, errnum);
  ok(err != NULL && strstr(err->msg, quoted) != NULL,
     "'%s': the message names the file (%s)", name,
     err != NULL ? err->msg : "no error");
}

static void
test_read_file_at(void)
{
  cleanup_error struct cb_error *err = NULL;
  cleanup_free char *buf = NULL;
  size_t len = 0;

  close(open_io_file("ten", "0123456789", 10));
  is_int(cb_read_file_at(top_fd, "ten", 10, &buf, &len, &err), 0,
         "read_file_at 'ten'");
  is_str(buf, "0123456789", "read_file_at contents");
  is_int((long long)len, 10, "read_file_at length");
  check_read_file_error("missing", 10, CB_ERR_SYSTEM, ENOENT);
  check_read_file_error("ten", 9, CB_ERR_UNSAFE, 0);
  check_read_file_error("o1", 10, CB_ERR_SYSTEM, EISDIR);
}

static void
test_write_all_pipe(void)
{
  enum { N = 1 << 20 };
  cleanup_free char *want = pattern(N);
  cleanup_error struct cb_error *err = NULL;
  int p[2], status;
  pid_t pid;

  if (pipe2(p, O_CLOEXEC) < 0)
    bail("pipe");
  pid = fork();
  if (pid < 0)
    bail("fork");
  if (pid == 0) {
    char *buf = NULL;
    size_t len = 0;

    close(p[1]);
    if (cb_read_all(p[0], N, &buf, &len, &err) < 0 || len != N ||
        memcmp(buf, want, N) != 0)
      _exit(1);
    _exit(0);
  }
  close(p[0]);
  is_int(cb_write_all(p[1], want, N, &err), 0, "write 1 MiB to a pipe");
  close(p[1]);
  ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0,
     "the reader got all of it, in order");
}

static void
test_write_all_errors(void)
{
  cleanup_error struct cb_error *err = NULL;
  cleanup_error struct cb_error *err2 = NULL;
  cleanup_close int ro = openat(top_fd, "o1/x", O_RDONLY | O_CLOEXEC);
  int p[2];

  is_int(cb_write_all(ro, "x", 1, &err), -1, "write to a read-only fd");
  ok(err != NULL && err->kind == CB_ERR_SYSTEM && err->errnum == EBADF,
     "a read-only fd is EBADF");
  if (pipe2(p, O_CLOEXEC) < 0)
    bail("pipe");
  close(p[0]);
  signal(SIGPIPE, SIG_IGN);
  is_int(cb_write_all(p[1], "x", 1, &err2), -1, "write to a closed pipe");
  ok(err2 != NULL && err2->errnum == EPIPE, "a closed pipe is EPIPE");
  signal(SIGPIPE, SIG_DFL);
  close(p[1]);
  is_int(cb_write_all(ro, "", 0, &err2), 0, "writing nothing succeeds");
}

static void
test_write_all_file(void)
{
  cleanup_free char *want = pattern(100000);
  cleanup_close int fd = open_io_file("written", want, 100000);
  cleanup_free char *buf = NULL;
  size_t len = 0;
  struct cb_error *err = NULL;

  ok(cb_read_all(fd, 100000, &buf, &len, &err) == 0 && len == 100000 &&
         memcmp(buf, want, len) == 0,
     "a file written with cb_write_all reads back the same");
}

int
main(void)
{
  setup_tree();
  test_no_openat2();
  test_open_in_root();
  test_read_all_limits();
  test_read_all_empty();
  test_read_all_pipe();
  test_read_all_error();
  test_read_file_at();
  test_write_all_file();
  test_write_all_pipe();
  test_write_all_errors();
  teardown_tree();
  return done_testing();
}
