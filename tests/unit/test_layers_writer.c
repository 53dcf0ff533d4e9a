/* The layer writer on real trees: what the tar holds (order, owners,
   modes, mtimes, links, devices, xattrs, content), digests checked against
   gzip -dc and zstd -dc, determinism across runs, threads and
   compressions, the timestamp clamp, overlay whiteouts and opaque
   directories, and refusals.  Parts that need root (mknod, trusted.*
   xattrs) or a file system with user xattrs are skipped without them.  */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/digest.h"
#include "common/error.h"
#include "common/mem.h"
#include "layers-test.h"
#include "layers/layer.h"
#include "layers/tarwrite-internal.h"
#include "layers/writer.h"
#include "tap.h"

#include "common/banned.h"

#define BIG_LEN (3u * 1024 * 1024 + 17)
#define T_OLD 1000000000 /* 2001-09-09 */
#define T_NEW 2000000000 /* 2033-05-18 */
#define T_CLAMP 1500000000

static char *scratch;
static bool is_root;

/* --- reading a tar back with libarchive --- */

struct ent {
  char *path;
  char *symlink;
  char *hardlink;
  mode_t mode; /* type and permissions */
  int64_t uid, gid, size, mtime;
  long mtime_nsec;
  bool uname, gname, atime, ctime;
  unsigned rmajor, rminor;
  struct cb_digest content;
  char *xattrs; /* "name=value\n" in archive order */
};

struct tar {
  struct ent *v;
  size_t n;
  bool ok;
};

static void
tar_release(struct tar *t)
{
  for (size_t i = 0; i < t->n; i++) {
    free(t->v[i].path);
    free(t->v[i].symlink);
    free(t->v[i].hardlink);
    free(t->v[i].xattrs);
  }
  free(t->v);
  memset(t, 0, sizeof(*t));
}

static char *
dup_or_null(const char *s)
{
  return s != NULL ? cb_xstrdup(s) : NULL;
}

static void
read_entry(struct archive *a, struct archive_entry *ae, struct ent *e)
{
  struct cb_hasher *h = cb_hasher_new();
  struct cb_buf x = CB_BUF_INIT;
  const char *name;
  const void *value;
  size_t size;
  char buf[65536];
  la_ssize_t n;

  e->path = cb_xstrdup(archive_entry_pathname(ae));
  e->symlink = dup_or_null(archive_entry_symlink(ae));
  e->hardlink = dup_or_null(archive_entry_hardlink(ae));
  e->mode = archive_entry_mode(ae);
  e->uid = archive_entry_uid(ae);
  e->gid = archive_entry_gid(ae);
  e->size = archive_entry_size(ae);
  e->mtime = archive_entry_mtime(ae);
  e->mtime_nsec = archive_entry_mtime_nsec(ae);
  e->uname = archive_entry_uname(ae) != NULL && *archive_entry_uname(ae);
  e->gname = archive_entry_gname(ae) != NULL && *archive_entry_gname(ae);
  e->atime = archive_entry_atime_is_set(ae);
  e->ctime = archive_entry_ctime_is_set(ae);
  e->rmajor = archive_entry_rdevmajor(ae);
  e->rminor = archive_entry_rdevminor(ae);
  archive_entry_xattr_reset(ae);
  while (archive_entry_xattr_next(ae, &name, &value, &size) == ARCHIVE_OK) {
    cb_buf_addf(&x, "%s=", name);
    cb_buf_add(&x, value, size);
    cb_buf_addc(&x, '\n');
  }
  e->xattrs = cb_buf_detach(&x, NULL);
  while ((n = archive_read_data(a, buf, sizeof(buf))) > 0)
    cb_hasher_update(h, buf, (size_t)n);
  cb_hasher_peek(h, &e->content);
  cb_hasher_free(h);
}

static struct tar
tar_read(const void *data, size_t len)
{
  struct tar t = { NULL, 0, false };
  struct archive *a = archive_read_new();
  struct archive_entry *ae;
  size_t alloc = 0;
  int r;

  archive_read_support_format_tar(a);
  if (archive_read_open_memory(a, data, len) != ARCHIVE_OK)
    goto out;
  while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
    CB_GROW(t.v, alloc, t.n + 1);
    memset(&t.v[t.n], 0, sizeof(t.v[t.n]));
    read_entry(a, ae, &t.v[t.n++]);
  }
  t.ok = r == ARCHIVE_EOF;
  if (!t.ok)
    diag("tar: %s", archive_error_string(a));
out:
  archive_read_free(a);
  return t;
}

static const struct ent *
tar_find(const struct tar *t, const char *path)
{
  for (size_t i = 0; i < t->n; i++) {
    if (strcmp(t->v[i].path, path) == 0)
      return &t->v[i];
  }
  return NULL;
}

