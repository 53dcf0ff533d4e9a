/* layer_apply() against real tar archives built here with libarchive's
   write API (then gzip or zstd compressed), applied into ROOT, a sibling
   of OUTSIDE.  Every hostile case checks the error (kind, and that the
   message names the entry) and that nothing beside ROOT changed: names,
   inodes, link counts, modes, mtimes and contents of BASE minus ROOT.

   BASE/
     root/      where layers are applied
     outside/   sentinel, etc/passwd, dir/inner, link -> sentinel

   Symlinks planted by hostile layers point at OUTSIDE (by absolute path
   or through ".."), never at system paths, so a regression shows up in
   the snapshot instead of damaging the machine running the tests.

   The whole suite runs twice: with openat2(RESOLVE_IN_ROOT) and with the
   component walk used on kernels without it (cb_fs_force_walk).  */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/mem.h"
#include "layers/apply-internal.h"
#include "layers/apply.h"
#include "layers/decompress.h"
#include "layers/layer.h"
#include "layers_fixture.h"
#include "layers_testlib.h"
#include "tap.h"

/* --- names, lexically --- */

static void
test_entry_names(void)
{
  static const struct {
    const char *name, *path, *dir, *base;
  } good[] = {
    { "a", "a", ".", "a" },
    { "./a/b/", "a/b", "a", "b" },
    { "/etc/x", "etc/x", "etc", "x" },
    { "a//./b/.", "a/b", "a", "b" },
    { "./", "", ".", "" },
    { "/", "", ".", "" },
    { "..a/b..", "..a/b..", "..a", "b.." },
  };
  static const char *const bad[] = { "../x", "a/../../x", "/abs/../../x",
                                     "a/..", "..",        "./../x" };

  for (size_t i = 0; i < CB_N_ELEMENTS(good); i++) {
    struct entry_path ep = { NULL, NULL, NULL };
    struct cb_error *err = NULL;

    is_int(entry_path_parse(good[i].name, &ep, &err), 0, "accept '%s'",
           good[i].name);
    is_str(ep.path, good[i].path, "'%s' is '%s'", good[i].name, good[i].path);
    is_str(ep.dir, good[i].dir, "'%s' is in '%s'", good[i].name, good[i].dir);
    is_str(ep.base, good[i].base, "'%s' has base '%s'", good[i].name,
           good[i].base);
    entry_path_release(&ep);
    cb_error_free(err);
  }
  for (size_t i = 0; i < CB_N_ELEMENTS(bad); i++) {
    struct entry_path ep = { NULL, NULL, NULL };
    struct cb_error *err = NULL;

    is_int(entry_path_parse(bad[i], &ep, &err), -1, "reject '%s'", bad[i]);
    ok(err != NULL && err->kind == CB_ERR_UNSAFE, "'%s' is unsafe", bad[i]);
    cb_error_free(err);
  }
  {
    struct entry_path ep = { NULL, NULL, NULL };
    struct cb_error *err = NULL;

    is_int(entry_path_parse("", &ep, &err), -1, "reject the empty name");
    ok(err != NULL && err->kind == CB_ERR_PARSE, "the empty name is a "
                                                 "parse error");
    cb_error_free(err);
  }
}

/* --- well-formed layers --- */

static void
make_basic_tar(struct cb_buf *out)
{
  struct tarb t;

  tar_begin(&t);
  tar_dir(&t, "./etc/");
  tar_file(&t, "./etc/hostname", "box\n");
  tar_add(&t, &(struct ent){
                  .name = "bin/tool", .perm = 0755, .data = "#!/bin/sh\n" });
  tar_symlink(&t, "bin/sh", "tool");
  tar_hardlink(&t, "bin/tool2", "bin/tool");
  tar_end(&t, out);
}

static void
check_basic_tree(struct fixture *f, const char *name)
{
  struct stat a, b;

  is_content(f, "etc/hostname", "box\n", name);
  is_content(f, "bin/tool", "#!/bin/sh\n", name);
  ok(type_in_root(f, "bin/sh") == S_IFLNK, "[%s] %s: bin/sh is a symlink",
     mode_name, name);
  ok(fstatat(f->root_fd, "bin/tool", &a, 0) == 0 &&
         fstatat(f->root_fd, "bin/tool2", &b, 0) == 0 && a.st_ino == b.st_ino,
     "[%s] %s: bin/tool2 is a hard link to bin/tool", mode_name, name);
}

static void
apply_compressed(enum layer_compression kind, const char *name)
{
  struct layer_apply_result res = { .entries = 0 };
  struct cb_digest blob_d, diff_d;
  struct layer_apply_opts opts = { .expected_blob = &blob_d,
                                   .expected_diff_id = &diff_d,
                                   .label = name };
  struct cb_buf tar, blob = CB_BUF_INIT;
  struct cb_error *err = NULL;
  struct fixture f;
  int rc;

  fixture_setup(&f);
  make_basic_tar(&tar);
  if (kind == LAYER_COMPRESS_GZIP)
    gzip_members(tar.data, tar.len, 3, &blob);
  else if (kind == LAYER_COMPRESS_ZSTD)
    zstd_frames(tar.data, tar.len, 2, &blob);
  else
    cb_buf_add(&blob, tar.data, tar.len);
  cb_digest_of(blob.data, blob.len, &blob_d);
  cb_digest_of(tar.data, tar.len, &diff_d);
  rc = apply_bytes(&f, blob.data, blob.len, &opts, &res, &err);
  if (!is_int(rc, 0, "[%s] %s: applies with both digests checked", mode_name,
              name))
    diag("%s", err->msg);
  is_int(res.compression, kind, "[%s] %s: compression detected", mode_name,
         name);
  ok(cb_digest_equal(&res.blob, &blob_d) &&
         cb_digest_equal(&res.diff_id, &diff_d),
     "[%s] %s: digests reported", mode_name, name);
  is_int((long long)res.tar_size, (long long)tar.len,
         "[%s] %s: tar size reported", mode_name, name);
  is_int((long long)res.entries, 5, "[%s] %s: 5 entries", mode_name, name);
  is_int((long long)res.bytes, 14, "[%s] %s: 14 bytes of data", mode_name,
         name);
  check_basic_tree(&f, name);
  cb_error_free(err);
  cb_buf_release(&tar);
  cb_buf_release(&blob);
  fixture_teardown(&f, name);
}

