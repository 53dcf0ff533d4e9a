/* The content-addressed store: layout on disk, blobs in and out, tags in
   index.json, tmp/ litter, garbage collection, concurrent writers, and
   (when skopeo is installed) another OCI tool reading what we wrote.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/digest.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/mem.h"
#include "layers/layer.h"
#include "layers/oci.h"
#include "layers/store-internal.h"
#include "layers/store.h"
#include "tap.h"

#include "common/banned.h"

static char *tmp_base; /* this run's scratch directory */
static int n_stores;

/* --- helpers --- */

static void
die_on(struct cb_error *err, const char *what)
{
  if (err == NULL)
    return;
  printf("Bail out! %s: %s\n", what, err->msg);
  exit(1);
}

/* A fresh directory name (not created) below the scratch dir.  */
static char *
new_root(void)
{
  return cb_xasprintf("%s/store%d", tmp_base, ++n_stores);
}

static struct layer_store *
open_store(const char *root)
{
  struct cb_error *err = NULL;
  struct layer_store *s = layer_store_open(root, &err);

  die_on(err, "open store");
  return s;
}

static struct cb_digest
put(struct layer_store *s, const char *data, size_t len)
{
  struct cb_error *err = NULL;
  struct cb_digest d;

  layer_store_put_blob(s, data, len, &d, &err);
  die_on(err, "put blob");
  return d;
}

static struct cb_digest
put_str(struct layer_store *s, const char *data)
{
  return put(s, data, strlen(data));
}