static char *
tar_names(const struct tar *t)
{
  struct cb_buf b = CB_BUF_INIT;

  for (size_t i = 0; i < t->n; i++) {
    cb_buf_adds(&b, t->v[i].path);
    cb_buf_addc(&b, ' ');
  }
  return cb_buf_detach(&b, NULL);
}

/* --- building trees --- */

static char *
at(const char *root, const char *rel)
{
  return cb_xasprintf("%s/%s", root, rel);
}

static void
mkdir_at(const char *root, const char *rel)
{
  cleanup_free char *p = at(root, rel);

  if (mkdir(p, 0755) < 0) {
    perror(p);
    exit(1);
  }
}

static void
file_at(const char *root, const char *rel, const void *data, size_t len,
        mode_t mode)
{
  cleanup_free char *p = at(root, rel);

  if (!write_file(p, data, len) || chmod(p, mode) < 0) {
    perror(p);
    exit(1);
  }
}

static void
symlink_at(const char *root, const char *rel, const char *target)
{
  cleanup_free char *p = at(root, rel);

  if (symlink(target, p) < 0) {
    perror(p);
    exit(1);
  }
}

static void
mtime_at(const char *root, const char *rel, time_t t)
{
  cleanup_free char *p = at(root, rel);
  struct timespec ts[2] = { { t, 123456789 }, { t, 987654321 } };

  utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
}

/* Set a user xattr; false when the file system or the kernel says no.  */
static bool
xattr_at(const char *root, const char *rel, const char *name, const char *value)
{
  cleanup_free char *p = at(root, rel);

  return lsetxattr(p, name, value, strlen(value), 0) == 0;
}

static unsigned char *big;
static bool have_user_xattr, have_cap, have_link_xattr;

/* The plain tree.  Names chosen so that byte order differs from a
   case-insensitive or dir-last order: "B" < "a" < "a-b" < "a.b" < "a_b". */
static char *
build_plain(void)
{
  char *root = at(scratch, "plain");
  static const unsigned char cap[20] = {
    0x00, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00
  }; /* v2, bind */

  mkdir_at(scratch, "plain");
  mkdir_at(root, "a");
  mkdir_at(root, "a/b");
  mkdir_at(root, "a/b/c");
  mkdir_at(root, "empty-dir");
  mkdir_at(root, "z");
  file_at(root, "a/b/c/deep.txt", "deep\n", 5, 0644);
  file_at(root, "B", "upper\n", 6, 0600);
  file_at(root, "a-b", "", 0, 0644);
  file_at(root, "a.b", "x", 1, 04755);
  file_at(root, "a_b", "y", 1, 0640);
  file_at(root, "big", big, BIG_LEN, 0644);
  file_at(root, "a/hl1", "linked\n", 7, 0644);
  {
    cleanup_free char *p1 = at(root, "a/hl1");
    cleanup_free char *p2 = at(root, "z/hl2");
    cleanup_free char *fifo = at(root, "fifo");

    if (link(p1, p2) < 0 || mkfifo(fifo, 0620) < 0 || chmod(fifo, 0620) < 0)
      exit(1);
  }
  symlink_at(root, "link-root", "/");
  symlink_at(root, "a/link-rel", "b/c");
  if (is_root) {
    cleanup_free char *dev = at(root, "null-dev");

    if (mknod(dev, S_IFCHR | 0666, makedev(1, 3)) < 0)
      is_root = false;
  }
  have_user_xattr = xattr_at(root, "a.b", "user.test", "value") &&
                    xattr_at(root, "a.b", "user.overlay.origin", "hidden") &&
                    xattr_at(root, "a/b", "user.dir", "d");
  if (is_root) {
    cleanup_free char *p = at(root, "a_b");

    cleanup_free char *l = at(root, "link-root");

    have_cap = setxattr(p, "security.capability", cap, sizeof(cap), 0) == 0;
    /* Symlinks take no user.* xattrs; trusted.* needs root.  */
    have_link_xattr = lsetxattr(l, "trusted.cb", "1", 1, 0) == 0;
  }

  /* Children first: setting them moves their parent's mtime.  */
  mtime_at(root, "a/b/c/deep.txt", T_NEW);
  mtime_at(root, "a/b/c", T_OLD);
  mtime_at(root, "a/link-rel", T_NEW);
  mtime_at(root, "a/b", T_NEW);
  mtime_at(root, "a/hl1", T_OLD);
  mtime_at(root, "a", T_OLD);
  mtime_at(root, "B", T_NEW);
  mtime_at(root, "big", T_OLD);
  mtime_at(root, "link-root", T_OLD);
  return root;
}

static const char *const plain_names_root =
    "B a/ a/b/ a/b/c/ a/b/c/deep.txt a/hl1 a/link-rel a-b a.b a_b big "
    "empty-dir/ fifo link-root null-dev z/ z/hl2 ";