static void
test_plain_gzip_zstd(void)
{
  apply_compressed(LAYER_COMPRESS_NONE, "plain_tar");
  apply_compressed(LAYER_COMPRESS_GZIP, "gzip_multi_member");
  apply_compressed(LAYER_COMPRESS_ZSTD, "zstd_multi_frame");
}

/* Directory modes and times are set after their contents.  */
static void
test_dir_attributes(void)
{
  const char *name = "dir_mtime_after_contents";
  struct fixture f;
  struct tarb t;
  struct cb_buf tar;
  struct stat st;

  fixture_setup(&f);
  tar_begin(&t);
  tar_add(&t, &(struct ent){ .name = "ro/",
                             .type = AE_IFDIR,
                             .perm = 0555,
                             .mtime = 1000000000 });
  tar_add(&t, &(struct ent){ .name = "ro/sub/",
                             .type = AE_IFDIR,
                             .perm = 0700,
                             .mtime = 1100000000 });
  tar_add(&t, &(struct ent){
                  .name = "ro/sub/f", .data = "x", .mtime = 1200000000 });
  tar_add(&t,
          &(struct ent){ .name = "ro/g", .data = "y", .mtime = 1300000000 });
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, name);
  ok(fstatat(f.root_fd, "ro", &st, 0) == 0 && st.st_mtim.tv_sec == 1000000000 &&
         (st.st_mode & 07777) == 0555,
     "[%s] %s: ro keeps mtime and mode 0555", mode_name, name);
  ok(fstatat(f.root_fd, "ro/sub", &st, 0) == 0 &&
         st.st_mtim.tv_sec == 1100000000 && (st.st_mode & 07777) == 0700,
     "[%s] %s: ro/sub keeps mtime and mode 0700", mode_name, name);
  ok(fstatat(f.root_fd, "ro/sub/f", &st, 0) == 0 &&
         st.st_mtim.tv_sec == 1200000000,
     "[%s] %s: ro/sub/f keeps its mtime", mode_name, name);
  fixture_teardown(&f, name);
}

/* chown(2) clears set-id bits: the mode must be set after the owner.  */
static void
test_setuid_kept(void)
{
  const char *name = "setuid_kept";
  bool root = geteuid() == 0;
  long long uid = root ? 1000 : geteuid(), gid = root ? 1000 : getegid();
  struct fixture f;
  struct tarb t;
  struct cb_buf tar;
  struct stat st;

  fixture_setup(&f);
  tar_begin(&t);
  tar_add(
      &t,
      &(struct ent){
          .name = "su", .perm = 04755, .data = "x", .uid = uid, .gid = gid });
  tar_add(
      &t,
      &(struct ent){
          .name = "sg", .perm = 02755, .data = "x", .uid = uid, .gid = gid });
  tar_add(&t, &(struct ent){ .name = "sgdir",
                             .type = AE_IFDIR,
                             .perm = 02775,
                             .uid = uid,
                             .gid = gid });
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, name);
  ok(fstatat(f.root_fd, "su", &st, 0) == 0 && (st.st_mode & 07777) == 04755 &&
         st.st_uid == (uid_t)uid && st.st_gid == (gid_t)gid,
     "[%s] %s: su is 04755 and owned by %lld:%lld", mode_name, name, uid, gid);
  ok(fstatat(f.root_fd, "sg", &st, 0) == 0 && (st.st_mode & 07777) == 02755,
     "[%s] %s: sg is 02755", mode_name, name);
  ok(fstatat(f.root_fd, "sgdir", &st, 0) == 0 &&
         (st.st_mode & 07777) == 02775 && st.st_uid == (uid_t)uid,
     "[%s] %s: sgdir is 02775 and owned by %lld", mode_name, name, uid);
  fixture_teardown(&f, name);
}

static void
test_xattrs(void)
{
  const char *name = "xattrs";
  struct layer_apply_result res;
  struct fixture f;
  struct tarb t;
  struct cb_buf tar;
  char value[64];
  ssize_t n;
  int fd;

  fixture_setup(&f);
  tar_begin(&t);
  tar_add(&t, &(struct ent){ .name = "f",
                             .data = "x",
                             .xattr_name = "user.cbuild",
                             .xattr_value = "yes" });
  tar_add(&t, &(struct ent){ .name = "d",
                             .type = AE_IFDIR,
                             .xattr_name = "trusted.overlay.opaque",
                             .xattr_value = "y" });
  tar_add(&t, &(struct ent){ .name = "e",
                             .type = AE_IFDIR,
                             .xattr_name = "user.overlay.redirect",
                             .xattr_value = "/elsewhere" });
  tar_end(&t, &tar);
  apply_ok(&f, &tar, &res, name);
  fd = openat(f.root_fd, "f", O_RDONLY | O_CLOEXEC);
  n = fd >= 0 ? fgetxattr(fd, "user.cbuild", value, sizeof(value)) : -1;
  if (n < 0 && errno == ENOTSUP)
    skip(1, "[%s] %s: no user xattrs on this file system", mode_name, name);
  else
    ok(n == 3 && memcmp(value, "yes", 3) == 0,
       "[%s] %s: user.cbuild is set on f", mode_name, name);
  if (fd >= 0)
    close(fd);
  is_int((long long)res.xattrs_skipped, 2,
         "[%s] %s: both overlay xattrs skipped and counted", mode_name, name);
  fd = openat(f.root_fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ok(fd >= 0 && fgetxattr(fd, "trusted.overlay.opaque", value, 8) < 0,
     "[%s] %s: trusted.overlay.opaque is not set on d", mode_name, name);
  if (fd >= 0)
    close(fd);
  fixture_teardown(&f, name);
}

static void
test_replacements(void)
{
  const char *name = "dir_replaces_file";
  struct fixture f;
  struct tarb t;
  struct cb_buf tar;
  struct stat st;

  fixture_setup(&f);
  tar_begin(&t);
  tar_file(&t, "p", "file");
  tar_dir(&t, "q/");
  tar_dir(&t, "q/inner/");
  tar_file(&t, "q/inner/deep", "deep");
  tar_add(&t, &(struct ent){ .name = "d/", .type = AE_IFDIR, .perm = 0755 });
  tar_file(&t, "d/old", "old");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, "replacements layer 1");
  tar_begin(&t);
  tar_dir(&t, "p/");
  tar_file(&t, "p/c", "child");
  tar_file(&t, "q", "now a file");
  tar_add(&t, &(struct ent){ .name = "d/",
                             .type = AE_IFDIR,
                             .perm = 0700,
                             .mtime = 1234567890 });
  tar_file(&t, "d/new", "new");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, "replacements layer 2");
  ok(type_in_root(&f, "p") == S_IFDIR, "[%s] %s: p is a directory", mode_name,
     name);
  is_content(&f, "p/c", "child", name);
  name = "file_replaces_dir";
  ok(type_in_root(&f, "q") == S_IFREG, "[%s] %s: q is a file", mode_name, name);
  is_content(&f, "q", "now a file", name);
  name = "dir_merges_dir";
  is_listing(&f, "d", "new old", name);
  ok(fstatat(f.root_fd, "d", &st, 0) == 0 && (st.st_mode & 07777) == 0700 &&
         st.st_mtim.tv_sec == 1234567890,
     "[%s] %s: d takes the later mode and mtime", mode_name, name);
  fixture_teardown(&f, "replacements");
}

