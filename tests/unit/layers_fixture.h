/* The fixture of the layer-apply tests: BASE/root, where layers are
   applied, beside BASE/outside with sentinel files, and a snapshot of
   everything in BASE but root (names, inodes, link counts, modes, owners,
   sizes, mtimes, contents), taken at setup and compared at teardown: a
   layer that escapes the root changes it.  Plus helpers to apply a blob
   from memory and to assert on the tree.  Messages start with the
   resolution mode (mode_name) the suite runs in.  */
#ifndef CBUILD_TESTS_LAYERS_FIXTURE_H
#define CBUILD_TESTS_LAYERS_FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fs.h"
#include "common/mem.h"
#include "layers/apply-internal.h"
#include "layers/apply.h"
#include "tap.h"

static const char *mode_name __attribute__((unused)) = "openat2";

/* --- fixture --- */

struct fixture {
  char base[64];
  char root[96];
  char outside[96];
  int root_fd;
  char *snap;
};

static inline void
write_file(const char *path, const char *data)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  if (fd < 0 || write(fd, data, strlen(data)) < 0)
    diag("write_file '%s': %s", path, strerror(errno));
  if (fd >= 0)
    close(fd);
}

static char **snap_lines;
static size_t snap_n, snap_alloc;
static const char *snap_skip;

static inline int
snap_visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  char extra[256] = "";
  char line[1024];

  if (strcmp(path, snap_skip) == 0)
    return FTW_SKIP_SUBTREE;
  if (S_ISLNK(st->st_mode)) {
    ssize_t n = readlink(path, extra, sizeof(extra) - 1);

    extra[n > 0 ? n : 0] = '\0';
  } else if (S_ISREG(st->st_mode)) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, extra, sizeof(extra) - 1) : -1;

    extra[n > 0 ? n : 0] = '\0';
    if (fd >= 0)
      close(fd);
  }
  snprintf(line, sizeof(line),
           "%s mode=%o ino=%lu nlink=%lu uid=%u size=%lld mtime=%lld.%09ld "
           "[%s]",
           path, st->st_mode, (unsigned long)st->st_ino,
           (unsigned long)st->st_nlink, st->st_uid, (long long)st->st_size,
           (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec, extra);
  CB_GROW(snap_lines, snap_alloc, snap_n + 1);
  snap_lines[snap_n++] = cb_xstrdup(line);
  return FTW_CONTINUE;
}

static inline int
cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Everything in BASE but ROOT, as sorted lines.  */
static inline char *
snapshot(const struct fixture *f)
{
  struct cb_buf b = CB_BUF_INIT;

  snap_n = 0;
  snap_skip = f->root;
  nftw(f->base, snap_visit, 16, FTW_PHYS | FTW_ACTIONRETVAL);
  qsort(snap_lines, snap_n, sizeof(*snap_lines), cmp_str);
  for (size_t i = 0; i < snap_n; i++) {
    cb_buf_adds(&b, snap_lines[i]);
    cb_buf_addc(&b, '\n');
    free(snap_lines[i]);
  }
  return cb_buf_detach(&b, NULL);
}

static inline void
fixture_setup(struct fixture *f)
{
  char p[160];

  snprintf(f->base, sizeof(f->base), "/tmp/cb-apply-XXXXXX");
  if (mkdtemp(f->base) == NULL)
    diag("mkdtemp: %s", strerror(errno));
  snprintf(f->root, sizeof(f->root), "%s/root", f->base);
  snprintf(f->outside, sizeof(f->outside), "%s/outside", f->base);
  mkdir(f->root, 0755);
  mkdir(f->outside, 0755);
  snprintf(p, sizeof(p), "%s/sentinel", f->outside);
  write_file(p, "keep me");
  snprintf(p, sizeof(p), "%s/etc", f->outside);
  mkdir(p, 0755);
  snprintf(p, sizeof(p), "%s/etc/passwd", f->outside);
  write_file(p, "root:x:0:0::/root:/bin/sh");
  snprintf(p, sizeof(p), "%s/dir", f->outside);
  mkdir(p, 0755);
  snprintf(p, sizeof(p), "%s/dir/inner", f->outside);
  write_file(p, "inner");
  snprintf(p, sizeof(p), "%s/link", f->outside);
  if (symlink("sentinel", p) < 0)
    diag("symlink: %s", strerror(errno));
  f->root_fd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  f->snap = snapshot(f);
}

static inline void
fixture_teardown(struct fixture *f, const char *name)
{
  char *now = snapshot(f);
  struct cb_error *err = NULL;

  is_str(now, f->snap, "[%s] %s: nothing outside the root changed", mode_name,
         name);
  free(now);
  free(f->snap);
  close(f->root_fd);
  if (cb_remove_tree_at(AT_FDCWD, f->base, &err) < 0)
    diag("cleanup '%s': %s", f->base, err->msg);
  cb_error_free(err);
}