static const char *const plain_names_user =
    "B a/ a/b/ a/b/c/ a/b/c/deep.txt a/hl1 a/link-rel a-b a.b a_b big "
    "empty-dir/ fifo link-root z/ z/hl2 ";

/* --- running the writer --- */

struct layer {
  struct layer_write_result res;
  struct cb_buf blob;
  bool ok;
};

static struct layer
write_layer(const char *dir, enum layer_compression c, int threads,
            enum tarwrite_mode mode, int64_t ts)
{
  struct layer_write_opts opts = { c, 0, threads, mode, ts };
  struct layer l = { .blob = CB_BUF_INIT };
  struct mem_sink m = { CB_BUF_INIT, 0 };
  struct cb_sink s = mem_sink_of(&m);
  struct cb_error *err = NULL;
  int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

  l.ok = fd >= 0 && layer_write(fd, &opts, &s, &l.res, &err) == 0;
  if (!l.ok)
    diag("layer_write: %s", err != NULL ? err->msg : strerror(errno));
  cb_error_free(err);
  if (fd >= 0)
    close(fd);
  l.blob = m.buf;
  return l;
}

static void
layer_release(struct layer *l)
{
  cb_buf_release(&l->blob);
}

static void
check_plain_entries(const struct tar *t)
{
  cleanup_free char *names = tar_names(t);
  const struct ent *e;
  struct cb_digest d;
  bool owners = true, times = true;

  is_str(names, is_root ? plain_names_root : plain_names_user,
         "entries: all there, parents first, siblings in byte order");
  for (size_t i = 0; i < t->n; i++) {
    owners &= !t->v[i].uname && !t->v[i].gname &&
              t->v[i].uid == (int64_t)getuid() &&
              t->v[i].gid == (int64_t)getgid();
    times &= !t->v[i].atime && !t->v[i].ctime && t->v[i].mtime_nsec == 0;
  }
  ok(owners, "owners: numeric ids of the files, no user or group names");
  ok(times, "times: whole-second mtimes, no atime, no ctime");

  e = tar_find(t, "big");
  cb_digest_of(big, BIG_LEN, &d);
  ok(e != NULL && e->size == BIG_LEN && cb_digest_equal(&e->content, &d),
     "big: 3 MiB of content, byte for byte");
  ok(e != NULL && e->mtime == T_OLD && (e->mode & 07777) == 0644,
     "big: mtime and mode");
  e = tar_find(t, "a-b");
  ok(e != NULL && S_ISREG(e->mode) && e->size == 0, "a-b: an empty file");
  e = tar_find(t, "a.b");
  ok(e != NULL && (e->mode & 07777) == 04755, "a.b: setuid kept");
  e = tar_find(t, "B");
  ok(e != NULL && (e->mode & 07777) == 0600 && e->mtime == T_NEW,
     "B: mode 0600 and its mtime");
  e = tar_find(t, "z/hl2");
  ok(e != NULL && e->hardlink != NULL && strcmp(e->hardlink, "a/hl1") == 0 &&
         e->size == 0,
     "z/hl2: a hard link to the first name, a/hl1, without data");
  e = tar_find(t, "a/hl1");
  ok(e != NULL && e->hardlink == NULL && e->size == 7,
     "a/hl1: the first name carries the data");
  e = tar_find(t, "link-root");
  ok(e != NULL && S_ISLNK(e->mode) && e->symlink != NULL &&
         strcmp(e->symlink, "/") == 0,
     "link-root: a symlink to / stays a symlink");
  e = tar_find(t, "a/link-rel");
  ok(e != NULL && S_ISLNK(e->mode) && strcmp(e->symlink, "b/c") == 0 &&
         e->mtime == T_NEW,
     "a/link-rel: target and mtime of the link itself");
  e = tar_find(t, "fifo");
  ok(e != NULL && S_ISFIFO(e->mode) && (e->mode & 07777) == 0620,
     "fifo: a fifo");
  e = tar_find(t, "a/b/c/");
  ok(e != NULL && S_ISDIR(e->mode) && e->mtime == T_OLD,
     "a/b/c/: a directory with its own mtime");
  if (is_root) {
    e = tar_find(t, "null-dev");
    ok(e != NULL && S_ISCHR(e->mode) && e->rmajor == 1 && e->rminor == 3,
       "null-dev: char device 1,3");
  } else {
    skip(1, "mknod needs root");
  }
}