/* A sparse file (pax GNU.sparse 1.0): holes stay holes, the size is the
   entry's.  */
static void
test_sparse_file(void)
{
  const char *name = "sparse_file";
  const size_t size = 1 << 20;
  char *content = cb_xcalloc(1, size);
  struct archive_entry *ae = archive_entry_new();
  struct fixture f;
  struct tarb t;
  struct cb_buf tar;
  struct stat st;
  char *got;

  memcpy(content, "head", 4);
  memcpy(content + size - 4, "tail", 4);
  fixture_setup(&f);
  tar_begin(&t);
  archive_entry_set_pathname(ae, "sparse");
  archive_entry_set_filetype(ae, AE_IFREG);
  archive_entry_set_perm(ae, 0644);
  archive_entry_set_uid(ae, geteuid());
  archive_entry_set_gid(ae, getegid());
  archive_entry_set_size(ae, (la_int64_t)size);
  archive_entry_sparse_add_entry(ae, 0, 4);
  archive_entry_sparse_add_entry(ae, (la_int64_t)size - 4, 4);
  archive_write_header(t.a, ae);
  archive_write_data(t.a, content, size);
  archive_entry_free(ae);
  tar_end(&t, &tar);
  ok(tar.len < size / 2, "[%s] %s: the tar holds the data only", mode_name,
     name);
  apply_ok(&f, &tar, NULL, name);
  ok(fstatat(f.root_fd, "sparse", &st, 0) == 0 && st.st_size == (off_t)size,
     "[%s] %s: size is 1 MiB", mode_name, name);
  got = read_in_root(&f, "sparse");
  ok(memcmp(got, content, size) == 0, "[%s] %s: content matches", mode_name,
     name);
  free(got);
  free(content);
  fixture_teardown(&f, name);
}

static void
test_root_entries(void)
{
  const char *name = "root_entry";
  struct fixture f;
  struct tarb t;
  struct cb_buf tar;

  fixture_setup(&f);
  tar_begin(&t);
  tar_add(&t, &(struct ent){ .name = "./", .type = AE_IFDIR, .perm = 0700 });
  tar_file(&t, "./a", "a");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, name);
  is_content(&f, "a", "a", name);
  tar_begin(&t);
  tar_symlink(&t, ".", f.outside);
  tar_end(&t, &tar);
  apply_fails(&f, &tar, CB_ERR_UNSAFE, "'.'", "root_replaced_by_symlink");
  fixture_teardown(&f, name);
}

/* --- hostile names and links --- */

/* One entry that must be refused; NEEDLE is what the message must say. */
static void
one_bad_entry(const struct ent *e, enum cb_err_kind kind, const char *needle,
              const char *name)
{
  struct fixture f;
  struct tarb t;
  struct cb_buf tar;

  fixture_setup(&f);
  tar_begin(&t);
  tar_add(&t, e);
  tar_end(&t, &tar);
  apply_fails(&f, &tar, kind, needle, name);
  is_listing(&f, ".", "", name);
  fixture_teardown(&f, name);
}

static void
test_traversal(void)
{
  one_bad_entry(&(struct ent){ .name = "../x", .data = "evil" }, CB_ERR_UNSAFE,
                "'../x'", "traversal_dotdot");
  one_bad_entry(&(struct ent){ .name = "a/../../x", .data = "evil" },
                CB_ERR_UNSAFE, "'a/../../x'", "traversal_nested");
  one_bad_entry(&(struct ent){ .name = "../outside/sentinel", .data = "evil" },
                CB_ERR_UNSAFE, "'../outside/sentinel'",
                "traversal_overwrite_sentinel");
  one_bad_entry(&(struct ent){ .name = "h", .hardlink = "../outside/sentinel" },
                CB_ERR_UNSAFE, "'h'", "hardlink_out");
  one_bad_entry(&(struct ent){ .name = ".wh...", .data = "" }, CB_ERR_UNSAFE,
                "'.wh...'", "whiteout_dotdot");
  one_bad_entry(&(struct ent){ .name = ".wh..", .data = "" }, CB_ERR_UNSAFE,
                "'.wh..'", "whiteout_dot");
  one_bad_entry(&(struct ent){ .name = "a/.wh.", .data = "" }, CB_ERR_UNSAFE,
                "'a/.wh.'", "whiteout_empty");
  one_bad_entry(&(struct ent){ .name = "a/../../.wh.sentinel", .data = "" },
                CB_ERR_UNSAFE, "'a/../../.wh.sentinel'", "whiteout_escape");
}

/* A leading "/" is dropped: an absolute name lands inside the root.  */
static void
test_absolute_path(void)
{
  const char *name = "absolute_path";
  char abs[160], rel[160];
  struct fixture f;
  struct tarb t;
  struct cb_buf tar;

  fixture_setup(&f);
  snprintf(abs, sizeof(abs), "%s/abs-file", f.outside);
  tar_begin(&t);
  tar_file(&t, abs, "inside");
  tar_add(&t, &(struct ent){ .name = "/", .type = AE_IFDIR });
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, name);
  snprintf(rel, sizeof(rel), "%s", abs + 1);
  is_content(&f, rel, "inside", name);
  fixture_teardown(&f, name);
}

