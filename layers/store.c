#include "config.h"

#include "layers/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/mem.h"
#include "layers/layer.h"
#include "layers/oci.h"
#include "layers/store-internal.h"

#include "common/banned.h"

/* image-spec "OCI Image Layout": the oci-layout file.  */
static const char layout_json[] =
    "{\"imageLayoutVersion\":\"" OCI_MEDIA_LAYOUT_VERSION "\"}";

/* --- the default root --- */

static char *
passwd_home(void)
{
  struct passwd pw, *res = NULL;
  char buf[4096];

  if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) != 0 || res == NULL ||
      pw.pw_dir == NULL || pw.pw_dir[0] != '/')
    return NULL;
  return cb_xstrdup(pw.pw_dir);
}

char *
store_default_root_for(bool real_root)
{
  const char *root = getenv("CBUILD_ROOT");
  const char *xdg = getenv("XDG_DATA_HOME");
  const char *home = getenv("HOME");
  cleanup_free char *pw_home = NULL;

  if (root != NULL && root[0] != '\0')
    return cb_xstrdup(root);
  if (real_root)
    return cb_xstrdup("/var/lib/cbuild");
  /* XDG Base Directory spec: a relative path in $XDG_DATA_HOME is invalid
     and is ignored.  */
  if (xdg != NULL && xdg[0] == '/')
    return cb_xasprintf("%s/cbuild", xdg);
  if (home != NULL && home[0] == '/')
    return cb_xasprintf("%s/.local/share/cbuild", home);
  pw_home = passwd_home();
  if (pw_home == NULL)
    return NULL;
  return cb_xasprintf("%s/.local/share/cbuild", pw_home);
}

/* Real root is uid 0 in the initial user namespace, whose uid_map maps
   every id to itself.  Without /proc, trust the uid.  */
static bool
is_real_root(void)
{
  cleanup_free char *map = NULL;
  unsigned long inside, outside, count;
  size_t len;

  if (geteuid() != 0)
    return false;
  if (cb_read_file_at(AT_FDCWD, "/proc/self/uid_map", 4096, &map, &len, NULL) <
      0)
    return true;
  if (sscanf(map, "%lu %lu %lu", &inside, &outside, &count) != 3)
    return true;
  return inside == 0 && outside == 0 && count == 4294967295UL;
}

char *
layer_store_default_root(void)
{
  return store_default_root_for(is_real_root());
}

/* --- opening --- */

/* Create ROOT and its missing parents.  ROOT is the user's choice (an
   option or the environment), not input from an image, so it is used
   as a path here; everything below it goes through fds.  */
static int
mkdir_parents(const char *root, struct cb_error **err)
{
  cleanup_free char *path = cb_xstrdup(root);

  for (char *p = path + 1; *p != '\0'; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
      return cb_fail_errno(err, "cannot create '%s'", path);
    *p = '/';
  }
  if (mkdir(path, 0700) < 0 && errno != EEXIST)
    return cb_fail_errno(err, "cannot create '%s'", path);
  return 0;
}

static int
open_subdir(int dir_fd, const char *name, int flags, struct cb_error **err)
{
  int fd;

  if (mkdirat(dir_fd, name, 0755) < 0 && errno != EEXIST)
    return cb_fail_errno(err, "cannot create '%s'", name);
  fd = openat(dir_fd, name, flags | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return cb_fail_errno(err, "cannot open '%s'", name);
  return fd;
}

static int
make_dirs(struct layer_store *s, struct cb_error **err)
{
  cleanup_close int blobs = -1, unpacked = -1;

  blobs = open_subdir(s->root_fd, "blobs", O_PATH, err);
  if (blobs < 0)
    return -1;
  s->blobs_fd = open_subdir(blobs, "sha256", O_RDONLY, err);
  if (s->blobs_fd < 0)
    return cb_wrap(err, "blobs");
  s->tmp_fd = open_subdir(s->root_fd, "tmp", O_RDONLY, err);
  if (s->tmp_fd < 0)
    return -1;
  unpacked = open_subdir(s->root_fd, "unpacked", O_PATH, err);
  return unpacked < 0 ? -1 : 0;
}

static int
check_layout(struct layer_store *s, struct cb_error **err)
{
  cleanup_free char *buf = NULL;
  cleanup_json json_t *j = NULL;
  const json_t *v;
  size_t len;

  if (cb_read_file_at(s->root_fd, "oci-layout", 4096, &buf, &len, err) < 0)
    return -1;
  j = oci_json_parse_object(buf, len, 4096, "'oci-layout'", err);
  if (j == NULL)
    return -1;
  v = json_object_get(j, "imageLayoutVersion");
  if (!json_is_string(v) ||
      strcmp(json_string_value(v), OCI_MEDIA_LAYOUT_VERSION) != 0)
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "'oci-layout': unsupported image layout version "
                   "(want \"" OCI_MEDIA_LAYOUT_VERSION "\")");
  return 0;
}