static void
check_plain_xattrs(const struct tar *t)
{
  const struct ent *e;

  if (!have_user_xattr) {
    skip(2, "no user xattrs on this file system");
  } else {
    e = tar_find(t, "a.b");
    is_str(e != NULL ? e->xattrs : NULL, "user.test=value\n",
           "a.b: user.test kept, user.overlay.origin left out");
    e = tar_find(t, "a/b/");
    is_str(e != NULL ? e->xattrs : NULL, "user.dir=d\n",
           "a/b/: directory xattrs kept");
  }
  if (!have_cap) {
    skip(1, "security.capability needs root");
  } else {
    e = tar_find(t, "a_b");
    ok(e != NULL && strncmp(e->xattrs, "security.capability=", 20) == 0,
       "a_b: security.capability kept");
  }
  if (!have_link_xattr) {
    skip(1, "xattrs on a symlink need root");
  } else {
    e = tar_find(t, "link-root");
    is_str(e != NULL ? e->xattrs : NULL, "trusted.cb=1\n",
           "link-root: the xattrs of the link itself");
  }
}

/* The blob through the real tool gives back the tar whose sha256 is the
   diff_id.  */
static void
check_decompress(const struct layer *l, const struct layer *none,
                 char *const unpack[])
{
  struct cb_buf tar = CB_BUF_INIT;
  struct cb_digest d;
  const char *name = unpack[0];

  is_int(filter_through(unpack, scratch, l->blob.data, l->blob.len, &tar), 0,
         "%s: reads the blob", name);
  cb_digest_of(tar.data, tar.len, &d);
  ok(cb_digest_equal(&d, &l->res.diff_id),
     "%s: sha256 of its output is the diff_id", name);
  ok(tar.len == none->blob.len &&
         memcmp(tar.data, none->blob.data, tar.len) == 0,
     "%s: and it is the uncompressed layer, byte for byte", name);
  cb_digest_of(l->blob.data, l->blob.len, &d);
  ok(cb_digest_equal(&d, &l->res.digest) && l->res.size == l->blob.len,
     "%s: digest and size are those of the blob", name);
  cb_buf_release(&tar);
}

static void
test_plain(const char *root)
{
  char *gunzip[] = { (char *)"gzip", (char *)"-dc", NULL };
  char *unzstd[] = { (char *)"zstd", (char *)"-dcq", NULL };
  struct layer none =
      write_layer(root, LAYER_COMPRESS_NONE, 2, TARWRITE_PLAIN, -1);
  struct layer gz =
      write_layer(root, LAYER_COMPRESS_GZIP, 2, TARWRITE_PLAIN, -1);
  struct layer zs =
      write_layer(root, LAYER_COMPRESS_ZSTD, 2, TARWRITE_PLAIN, -1);
  struct tar t = { NULL, 0, false };
  struct cb_digest d;

  if (!ok(none.ok && gz.ok && zs.ok, "plain: written as none, gzip, zstd"))
    goto out;
  t = tar_read(none.blob.data, none.blob.len);
  ok(t.ok, "plain: libarchive reads the tar");
  check_plain_entries(&t);
  check_plain_xattrs(&t);

  cb_digest_of(none.blob.data, none.blob.len, &d);
  ok(cb_digest_equal(&d, &none.res.diff_id) &&
         cb_digest_equal(&d, &none.res.digest) &&
         none.res.tar_size == none.blob.len && none.res.size == none.blob.len,
     "none: diff_id = digest = sha256 of the bytes");
  ok(none.blob.len % 512 == 0, "none: whole 512-byte blocks");
  ok(cb_digest_equal(&gz.res.diff_id, &none.res.diff_id) &&
         cb_digest_equal(&zs.res.diff_id, &none.res.diff_id),
     "the same diff_id for none, gzip and zstd");
  ok(gz.res.tar_size == none.res.tar_size && gz.res.size < gz.res.tar_size,
     "gzip: smaller than the tar");
  is_str(none.res.media_type, "application/vnd.oci.image.layer.v1.tar",
         "none: media type");
  is_str(gz.res.media_type, "application/vnd.oci.image.layer.v1.tar+gzip",
         "gzip: media type");
  is_str(zs.res.media_type, "application/vnd.oci.image.layer.v1.tar+zstd",
         "zstd: media type");
  check_decompress(&gz, &none, gunzip);
  check_decompress(&zs, &none, unzstd);
  {
    cleanup_free char *path = at(scratch, "plain.tar");
    char *gnutar[] = { (char *)"tar", (char *)"-tf", path, NULL };

    write_file(path, none.blob.data, none.blob.len);
    is_int(run_cmd(gnutar, NULL, NULL), 0, "GNU tar lists it");
    unlink(path);
  }
out:
  tar_release(&t);
  layer_release(&none);
  layer_release(&gz);
  layer_release(&zs);
}