static void
test_symlink_then_file(void)
{
  const char *name = "symlink_then_file";
  struct fixture f;
  struct tarb t;
  struct cb_buf tar;

  /* x points at OUTSIDE by absolute path: inside the root that path does
     not exist, so x/evil has no parent.  */
  fixture_setup(&f);
  tar_begin(&t);
  tar_symlink(&t, "x", f.outside);
  tar_file(&t, "x/evil", "evil");
  tar_end(&t, &tar);
  apply_fails(&f, &tar, CB_ERR_SYSTEM, "'x/evil'", name);
  fixture_teardown(&f, name);

  name = "symlink_then_file_relative";
  fixture_setup(&f);
  tar_begin(&t);
  tar_symlink(&t, "y", "../outside");
  tar_file(&t, "y/sentinel", "evil");
  tar_end(&t, &tar);
  apply_fails(&f, &tar, CB_ERR_SYSTEM, "'y/sentinel'", name);
  fixture_teardown(&f, name);

  /* The same with the target present inside the root: the file lands
     there, in ROOT/outside.  */
  name = "symlink_then_file_in_root";
  fixture_setup(&f);
  tar_begin(&t);
  tar_dir(&t, "outside/");
  tar_symlink(&t, "y", "../outside");
  tar_file(&t, "y/sentinel", "inside");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, name);
  is_content(&f, "outside/sentinel", "inside", name);
  fixture_teardown(&f, name);
}

static void
test_symlink_in_earlier_layer(void)
{
  const char *name = "symlink_in_earlier_layer";
  char path[200], rel[200];
  struct fixture f;
  struct tarb t;
  struct cb_buf tar;

  /* Layer 1 plants lnk -> /; layer 2 writes through it to what would be
     OUTSIDE/etc/passwd if "/" meant the host's root.  */
  fixture_setup(&f);
  tar_begin(&t);
  tar_symlink(&t, "lnk", "/");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, "symlink_in_earlier_layer layer 1");
  snprintf(path, sizeof(path), "lnk%s/etc/passwd", f.outside);
  tar_begin(&t);
  tar_file(&t, path, "evil");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, "symlink_in_earlier_layer layer 2");
  snprintf(rel, sizeof(rel), "%s/etc/passwd", f.outside + 1);
  is_content(&f, rel, "evil", name);
  ok(type_in_root(&f, "lnk") == S_IFLNK, "[%s] %s: lnk is still a symlink",
     mode_name, name);
  fixture_teardown(&f, name);
}

static void
test_hardlink_escapes(void)
{
  const char *name = "hardlink_to_symlink_escape";
  char target[200];
  struct fixture f;
  struct tarb t;
  struct cb_buf tar;

  fixture_setup(&f);
  tar_begin(&t);
  tar_symlink(&t, "esc", "../outside");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, "hardlink_to_symlink_escape layer 1");
  tar_begin(&t);
  tar_hardlink(&t, "h", "esc/sentinel");
  tar_end(&t, &tar);
  apply_fails(&f, &tar, CB_ERR_SYSTEM, "'h'", name);
  is_absent(&f, "h", name);
  /* esc resolves inside the root: with ROOT/outside/sentinel there, the
     link is made to that one.  */
  tar_begin(&t);
  tar_dir(&t, "outside/");
  tar_file(&t, "outside/sentinel", "in root");
  tar_hardlink(&t, "h", "esc/sentinel");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, "hardlink_to_symlink_escape in root");
  is_content(&f, "h", "in root", name);
  fixture_teardown(&f, name);

  name = "hardlink_to_symlink";
  fixture_setup(&f);
  snprintf(target, sizeof(target), "%s/sentinel", f.outside);
  tar_begin(&t);
  tar_symlink(&t, "s", target);
  tar_hardlink(&t, "h", "s");
  tar_end(&t, &tar);
  apply_fails(&f, &tar, CB_ERR_UNSAFE, "is a symlink", name);
  is_absent(&f, "h", name);
  fixture_teardown(&f, name);

  name = "hardlink_to_dir";
  fixture_setup(&f);
  tar_begin(&t);
  tar_dir(&t, "d/");
  tar_hardlink(&t, "h", "d");
  tar_end(&t, &tar);
  apply_fails(&f, &tar, CB_ERR_UNSAFE, "is a directory", name);
  fixture_teardown(&f, name);

  name = "hardlink_absolute_target";
  fixture_setup(&f);
  snprintf(target, sizeof(target), "%s/sentinel", f.outside);
  tar_begin(&t);
  tar_hardlink(&t, "h", target);
  tar_end(&t, &tar);
  apply_fails(&f, &tar, CB_ERR_SYSTEM, "'h'", name);
  fixture_teardown(&f, name);
}

static void
test_symlink_chain(void)
{
  const char *name = "symlink_chain";
  char path[200];
  struct fixture f;
  struct tarb t;
  struct cb_buf tar;

  /* a -> b -> ../..: used as a parent it must stay at the root.  Naively
     followed from ROOT, a/<base>/outside/evil is BASE/outside/evil.  */
  fixture_setup(&f);
  snprintf(path, sizeof(path), "a/%s/outside/evil", strrchr(f.base, '/') + 1);
  tar_begin(&t);
  tar_symlink(&t, "a", "b");
  tar_symlink(&t, "b", "../..");
  tar_file(&t, "a/x", "x");
  tar_file(&t, path, "evil");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, name);
  is_content(&f, "x", "x", name);
  is_content(&f, path + 2, "evil", name);
  fixture_teardown(&f, name);

  name = "symlink_loop";
  fixture_setup(&f);
  tar_begin(&t);
  tar_symlink(&t, "l1", "l2");
  tar_symlink(&t, "l2", "l1");
  tar_file(&t, "l1/x", "x");
  tar_end(&t, &tar);
  apply_fails(&f, &tar, CB_ERR_SYSTEM, "'l1/x'", name);
  fixture_teardown(&f, name);
}