/* --- applying --- */

static inline int
apply_bytes(struct fixture *f, const void *data, size_t len,
            const struct layer_apply_opts *opts, struct layer_apply_result *res,
            struct cb_error **err)
{
  struct layer_apply_result r;
  int fd = memfd_create("layer", MFD_CLOEXEC);
  int rc;

  if (fd < 0 || write(fd, data, len) != (ssize_t)len)
    diag("memfd: %s", strerror(errno));
  lseek(fd, 0, SEEK_SET);
  rc = layer_apply(f->root_fd, fd, opts, res != NULL ? res : &r, err);
  close(fd);
  return rc;
}

/* Apply a tar that must succeed.  */
static inline bool
apply_ok(struct fixture *f, struct cb_buf *tar, struct layer_apply_result *res,
         const char *name)
{
  struct cb_error *err = NULL;
  int rc = apply_bytes(f, tar->data, tar->len, NULL, res, &err);

  if (!is_int(rc, 0, "[%s] %s: applies", mode_name, name))
    diag("error: %s", err ? err->msg : "(none)");
  cb_error_free(err);
  cb_buf_release(tar);
  return rc == 0;
}

static inline void
check_error(int rc, struct cb_error *err, enum cb_err_kind kind,
            const char *needle, const char *name)
{
  is_int(rc, -1, "[%s] %s: fails", mode_name, name);
  if (err != NULL)
    diag("%s", err->msg);
  if (!ok(err != NULL && err->kind == kind, "[%s] %s: error kind %d", mode_name,
          name, (int)kind))
    diag("got kind %d", err ? (int)err->kind : -1);
  if (!ok(err != NULL && strstr(err->msg, needle) != NULL,
          "[%s] %s: message mentions \"%s\"", mode_name, name, needle))
    diag("message: %s", err ? err->msg : "(none)");
}

/* Apply a tar that must fail with KIND and a message holding NEEDLE.  */
static inline void
apply_fails(struct fixture *f, struct cb_buf *tar, enum cb_err_kind kind,
            const char *needle, const char *name)
{
  struct cb_error *err = NULL;
  int rc = apply_bytes(f, tar->data, tar->len, NULL, NULL, &err);

  check_error(rc, err, kind, needle, name);
  cb_error_free(err);
  cb_buf_release(tar);
}

static inline bool
lexists(struct fixture *f, const char *path)
{
  struct stat st;

  return fstatat(f->root_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static inline char *
read_in_root(struct fixture *f, const char *path)
{
  int fd = openat(f->root_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  char *buf = NULL;
  size_t len;
  struct cb_error *err = NULL;

  if (fd < 0)
    return cb_xstrdup("(missing)");
  if (cb_read_all(fd, 1 << 20, &buf, &len, &err) < 0) {
    cb_error_free(err);
    buf = cb_xstrdup("(unreadable)");
  }
  close(fd);
  return buf;
}

static inline void
is_content(struct fixture *f, const char *path, const char *want,
           const char *name)
{
  char *got = read_in_root(f, path);

  is_str(got, want, "[%s] %s: '%s' holds \"%s\"", mode_name, name, path, want);
  free(got);
}

static inline void
is_absent(struct fixture *f, const char *path, const char *name)
{
  ok(!lexists(f, path), "[%s] %s: '%s' is absent", mode_name, name, path);
}

static inline mode_t
type_in_root(struct fixture *f, const char *path)
{
  struct stat st;

  if (fstatat(f->root_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  return st.st_mode & S_IFMT;
}

/* Names in ROOT/DIR, sorted and joined with spaces.  */
static inline char *
list_root_dir(struct fixture *f, const char *dir)
{
  struct cb_buf b = CB_BUF_INIT;
  char **names = NULL;
  size_t n = 0, alloc = 0;
  struct dirent *de;
  int fd = openat(f->root_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

  if (d == NULL)
    return cb_xstrdup("(missing)");
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    CB_GROW(names, alloc, n + 1);
    names[n++] = cb_xstrdup(de->d_name);
  }
  closedir(d);
  if (n > 0)
    qsort(names, n, sizeof(*names), cmp_str);
  for (size_t i = 0; i < n; i++) {
    if (i > 0)
      cb_buf_addc(&b, ' ');
    cb_buf_adds(&b, names[i]);
    free(names[i]);
  }
  free(names);
  return cb_buf_detach(&b, NULL);
}

static inline void
is_listing(struct fixture *f, const char *dir, const char *want,
           const char *name)
{
  char *got = list_root_dir(f, dir);

  is_str(got, want, "[%s] %s: '%s' holds {%s}", mode_name, name, dir, want);
  free(got);
}

#endif