static void
test_determinism(const char *root)
{
  static const struct {
    enum layer_compression c;
    int threads;
  } runs[] = { { LAYER_COMPRESS_GZIP, 1 },
               { LAYER_COMPRESS_GZIP, 4 },
               { LAYER_COMPRESS_ZSTD, 1 },
               { LAYER_COMPRESS_ZSTD, 3 } };

  for (size_t i = 0; i < CB_N_ELEMENTS(runs); i++) {
    const char *name = layer_compression_name(runs[i].c);
    struct layer a = write_layer(root, runs[i].c, 2, TARWRITE_PLAIN, -1);
    struct layer b = write_layer(root, runs[i].c, 2, TARWRITE_PLAIN, -1);
    struct layer c =
        write_layer(root, runs[i].c, runs[i].threads, TARWRITE_PLAIN, -1);

    ok(a.ok && b.ok && cb_digest_equal(&a.res.digest, &b.res.digest) &&
           cb_digest_equal(&a.res.diff_id, &b.res.diff_id),
       "%s: the same tree twice, the same digests", name);
    ok(c.ok && cb_digest_equal(&a.res.digest, &c.res.digest),
       "%s: %d threads instead of 2, the same blob", name, runs[i].threads);
    layer_release(&a);
    layer_release(&b);
    layer_release(&c);
  }
}

static void
test_clamp(const char *root)
{
  struct layer l =
      write_layer(root, LAYER_COMPRESS_NONE, 2, TARWRITE_PLAIN, T_CLAMP);
  struct layer u =
      write_layer(root, LAYER_COMPRESS_NONE, 2, TARWRITE_PLAIN, -1);
  struct tar t = tar_read(l.blob.data, l.blob.len);
  const struct ent *e;
  bool none_later = true;

  ok(l.ok && t.ok, "clamp: written and read");
  for (size_t i = 0; i < t.n; i++)
    none_later &= t.v[i].mtime <= T_CLAMP;
  ok(none_later, "clamp: no mtime after the timestamp");
  e = tar_find(&t, "B");
  ok(e != NULL && e->mtime == T_CLAMP, "clamp: a later mtime becomes it");
  e = tar_find(&t, "big");
  ok(e != NULL && e->mtime == T_OLD, "clamp: an earlier mtime stays");
  ok(u.ok && !cb_digest_equal(&u.res.diff_id, &l.res.diff_id),
     "clamp: changes the diff_id");
  tar_release(&t);
  layer_release(&l);
  layer_release(&u);
}

/* --- overlay upper directories --- */

static int
pretend_whiteout(int dir_fd, const char *name, struct stat *st)
{
  int r = fstatat(dir_fd, name, st, AT_SYMLINK_NOFOLLOW);

  if (r == 0 && strcmp(name, "fake-gone") == 0) {
    st->st_mode = S_IFCHR;
    st->st_rdev = makedev(0, 0);
  }
  return r;
}

static void
test_overlay(void)
{
  char *root = at(scratch, "upper");
  bool opaque, trusted = false, real_wh = false;
  struct layer l, p;
  struct tar t = { NULL, 0, false }, tp = { NULL, 0, false };
  struct cb_buf want = CB_BUF_INIT;
  const struct ent *e;
  cleanup_free char *names = NULL;
  int (*saved)(int, const char *, struct stat *);

  mkdir_at(scratch, "upper");
  mkdir_at(root, "opq");
  mkdir_at(root, "notopq");
  mkdir_at(root, "topq");
  file_at(root, "keep", "k", 1, 0644);
  file_at(root, "fake-gone", "", 0, 0644);
  file_at(root, "opq/inside", "i", 1, 0644);
  opaque = xattr_at(root, "opq", "user.overlay.opaque", "y") &&
           xattr_at(root, "notopq", "user.overlay.opaque", "x");
  if (is_root) {
    cleanup_free char *wh = at(root, "gone");
    cleanup_free char *topq = at(root, "topq");

    real_wh = mknod(wh, S_IFCHR, makedev(0, 0)) == 0;
    trusted = setxattr(topq, "trusted.overlay.opaque", "y", 1, 0) == 0;
  }

  saved = tarwrite_lstat_hook;
  tarwrite_lstat_hook = pretend_whiteout;
  l = write_layer(root, LAYER_COMPRESS_NONE, 2, TARWRITE_OVERLAY, -1);
  p = write_layer(root, LAYER_COMPRESS_NONE, 2, TARWRITE_PLAIN, -1);
  tarwrite_lstat_hook = saved;
  if (!ok(l.ok && p.ok, "overlay: written in both modes"))
    goto out;
  t = tar_read(l.blob.data, l.blob.len);
  tp = tar_read(p.blob.data, p.blob.len);

  cb_buf_adds(&want, ".wh.fake-gone ");
  if (real_wh)
    cb_buf_adds(&want, ".wh.gone ");
  cb_buf_adds(&want, "keep notopq/ opq/ ");
  if (opaque)
    cb_buf_adds(&want, "opq/.wh..wh..opq ");
  cb_buf_adds(&want, "opq/inside topq/ ");
  if (trusted)
    cb_buf_adds(&want, "topq/.wh..wh..opq ");
  names = tar_names(&t);
  is_str(names, cb_buf_str(&want),
         "overlay: whiteouts renamed, opaque markers after their dirs");
  e = tar_find(&t, ".wh.fake-gone");
  ok(e != NULL && S_ISREG(e->mode) && (e->mode & 07777) == 0 && e->size == 0,
     "overlay: a whiteout is an empty regular file with mode 0");
  if (opaque) {
    e = tar_find(&t, "opq/.wh..wh..opq");
    ok(e != NULL && S_ISREG(e->mode) && e->size == 0,
       "overlay: the opaque marker is an empty regular file");
    e = tar_find(&t, "opq/");
    is_str(e != NULL ? e->xattrs : NULL, "",
           "overlay: no overlay xattr enters the layer");
  } else {
    skip(2, "no user xattrs on this file system");
  }
  if (!real_wh)
    skip(1, "a real 0/0 device needs root (mknod)");
  else
    ok(tar_find(&tp, "gone") != NULL && S_ISCHR(tar_find(&tp, "gone")->mode),
       "plain mode: a 0/0 device is just a device");
  ok(tar_find(&tp, "fake-gone") != NULL &&
         tar_find(&tp, ".wh.fake-gone") == NULL,
     "plain mode: no whiteouts");
  ok(tar_find(&tp, "opq/.wh..wh..opq") == NULL,
     "plain mode: no opaque markers");
out:
  tar_release(&t);
  tar_release(&tp);
  cb_buf_release(&want);
  layer_release(&l);
  layer_release(&p);
  free(root);
}