/* Replacing a planted symlink must not write through it.  */
static void
test_replace_planted_symlink(void)
{
  const char *name = "file_replaces_symlink";
  char target[200];
  struct fixture f;
  struct tarb t;
  struct cb_buf tar;

  fixture_setup(&f);
  snprintf(target, sizeof(target), "%s/sentinel", f.outside);
  tar_begin(&t);
  tar_symlink(&t, "x", target);
  tar_symlink(&t, "d", f.outside);
  tar_symlink(&t, "r", "../outside/sentinel");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, "file_replaces_symlink layer 1");
  tar_begin(&t);
  tar_file(&t, "x", "replaced");
  tar_dir(&t, "d/");
  tar_file(&t, "d/sentinel", "in root");
  tar_file(&t, "r", "replaced");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, "file_replaces_symlink layer 2");
  ok(type_in_root(&f, "x") == S_IFREG, "[%s] %s: x is a file", mode_name, name);
  is_content(&f, "x", "replaced", name);
  is_content(&f, "r", "replaced", name);
  ok(type_in_root(&f, "d") == S_IFDIR,
     "[%s] symlink_replaced_by_dir: d is "
     "a directory",
     mode_name);
  is_content(&f, "d/sentinel", "in root", "symlink_replaced_by_dir");
  fixture_teardown(&f, name);
}

static void
test_long_names(void)
{
  char *longname = cb_xmalloc(PATH_MAX + 64);

  memset(longname, 'n', PATH_MAX + 63);
  for (size_t i = 100; i < PATH_MAX + 63; i += 100)
    longname[i] = '/';
  longname[PATH_MAX + 63] = '\0';
  one_bad_entry(&(struct ent){ .name = longname, .data = "x" }, CB_ERR_UNSAFE,
                "longer than", "long_name");
  one_bad_entry(
      &(struct ent){ .name = "s", .type = AE_IFLNK, .symlink = longname },
      CB_ERR_UNSAFE, "'s'", "long_symlink_target");
  one_bad_entry(&(struct ent){ .name = "h", .hardlink = longname },
                CB_ERR_UNSAFE, "longer than", "long_hardlink_target");
  free(longname);
}

/* --- whiteouts --- */

static void
test_opaque_marker_abuse(void)
{
  const char *name = "opaque_marker_abuse";
  struct fixture f;
  struct tarb t;
  struct cb_buf tar;

  /* At the root: empties the root of lower content, nothing else.  */
  fixture_setup(&f);
  tar_begin(&t);
  tar_file(&t, "f1", "lower");
  tar_dir(&t, "d/");
  tar_file(&t, "d/f2", "lower");
  tar_dir(&t, "outside/");
  tar_file(&t, "outside/keep", "lower, in root");
  tar_symlink(&t, "evil", "../outside");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, "opaque_marker_abuse layer 1");
  tar_begin(&t);
  tar_file(&t, "mine", "this layer");
  tar_file(&t, ".wh..wh..opq", "");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, "opaque_marker_abuse at root");
  is_listing(&f, ".", "mine", name);
  fixture_teardown(&f, name);

  /* Under a symlink that points outside: it resolves inside the root.  */
  name = "opaque_marker_under_symlink";
  fixture_setup(&f);
  tar_begin(&t);
  tar_dir(&t, "outside/");
  tar_file(&t, "outside/keep", "lower, in root");
  tar_symlink(&t, "evil", "../outside");
  tar_symlink(&t, "evil2", f.outside);
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, "opaque_marker_under_symlink layer 1");
  tar_begin(&t);
  tar_file(&t, "evil/.wh..wh..opq", "");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, name);
  is_listing(&f, "outside", "", name);
  ok(type_in_root(&f, "evil") == S_IFLNK, "[%s] %s: evil is still a symlink",
     mode_name, name);
  tar_begin(&t);
  tar_file(&t, "evil2/.wh..wh..opq", "");
  tar_end(&t, &tar);
  apply_fails(&f, &tar, CB_ERR_SYSTEM, "'evil2/.wh..wh..opq'",
              "opaque_marker_under_dangling_symlink");
  fixture_teardown(&f, name);
}

static void
test_whiteout_through_symlink(void)
{
  const char *name = "whiteout_through_symlink";
  struct fixture f;
  struct tarb t;
  struct cb_buf tar;

  fixture_setup(&f);
  tar_begin(&t);
  tar_symlink(&t, "lnk", f.outside);
  tar_symlink(&t, "rel", "../outside");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, "whiteout_through_symlink layer 1");
  tar_begin(&t);
  tar_file(&t, "lnk/.wh.sentinel", "");
  tar_file(&t, "rel/.wh.sentinel", "");
  tar_file(&t, "rel/.wh.etc", "");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, name);
  is_listing(&f, ".", "lnk rel", name);
  fixture_teardown(&f, name);
}

static void
test_whiteout_semantics(void)
{
  const char *name = "whiteout_removes_lower";
  struct layer_apply_result res;
  struct fixture f;
  struct tarb t;
  struct cb_buf tar;

  fixture_setup(&f);
  tar_begin(&t);
  tar_dir(&t, "a/");
  tar_file(&t, "a/f", "lower");
  tar_file(&t, "a/g", "lower");
  tar_dir(&t, "d/");
  tar_dir(&t, "d/sub/");
  tar_file(&t, "d/sub/x", "lower");
  tar_symlink(&t, "s", "a");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, "whiteout layer 1");
  tar_begin(&t);
  tar_file(&t, "a/.wh.f", "");
  tar_file(&t, ".wh.d", "");
  tar_file(&t, ".wh.s", "");
  tar_file(&t, "a/new", "this layer");
  tar_file(&t, "a/.wh.new", "");   /* same layer: stays */
  tar_file(&t, "a/.wh.later", ""); /* before its entry: still stays */
  tar_file(&t, "a/later", "this layer");
  tar_file(&t, "nodir/.wh.x", ""); /* nothing to hide */
  tar_file(&t, ".wh..wh.plnk/123", "aufs");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, &res, "whiteout layer 2");
  is_listing(&f, ".", "a", name);
  is_listing(&f, "a", "g later new", name);
  is_int((long long)res.whiteouts, 5, "[%s] %s: 5 whiteouts applied", mode_name,
         name);
  fixture_teardown(&f, name);
}