static size_t
count_entries(int root_fd, const char *dir)
{
  cleanup_close int fd =
      openat(root_fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_strv char **names = fd >= 0 ? cb_list_dir(fd, NULL) : NULL;

  return names != NULL ? cb_strv_len(names) : (size_t)-1;
}

static bool
exists(int root_fd, const char *path)
{
  struct stat st;

  return fstatat(root_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool
blob_file_exists(struct layer_store *s, const struct cb_digest *d)
{
  char hex[CB_DIGEST_HEX_LEN + 1];
  cleanup_free char *path = NULL;

  cb_digest_hex(d, hex);
  path = cb_xasprintf("blobs/sha256/%s", hex);
  return exists(layer_store_root_fd(s), path);
}

static char *
read_at(int root_fd, const char *path, size_t *len)
{
  char *buf = NULL;
  size_t n = 0;

  if (cb_read_file_at(root_fd, path, 64u << 20, &buf, &n, NULL) < 0)
    return NULL;
  if (len != NULL)
    *len = n;
  return buf;
}

static void
write_at(int root_fd, const char *path, const char *content)
{
  cleanup_close int fd =
      openat(root_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  if (fd < 0 || cb_write_all(fd, content, strlen(content), NULL) < 0) {
    printf("Bail out! cannot write '%s'\n", path);
    exit(1);
  }
}

static json_t *
load_json_at(int root_fd, const char *path)
{
  cleanup_free char *buf = read_at(root_fd, path, NULL);

  return buf != NULL ? json_loads(buf, JSON_REJECT_DUPLICATES, NULL) : NULL;
}

static bool
err_is(struct cb_error *err, enum cb_err_kind kind, const char *part)
{
  bool r = err != NULL && err->kind == kind &&
           (part == NULL || strstr(err->msg, part) != NULL);

  if (!r && err != NULL)
    diag("error (kind %d): %s", (int)err->kind, err->msg);
  return r;
}

/* --- an image in the store --- */

struct image {
  struct cb_digest layers[2], diff_ids[2], config, manifest;
  uint64_t manifest_size;
  char *manifest_type; /* owned */
};

static void
image_release(struct image *img)
{
  free(img->manifest_type);
}

static void
add_descriptor(struct oci_manifest *m, bool config, const char *media_type,
               const struct cb_digest *d, uint64_t size)
{
  struct oci_descriptor desc;

  if (oci_descriptor_init(&desc, media_type, d, size, NULL) < 0)
    abort();
  if (config)
    oci_manifest_set_config(m, &desc);
  else
    oci_manifest_add_layer(m, &desc);
  oci_descriptor_release(&desc);
}

/* Two layers, a config listing their diff_ids, and a manifest (OCI, or
   Docker schema 2 with DOCKER), all stored; nothing tagged.  */
static void
build_image(struct layer_store *s, const char *seed, bool docker,
            struct image *img)
{
  cleanup_oci_manifest struct oci_manifest *m = oci_manifest_new();
  cleanup_json json_t *cfg = oci_config_new("linux", "amd64", NULL);
  cleanup_free char *cfg_text = NULL, *text = NULL;
  size_t cfg_len, len;

  memset(img, 0, sizeof(*img));
  for (int i = 0; i < 2; i++) {
    cleanup_free char *data = cb_xasprintf("layer %s %d", seed, i);
    cleanup_free char *diff = cb_xasprintf("diff %s %d", seed, i);
    struct oci_history h = { NULL, data, NULL, false };

    img->layers[i] = put_str(s, data);
    cb_digest_of(diff, strlen(diff), &img->diff_ids[i]);
    oci_config_add_layer(cfg, &img->diff_ids[i], &h, NULL);
    add_descriptor(m, false,
                   docker ? DOCKER_MEDIA_LAYER_GZIP : OCI_MEDIA_LAYER_GZIP,
                   &img->layers[i], strlen(data));
  }
  cfg_text = oci_json_dump(cfg, &cfg_len);
  img->config = put(s, cfg_text, cfg_len);
  add_descriptor(m, true, docker ? DOCKER_MEDIA_CONFIG : OCI_MEDIA_CONFIG,
                 &img->config, cfg_len);
  if (docker) {
    free(m->media_type);
    m->media_type = cb_xstrdup(DOCKER_MEDIA_MANIFEST);
  }
  text = oci_manifest_serialize(m, &len);
  img->manifest = put(s, text, len);
  img->manifest_size = len;
  img->manifest_type =
      cb_xstrdup(docker ? DOCKER_MEDIA_MANIFEST : OCI_MEDIA_MANIFEST);
}

static void
tag(struct layer_store *s, const char *name, const struct cb_digest *d,
    uint64_t size, const char *media_type)
{
  struct cb_error *err = NULL;

  layer_store_tag(s, name, d, size, media_type, &err);
  die_on(err, "tag");
}

static bool
image_present(struct layer_store *s, const struct image *img)
{
  return blob_file_exists(s, &img->manifest) &&
         blob_file_exists(s, &img->config) &&
         blob_file_exists(s, &img->layers[0]) &&
         blob_file_exists(s, &img->layers[1]);
}

/* --- tests --- */

static void
restore_env(const char *name, const char *value)
{
  if (value != NULL)
    setenv(name, value, 1);
  else
    unsetenv(name);
}

static void
test_default_root(void)
{
  cleanup_free char *saved_home = NULL, *saved_xdg = NULL, *saved_root = NULL;
  cleanup_free char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
  cleanup_free char *f = NULL, *g = NULL;

  if (getenv("HOME") != NULL)
    saved_home = cb_xstrdup(getenv("HOME"));
  if (getenv("XDG_DATA_HOME") != NULL)
    saved_xdg = cb_xstrdup(getenv("XDG_DATA_HOME"));
  if (getenv("CBUILD_ROOT") != NULL)
    saved_root = cb_xstrdup(getenv("CBUILD_ROOT"));
  setenv("CBUILD_ROOT", "/srv/cb", 1);
  a = store_default_root_for(false);
  is_str(a, "/srv/cb", "default root: $CBUILD_ROOT wins");
  b = store_default_root_for(true);
  is_str(b, "/srv/cb", "default root: $CBUILD_ROOT wins for root too");
  g = layer_store_default_root();
  is_str(g, "/srv/cb", "default root: the public function reads it too");
  setenv("CBUILD_ROOT", "", 1);
  setenv("XDG_DATA_HOME", "/xdg", 1);
  setenv("HOME", "/home/u", 1);
  c = store_default_root_for(true);
  is_str(c, "/var/lib/cbuild", "default root: real root, empty CBUILD_ROOT");
  d = store_default_root_for(false);
  is_str(d, "/xdg/cbuild", "default root: $XDG_DATA_HOME/cbuild");
  setenv("XDG_DATA_HOME", "relative/dir", 1);
  e = store_default_root_for(false);
  is_str(e, "/home/u/.local/share/cbuild",
         "default root: a relative $XDG_DATA_HOME is ignored");
  unsetenv("XDG_DATA_HOME");
  unsetenv("HOME");
  unsetenv("CBUILD_ROOT");
  f = store_default_root_for(false);
  ok(f == NULL || (f[0] == '/' && strstr(f, "/.local/share/cbuild") != NULL),
     "default root: without $HOME, the passwd home ('%s')", f ? f : "none");
  restore_env("HOME", saved_home);
  restore_env("XDG_DATA_HOME", saved_xdg);
  restore_env("CBUILD_ROOT", saved_root);
}

static void
test_layout(void)
{
  cleanup_free char *root = new_root();
  cleanup_free char *layout = NULL, *index1 = NULL, *index2 = NULL;
  cleanup_json json_t *idx = NULL;
  struct layer_store *s = open_store(root);
  int fd = layer_store_root_fd(s);

  is_str(layer_store_root(s), root, "layout: root path");
  layout = read_at(fd, "oci-layout", NULL);
  is_str(layout, "{\"imageLayoutVersion\":\"1.0.0\"}",
         "layout: oci-layout says 1.0.0");
  idx = load_json_at(fd, "index.json");
  ok(idx != NULL, "layout: index.json is JSON");
  is_int(json_integer_value(json_object_get(idx, "schemaVersion")), 2,
         "layout: index schemaVersion 2");
  is_str(json_string_value(json_object_get(idx, "mediaType")), OCI_MEDIA_INDEX,
         "layout: index mediaType");
  is_int((long long)json_array_size(json_object_get(idx, "manifests")), 0,
         "layout: no manifests yet");
  ok(exists(fd, "blobs/sha256") && exists(fd, "tmp") && exists(fd, "unpacked"),
     "layout: blobs/sha256, tmp and unpacked exist");
  index1 = read_at(fd, "index.json", NULL);
  layer_store_free(s);

  s = open_store(root);
  index2 = read_at(layer_store_root_fd(s), "index.json", NULL);
  is_str(index2, index1, "layout: opening again changes nothing");
  layer_store_free(s);

  {
    cleanup_free char *deep = cb_xasprintf("%s/a/b/c", root);
    struct layer_store *s2 = open_store(deep);

    ok(s2 != NULL, "layout: missing parents are created");
    layer_store_free(s2);
  }
}

static void
test_bad_layout(void)
{
  cleanup_free char *root = new_root();
  struct layer_store *s = open_store(root);
  struct cb_error *err = NULL;

  write_at(layer_store_root_fd(s), "oci-layout",
           "{\"imageLayoutVersion\":\"2.0.0\"}");
  layer_store_free(s);
  s = layer_store_open(root, &err);
  ok(s == NULL && err_is(err, CB_ERR_PARSE, "oci-layout"),
     "layout: an unknown layout version is refused");
  layer_store_free(s);
  cb_error_free(err);
}

static void
test_blob_writer(void)
{
  static const char a[] = "hello, ", b[] = "world";
  cleanup_free char *root = new_root();
  cleanup_layer_store struct layer_store *s = open_store(root);
  int fd = layer_store_root_fd(s);
  struct cb_digest want, got, wrong;
  struct cb_error *err = NULL;
  struct blob_writer *w;
  struct cb_sink sink;
  uint64_t size = 0;

  cb_digest_of("hello, world", 12, &want);
  w = layer_store_blob_begin(s, &err);
  ok(w != NULL, "writer: begin");
  is_int((long long)count_entries(fd, "tmp"), 1, "writer: one file in tmp/");
  blob_writer_write(w, a, strlen(a), &err);
  sink = blob_writer_sink(w);
  cb_sink_write(&sink, b, strlen(b), &err);
  is_int(blob_writer_commit(w, NULL, &got, &size, &err), 0,
         "writer: commit without an expected digest");
  ok(cb_digest_equal(&got, &want), "writer: digest of what was written");
  is_int((long long)size, 12, "writer: size");
  ok(blob_file_exists(s, &want), "writer: the blob is in blobs/sha256");
  is_int((long long)count_entries(fd, "tmp"), 0, "writer: tmp/ is empty");

  w = layer_store_blob_begin(s, &err);
  blob_writer_write(w, "hello, world", 12, &err);
  is_int(blob_writer_commit(w, &want, NULL, NULL, &err), 0,
         "writer: commit with the right expected digest (blob already there)");
  ok(err == NULL, "writer: no error so far");

  cb_digest_of("something else", 14, &wrong);
  w = layer_store_blob_begin(s, &err);
  blob_writer_write(w, "not what you expect", 19, &err);
  is_int(blob_writer_commit(w, &wrong, &got, NULL, &err), -1,
         "writer: commit with a wrong expected digest fails");
  ok(err_is(err, CB_ERR_DIGEST, "does not match"), "writer: as CB_ERR_DIGEST");
  cb_error_free(err);
  err = NULL;
  cb_digest_of("not what you expect", 19, &got);
  ok(!blob_file_exists(s, &wrong) && !blob_file_exists(s, &got),
     "writer: nothing stored under either digest");
  is_int((long long)count_entries(fd, "blobs/sha256"), 1,
         "writer: blobs/ holds only the good blob");
  is_int((long long)count_entries(fd, "tmp"), 0,
         "writer: tmp/ is empty after the mismatch");

  w = layer_store_blob_begin(s, &err);
  blob_writer_write(w, "dropped", 7, &err);
  blob_writer_abort(w);
  blob_writer_abort(NULL);
  is_int((long long)count_entries(fd, "tmp"), 0, "writer: abort cleans tmp/");
  is_int((long long)count_entries(fd, "blobs/sha256"), 1,
         "writer: abort stores nothing");
  is_int((long long)s->lock_depth, 0, "writer: the lock was given back");
}

static void
test_put_read(void)
{
  cleanup_free char *root = new_root();
  cleanup_layer_store struct layer_store *s = open_store(root);
  struct cb_digest d = put_str(s, "{\"a\":1}"), missing;
  cleanup_free char *buf = NULL;
  struct cb_error *err = NULL;
  size_t len = 0;
  int fd;

  ok(layer_store_has_blob(s, &d), "put: has_blob");
  is_int(layer_store_blob_read(s, &d, 100, &buf, &len, &err), 0,
         "read: a stored blob");
  is_str(buf, "{\"a\":1}", "read: its content");
  is_int((long long)len, 7, "read: its length");
  is_int(layer_store_blob_read(s, &d, 6, &buf, &len, &err), -1,
         "read: a blob over MAX is refused");
  ok(err_is(err, CB_ERR_UNSAFE, NULL), "read: as CB_ERR_UNSAFE");
  cb_error_free(err);
  err = NULL;

  cb_digest_of("absent", 6, &missing);
  ok(!layer_store_has_blob(s, &missing), "read: has_blob of a missing blob");
  fd = layer_store_blob_open(s, &missing, &err);
  ok(fd < 0 && err_is(err, CB_ERR_SYSTEM, "sha256:") && err->errnum == ENOENT,
     "read: opening a missing blob is ENOENT naming the digest");
  cb_error_free(err);
  err = NULL;
  fd = layer_store_blob_open(s, &d, &err);
  ok(fd >= 0, "read: blob_open gives an fd");
  if (fd >= 0)
    close(fd);
}

static void
test_tampered(void)
{
  cleanup_free char *root = new_root();
  cleanup_layer_store struct layer_store *s = open_store(root);
  struct cb_digest d = put_str(s, "original content");
  char hex[CB_DIGEST_HEX_LEN + 1];
  cleanup_free char *path = NULL, *buf = NULL;
  struct cb_error *err = NULL;
  size_t len;

  cb_digest_hex(&d, hex);
  path = cb_xasprintf("blobs/sha256/%s", hex);
  write_at(layer_store_root_fd(s), path, "tampered content");
  is_int(layer_store_blob_read(s, &d, 1024, &buf, &len, &err), -1,
         "tamper: reading a changed blob fails");
  ok(err_is(err, CB_ERR_DIGEST, hex), "tamper: CB_ERR_DIGEST naming it");
  ok(buf == NULL, "tamper: no buffer handed out");
  cb_error_free(err);
}

/* The inode of PATH below the store's root, 0 if it is missing.  */
static ino_t
inode_at(struct layer_store *s, const char *path)
{
  struct stat st;

  if (fstatat(layer_store_root_fd(s), path, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  return st.st_ino;
}

/* Putting a blob the store holds intact leaves the file alone (a rebuild
   puts the same config and manifest again); a damaged copy is replaced.  */
static void
test_put_again(void)
{
  cleanup_free char *root = new_root();
  cleanup_layer_store struct layer_store *s = open_store(root);
  struct cb_digest d = put_str(s, "the same config"), d2;
  char hex[CB_DIGEST_HEX_LEN + 1];
  cleanup_free char *path = NULL, *buf = NULL;
  struct cb_error *err = NULL;
  size_t len = 0;
  ino_t before;

  cb_digest_hex(&d, hex);
  path = cb_xasprintf("blobs/sha256/%s", hex);
  before = inode_at(s, path);
  d2 = put_str(s, "the same config");
  ok(cb_digest_equal(&d, &d2), "put again: the same digest");
  ok(before != 0 && inode_at(s, path) == before,
     "put again: the blob file was not rewritten");

  write_at(layer_store_root_fd(s), path, "the same config!");
  put_str(s, "the same config");
  is_int(layer_store_blob_read(s, &d, 100, &buf, &len, &err), 0,
         "put again: a blob with extra bytes is replaced");
  cb_error_free(err);
  err = NULL;
  free(steal_ptr(&buf));
  write_at(layer_store_root_fd(s), path, "the sane config");
  put_str(s, "the same config");
  is_int(layer_store_blob_read(s, &d, 100, &buf, &len, &err), 0,
         "put again: a blob of the same size but other bytes is replaced");
  cb_error_free(err);
}

/* Tagging the same image again does not rewrite index.json.  */
static void
test_tag_again(void)
{
  cleanup_free char *root = new_root();
  cleanup_layer_store struct layer_store *s = open_store(root);
  struct cb_digest m1 = put_str(s, "m1"), m2 = put_str(s, "m2");
  struct store_tag *tags = NULL;
  struct cb_error *err = NULL;
  size_t n = 0;
  ino_t before;

  tag(s, "a", &m1, 2, OCI_MEDIA_MANIFEST);
  tag(s, "b", &m2, 2, OCI_MEDIA_MANIFEST);
  before = inode_at(s, "index.json");
  tag(s, "a", &m1, 2, OCI_MEDIA_MANIFEST);
  ok(inode_at(s, "index.json") == before,
     "tag again: an unchanged tag leaves index.json alone");
  tag(s, "a", &m1, 2, DOCKER_MEDIA_MANIFEST);
  ok(inode_at(s, "index.json") != before,
     "tag again: another media type rewrites it");
  before = inode_at(s, "index.json");
  tag(s, "a", &m2, 2, DOCKER_MEDIA_MANIFEST);
  ok(inode_at(s, "index.json") != before,
     "tag again: another digest rewrites it");
  is_int(layer_store_tags(s, &tags, &n, &err), 0, "tag again: list");
  ok(n == 2 && strcmp(tags[0].name, "a") == 0 &&
         cb_digest_equal(&tags[0].manifest, &m2) &&
         strcmp(tags[0].media_type, DOCKER_MEDIA_MANIFEST) == 0,
     "tag again: the tag moved");
  store_tags_free(tags, n);
  cb_error_free(err);
}

static void
check_tag(const struct store_tag *t, const char *name,
          const struct cb_digest *d, const char *what)
{
  is_str(t->name, name, "%s: name", what);
  ok(cb_digest_equal(&t->manifest, d), "%s: digest", what);
}

static void
test_tags(void)
{
  cleanup_free char *root = new_root();
  cleanup_layer_store struct layer_store *s = open_store(root);
  struct cb_digest m1 = put_str(s, "m1"), m2 = put_str(s, "m2"),
                   m3 = put_str(s, "m3");
  cleanup_json json_t *idx = NULL;
  struct store_tag *tags = NULL;
  struct cb_error *err = NULL;
  bool found = false;
  size_t n = 0;

  tag(s, "localhost/a:1", &m1, 2, OCI_MEDIA_MANIFEST);
  tag(s, "b", &m2, 2, OCI_MEDIA_MANIFEST);
  tag(s, "c:latest", &m3, 2, OCI_MEDIA_INDEX);
  tag(s, "b", &m3, 2, OCI_MEDIA_MANIFEST);
  is_int(layer_store_tags(s, &tags, &n, &err), 0, "tags: list");
  is_int((long long)n, 3, "tags: three");
  if (n == 3) {
    check_tag(&tags[0], "localhost/a:1", &m1, "tags[0]");
    check_tag(&tags[1], "b", &m3, "tags[1] (replaced in place)");
    check_tag(&tags[2], "c:latest", &m3, "tags[2]");
    is_str(tags[2].media_type, OCI_MEDIA_INDEX, "tags[2]: media type");
    is_int((long long)tags[2].size, 2, "tags[2]: size");
  }
  store_tags_free(tags, n);

  idx = load_json_at(layer_store_root_fd(s), "index.json");
  ok(idx != NULL, "tags: index.json is valid JSON");
  is_str(
      json_string_value(json_object_get(
          json_object_get(json_array_get(json_object_get(idx, "manifests"), 0),
                          "annotations"),
          OCI_ANNOTATION_REF_NAME)),
      "localhost/a:1", "tags: the name is a ref.name annotation");

  is_int(layer_store_untag(s, "localhost/a:1", &found, &err), 0,
         "untag: remove a tag");
  ok(found, "untag: it was found");
  is_int(layer_store_untag(s, "localhost/a:1", &found, &err), 0,
         "untag: again");
  ok(!found, "untag: not found the second time");
  layer_store_tags(s, &tags, &n, &err);
  ok(n == 2 && strcmp(tags[0].name, "b") == 0 &&
         strcmp(tags[1].name, "c:latest") == 0,
     "untag: the others keep their order");
  store_tags_free(tags, n);
  ok(blob_file_exists(s, &m1), "untag: the blob stays until gc");
  ok(err == NULL, "tags: no error on the way");
  cb_error_free(err);
}

static void
test_bad_tags(void)
{
  static const char *const bad_names[] = {
    "",   "a b", "a//b",  "/a",        "a/",   "-a",   "a-",
    "a:", ":a",  "a---b", "A\xc3\xa9", "a\tb", "../x", "a/../b",
  };
  static const char *const good_names[] = { "a", "a--b", "a.b-c_d:1@x+y",
                                            "registry.example:5000/p/q:v1" };
  cleanup_free char *root = new_root();
  cleanup_layer_store struct layer_store *s = open_store(root);
  struct cb_digest m = put_str(s, "manifest"), absent;
  struct cb_error *err = NULL;

  for (size_t i = 0; i < CB_N_ELEMENTS(bad_names); i++) {
    is_int(layer_store_tag(s, bad_names[i], &m, 8, OCI_MEDIA_MANIFEST, &err),
           -1, "bad tag: refuse '%s'", bad_names[i]);
    ok(err_is(err, CB_ERR_USAGE, "invalid tag name"),
       "bad tag: '%s' is a usage error", bad_names[i]);
    cb_error_free(err);
    err = NULL;
  }
  for (size_t i = 0; i < CB_N_ELEMENTS(good_names); i++)
    is_int(layer_store_tag(s, good_names[i], &m, 8, OCI_MEDIA_MANIFEST, &err),
           0, "tag: accept '%s'", good_names[i]);
  is_int(layer_store_tag(s, "x", &m, 8, OCI_MEDIA_LAYER_GZIP, &err), -1,
         "bad tag: a layer media type is refused");
  ok(err_is(err, CB_ERR_USAGE, "media type"), "bad tag: as a usage error");
  cb_error_free(err);
  err = NULL;
  is_int(layer_store_tag(s, "x", &m, 9, OCI_MEDIA_MANIFEST, &err), -1,
         "bad tag: a wrong size is refused");
  ok(err_is(err, CB_ERR_USAGE, "bytes"), "bad tag: naming the sizes");
  cb_error_free(err);
  err = NULL;
  cb_digest_of("absent", 6, &absent);
  is_int(layer_store_tag(s, "x", &absent, 6, OCI_MEDIA_MANIFEST, &err), -1,
         "bad tag: a manifest that is not stored is refused");
  ok(err_is(err, CB_ERR_SYSTEM, "not in the store") && err->errnum == ENOENT,
     "bad tag: as ENOENT");
  cb_error_free(err);
}

/* Entries other tools put in index.json (no ref.name, other annotations)
   survive our rewrites.  */
static void
test_foreign_index_entries(void)
{
  cleanup_free char *root = new_root();
  cleanup_layer_store struct layer_store *s = open_store(root);
  struct cb_digest m = put_str(s, "m");
  char digest[CB_DIGEST_STR_LEN];
  cleanup_free char *index = NULL;
  cleanup_json json_t *j = NULL;
  struct store_tag *tags = NULL;
  struct cb_error *err = NULL;
  size_t n = 0;

  cb_digest_str(&m, digest);
  index = cb_xasprintf(
      "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\","
      "\"digest\":\"%s\",\"size\":1,\"annotations\":{\"vendor\":\"x\"},"
      "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}}]}",
      OCI_MEDIA_MANIFEST, digest);
  write_at(layer_store_root_fd(s), "index.json", index);
  tag(s, "mine", &m, 1, OCI_MEDIA_MANIFEST);
  layer_store_tags(s, &tags, &n, &err);
  ok(n == 1 && strcmp(tags[0].name, "mine") == 0,
     "foreign: only named entries are tags");
  store_tags_free(tags, n);
  j = load_json_at(layer_store_root_fd(s), "index.json");
  is_int((long long)json_array_size(json_object_get(j, "manifests")), 2,
         "foreign: the unnamed entry is kept");
  is_str(json_string_value(json_object_get(
             json_object_get(json_array_get(json_object_get(j, "manifests"), 0),
                             "platform"),
             "architecture")),
         "arm64", "foreign: with its platform");
  ok(err == NULL, "foreign: no error");
  cb_error_free(err);
}

static void
test_corrupt_index(void)
{
  cleanup_free char *root = new_root();
  cleanup_layer_store struct layer_store *s = open_store(root);
  struct cb_digest m = put_str(s, "m");
  cleanup_free char *want = cb_xasprintf("'%s/index.json'", root);
  struct store_tag *tags = NULL;
  struct store_gc_stats st;
  struct cb_error *err = NULL;
  size_t n = 0;

  write_at(layer_store_root_fd(s), "index.json", "{\"schemaVersion\":2,");
  is_int(layer_store_tags(s, &tags, &n, &err), -1,
         "corrupt index: listing tags fails");
  ok(err_is(err, CB_ERR_PARSE, want), "corrupt index: a parse error naming %s",
     want);
  diag("%s", err != NULL ? err->msg : "(none)");
  cb_error_free(err);
  err = NULL;
  is_int(layer_store_tag(s, "x", &m, 1, OCI_MEDIA_MANIFEST, &err), -1,
         "corrupt index: tagging fails");
  ok(err_is(err, CB_ERR_PARSE, want), "corrupt index: naming the file");
  cb_error_free(err);
  err = NULL;
  is_int(layer_store_gc(s, &st, &err), -1, "corrupt index: gc fails");
  ok(err_is(err, CB_ERR_PARSE, want), "corrupt index: gc names the file");
  ok(blob_file_exists(s, &m), "corrupt index: gc removed nothing");
  cb_error_free(err);
  err = NULL;

  write_at(layer_store_root_fd(s), "index.json",
           "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\","
           "\"digest\":\"sha256:../../etc/passwd\",\"size\":1}]}");
  is_int(layer_store_tags(s, &tags, &n, &err), -1,
         "corrupt index: a digest that is a path is refused");
  ok(err_is(err, CB_ERR_PARSE, "manifests[0].digest"),
     "corrupt index: naming the field");
  cb_error_free(err);
}

/* Files and a read-only directory in tmp/, as a killed writer leaves. */
static void
make_litter(int root_fd)
{
  mkdirat(root_fd, "tmp/unpack-dead", 0755);
  mkdirat(root_fd, "tmp/unpack-dead/ro", 0755);
  write_at(root_fd, "tmp/unpack-dead/ro/file", "x");
  fchmodat(root_fd, "tmp/unpack-dead/ro", 0555, 0);
  write_at(root_fd, "tmp/blob-1-1", "partial");
}

static void
test_litter(void)
{
  cleanup_free char *root = new_root();
  cleanup_free char *outside = cb_xasprintf("%s/outside", tmp_base);
  cleanup_free char *victim = cb_xasprintf("%s/victim", outside);
  cleanup_layer_store struct layer_store *s = open_store(root);
  int fd = layer_store_root_fd(s);
  struct cb_error *err = NULL;
  struct stat st;

  mkdir(outside, 0755);
  write_at(AT_FDCWD, victim, "keep me");
  make_litter(fd);
  symlinkat(outside, fd, "tmp/link-out");
  is_int((long long)count_entries(fd, "tmp"), 3, "litter: three entries");
  is_int(layer_store_lock(s, &err), 0, "litter: take the lock");
  is_int((long long)count_entries(fd, "tmp"), 0, "litter: tmp/ cleared");
  ok(stat(victim, &st) == 0, "litter: a symlink's target is not followed");
  is_int(layer_store_lock(s, &err), 0, "litter: nested lock");
  write_at(fd, "tmp/blob-2-2", "partial");
  layer_store_unlock(s);
  is_int((long long)count_entries(fd, "tmp"), 1,
         "litter: a nested lock does not clear tmp/");
  layer_store_unlock(s);
  layer_store_unlock(s); /* one too many: ignored */
  is_int((long long)s->lock_depth, 0, "litter: unlocked");
  ok(err == NULL, "litter: no error");
}

/* A manifest list (Docker) and an OCI index, each naming one image.  */
static struct cb_digest
put_index(struct layer_store *s, const char *media_type,
          const struct image *img, uint64_t *size)
{
  cleanup_oci_index struct oci_index *idx = oci_index_new();
  cleanup_free char *text = NULL;
  struct oci_descriptor d;
  size_t len;

  free(idx->media_type);
  idx->media_type = cb_xstrdup(media_type);
  oci_descriptor_init(&d, img->manifest_type, &img->manifest,
                      img->manifest_size, NULL);
  oci_descriptor_set_platform(&d, "linux", "amd64", NULL, NULL);
  oci_index_add(idx, &d);
  oci_descriptor_release(&d);
  text = oci_index_serialize(idx, &len);
  *size = len;
  return put(s, text, len);
}

static void
make_unpacked(int root_fd, const struct cb_digest *diff_id)
{
  char hex[CB_DIGEST_HEX_LEN + 1];
  cleanup_free char *dir = NULL, *sub = NULL, *file = NULL;

  cb_digest_hex(diff_id, hex);
  dir = cb_xasprintf("unpacked/%s", hex);
  sub = cb_xasprintf("%s/usr", dir);
  file = cb_xasprintf("%s/usr/file", dir);
  mkdirat(root_fd, dir, 0755);
  mkdirat(root_fd, sub, 0755);
  write_at(root_fd, file, "content");
  fchmodat(root_fd, sub, 0555, 0);
}

static bool
unpacked_exists(int root_fd, const struct cb_digest *diff_id)
{
  char hex[CB_DIGEST_HEX_LEN + 1];
  cleanup_free char *dir = NULL;

  cb_digest_hex(diff_id, hex);
  dir = cb_xasprintf("unpacked/%s", hex);
  return exists(root_fd, dir);
}

static void
test_gc(void)
{
  cleanup_free char *root = new_root();
  cleanup_layer_store struct layer_store *s = open_store(root);
  int fd = layer_store_root_fd(s);
  struct image img, nested, docker;
  struct cb_digest stray, stray_diff, list, index;
  uint64_t list_size, index_size;
  struct store_gc_stats st;
  struct cb_error *err = NULL;
  bool found;

  build_image(s, "main", false, &img);
  build_image(s, "nested", false, &nested);
  build_image(s, "docker", true, &docker);
  tag(s, "app:1", &img.manifest, img.manifest_size, OCI_MEDIA_MANIFEST);
  index = put_index(s, OCI_MEDIA_INDEX, &nested, &index_size);
  tag(s, "multi:1", &index, index_size, OCI_MEDIA_INDEX);
  list = put_index(s, DOCKER_MEDIA_MANIFEST_LIST, &docker, &list_size);
  tag(s, "docker:1", &list, list_size, DOCKER_MEDIA_MANIFEST_LIST);
  stray = put_str(s, "a stray blob nobody refers to");
  cb_digest_of("stray diff", 10, &stray_diff);
  make_unpacked(fd, &img.diff_ids[0]);
  make_unpacked(fd, &docker.diff_ids[1]);
  make_unpacked(fd, &stray_diff);
  make_litter(fd);
  write_at(fd, "blobs/sha256/not-a-digest", "left alone");

  is_int(layer_store_gc(s, &st, &err), 0, "gc: runs");
  is_int((long long)st.blobs_removed, 1, "gc: one blob removed");
  is_int((long long)st.blob_bytes, 29, "gc: its bytes counted");
  is_int((long long)st.unpacked_removed, 1, "gc: one unpacked dir removed");
  is_int((long long)st.tmp_removed, 2, "gc: tmp/ litter counted");
  ok(!blob_file_exists(s, &stray), "gc: the stray blob is gone");
  ok(image_present(s, &img), "gc: the tagged image is kept");
  ok(image_present(s, &nested) && blob_file_exists(s, &index),
     "gc: an image inside a tagged OCI index is kept");
  ok(image_present(s, &docker) && blob_file_exists(s, &list),
     "gc: a Docker schema 2 image inside a manifest list is kept");
  ok(unpacked_exists(fd, &img.diff_ids[0]) &&
         unpacked_exists(fd, &docker.diff_ids[1]),
     "gc: unpacked dirs of kept layers stay");
  ok(!unpacked_exists(fd, &stray_diff), "gc: the stray unpacked dir is gone");
  is_int((long long)count_entries(fd, "tmp"), 0, "gc: tmp/ is empty");
  ok(exists(fd, "blobs/sha256/not-a-digest"), "gc: odd names are left alone");

  layer_store_untag(s, "app:1", &found, &err);
  is_int(layer_store_gc(s, &st, &err), 0, "gc: again after untag");
  is_int((long long)st.blobs_removed, 4, "gc: the untagged image's 4 blobs");
  ok(!blob_file_exists(s, &img.manifest) && !blob_file_exists(s, &img.config),
     "gc: its manifest and config are gone");
  ok(!unpacked_exists(fd, &img.diff_ids[0]), "gc: and its unpacked dir");
  ok(image_present(s, &nested), "gc: the other images stay");
  ok(err == NULL, "gc: no error");
  image_release(&img);
  image_release(&nested);
  image_release(&docker);
}

/* A tagged manifest that does not parse: gc must stop before removing
   anything, since it cannot know what that manifest keeps.  */
static void
test_gc_bad_manifest(void)
{
  cleanup_free char *root = new_root();
  cleanup_layer_store struct layer_store *s = open_store(root);
  struct cb_digest bad = put_str(s, "{\"schemaVersion\":2}");
  struct cb_digest stray = put_str(s, "stray");
  struct store_gc_stats st;
  struct cb_error *err = NULL;
  char digest[CB_DIGEST_STR_LEN];

  cb_digest_str(&bad, digest);
  tag(s, "bad", &bad, 19, OCI_MEDIA_MANIFEST);
  is_int(layer_store_gc(s, &st, &err), -1, "gc: a broken manifest stops gc");
  ok(err_is(err, CB_ERR_PARSE, digest), "gc: the error names the manifest");
  ok(blob_file_exists(s, &stray), "gc: nothing was removed");
  is_int((long long)s->lock_depth, 0, "gc: the lock was given back");
  cb_error_free(err);
}

static void
test_unpacked_writer(void)
{
  cleanup_free char *root = new_root();
  cleanup_layer_store struct layer_store *s = open_store(root);
  int root_fd = layer_store_root_fd(s);
  struct cb_error *err = NULL;
  struct unpacked_writer *w;
  struct cb_digest diff;
  int fd;

  cb_digest_of("some layer", 10, &diff);
  fd = layer_store_unpacked_open(s, &diff, &err);
  ok(fd == -1 && err == NULL, "unpacked: absent is -1 without an error");

  for (int round = 0; round < 2; round++) {
    int file;

    w = layer_store_unpacked_begin(s, &diff, &err);
    ok(w != NULL, "unpacked: begin (%d)", round);
    if (w == NULL)
      return;
    file = cb_open_in_root(unpacked_writer_fd(w), "hello",
                           O_WRONLY | O_CREAT | O_EXCL, 0644, &err);
    cb_write_all(file, round ? "second" : "first", round ? 6 : 5, &err);
    close(file);
    is_int(unpacked_writer_commit(w, &err), 0, "unpacked: commit (%d)", round);
  }
  fd = layer_store_unpacked_open(s, &diff, &err);
  ok(fd >= 0, "unpacked: present after commit");
  {
    cleanup_free char *text = NULL;
    size_t len;
    int dir = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    cb_read_file_at(dir, "hello", 100, &text, &len, &err);
    is_str(text, "first", "unpacked: the first tree won; later ones dropped");
    close(dir);
  }
  close(fd);
  w = layer_store_unpacked_begin(s, &diff, &err);
  unpacked_writer_abort(w);
  is_int((long long)count_entries(root_fd, "tmp"), 0,
         "unpacked: tmp/ is empty");
  ok(err == NULL, "unpacked: no error");
  cb_error_free(err);
}

/* Make ROOT/d/d/d/... DEPTH deep, with files, symlinks to "/" and
   read-only (0500) directories on the way, as an extracted layer may
   have.  Each directory is made read-only once its entries exist.  */
static void
make_deep_tree(const char *root, int depth)
{
  int parent = -1, fd;

  mkdir(root, 0755);
  fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  for (int i = 0; i < depth; i++) {
    int next;

    mkdirat(fd, "d", 0755);
    next = openat(fd, "d", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (i % 50 == 0) {
      close(openat(next, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
      symlinkat("/", next, "up");
    }
    if (parent >= 0 && i % 7 == 0)
      fchmodat(parent, "d", 0500, 0);
    if (parent >= 0)
      close(parent);
    parent = fd;
    fd = next;
  }
  close(parent);
  close(fd);
}

/* A tree deeper than the fd limit is removed: one fd at a time.  */
static void
test_deep_tree(void)
{
  cleanup_free char *root = new_root();
  struct rlimit old, low = { 64, 64 };
  struct cb_error *err = NULL;

  make_deep_tree(root, 400);
  getrlimit(RLIMIT_NOFILE, &old);
  low.rlim_max = old.rlim_max;
  setrlimit(RLIMIT_NOFILE, &low);
  is_int(cb_remove_tree_at(AT_FDCWD, root, &err), 0,
         "rmtree: 400 levels with 64 fds");
  setrlimit(RLIMIT_NOFILE, &old);
  ok(!exists(AT_FDCWD, root), "rmtree: all gone");
  ok(exists(AT_FDCWD, "/bin") || exists(AT_FDCWD, "/usr"),
     "rmtree: symlinks to / were not followed");
  if (err != NULL)
    diag("%s", err->msg);
  cb_error_free(err);
}

/* --- concurrent writers --- */

#define N_WRITERS 2
#define N_BLOBS 50

static void
blob_content(int who, int i, struct cb_buf *b)
{
  for (int k = 0; k < 2048; k++)
    cb_buf_addf(b, "writer %d blob %d line %d\n", who, i, k);
}

static int
writer_child(const char *root, int who)
{
  struct cb_error *err = NULL;
  struct layer_store *s = layer_store_open(root, &err);

  for (int i = 0; s != NULL && i < N_BLOBS && err == NULL; i++) {
    struct cb_buf b = CB_BUF_INIT;
    struct blob_writer *w;
    struct cb_digest want, got;
    size_t half;

    blob_content(who, i, &b);
    cb_digest_of(b.data, b.len, &want);
    half = b.len / 2;
    w = layer_store_blob_begin(s, &err);
    /* Two writes with a pause: a reader gets a chance at a partial.  */
    if (w != NULL && blob_writer_write(w, b.data, half, &err) == 0) {
      usleep(200);
      blob_writer_write(w, b.data + half, b.len - half, &err);
    }
    if (w != NULL && err == NULL)
      blob_writer_commit(w, &want, &got, NULL, &err);
    else
      blob_writer_abort(w);
    if (err == NULL && i % 10 == 0) {
      cleanup_free char *name = cb_xasprintf("w%d:%d", who, i);

      layer_store_tag(s, name, &got, b.len, OCI_MEDIA_MANIFEST, &err);
    }
    cb_buf_release(&b);
  }
  if (err != NULL)
    fprintf(stderr, "writer %d: %s\n", who, err->msg);
  layer_store_free(s);
  return err == NULL ? 0 : 1;
}

/* Read every blob that appears, without the lock, until told to stop;
   each one must be whole.  */
static int
reader_child(const char *root, int stop_fd)
{
  struct cb_error *err = NULL;
  struct layer_store *s = layer_store_open(root, &err);
  int bad = 0;
  char c;

  for (int rounds = 0; s != NULL && bad == 0; rounds++) {
    cleanup_strv char **names = cb_list_dir(s->blobs_fd, &err);

    for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
      struct cb_digest d;
      cleanup_free char *buf = NULL;
      size_t len;

      if (cb_digest_parse_hex(names[i], &d, NULL) < 0 ||
          layer_store_blob_read(s, &d, 1u << 24, &buf, &len, &err) < 0)
        bad++;
    }
    if (read(stop_fd, &c, 1) == 0)
      break;
  }
  if (err != NULL)
    fprintf(stderr, "reader: %s\n", err->msg);
  layer_store_free(s);
  return s == NULL || bad > 0 ? 1 : 0;
}

static void
test_concurrent_writers(void)
{
  cleanup_free char *root = new_root();
  cleanup_layer_store struct layer_store *s = open_store(root);
  pid_t pids[N_WRITERS + 1];
  struct store_tag *tags = NULL;
  struct cb_error *err = NULL;
  int stop[2], failed = 0, intact = 0;
  size_t n = 0;

  if (pipe2(stop, O_CLOEXEC | O_NONBLOCK) < 0)
    abort();
  fflush(stdout);
  for (int who = 0; who <= N_WRITERS; who++) {
    pids[who] = fork();
    if (pids[who] == 0) {
      close(stop[1]);
      _exit(who < N_WRITERS ? writer_child(root, who)
                            : reader_child(root, stop[0]));
    }
  }
  close(stop[0]);
  for (int who = 0; who <= N_WRITERS; who++) {
    int status = 0;

    if (who == N_WRITERS)
      close(stop[1]); /* the writers are done: stop the reader */
    waitpid(pids[who], &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      failed++;
  }
  is_int(failed, 0, "concurrent: writers and the reader succeeded");
  for (int who = 0; who < N_WRITERS; who++) {
    for (int i = 0; i < N_BLOBS; i++) {
      struct cb_buf b = CB_BUF_INIT;
      struct cb_digest d;
      cleanup_free char *buf = NULL;
      size_t len;

      blob_content(who, i, &b);
      cb_digest_of(b.data, b.len, &d);
      if (layer_store_blob_read(s, &d, 1u << 24, &buf, &len, NULL) == 0)
        intact++;
      cb_buf_release(&b);
    }
  }
  is_int(intact, N_WRITERS * N_BLOBS, "concurrent: every blob landed whole");
  is_int((long long)count_entries(layer_store_root_fd(s), "blobs/sha256"),
         N_WRITERS * N_BLOBS, "concurrent: and nothing else is in blobs/");
  is_int((long long)count_entries(layer_store_root_fd(s), "tmp"), 0,
         "concurrent: tmp/ is empty");
  layer_store_tags(s, &tags, &n, &err);
  is_int((long long)n, N_WRITERS * N_BLOBS / 10,
         "concurrent: no tag was lost in index.json");
  store_tags_free(tags, n);
  cb_error_free(err);
}

/* --- another OCI tool reads our layout --- */

static char *
find_in_path(const char *prog)
{
  const char *path = getenv("PATH");
  cleanup_free char *copy = cb_xstrdup(path ? path : "/usr/bin:/bin");
  char *save = NULL;

  for (char *dir = strtok_r(copy, ":", &save); dir != NULL;
       dir = strtok_r(NULL, ":", &save)) {
    char *full = cb_xasprintf("%s/%s", dir, prog);

    if (access(full, X_OK) == 0)
      return full;
    free(full);
  }
  return NULL;
}

/* Run ARGV with stdout captured into *OUT; the exit status, or -1.  */
static int
run_capture(char *const argv[], char **out)
{
  int p[2], status = 0;
  size_t len;
  pid_t pid;

  *out = NULL;
  if (pipe2(p, O_CLOEXEC) < 0)
    return -1;
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    execv(argv[0], argv);
    _exit(127);
  }
  close(p[1]);
  if (cb_read_all(p[0], 16u << 20, out, &len, NULL) < 0)
    *out = NULL;
  close(p[0]);
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
    return -1;
  return WEXITSTATUS(status);
}

/* An image skopeo can read: one uncompressed layer (an empty tar, two
   zero blocks), so its digest is its diff_id.  */
static void
build_real_image(struct layer_store *s, struct cb_digest *manifest,
                 char **manifest_text, size_t *manifest_len)
{
  static const char empty_tar[1024];
  cleanup_oci_manifest struct oci_manifest *m = oci_manifest_new();
  cleanup_json json_t *cfg = oci_config_new("linux", "amd64", NULL);
  struct oci_history h = { "2024-01-01T00:00:00Z", "cbuild test", NULL, false };
  cleanup_free char *cfg_text = NULL;
  struct cb_digest layer, config;
  size_t cfg_len;

  layer = put(s, empty_tar, sizeof(empty_tar));
  oci_config_add_layer(cfg, &layer, &h, NULL);
  oci_config_set_created(cfg, 1704067200, NULL);
  oci_config_set(cfg, "Cmd", json_pack("[s]", "/bin/sh"), NULL);
  cfg_text = oci_json_dump(cfg, &cfg_len);
  config = put(s, cfg_text, cfg_len);
  add_descriptor(m, true, OCI_MEDIA_CONFIG, &config, cfg_len);
  add_descriptor(m, false, OCI_MEDIA_LAYER, &layer, sizeof(empty_tar));
  *manifest_text = oci_manifest_serialize(m, manifest_len);
  *manifest = put(s, *manifest_text, *manifest_len);
}

static void
test_skopeo(void)
{
  cleanup_free char *skopeo = find_in_path("skopeo");
  cleanup_free char *root = new_root();
  cleanup_free char *text = NULL, *raw = NULL, *info = NULL, *copied = NULL;
  cleanup_free char *ref = NULL, *dest = NULL, *dest_dir = NULL;
  struct layer_store *s;
  struct cb_digest manifest;
  size_t len;

  if (skopeo == NULL) {
    skip(4, "skopeo is not installed");
    return;
  }
  s = open_store(root);
  build_real_image(s, &manifest, &text, &len);
  tag(s, "localhost/cbuild-test:1", &manifest, len, OCI_MEDIA_MANIFEST);
  ref = cb_xasprintf("oci:%s:localhost/cbuild-test:1", root);
  dest_dir = cb_xasprintf("%s/copied", tmp_base);
  dest = cb_xasprintf("dir:%s", dest_dir);
  {
    char *const inspect_raw[] = { skopeo, "inspect", "--raw", ref, NULL };
    char *const inspect[] = { skopeo, "inspect", ref, NULL };
    char *const copy[] = { skopeo, "--insecure-policy", "copy", "-q", ref, dest,
                           NULL };

    is_int(run_capture(inspect_raw, &raw), 0, "skopeo: inspect --raw");
    is_str(raw, text, "skopeo: returns the manifest we wrote, byte for byte");
    is_int(run_capture(inspect, &info), 0, "skopeo: inspect (reads config)");
    is_int(run_capture(copy, &copied), 0,
           "skopeo: copy to dir: (verifies every blob)");
  }
  if (info != NULL && strstr(info, "\"Architecture\": \"amd64\"") == NULL)
    diag("skopeo inspect said: %s", info);
  layer_store_free(s);
}

int
main(void)
{
  const char *tmpdir = getenv("TMPDIR");
  struct cb_error *err = NULL;

  tmp_base = cb_xasprintf("%s/cb-store-XXXXXX",
                          tmpdir != NULL && *tmpdir != '\0' ? tmpdir : "/tmp");
  if (mkdtemp(tmp_base) == NULL) {
    printf("Bail out! mkdtemp: %s\n", strerror(errno));
    return 1;
  }
  test_default_root();
  test_layout();
  test_bad_layout();
  test_blob_writer();
  test_put_read();
  test_tampered();
  test_put_again();
  test_tags();
  test_tag_again();
  test_bad_tags();
  test_foreign_index_entries();
  test_corrupt_index();
  test_litter();
  test_gc();
  test_gc_bad_manifest();
  test_unpacked_writer();
  test_deep_tree();
  test_concurrent_writers();
  test_skopeo();
  if (cb_remove_tree_at(AT_FDCWD, tmp_base, &err) < 0)
    diag("cannot remove '%s': %s", tmp_base, err->msg);
  cb_error_free(err);
  free(tmp_base);
  return done_testing();
}