static void
test_rules(void)
{
  static const struct {
    mode_t mode;
    dev_t rdev;
    bool want;
  } st_rows[] = {
    { S_IFCHR, 0, true },      { S_IFCHR | 0644, 0, true },
    { S_IFCHR, 0x103, false }, { S_IFBLK, 0, false },
    { S_IFREG, 0, false },     { S_IFIFO, 0, false },
  };
  static const struct {
    const char *name, *value;
    enum tarwrite_xattr want;
  } x_rows[] = {
    { "user.overlay.opaque", "y", TARWRITE_XATTR_OPAQUE },
    { "trusted.overlay.opaque", "y", TARWRITE_XATTR_OPAQUE },
    { "trusted.overlay.opaque", "x", TARWRITE_XATTR_DROP },
    { "user.overlay.opaque", "yes", TARWRITE_XATTR_DROP },
    { "trusted.overlay.origin", "", TARWRITE_XATTR_DROP },
    { "user.overlay.impure", "y", TARWRITE_XATTR_DROP },
    { "trusted.overlay.redirect", "/a", TARWRITE_XATTR_UNSUPPORTED },
    { "user.overlay.metacopy", "", TARWRITE_XATTR_UNSUPPORTED },
    { "security.selinux", "system_u:object_r:x", TARWRITE_XATTR_DROP },
    { "security.capability", "\1", TARWRITE_XATTR_KEEP },
    { "user.overlayish", "y", TARWRITE_XATTR_KEEP },
    { "user.mime_type", "text/plain", TARWRITE_XATTR_KEEP },
    { "trusted.other", "y", TARWRITE_XATTR_KEEP },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(st_rows); i++) {
    struct stat st;

    memset(&st, 0, sizeof(st));
    st.st_mode = st_rows[i].mode;
    st.st_rdev = st_rows[i].rdev;
    is_int(tarwrite_is_whiteout(&st), st_rows[i].want,
           "whiteout: mode 0%o rdev 0x%x", (unsigned)st_rows[i].mode,
           (unsigned)st_rows[i].rdev);
  }
  for (size_t i = 0; i < CB_N_ELEMENTS(x_rows); i++)
    is_int(tarwrite_xattr_class(x_rows[i].name, x_rows[i].value,
                                strlen(x_rows[i].value)),
           x_rows[i].want, "xattr %s=%s", x_rows[i].name, x_rows[i].value);
}

/* Write ROOT and expect failure of KIND whose message has NEEDLE.  */
static void
expect_failure(const char *root, enum tarwrite_mode mode, struct mem_sink *m,
               enum cb_err_kind kind, const char *needle, const char *what)
{
  struct layer_write_opts opts = { LAYER_COMPRESS_GZIP, 0, 2, mode, -1 };
  struct layer_write_result res;
  struct mem_sink local = { CB_BUF_INIT, 0 };
  struct cb_sink s = mem_sink_of(m != NULL ? m : &local);
  struct cb_error *err = NULL;
  int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int r = layer_write(fd, &opts, &s, &res, &err);