/* image-spec "Whiteouts": the opaque marker is applied before this
   layer's entries in its directory, wherever it is in the tar.  */
static void
opaque_case(bool marker_first, const char *name)
{
  struct fixture f;
  struct tarb t;
  struct cb_buf tar;

  fixture_setup(&f);
  tar_begin(&t);
  tar_dir(&t, "a/");
  tar_dir(&t, "a/b/");
  tar_dir(&t, "a/b/c/");
  tar_file(&t, "a/b/c/bar", "lower");
  tar_file(&t, "a/keep", "lower");
  tar_dir(&t, "x/");
  tar_dir(&t, "x/y/");
  tar_file(&t, "x/y/old", "lower");
  tar_file(&t, "x/z", "lower");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, "opaque layer 1");
  tar_begin(&t);
  tar_dir(&t, "a/");
  if (marker_first)
    tar_file(&t, "a/.wh..wh..opq", "");
  tar_dir(&t, "a/b/");
  tar_dir(&t, "a/b/c/");
  tar_file(&t, "a/b/c/foo", "this layer");
  tar_file(&t, "x/y/new", "this layer"); /* x/y only implied */
  if (!marker_first)
    tar_file(&t, "a/.wh..wh..opq", "");
  tar_file(&t, "x/.wh..wh..opq", "");
  tar_end(&t, &tar);
  apply_ok(&f, &tar, NULL, name);
  is_listing(&f, "a", "b", name);
  is_listing(&f, "a/b/c", "foo", name);
  is_listing(&f, "x", "y", name);
  is_listing(&f, "x/y", "new", name);
  fixture_teardown(&f, name);
}

static void
test_opaque(void)
{
  opaque_case(true, "opaque_marker_first");
  opaque_case(false, "opaque_marker_last");
}

/* --- sizes and broken streams --- */

static void
test_header_sizes(void)
{
  const char *name = "huge_header_size";
  struct fixture f;
  struct cb_buf tar = CB_BUF_INIT;
  char data[512];

  /* 100 GiB claimed, 512 bytes there: a truncated archive.  */
  fixture_setup(&f);
  memset(data, 'z', sizeof(data));
  raw_header(&tar, "big", '0', 100ull << 30);
  cb_buf_add(&tar, data, sizeof(data));
  apply_fails(&f, &tar, CB_ERR_PARSE, "'big'", name);
  fixture_teardown(&f, name);

  /* Over the limit: refused before anything is made.  */
  name = "absurd_header_size";
  fixture_setup(&f);
  raw_header(&tar, "absurd", '0', 2ull << 40);
  cb_buf_add(&tar, data, sizeof(data));
  apply_fails(&f, &tar, CB_ERR_UNSAFE, "'absurd'", name);
  is_listing(&f, ".", "", name);
  fixture_teardown(&f, name);

  name = "empty_name";
  fixture_setup(&f);
  raw_header(&tar, "", '0', 0);
  cb_buf_add(&tar, data, 0);
  memset(data, 0, sizeof(data));
  cb_buf_add(&tar, data, sizeof(data));
  cb_buf_add(&tar, data, sizeof(data));
  apply_fails(&f, &tar, CB_ERR_PARSE, "name", name);
  fixture_teardown(&f, name);
}

static void
make_big_tar(struct cb_buf *out)
{
  struct cb_buf big = CB_BUF_INIT;
  struct tarb t;

  for (int i = 0; i < 20000; i++)
    cb_buf_addf(&big, "%08d the quick brown fox\n", i * 7919 % 100000);
  tar_begin(&t);
  tar_file(&t, "first", "first");
  tar_file(&t, "bigfile", big.data);
  tar_file(&t, "last", "last");
  tar_end(&t, out);
  cb_buf_release(&big);
}

static void
truncated_case(enum layer_compression kind, const char *needle,
               const char *name)
{
  struct cb_buf tar, blob = CB_BUF_INIT;
  struct fixture f;

  fixture_setup(&f);
  make_big_tar(&tar);
  if (kind == LAYER_COMPRESS_GZIP)
    gzip_members(tar.data, tar.len, 1, &blob);
  else if (kind == LAYER_COMPRESS_ZSTD)
    zstd_frames(tar.data, tar.len, 1, &blob);
  else
    cb_buf_add(&blob, tar.data, tar.len);
  cb_buf_truncate(&blob, blob.len / 2);
  apply_fails(&f, &blob, CB_ERR_PARSE, needle, name);
  cb_buf_release(&tar);
  fixture_teardown(&f, name);
}

/* zstd frames carry no checksum by default: a flipped byte may decode to
   other bytes, which the diff_id check then refuses.  */
static void
corrupt_zstd(struct fixture *f, const struct cb_buf *tar)
{
  const char *name = "corrupt_zstd";
  struct cb_digest diff_d;
  struct layer_apply_opts opts = { .expected_diff_id = &diff_d };
  struct cb_buf blob = CB_BUF_INIT;
  struct cb_error *err = NULL;
  int rc;

  cb_digest_of(tar->data, tar->len, &diff_d);
  zstd_frames(tar->data, tar->len, 1, &blob);
  blob.data[blob.len / 2] ^= 0x55;
  rc = apply_bytes(f, blob.data, blob.len, &opts, NULL, &err);
  is_int(rc, -1, "[%s] %s: fails", mode_name, name);
  if (err != NULL)
    diag("%s", err->msg);
  if (!ok(err != NULL &&
              (err->kind == CB_ERR_PARSE || err->kind == CB_ERR_DIGEST),
          "[%s] %s: a parse or digest error", mode_name, name))
    diag("%s", err ? err->msg : "(none)");
  cb_error_free(err);
  cb_buf_release(&blob);
}