static bool
exists_at(int dir_fd, const char *name)
{
  struct stat st;

  return fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Write oci-layout and an empty index.json if missing.  Under the lock,
   so that a store being filled by another process is never reset.  */
static int
make_layout_files(struct layer_store *s, struct cb_error **err)
{
  cleanup_oci_index struct oci_index *idx = NULL;
  cleanup_free char *text = NULL;
  size_t len;
  int r = 0;

  if (exists_at(s->root_fd, "oci-layout") &&
      exists_at(s->root_fd, "index.json"))
    return 0;
  if (layer_store_lock(s, err) < 0)
    return -1;
  if (!exists_at(s->root_fd, "oci-layout"))
    r = store_write_atomic(s, s->root_fd, "oci-layout", layout_json,
                           strlen(layout_json), err);
  if (r == 0 && !exists_at(s->root_fd, "index.json")) {
    idx = oci_index_new();
    text = oci_index_serialize(idx, &len);
    r = store_write_atomic(s, s->root_fd, "index.json", text, len, err);
  }
  layer_store_unlock(s);
  return r;
}

struct layer_store *
layer_store_open(const char *root, struct cb_error **err)
{
  cleanup_layer_store struct layer_store *s = cb_xcalloc(1, sizeof(*s));

  s->root = cb_xstrdup(root);
  s->root_fd = s->blobs_fd = s->tmp_fd = s->lock_fd = s->use_fd = -1;
  if (root[0] == '\0')
    return cb_fail_null(err, CB_ERR_USAGE, 0, "empty store path");
  if (mkdir_parents(root, err) < 0)
    return cb_wrap_null(err, "store '%s'", root);
  s->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (s->root_fd < 0)
    return cb_fail_null(err, CB_ERR_SYSTEM, errno, "cannot open store '%s'",
                        root);
  if (make_dirs(s, err) < 0)
    return cb_wrap_null(err, "store '%s'", root);
  /* Its errors name the store already.  */
  if (make_layout_files(s, err) < 0)
    return NULL;
  if (check_layout(s, err) < 0)
    return cb_wrap_null(err, "store '%s'", root);
  return steal_ptr(&s);
}

static void
close_fd(int *fd)
{
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

void
layer_store_free(struct layer_store *s)
{
  if (s == NULL)
    return;
  /* Closing the last fd of the lock's open file releases it.  */
  close_fd(&s->lock_fd);
  close_fd(&s->use_fd);
  close_fd(&s->tmp_fd);
  close_fd(&s->blobs_fd);
  close_fd(&s->root_fd);
  for (size_t i = 0; i < s->n_live; i++)
    free(s->live[i]);
  free(s->live);
  free(s->root);
  free(s);
}

void
layer_store_freep(struct layer_store **s)
{
  layer_store_free(*s);
  *s = NULL;
}

int
layer_store_root_fd(const struct layer_store *s)
{
  return s->root_fd;
}

const char *
layer_store_root(const struct layer_store *s)
{
  return s->root;
}

/* --- the writer lock --- */

/* A forked child shares the parent's open file description of the lock,
   and with it the parent's lock: it must take its own.  */
static void
forget_parent_lock(struct layer_store *s)
{
  if (s->lock_fd < 0 || s->lock_pid == getpid())
    return;
  close_fd(&s->lock_fd);
  s->lock_depth = 0;
  for (size_t i = 0; i < s->n_live; i++)
    free(s->live[i]);
  s->n_live = 0;
}

int
layer_store_lock(struct layer_store *s, struct cb_error **err)
{
  struct cb_error *clear_err = NULL;
  uint64_t removed = 0;

  forget_parent_lock(s);
  if (s->lock_depth > 0) {
    s->lock_depth++;
    return 0;
  }
  if (s->lock_fd < 0) {
    s->lock_fd = openat(s->root_fd, "lock",
                        O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (s->lock_fd < 0)
      return cb_fail_errno(err, "store '%s': cannot open 'lock'", s->root);
    s->lock_pid = getpid();
  }
  while (flock(s->lock_fd, LOCK_EX) < 0)
    if (errno != EINTR)
      return cb_fail_errno(err, "store '%s': cannot lock", s->root);
  s->lock_depth = 1;
  /* Only lock holders write to tmp/, so whatever is there now was left by
     a writer that died.  Failing to clear it costs space, not safety.  */
  if (store_tmp_clear(s, &removed, &clear_err) < 0) {
    cleanup_free char *text = cb_error_text(clear_err);

    cb_log(CB_LOG_WARN, "store '%s': cannot clear tmp/: %s", s->root, text);
    cb_error_free(clear_err);
  }
  s->tmp_cleared += removed;
  return 0;
}

void
layer_store_unlock(struct layer_store *s)
{
  if (s->lock_depth == 0 || s->lock_pid != getpid())
    return;
  if (--s->lock_depth == 0)
    flock(s->lock_fd, LOCK_UN);
}

/* --- tmp/ --- */

int
store_tmp_create(struct layer_store *s, const char *kind, bool dir, char **name,
                 struct cb_error **err)
{
  /* The lock keeps other processes out of tmp/, and litter was cleared
     when it was taken; a clash can only be with our own earlier names.  */
  for (int tries = 0; tries < 1000; tries++) {
    cleanup_free char *n =
        cb_xasprintf("%s-%ld-%lu", kind, (long)getpid(), ++s->seq);
    int fd;

    if (dir && mkdirat(s->tmp_fd, n, 0755) == 0)
      fd = openat(s->tmp_fd, n, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    else if (dir)
      fd = -1;
    else
      fd = openat(s->tmp_fd, n,
                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST)
      continue;
    if (fd < 0)
      return cb_fail_errno(err, "store '%s': cannot create 'tmp/%s'", s->root,
                           n);
    CB_GROW(s->live, s->alloc_live, s->n_live + 1);
    s->live[s->n_live++] = cb_xstrdup(n);
    *name = steal_ptr(&n);
    return fd;
  }
  return cb_fail(err, CB_ERR_SYSTEM, EEXIST,
                 "store '%s': cannot pick a name in tmp/", s->root);
}

void
store_tmp_forget(struct layer_store *s, const char *name)
{
  for (size_t i = 0; i < s->n_live; i++) {
    if (strcmp(s->live[i], name) != 0)
      continue;
    free(s->live[i]);
    s->live[i] = s->live[--s->n_live];
    return;
  }
}

bool
store_tmp_is_live(const struct layer_store *s, const char *name)
{
  for (size_t i = 0; i < s->n_live; i++)
    if (strcmp(s->live[i], name) == 0)
      return true;
  return false;
}

int
store_tmp_clear(struct layer_store *s, uint64_t *removed, struct cb_error **err)
{
  cleanup_strv char **names = cb_list_dir(s->tmp_fd, err);

  *removed = 0;
  if (names == NULL)
    return -1;
  for (size_t i = 0; names[i] != NULL; i++) {
    if (store_tmp_is_live(s, names[i]))
      continue;
    if (cb_remove_tree_at(s->tmp_fd, names[i], err) < 0)
      return cb_wrap(err, "tmp");
    (*removed)++;
  }
  return 0;
}

int
store_fsync_dir(int dir_fd, struct cb_error **err)
{
  cleanup_close int fd =
      openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    return cb_fail_errno(err, "cannot open directory");
  if (fsync(fd) < 0)
    return cb_fail_errno(err, "cannot fsync directory");
  return 0;
}

/* Replace NAME below DIR_FD through a tmp/ file and rename(2); when
   DURABLE, fsync the file before and the directory after.  */
static int
write_replace(struct layer_store *s, int dir_fd, const char *name,
              const void *data, size_t len, bool durable,
              struct cb_error **err)
{
  cleanup_free char *tmp = NULL;
  cleanup_close int fd = store_tmp_create(s, "file", false, &tmp, err);
  int r = -1;

  if (fd < 0)
    return -1;
  if (cb_write_all(fd, data, len, err) < 0)
    cb_wrap(err, "store '%s': cannot write '%s'", s->root, name);
  else if (durable && fsync(fd) < 0)
    cb_fail_errno(err, "store '%s': cannot fsync '%s'", s->root, name);
  else if (renameat(s->tmp_fd, tmp, dir_fd, name) < 0)
    cb_fail_errno(err, "store '%s': cannot replace '%s'", s->root, name);
  else if (durable && store_fsync_dir(dir_fd, err) < 0)
    cb_wrap(err, "store '%s': '%s'", s->root, name);
  else
    r = 0;
  if (r < 0)
    unlinkat(s->tmp_fd, tmp, 0);
  store_tmp_forget(s, tmp);
  return r;
}

int
store_write_atomic(struct layer_store *s, int dir_fd, const char *name,
                   const void *data, size_t len, struct cb_error **err)
{
  return write_replace(s, dir_fd, name, data, len, true, err);
}

int
store_write_nosync(struct layer_store *s, int dir_fd, const char *name,
                   const void *data, size_t len, struct cb_error **err)
{
  return write_replace(s, dir_fd, name, data, len, false, err);
}

/* --- blobs --- */

struct blob_writer {
  struct layer_store *s; /* borrowed; holds a lock reference for us */
  char *name;            /* owned, in tmp/ */
  int fd;
  struct cb_hasher *hasher;
  uint64_t size;
};

struct blob_writer *
layer_store_blob_begin(struct layer_store *s, struct cb_error **err)
{
  struct blob_writer *w;
  char *name = NULL;
  int fd;

  if (layer_store_lock(s, err) < 0)
    return NULL;
  fd = store_tmp_create(s, "blob", false, &name, err);
  if (fd < 0) {
    layer_store_unlock(s);
    return NULL;
  }
  w = cb_xcalloc(1, sizeof(*w));
  w->s = s;
  w->name = name;
  w->fd = fd;
  w->hasher = cb_hasher_new();
  return w;
}

int
blob_writer_write(struct blob_writer *w, const void *buf, size_t len,
                  struct cb_error **err)
{
  if (cb_write_all(w->fd, buf, len, err) < 0)
    return cb_wrap(err, "store '%s': blob 'tmp/%s'", w->s->root, w->name);
  cb_hasher_update(w->hasher, buf, len);
  w->size += len;
  return 0;
}

static int
blob_sink_write(void *data, const void *buf, size_t len, struct cb_error **err)
{
  return blob_writer_write(data, buf, len, err);
}

struct cb_sink
blob_writer_sink(struct blob_writer *w)
{
  return (struct cb_sink){ blob_sink_write, w };
}

/* Release W; its tmp file is removed unless it was renamed away.  */
static void
blob_writer_free(struct blob_writer *w, bool renamed)
{
  if (w->fd >= 0)
    close(w->fd);
  if (!renamed)
    unlinkat(w->s->tmp_fd, w->name, 0);
  store_tmp_forget(w->s, w->name);
  layer_store_unlock(w->s);
  cb_hasher_free(w->hasher);
  free(w->name);
  free(w);
}

static int
blob_check(struct blob_writer *w, const struct cb_digest *expected,
           struct cb_digest *got, struct cb_error **err)
{
  char want_s[CB_DIGEST_STR_LEN], got_s[CB_DIGEST_STR_LEN];

  if (fsync(w->fd) < 0)
    return cb_fail_errno(err, "store '%s': cannot fsync 'tmp/%s'", w->s->root,
                         w->name);
  cb_hasher_peek(w->hasher, got);
  if (expected == NULL || cb_digest_equal(expected, got))
    return 0;
  cb_digest_str(expected, want_s);
  cb_digest_str(got, got_s);
  return cb_fail(err, CB_ERR_DIGEST, 0,
                 "blob content does not match its digest: expected '%s', "
                 "got '%s'",
                 want_s, got_s);
}

int
blob_writer_commit(struct blob_writer *w, const struct cb_digest *expected,
                   struct cb_digest *digest, uint64_t *size,
                   struct cb_error **err)
{
  struct layer_store *s = w->s;
  char hex[CB_DIGEST_HEX_LEN + 1];
  struct cb_digest got;
  uint64_t n = w->size;
  int r;

  if (blob_check(w, expected, &got, err) < 0) {
    blob_writer_free(w, false);
    return -1;
  }
  cb_digest_hex(&got, hex);
  /* rename(2) is atomic: readers see no blob or the whole blob.  */
  if (renameat(s->tmp_fd, w->name, s->blobs_fd, hex) < 0) {
    cb_fail_errno(err, "store '%s': cannot store blob 'sha256:%s'", s->root,
                  hex);
    blob_writer_free(w, false);
    return -1;
  }
  /* Durable before the lock is dropped and someone may refer to it.  */
  r = store_fsync_dir(s->blobs_fd, err);
  blob_writer_free(w, true);
  if (r < 0)
    return cb_wrap(err, "store '%s': blobs", s->root);
  if (digest != NULL)
    *digest = got;
  if (size != NULL)
    *size = n;
  return 0;
}

void
blob_writer_abort(struct blob_writer *w)
{
  if (w != NULL)
    blob_writer_free(w, false);
}

/* Whether blobs/ holds D with exactly the LEN bytes at DATA.  Reading a
   small blob back costs far less than the two fsyncs of writing it.  */
static bool
blob_is(struct layer_store *s, const struct cb_digest *d, const void *data,
        size_t len)
{
  char hex[CB_DIGEST_HEX_LEN + 1];
  cleanup_close int fd = -1;
  cleanup_free char *have = NULL;
  struct cb_error *e = NULL;
  size_t n = 0;

  cb_digest_hex(d, hex);
  /* O_NONBLOCK: a FIFO planted there must not hang us.  */
  fd = openat(s->blobs_fd, hex,
              O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return false;
  if (cb_read_all(fd, len, &have, &n, &e) < 0) {
    cb_error_free(e); /* larger or unreadable: write it anew */
    return false;
  }
  return n == len && memcmp(have, data, len) == 0;
}

int
layer_store_put_blob(struct layer_store *s, const void *data, size_t len,
                     struct cb_digest *digest, struct cb_error **err)
{
  struct blob_writer *w;
  struct cb_digest d;

  /* A rebuild puts the same config and manifest again: leave an intact
     copy alone (a damaged one is still replaced).  */
  cb_digest_of(data, len, &d);
  if (blob_is(s, &d, data, len)) {
    if (digest != NULL)
      *digest = d;
    return 0;
  }
  w = layer_store_blob_begin(s, err);
  if (w == NULL)
    return -1;
  if (blob_writer_write(w, data, len, err) < 0) {
    blob_writer_abort(w);
    return -1;
  }
  return blob_writer_commit(w, NULL, digest, NULL, err);
}

bool
layer_store_has_blob(struct layer_store *s, const struct cb_digest *d)
{
  char hex[CB_DIGEST_HEX_LEN + 1];
  struct stat st;

  cb_digest_hex(d, hex);
  return fstatat(s->blobs_fd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISREG(st.st_mode);
}

int
layer_store_blob_open(struct layer_store *s, const struct cb_digest *d,
                      struct cb_error **err)
{
  char hex[CB_DIGEST_HEX_LEN + 1];
  int fd;

  cb_digest_hex(d, hex);
  fd = openat(s->blobs_fd, hex, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return cb_fail_errno(err, "store '%s': cannot open blob 'sha256:%s'",
                         s->root, hex);
  return fd;
}

int
layer_store_blob_read(struct layer_store *s, const struct cb_digest *d,
                      size_t max, char **buf, size_t *len,
                      struct cb_error **err)
{
  char want[CB_DIGEST_STR_LEN], got_s[CB_DIGEST_STR_LEN];
  cleanup_close int fd = layer_store_blob_open(s, d, err);
  cleanup_free char *data = NULL;
  struct cb_digest got;
  struct stat st;
  size_t n;

  if (fd < 0)
    return -1;
  cb_digest_str(d, want);
  if (fstat(fd, &st) < 0)
    return cb_fail_errno(err, "store '%s': blob '%s'", s->root, want);
  /* Refuse early on the size; cb_read_all bounds the read anyway.  */
  if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max)
    return cb_fail(err, CB_ERR_UNSAFE, 0,
                   "store '%s': blob '%s' is larger than %zu bytes", s->root,
                   want, max);
  if (cb_read_all(fd, max, &data, &n, err) < 0)
    return cb_wrap(err, "store '%s': blob '%s'", s->root, want);
  cb_digest_of(data, n, &got);
  if (!cb_digest_equal(&got, d)) {
    cb_digest_str(&got, got_s);
    return cb_fail(err, CB_ERR_DIGEST, 0,
                   "store '%s': blob '%s' is corrupt: its content hashes to "
                   "'%s'",
                   s->root, want, got_s);
  }
  *buf = steal_ptr(&data);
  *len = n;
  return 0;
}

/* --- unpacked layers --- */

int
layer_store_unpacked_open(struct layer_store *s,
                          const struct cb_digest *diff_id,
                          struct cb_error **err)
{
  char hex[CB_DIGEST_HEX_LEN + 1];
  cleanup_close int dir = -1;
  int fd;

  cb_digest_hex(diff_id, hex);
  dir = openat(s->root_fd, "unpacked",
               O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0)
    return cb_fail_errno(err, "store '%s': cannot open 'unpacked'", s->root);
  fd = openat(dir, hex, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return -1;
  if (fd < 0)
    return cb_fail_errno(err, "store '%s': cannot open 'unpacked/%s'", s->root,
                         hex);
  return fd;
}

struct unpacked_writer {
  struct layer_store *s; /* borrowed; holds a lock reference for us */
  char *name;            /* owned, in tmp/ */
  int fd;                /* O_PATH */
  char hex[CB_DIGEST_HEX_LEN + 1];
};

struct unpacked_writer *
layer_store_unpacked_begin(struct layer_store *s,
                           const struct cb_digest *diff_id,
                           struct cb_error **err)
{
  struct unpacked_writer *w;
  char *name = NULL;
  int fd;

  if (layer_store_lock(s, err) < 0)
    return NULL;
  fd = store_tmp_create(s, "unpack", true, &name, err);
  if (fd < 0) {
    layer_store_unlock(s);
    return NULL;
  }
  w = cb_xcalloc(1, sizeof(*w));
  w->s = s;
  w->name = name;
  w->fd = fd;
  cb_digest_hex(diff_id, w->hex);
  return w;
}

int
unpacked_writer_fd(const struct unpacked_writer *w)
{
  return w->fd;
}

static void
unpacked_writer_free(struct unpacked_writer *w, bool renamed)
{
  struct cb_error *err = NULL;

  if (w->fd >= 0)
    close(w->fd);
  if (!renamed && cb_remove_tree_at(w->s->tmp_fd, w->name, &err) < 0) {
    /* Litter: the next lock taker clears it.  */
    cb_log(CB_LOG_DEBUG, "store '%s': %s", w->s->root, err->msg);
    cb_error_free(err);
  }
  store_tmp_forget(w->s, w->name);
  layer_store_unlock(w->s);
  free(w->name);
  free(w);
}

/* Flush the extracted files before the rename makes them visible, so a
   crash cannot publish a tree of empty files.  One syncfs is much
   cheaper than an fsync per file.  */
static int
sync_tree(struct unpacked_writer *w, struct cb_error **err)
{
  cleanup_close int fd = openat(w->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0 || syncfs(fd) < 0)
    return cb_fail_errno(err, "store '%s': cannot sync 'tmp/%s'", w->s->root,
                         w->name);
  return 0;
}

static int
unpacked_publish(struct unpacked_writer *w, bool *renamed,
                 struct cb_error **err)
{
  struct layer_store *s = w->s;
  cleanup_close int dir = -1;

  dir = openat(s->root_fd, "unpacked",
               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0)
    return cb_fail_errno(err, "store '%s': cannot open 'unpacked'", s->root);
  if (sync_tree(w, err) < 0)
    return -1;
  if (renameat(s->tmp_fd, w->name, dir, w->hex) == 0)
    *renamed = true;
  /* A non-empty directory is already there: another writer won, and its
     tree holds the same layer.  */
  else if (errno != EEXIST && errno != ENOTEMPTY)
    return cb_fail_errno(err, "store '%s': cannot store 'unpacked/%s'", s->root,
                         w->hex);
  return store_fsync_dir(dir, err);
}

int
unpacked_writer_commit(struct unpacked_writer *w, struct cb_error **err)
{
  bool renamed = false;
  int r = unpacked_publish(w, &renamed, err);

  unpacked_writer_free(w, renamed);
  return r;
}

void
unpacked_writer_abort(struct unpacked_writer *w)
{
  if (w != NULL)
    unpacked_writer_free(w, false);
}

int
store_open_use_lock(struct layer_store *s, struct cb_error **err)
{
  int fd = openat(s->root_fd, "use.lock",
                  O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

  if (fd < 0)
    return cb_fail_errno(err, "store '%s': cannot open 'use.lock'", s->root);
  return fd;
}

int
layer_store_hold(struct layer_store *s, struct cb_error **err)
{
  if (s->use_fd >= 0)
    return 0;
  s->use_fd = store_open_use_lock(s, err);
  if (s->use_fd < 0)
    return -1;
  while (flock(s->use_fd, LOCK_SH) < 0)
    if (errno != EINTR)
      return cb_fail_errno(err, "store '%s': cannot lock 'use.lock'",
                           s->root);
  return 0;
}