  if (!ok(r < 0 && err != NULL && err->kind == kind &&
              strstr(err->msg, needle) != NULL,
          "%s", what) &&
      err != NULL)
    diag("error: %s", err->msg);
  cb_error_free(err);
  close(fd);
  cb_buf_release(&local.buf);
}

static void
test_refusals(const char *plain)
{
  cleanup_free char *wh = at(scratch, "wh");
  cleanup_free char *rd = at(scratch, "redirect");
  struct mem_sink small = { CB_BUF_INIT, 5000 };

  mkdir_at(scratch, "wh");
  mkdir_at(wh, "d");
  file_at(wh, "d/.wh.x", "", 0, 0644);
  expect_failure(wh, TARWRITE_PLAIN, NULL, CB_ERR_UNSUPPORTED, "'d/.wh.x'",
                 "a file named .wh.* is refused, naming it");

  mkdir_at(scratch, "redirect");
  mkdir_at(rd, "moved");
  if (xattr_at(rd, "moved", "user.overlay.redirect", "/old")) {
    expect_failure(rd, TARWRITE_OVERLAY, NULL, CB_ERR_UNSUPPORTED, "'moved'",
                   "overlay: a redirected directory is refused");
    struct layer l =
        write_layer(rd, LAYER_COMPRESS_NONE, 2, TARWRITE_PLAIN, -1);

    ok(l.ok, "plain: the same xattr is just left out");
    layer_release(&l);
  } else {
    skip(2, "no user xattrs on this file system");
  }

  expect_failure(plain, TARWRITE_PLAIN, &small, CB_ERR_SYSTEM, "test sink full",
                 "the sink's error comes back unchanged");
  cb_buf_release(&small.buf);
  {
    struct layer_write_opts opts = { LAYER_COMPRESS_ZSTD, 25, 2, TARWRITE_PLAIN,
                                     -1 };
    struct layer_write_result res;
    struct mem_sink m = { CB_BUF_INIT, 0 };
    struct cb_sink s = mem_sink_of(&m);
    struct cb_error *err = NULL;

    ok(layer_write(AT_FDCWD, &opts, &s, &res, &err) < 0 && err != NULL &&
           err->kind == CB_ERR_USAGE && m.buf.len == 0,
       "zstd level 25: a usage error before anything is written");
    cb_error_free(err);
  }
}

/* libarchive encodes names through the locale; the digest must not.  */
static void
test_locale(void)
{
  cleanup_free char *root = at(scratch, "names");
  struct layer a, b;

  mkdir_at(scratch, "names");
  file_at(root, "caf\xc3\xa9", "", 0, 0644);
  file_at(root, "bad\xff", "", 0, 0644);
  file_at(root,
          "long-name-that-is-longer-than-one-hundred-bytes-so-that-"
          "it-needs-a-pax-path-record-0123456789abcdef",
          "", 0, 0644);
  setlocale(LC_ALL, "C");
  a = write_layer(root, LAYER_COMPRESS_NONE, 2, TARWRITE_PLAIN, -1);
  if (setlocale(LC_ALL, "C.UTF-8") == NULL) {
    skip(2, "no C.UTF-8 locale");
  } else {
    struct tar t;

    b = write_layer(root, LAYER_COMPRESS_NONE, 2, TARWRITE_PLAIN, -1);
    ok(a.ok && b.ok && cb_digest_equal(&a.res.diff_id, &b.res.diff_id),
       "names: the same diff_id under LC_ALL=C and C.UTF-8");
    t = tar_read(b.blob.data, b.blob.len);
    ok(t.ok && tar_find(&t, "caf\xc3\xa9") != NULL &&
           tar_find(&t, "bad\xff") != NULL && t.n == 3,
       "names: UTF-8, non-UTF-8 and long names read back as they were");
    tar_release(&t);
    layer_release(&b);
  }
  setlocale(LC_ALL, "C");
  layer_release(&a);
}

static void
test_empty_tree(void)
{
  cleanup_free char *root = at(scratch, "empty");
  char *gunzip[] = { (char *)"gzip", (char *)"-dc", NULL };
  struct cb_buf tar = CB_BUF_INIT;
  struct layer l;

  mkdir_at(scratch, "empty");
  l = write_layer(root, LAYER_COMPRESS_GZIP, 2, TARWRITE_PLAIN, -1);
  ok(l.ok && l.res.tar_size == 1024,
     "empty tree: just the two end-of-archive blocks");
  is_int(filter_through(gunzip, scratch, l.blob.data, l.blob.len, &tar), 0,
         "empty tree: gzip reads it");
  is_int((long long)tar.len, 1024, "empty tree: 1024 bytes of tar");
  cb_buf_release(&tar);
  layer_release(&l);
}