static void
test_broken_streams(void)
{
  struct cb_buf tar, blob = CB_BUF_INIT;
  struct fixture f;

  truncated_case(LAYER_COMPRESS_NONE, "'bigfile'", "truncated_tar");
  truncated_case(LAYER_COMPRESS_GZIP, "truncated gzip stream",
                 "truncated_gzip");
  truncated_case(LAYER_COMPRESS_ZSTD, "truncated zstd stream",
                 "truncated_zstd");

  fixture_setup(&f);
  make_big_tar(&tar);
  gzip_members(tar.data, tar.len, 2, &blob);
  blob.data[blob.len / 2] ^= 0x55;
  apply_fails(&f, &blob, CB_ERR_PARSE, "corrupt gzip stream", "corrupt_gzip");
  gzip_members(tar.data, tar.len, 2, &blob);
  cb_buf_add(&blob, "garbage!", 8);
  apply_fails(&f, &blob, CB_ERR_PARSE, "after the end of the gzip stream",
              "gzip_trailing_garbage");
  corrupt_zstd(&f, &tar);
  cb_buf_add(&blob, "this is not a tar archive at all", 32);
  apply_fails(&f, &blob, CB_ERR_PARSE, "layer (unnamed)", "not_a_tar");
  cb_buf_release(&tar);
  fixture_teardown(&f, "broken_streams");
}

static void
digest_case(bool wrong_blob, const char *name)
{
  struct cb_digest blob_d, diff_d, wrong;
  struct layer_apply_opts opts = { .expected_blob = &blob_d,
                                   .expected_diff_id = &diff_d };
  struct cb_buf tar, blob = CB_BUF_INIT;
  struct cb_error *err = NULL;
  char want[CB_DIGEST_STR_LEN];
  struct fixture f;
  int rc;

  fixture_setup(&f);
  make_basic_tar(&tar);
  gzip_members(tar.data, tar.len, 1, &blob);
  cb_digest_of(blob.data, blob.len, &blob_d);
  cb_digest_of(tar.data, tar.len, &diff_d);
  cb_digest_of("something else", 14, &wrong);
  if (wrong_blob)
    opts.expected_blob = &wrong;
  else
    opts.expected_diff_id = &wrong;
  cb_digest_str(wrong_blob ? &blob_d : &diff_d, want);
  rc = apply_bytes(&f, blob.data, blob.len, &opts, NULL, &err);
  check_error(rc, err, CB_ERR_DIGEST, wrong_blob ? "blob digest" : "diff_id",
              name);
  ok(err != NULL && strstr(err->msg, want) != NULL,
     "[%s] %s: message gives the actual digest", mode_name, name);
  if (wrong_blob) {
    char hex[CB_DIGEST_HEX_LEN + 1], label[32];

    cb_digest_hex(&wrong, hex);
    snprintf(label, sizeof(label), "layer %.12s:", hex);
    ok(err != NULL && strncmp(err->msg, label, strlen(label)) == 0,
       "[%s] %s: the layer is named by its expected digest", mode_name, name);
  }
  cb_error_free(err);
  cb_buf_release(&tar);
  cb_buf_release(&blob);
  fixture_teardown(&f, name);
}

static void
test_digests(void)
{
  digest_case(true, "wrong_blob_digest");
  digest_case(false, "wrong_diff_id");
}

/* --- devices and rootless --- */

/* Devices and a FIFO; for a user namespace (AS_NS_ROOT) owned by its
   root, with a file owned by an unmapped id and a trusted.* xattr.  */
static void
make_device_tar(struct cb_buf *out, bool as_ns_root)
{
  long long id = as_ns_root ? ID_ROOT : 0;
  struct tarb t;

  tar_begin(&t);
  tar_add(&t, &(struct ent){ .name = "dev/null",
                             .type = AE_IFCHR,
                             .perm = 0666,
                             .uid = id,
                             .gid = id,
                             .dev_major = 1,
                             .dev_minor = 3 });
  tar_add(&t, &(struct ent){ .name = "dev/fifo",
                             .type = AE_IFIFO,
                             .perm = 0600,
                             .uid = id,
                             .gid = id });
  if (as_ns_root) {
    tar_add(&t, &(struct ent){
                    .name = "owned", .data = "x", .uid = 1000, .gid = 1000 });
    tar_add(&t, &(struct ent){ .name = "trusted",
                               .data = "x",
                               .uid = id,
                               .gid = id,
                               .xattr_name = "trusted.cbuild",
                               .xattr_value = "1" });
    /* A layer cannot make up a recorded owner.  */
    tar_add(&t, &(struct ent){ .name = "forged",
                               .data = "x",
                               .uid = id,
                               .gid = id,
                               .xattr_name = LAYER_OWNER_XATTR,
                               .xattr_value = "4321:4321" });
  }
  tar_end(&t, out);
}

/* Privileged, the device is made; without CAP_MKNOD it is counted.  */
static void
test_device_node(void)
{
  const char *name = "device_node";
  struct layer_apply_result res = { .devices_skipped = 0 };
  struct fixture f;
  struct cb_buf tar;
  struct stat st;

  fixture_setup(&f);
  make_device_tar(&tar, false);
  apply_ok(&f, &tar, &res, name);
  ok(type_in_root(&f, "dev/fifo") == S_IFIFO, "[%s] %s: dev/fifo is a FIFO",
     mode_name, name);
  if (res.devices_skipped > 0) {
    is_int((long long)res.devices_skipped, 1,
           "[%s] %s: mknod refused: the device is counted", mode_name, name);
    is_absent(&f, "dev/null", name);
  } else {
    ok(fstatat(f.root_fd, "dev/null", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3) &&
           (st.st_mode & 07777) == 0666,
       "[%s] %s: dev/null is char 1:3 mode 0666", mode_name, name);
    ok(geteuid() == 0, "[%s] %s: only made when privileged", mode_name, name);
  }
  fixture_teardown(&f, name);
}

struct rootless_report {
  int entered; /* 0: no user namespace here */
  int rc;
  int kind;
  uint64_t devices_skipped, owner_failures, xattrs_skipped;
  int null_exists, fifo_is_fifo;
  char owned[32], forged[32]; /* their LAYER_OWNER_XATTR, "" when none */
  char msg[256];
};