/* ustar holds ids up to 07777777; larger ones need pax records.  */
static void
test_big_ids(void)
{
  cleanup_free char *root = at(scratch, "ids");
  cleanup_free char *f = NULL;
  struct layer l;
  struct tar t;
  const struct ent *e;

  if (!is_root) {
    skip(1, "chown to large ids needs root");
    return;
  }
  mkdir_at(scratch, "ids");
  file_at(root, "far", "", 0, 0644);
  f = at(root, "far");
  if (chown(f, 3000000, 4000000) < 0) {
    skip(1, "chown to large ids failed");
    return;
  }
  l = write_layer(root, LAYER_COMPRESS_NONE, 2, TARWRITE_PLAIN, -1);
  t = tar_read(l.blob.data, l.blob.len);
  e = tar_find(&t, "far");
  ok(e != NULL && e->uid == 3000000 && e->gid == 4000000,
     "ids: uid 3000000 and gid 4000000 read back");
  tar_release(&t);
  layer_release(&l);
}

/* LAYER_OWNER_XATTR is the entry's owner and is not written itself; a
   value that is not "UID:GID" is an error naming the file.  */
static void
test_recorded_owner(void)
{
  cleanup_free char *root = at(scratch, "recorded");
  static const char *const bad[] = { "1234", "1:2:3",        "-1:0",  "1:",
                                     ":1",   "4294967295:0", "12a:3", " 1:2" };
  struct layer l;
  struct tar t;
  const struct ent *e;

  mkdir_at(scratch, "recorded");
  mkdir_at(root, "d");
  file_at(root, "d/f", "x", 1, 0640);
  if (!xattr_at(root, "d/f", LAYER_OWNER_XATTR, "1234:1235") ||
      !xattr_at(root, "d", LAYER_OWNER_XATTR, "7:0")) {
    skip(5 + CB_N_ELEMENTS(bad), "no user xattrs on this file system");
    return;
  }
  l = write_layer(root, LAYER_COMPRESS_NONE, 2, TARWRITE_PLAIN, -1);
  t = tar_read(l.blob.data, l.blob.len);
  e = tar_find(&t, "d/f");
  ok(e != NULL && e->uid == 1234 && e->gid == 1235,
     "recorded: d/f is 1234:1235 in the layer");
  ok(e != NULL && (e->xattrs == NULL || *e->xattrs == '\0'),
     "recorded: and has no xattr");
  e = tar_find(&t, "d/");
  ok(e != NULL && e->uid == 7 && e->gid == 0, "recorded: d/ is 7:0");
  ok(e != NULL && (e->xattrs == NULL || *e->xattrs == '\0'),
     "recorded: d/ has no xattr either");
  ok(memmem(l.blob.data, l.blob.len, "cbuild.owner", 12) == NULL,
     "recorded: the name is nowhere in the tar");
  tar_release(&t);
  layer_release(&l);

  for (size_t i = 0; i < CB_N_ELEMENTS(bad); i++) {
    if (!xattr_at(root, "d/f", LAYER_OWNER_XATTR, bad[i]))
      exit(1);
    l = write_layer(root, LAYER_COMPRESS_NONE, 2, TARWRITE_PLAIN, -1);
    ok(!l.ok, "recorded: '%s' is refused", bad[i]);
    layer_release(&l);
  }
}

static void
test_depth(void)
{
  cleanup_free char *root = at(scratch, "deep");
  struct cb_buf p = CB_BUF_INIT;

  mkdir_at(scratch, "deep");
  cb_buf_adds(&p, root);
  for (int i = 0; i <= TARWRITE_MAX_DEPTH; i++) {
    cb_buf_adds(&p, "/d");
    if (mkdir(cb_buf_str(&p), 0755) < 0) {
      perror(cb_buf_str(&p));
      exit(1);
    }
  }
  expect_failure(root, TARWRITE_PLAIN, NULL, CB_ERR_UNSAFE, "nested deeper",
                 "directories nested too deep are refused");
  cb_buf_release(&p);
}

int
main(void)
{
  cleanup_free char *plain = NULL;

  setlocale(LC_ALL, "C");
  is_root = geteuid() == 0;
  scratch = scratch_dir("writer");
  big = cb_xmalloc(BIG_LEN);
  fill_text(big, BIG_LEN / 2, 5);
  fill_random(big + BIG_LEN / 2, BIG_LEN - BIG_LEN / 2, 11);

  test_rules();
  plain = build_plain();
  test_plain(plain);
  test_determinism(plain);
  test_clamp(plain);
  test_overlay();
  test_refusals(plain);
  test_locale();
  test_empty_tree();
  test_big_ids();
  test_recorded_owner();
  test_depth();

  rm_rf(scratch);
  free(scratch);
  free(big);
  return done_testing();
}