/* The LAYER_OWNER_XATTR of PATH below F's root into OUT, "" when none.  */
static void
recorded_owner(struct fixture *f, const char *path, char out[32])
{
  int fd = openat(f->root_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  ssize_t n = fd >= 0 ? fgetxattr(fd, LAYER_OWNER_XATTR, out, 31) : -1;

  out[n > 0 ? n : 0] = '\0';
  if (fd >= 0)
    close(fd);
}

static bool
write_proc(const char *file, const char *text)
{
  int fd = open(file, O_WRONLY | O_CLOEXEC);
  bool done = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

  if (fd >= 0)
    close(fd);
  return done;
}

/* Become root of a new user namespace mapping only our own ids, as a
   rootless cbuild without subordinate ids runs.  */
static bool
enter_userns(void)
{
  char map[64];
  uid_t uid = geteuid();
  gid_t gid = getegid();

  if (unshare(CLONE_NEWUSER) < 0)
    return false;
  write_proc("/proc/self/setgroups", "deny");
  snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
  if (!write_proc("/proc/self/uid_map", map))
    return false;
  snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
  return write_proc("/proc/self/gid_map", map);
}

static void
rootless_child(struct fixture *f, const struct cb_buf *tar, int out_fd)
{
  struct layer_apply_opts opts = { .flags = LAYER_APPLY_IGNORE_OWNER_ERRORS |
                                             LAYER_APPLY_RECORD_OWNERS };
  struct rootless_report rep;
  struct layer_apply_result res;
  struct cb_error *err = NULL;

  memset(&rep, 0, sizeof(rep));
  rep.entered = enter_userns();
  if (rep.entered) {
    rep.rc = apply_bytes(f, tar->data, tar->len, &opts, &res, &err);
    rep.kind = err ? (int)err->kind : 0;
    snprintf(rep.msg, sizeof(rep.msg), "%s", err ? err->msg : "");
    if (rep.rc == 0) {
      rep.devices_skipped = res.devices_skipped;
      rep.owner_failures = res.owner_failures;
      rep.xattrs_skipped = res.xattrs_skipped;
    }
    rep.null_exists = lexists(f, "dev/null");
    rep.fifo_is_fifo = type_in_root(f, "dev/fifo") == S_IFIFO;
    recorded_owner(f, "owned", rep.owned);
    recorded_owner(f, "forged", rep.forged);
  }
  if (write(out_fd, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
    _exit(1);
  _exit(0);
}

static void
test_device_node_rootless(void)
{
  const char *name = "device_node_rootless";
  struct rootless_report rep;
  struct fixture f;
  struct cb_buf tar;
  int fds[2];
  pid_t pid;

  fixture_setup(&f);
  make_device_tar(&tar, true);
  memset(&rep, 0, sizeof(rep));
  fflush(stdout);
  if (pipe2(fds, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
    diag("fork: %s", strerror(errno));
    return;
  }
  if (pid == 0)
    rootless_child(&f, &tar, fds[1]);
  close(fds[1]);
  if (read(fds[0], &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
    rep.entered = -1;
  close(fds[0]);
  waitpid(pid, NULL, 0);
  cb_buf_release(&tar);
  if (rep.entered != 1) {
    skip(8, "[%s] %s: no user namespace here", mode_name, name);
  } else {
    if (!is_int(rep.rc, 0, "[%s] %s: applies", mode_name, name))
      diag("error %d: %s", rep.kind, rep.msg);
    is_int((long long)rep.devices_skipped, 1,
           "[%s] %s: the device is skipped and counted", mode_name, name);
    ok(!rep.null_exists, "[%s] %s: dev/null is absent", mode_name, name);
    ok(rep.fifo_is_fifo, "[%s] %s: the FIFO is still made", mode_name, name);
    is_int((long long)rep.owner_failures, 1,
           "[%s] %s: the unmapped owner 1000 is counted", mode_name, name);
    is_int((long long)rep.xattrs_skipped, 1,
           "[%s] %s: trusted.* is skipped and counted", mode_name, name);
    is_str(rep.owned, "1000:1000",
           "[%s] %s: the owner 1000 is recorded in " LAYER_OWNER_XATTR,
           mode_name, name);
    is_str(rep.forged, "",
           "[%s] %s: a layer's own " LAYER_OWNER_XATTR " is not taken",
           mode_name, name);
  }
  fixture_teardown(&f, name);
}

/* Without LAYER_APPLY_IGNORE_OWNER_ERRORS an owner that cannot be set is
   an error; run where chown to 1000 is refused (a user namespace).  */
static void
test_owner_error(void)
{
  const char *name = "owner_error_not_ignored";
  struct fixture f;
  struct tarb t;
  struct cb_buf tar;
  int status = -1;
  pid_t pid;

  fixture_setup(&f);
  tar_begin(&t);
  tar_add(&t, &(struct ent){ .name = "owned", .data = "x", .uid = 1000 });
  tar_end(&t, &tar);
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    struct cb_error *err = NULL;

    if (!enter_userns())
      _exit(77);
    if (apply_bytes(&f, tar.data, tar.len, NULL, NULL, &err) == 0)
      _exit(1);
    _exit(err->kind == CB_ERR_SYSTEM && strstr(err->msg, "'owned': chown") ? 0
                                                                           : 2);
  }
  waitpid(pid, &status, 0);
  cb_buf_release(&tar);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
    skip(1, "[%s] %s: no user namespace here", mode_name, name);
  else
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "[%s] %s: chown failure names the entry", mode_name, name);
  fixture_teardown(&f, name);
}

static void
run_all(void)
{
  test_plain_gzip_zstd();
  test_dir_attributes();
  test_setuid_kept();
  test_xattrs();
  test_replacements();
  test_root_entries();
  test_sparse_file();
  test_traversal();
  test_absolute_path();
  test_symlink_then_file();
  test_symlink_in_earlier_layer();
  test_hardlink_escapes();
  test_symlink_chain();
  test_replace_planted_symlink();
  test_long_names();
  test_opaque_marker_abuse();
  test_whiteout_through_symlink();
  test_whiteout_semantics();
  test_opaque();
  test_header_sizes();
  test_broken_streams();
  test_digests();
  test_device_node();
  test_device_node_rootless();
  test_owner_error();
}

int
main(void)
{
  test_entry_names();
  mode_name = "openat2";
  cb_fs_force_walk = false;
  run_all();
  mode_name = "walk";
  cb_fs_force_walk = true;
  run_all();
  return done_testing();
}
