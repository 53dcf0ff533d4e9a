#include "config.h"

#include "layers/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/mem.h"
#include "layers/layer.h"
#include "layers/oci.h"
#include "common/banned.h"

#define COPY_CHUNK (1u << 20)
/* A docker-archive lists its files in manifest.json; more files than this
   in one archive is not an image.  */
#define ARCHIVE_MAX_FILES 100000

int
archive_format_parse(const char *name, enum archive_format *f,
                     struct cb_error **err)
{
  if (strcmp(name, "oci-archive") == 0)
    *f = ARCHIVE_OCI;
  else if (strcmp(name, "docker-archive") == 0)
    *f = ARCHIVE_DOCKER;
  else if (strcmp(name, "oci-dir") == 0)
    *f = ARCHIVE_OCI_DIR;
  else
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "unknown format '%s' (oci-archive, docker-archive, oci-dir)",
                   name);
  return 0;
}

/* libarchive's own failures (a bad format, a truncated archive) come with
   EILSEQ (ARCHIVE_ERRNO_FILE_FORMAT), EINVAL or -1: a parse error, and no
   strerror() after libarchive's message.  */
static int
archive_fail(struct archive *a, struct cb_error **err, const char *what)
{
  int e = archive_errno(a);

  if (e == EILSEQ || e == EINVAL)
    e = 0;
  return cb_fail(err, e > 0 ? CB_ERR_SYSTEM : CB_ERR_PARSE, e > 0 ? e : 0,
                 "%s: %s", what,
                 archive_error_string(a) ? archive_error_string(a)
                                         : "archive error");
}

/* ------------------------------------------------------------ writing */

/* Where a layout's files go: a tar (oci-archive, docker-archive) or a
   directory (oci-dir).  */
struct out {
  struct archive *tar; /* or NULL */
  int dir_fd;          /* for oci-dir */
};

static int
out_begin_file(struct out *o, const char *name, uint64_t size, int *fd,
               struct cb_error **err)
{
  struct archive_entry *e;
  int rc;

  if (o->tar == NULL) {
    *fd = openat(o->dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                 0644);
    return *fd < 0 ? cb_fail_errno(err, "cannot create '%s'", name) : 0;
  }
  e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, (la_int64_t)size);
  rc = archive_write_header(o->tar, e);
  archive_entry_free(e);
  *fd = -1;
  if (rc != ARCHIVE_OK)
    return archive_fail(o->tar, err, name);
  return 0;
}

/* Directories get entries of their own: a reader that has to invent a
   missing parent (skopeo's, as an ordinary user) fails to chown it.  */
static int
out_dir(struct out *o, const char *name, struct cb_error **err)
{
  struct archive_entry *e;
  int rc;

  if (o->tar == NULL) {
    if (mkdirat(o->dir_fd, name, 0755) < 0)
      return cb_fail_errno(err, "cannot create '%s'", name);
    return 0;
  }
  e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, AE_IFDIR);
  archive_entry_set_perm(e, 0755);
  rc = archive_write_header(o->tar, e);
  archive_entry_free(e);
  if (rc != ARCHIVE_OK)
    return archive_fail(o->tar, err, name);
  return 0;
}

static int
out_write(struct out *o, int fd, const void *buf, size_t len,
          struct cb_error **err)
{
  if (o->tar == NULL)
    return cb_write_all(fd, buf, len, err);
  if (archive_write_data(o->tar, buf, len) != (la_ssize_t)len)
    return archive_fail(o->tar, err, "write");
  return 0;
}

static int
out_file(struct out *o, const char *name, const void *data, size_t len,
         struct cb_error **err)
{
  cleanup_close int fd = -1;

  if (out_begin_file(o, name, len, &fd, err) < 0 ||
      out_write(o, fd, data, len, err) < 0)
    return cb_wrap(err, "'%s'", name);
  return 0;
}

/* Copy a blob from the store, streaming.  */
static int
out_blob(struct out *o, struct layer_store *s, const char *name,
         const struct cb_digest *d, uint64_t size, struct cb_error **err)
{
  cleanup_close int in = layer_store_blob_open(s, d, err);
  cleanup_close int fd = -1;
  cleanup_free char *buf = NULL;
  uint64_t left = size;

  if (in < 0 || out_begin_file(o, name, size, &fd, err) < 0)
    return -1;
  buf = cb_xmalloc(COPY_CHUNK);
  while (left > 0) {
    ssize_t n = read(in, buf, left < COPY_CHUNK ? left : COPY_CHUNK);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return cb_fail_errno(err, "read blob for '%s'", name);
    if (n == 0)
      return cb_fail(err, CB_ERR_DIGEST, 0,
                     "blob for '%s' is shorter than its descriptor", name);
    if (out_write(o, fd, buf, (size_t)n, err) < 0)
      return -1;
    left -= (uint64_t)n;
  }
  return 0;
}

static char *
blob_path(const struct cb_digest *d)
{
  char hex[CB_DIGEST_HEX_LEN + 1];

  cb_digest_hex(d, hex);
  return cb_xasprintf("blobs/sha256/%s", hex);
}

static int
out_blob_at_path(struct out *o, struct layer_store *s,
                 const struct cb_digest *d, uint64_t size,
                 struct cb_error **err)
{
  cleanup_free char *path = blob_path(d);

  return out_blob(o, s, path, d, size, err);
}

static char *
oci_index_text(const struct store_image *img, const char *name, size_t *len,
               struct cb_error **err)
{
  cleanup_oci_index struct oci_index *idx = oci_index_new();
  struct oci_descriptor d;

  if (oci_descriptor_init(&d, img->manifest->media_type,
                          &img->manifest_digest, img->manifest_size, err) < 0)
    return NULL;
  if (name != NULL &&
      oci_descriptor_annotate(&d, OCI_ANNOTATION_REF_NAME, name, err) < 0) {
    oci_descriptor_release(&d);
    return NULL;
  }
  oci_index_add(idx, &d);
  oci_descriptor_release(&d);
  return oci_index_serialize(idx, len);
}

static int
write_oci_layout(struct out *o, struct layer_store *s,
                 const struct store_image *img, const char *name,
                 struct cb_error **err)
{
  static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  const struct oci_manifest *m = img->manifest;
  cleanup_free char *index = NULL;
  size_t ilen = 0;

  index = oci_index_text(img, name, &ilen, err);
  if (index == NULL)
    return -1;
  if (out_dir(o, "blobs", err) < 0 || out_dir(o, "blobs/sha256", err) < 0 ||
      out_file(o, "oci-layout", layout, sizeof(layout) - 1, err) < 0 ||
      out_file(o, "index.json", index, ilen, err) < 0 ||
      out_blob_at_path(o, s, &img->manifest_digest, img->manifest_size, err) <
        0 ||
      out_blob_at_path(o, s, &m->config.digest, m->config.size, err) < 0)
    return -1;
  for (size_t i = 0; i < m->n_layers; i++) {
    if (out_blob_at_path(o, s, &m->layers[i].digest, m->layers[i].size, err) <
        0)
      return -1;
  }
  return 0;
}

static char *
docker_manifest_text(const struct store_image *img, const char *name,
                     size_t *len)
{
  const struct oci_manifest *m = img->manifest;
  json_t *entry = json_object();
  json_t *layers = json_array();
  json_t *tags = json_array();
  json_t *all = json_array();
  char hex[CB_DIGEST_HEX_LEN + 1];
  char *text;

  cb_digest_hex(&m->config.digest, hex);
  json_object_set_new(entry, "Config", json_sprintf("%s.json", hex));
  if (name != NULL)
    json_array_append_new(tags, json_string(name));
  json_object_set_new(entry, "RepoTags", tags);
  for (size_t i = 0; i < m->n_layers; i++) {
    cb_digest_hex(&m->layers[i].digest, hex);
    json_array_append_new(layers, json_sprintf("%s.tar", hex));
  }
  json_object_set_new(entry, "Layers", layers);
  json_array_append_new(all, entry);
  text = oci_json_dump(all, len);
  json_decref(all);
  return text;
}

static int
write_docker_archive(struct out *o, struct layer_store *s,
                     const struct store_image *img, const char *name,
                     struct cb_error **err)
{
  const struct oci_manifest *m = img->manifest;
  cleanup_free char *manifest = NULL;
  char hex[CB_DIGEST_HEX_LEN + 1], path[CB_DIGEST_HEX_LEN + 8];
  size_t mlen = 0;

  cb_digest_hex(&m->config.digest, hex);
  snprintf(path, sizeof(path), "%s.json", hex);
  if (out_blob(o, s, path, &m->config.digest, m->config.size, err) < 0)
    return -1;
  for (size_t i = 0; i < m->n_layers; i++) {
    cb_digest_hex(&m->layers[i].digest, hex);
    snprintf(path, sizeof(path), "%s.tar", hex);
    if (out_blob(o, s, path, &m->layers[i].digest, m->layers[i].size, err) <
        0)
      return -1;
  }
  manifest = docker_manifest_text(img, name, &mlen);
  return out_file(o, "manifest.json", manifest, mlen, err);
}

static int
write_layout(struct out *o, struct layer_store *s,
             const struct store_image *img, const char *name,
             enum archive_format format, struct cb_error **err)
{
  if (format == ARCHIVE_DOCKER)
    return write_docker_archive(o, s, img, name, err);
  return write_oci_layout(o, s, img, name, err);
}

static int
save_tar(struct layer_store *s, const struct store_image *img,
         const char *name, enum archive_format format, const char *dest,
         struct cb_error **err)
{
  cleanup_free char *tmp = cb_xasprintf("%s.tmp-XXXXXX", dest);
  struct out o = { archive_write_new(), -1 };
  int fd = mkostemp(tmp, O_CLOEXEC);
  int rc = -1;

  if (fd < 0) {
    archive_write_free(o.tar);
    return cb_fail_errno(err, "cannot create '%s'", dest);
  }
  fchmod(fd, 0644);
  if (archive_write_set_format_pax_restricted(o.tar) != ARCHIVE_OK ||
      archive_write_open_fd(o.tar, fd) != ARCHIVE_OK)
    archive_fail(o.tar, err, dest);
  else if (write_layout(&o, s, img, name, format, err) == 0)
    rc = 0;
  if (rc == 0 && archive_write_close(o.tar) != ARCHIVE_OK)
    rc = archive_fail(o.tar, err, dest);
  archive_write_free(o.tar);
  if (rc == 0 && fsync(fd) < 0)
    rc = cb_fail_errno(err, "cannot write '%s'", dest);
  close(fd);
  if (rc == 0 && rename(tmp, dest) < 0)
    rc = cb_fail_errno(err, "cannot rename to '%s'", dest);
  if (rc < 0)
    unlink(tmp);
  return rc;
}

static int
save_dir(struct layer_store *s, const struct store_image *img,
         const char *name, const char *dest, struct cb_error **err)
{
  cleanup_free char *tmp = cb_xasprintf("%s.tmp-XXXXXX", dest);
  struct out o = { NULL, -1 };
  struct stat st;
  int rc;

  if (lstat(dest, &st) == 0)
    return cb_fail(err, CB_ERR_USAGE, 0, "'%s' already exists", dest);
  if (mkdtemp(tmp) == NULL)
    return cb_fail_errno(err, "cannot create '%s'", dest);
  chmod(tmp, 0755);
  o.dir_fd = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
  rc = o.dir_fd < 0 ? cb_fail_errno(err, "cannot open '%s'", tmp)
                    : write_oci_layout(&o, s, img, name, err);
  if (o.dir_fd >= 0)
    close(o.dir_fd);
  if (rc == 0 && rename(tmp, dest) < 0)
    rc = cb_fail_errno(err, "cannot rename to '%s'", dest);
  if (rc < 0)
    cb_remove_tree_at(AT_FDCWD, tmp, NULL);
  return rc;
}

int
layer_store_save(struct layer_store *s, const struct store_image *img,
                 const char *name, enum archive_format format,
                 const char *dest, struct cb_error **err)
{
  if (format == ARCHIVE_OCI_DIR)
    return save_dir(s, img, name, dest, err);
  return save_tar(s, img, name, format, dest, err);
}

/* ------------------------------------------------------------ reading */

/* An image found in the archive.  */
struct pending {
  struct cb_digest manifest;
  uint64_t size;
  char *media_type; /* owned */
  char *name;       /* owned; NULL when the archive gives none */
};

/* A file of the archive that went into the store as a blob.  */
struct loaded_file {
  char *name; /* path in the archive, "./" removed; owned */
  struct cb_digest digest;
  uint64_t size;
  enum layer_compression compression; /* from its first bytes */
};

struct loader {
  struct layer_store *s;
  struct archive *a;
  int fd;
  const char *path;
  struct loaded_file *files;
  size_t nfiles, alloc;
  char *index_json; /* owned; oci-archive */
  size_t index_len;
  char *manifest_json; /* owned; docker-archive */
  size_t manifest_len;
  bool oci_layout;
  struct pending *pending; /* images to tag once everything checked out */
  size_t npending;
};

static enum layer_compression
sniff(const unsigned char *b, size_t n)
{
  if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
    return LAYER_COMPRESS_GZIP;
  if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
    return LAYER_COMPRESS_ZSTD;
  return LAYER_COMPRESS_NONE;
}

/* Copy the current entry into the store.  */
static int
ingest_entry(struct loader *l, const char *name, const struct cb_digest *want,
             struct cb_error **err)
{
  struct blob_writer *w = layer_store_blob_begin(l->s, err);
  struct loaded_file f = { NULL, { { 0 } }, 0, LAYER_COMPRESS_NONE };
  cleanup_free char *buf = cb_xmalloc(COPY_CHUNK);
  bool first = true;

  if (w == NULL)
    return -1;
  for (;;) {
    la_ssize_t n = archive_read_data(l->a, buf, COPY_CHUNK);

    if (n < 0) {
      blob_writer_abort(w);
      archive_fail(l->a, err, name);
      return cb_wrap(err, "'%s'", l->path);
    }
    if (n == 0)
      break;
    if (first)
      f.compression = sniff((unsigned char *)buf, (size_t)n);
    first = false;
    if (blob_writer_write(w, buf, (size_t)n, err) < 0) {
      blob_writer_abort(w);
      return cb_wrap(err, "'%s': '%s'", l->path, name);
    }
  }
  if (blob_writer_commit(w, want, &f.digest, &f.size, err) < 0)
    return cb_wrap(err, "'%s': '%s'", l->path, name);
  CB_GROW(l->files, l->alloc, l->nfiles + 1);
  f.name = cb_xstrdup(name);
  l->files[l->nfiles++] = f;
  return 0;
}

static int
read_small(struct loader *l, const char *name, char **buf, size_t *len,
           struct cb_error **err)
{
  struct cb_buf b = CB_BUF_INIT;
  char chunk[65536];

  if (*buf != NULL)
    return cb_fail(err, CB_ERR_PARSE, 0, "'%s': '%s' appears twice", l->path,
                   name);
  for (;;) {
    la_ssize_t n = archive_read_data(l->a, chunk, sizeof(chunk));

    if (n < 0) {
      cb_buf_release(&b);
      archive_fail(l->a, err, name);
      return cb_wrap(err, "'%s'", l->path);
    }
    if (n == 0)
      break;
    cb_buf_add(&b, chunk, (size_t)n);
    if (b.len > OCI_MAX_MANIFEST_SIZE) {
      cb_buf_release(&b);
      return cb_fail(err, CB_ERR_UNSAFE, 0, "'%s': '%s' is too large",
                     l->path, name);
    }
  }
  *buf = cb_buf_detach(&b, len);
  return 0;
}

/* One archive member: layout metadata is kept in memory, everything else
   regular goes into the store (checked against its name under blobs/). */
static int
load_entry(struct loader *l, struct archive_entry *e, struct cb_error **err)
{
  const char *name = archive_entry_pathname(e);
  struct cb_digest d;

  if (name == NULL || archive_entry_filetype(e) != AE_IFREG)
    return 0;
  while (strncmp(name, "./", 2) == 0)
    name += 2;
  if (strcmp(name, "oci-layout") == 0) {
    l->oci_layout = true;
    return 0;
  }
  if (strcmp(name, "index.json") == 0)
    return read_small(l, name, &l->index_json, &l->index_len, err);
  if (strcmp(name, "manifest.json") == 0)
    return read_small(l, name, &l->manifest_json, &l->manifest_len, err);
  if (strcmp(name, "repositories") == 0)
    return 0;
  if (l->nfiles >= ARCHIVE_MAX_FILES)
    return cb_fail(err, CB_ERR_UNSAFE, 0, "'%s': too many files", l->path);
  if (strncmp(name, "blobs/sha256/", 13) == 0) {
    if (cb_digest_parse_hex(name + 13, &d, err) < 0)
      return cb_wrap(err, "'%s'", l->path);
    return ingest_entry(l, name, &d, err);
  }
  return ingest_entry(l, name, NULL, err);
}

static const struct loaded_file *
find_file(const struct loader *l, const char *name)
{
  while (strncmp(name, "./", 2) == 0)
    name += 2;
  for (size_t i = 0; i < l->nfiles; i++) {
    if (strcmp(l->files[i].name, name) == 0)
      return &l->files[i];
  }
  return NULL;
}

static void
add_pending(struct loader *l, const struct cb_digest *m, uint64_t size,
            const char *media_type, const char *name)
{
  struct pending *p;

  l->pending = cb_xreallocarray(l->pending, l->npending + 1,
                                sizeof(*l->pending));
  p = &l->pending[l->npending++];
  p->manifest = *m;
  p->size = size;
  p->media_type = cb_xstrdup(media_type);
  p->name = name != NULL ? cb_xstrdup(name) : NULL;
}

static int
not_in_archive(struct loader *l, const char *who, const char *what,
               const struct cb_digest *d, struct cb_error **err)
{
  char dg[CB_DIGEST_STR_LEN];

  cb_digest_str(d, dg);
  return cb_fail(err, CB_ERR_PARSE, 0,
                 "'%s': %s names %s %s, which is not in the archive", l->path,
                 who, what, dg);
}

/* Every blob an image manifest names must have come with the archive (or
   be in the store already), and the manifest have the SIZE index.json
   gives it.  */
static int
check_complete(struct loader *l, const struct cb_digest *md, uint64_t size,
               struct cb_error **err)
{
  cleanup_oci_manifest struct oci_manifest *m = NULL;
  cleanup_free char *buf = NULL;
  cleanup_free char *who = NULL;
  struct store_image img;
  char hex[CB_DIGEST_HEX_LEN + 1];
  size_t len = 0;

  if (!layer_store_has_blob(l->s, md))
    return not_in_archive(l, "index.json", "manifest", md, err);
  cb_digest_hex(md, hex);
  if (layer_store_blob_read(l->s, md, OCI_MAX_MANIFEST_SIZE, &buf, &len, err) <
          0 ||
      (m = oci_manifest_parse(buf, len, err)) == NULL)
    return cb_wrap(err, "'%s': manifest %.12s", l->path, hex);
  if (len != size)
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "'%s': index.json gives manifest %.12s %llu bytes, not %zu",
                   l->path, hex, (unsigned long long)size, len);
  who = cb_xasprintf("manifest %.12s", hex);
  if (!layer_store_has_blob(l->s, &m->config.digest))
    return not_in_archive(l, who, "config", &m->config.digest, err);
  for (size_t i = 0; i < m->n_layers; i++) {
    if (!layer_store_has_blob(l->s, &m->layers[i].digest))
      return not_in_archive(l, who, "layer", &m->layers[i].digest, err);
  }
  /* The config must parse, too.  */
  if (layer_store_load_image(l->s, md, &img, err) < 0)
    return cb_wrap(err, "'%s'", l->path);
  store_image_release(&img);
  return 0;
}

/* A ref.name of just a tag ("latest") names nothing here.  */
static const char *
usable_name(const char *ref)
{
  if (ref == NULL || (strchr(ref, ':') == NULL && strchr(ref, '/') == NULL))
    return NULL;
  return ref;
}

static int
finish_oci(struct loader *l, struct cb_error **err)
{
  cleanup_oci_index struct oci_index *idx = NULL;

  if (l->index_json == NULL)
    return cb_fail(err, CB_ERR_PARSE, 0, "'%s': oci-archive without index.json",
                   l->path);
  idx = oci_index_parse(l->index_json, l->index_len, OCI_MAX_MANIFEST_SIZE,
                        err);
  if (idx == NULL)
    return cb_wrap(err, "'%s': index.json", l->path);
  for (size_t i = 0; i < idx->n_manifests; i++) {
    const struct oci_descriptor *d = &idx->manifests[i];

    if (strcmp(d->media_type, OCI_MEDIA_MANIFEST) != 0 &&
        strcmp(d->media_type, DOCKER_MEDIA_MANIFEST) != 0)
      return cb_fail(err, CB_ERR_UNSUPPORTED, 0,
                     "'%s': entry %zu of index.json is a '%s', not an image "
                     "manifest",
                     l->path, i, d->media_type);
    if (check_complete(l, &d->digest, d->size, err) < 0)
      return -1;
    add_pending(l, &d->digest, d->size, d->media_type,
                usable_name(oci_descriptor_annotation(
                  d, OCI_ANNOTATION_REF_NAME)));
  }
  return 0;
}

static int
layer_descriptor(struct loader *l, const char *name,
                 struct oci_descriptor *d, struct cb_error **err)
{
  const struct loaded_file *f = find_file(l, name);

  if (f == NULL)
    return cb_fail(err, CB_ERR_PARSE, 0, "'%s': manifest.json names '%s', "
                                         "which is not in the archive",
                   l->path, name);
  return oci_descriptor_init(d, layer_media_type(f->compression), &f->digest,
                             f->size, err);
}

/* An uncompressed layer's digest is its diff_id: check it against the
   config.  Compressed ones are checked when they are unpacked.  */
static int
check_diff_ids(struct loader *l, const struct oci_manifest *m,
               const struct cb_digest *config, struct cb_error **err)
{
  cleanup_free char *buf = NULL;
  cleanup_json json_t *cfg = NULL;
  cleanup_free struct cb_digest *ids = NULL;
  size_t len = 0, n = 0;

  if (layer_store_blob_read(l->s, config, OCI_MAX_CONFIG_SIZE, &buf, &len,
                            err) < 0 ||
      (cfg = oci_config_parse(buf, len, err)) == NULL ||
      oci_config_diff_ids(cfg, &ids, &n, err) < 0)
    return cb_wrap(err, "'%s': image config", l->path);
  if (n != m->n_layers)
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "'%s': the config lists %zu layers, manifest.json %zu",
                   l->path, n, m->n_layers);
  for (size_t i = 0; i < n; i++) {
    if (strcmp(m->layers[i].media_type, OCI_MEDIA_LAYER) == 0 &&
        !cb_digest_equal(&ids[i], &m->layers[i].digest))
      return cb_fail(err, CB_ERR_DIGEST, 0,
                     "'%s': layer %zu does not match the config's diff_id",
                     l->path, i + 1);
  }
  return 0;
}

static int
docker_image(struct loader *l, json_t *entry, struct cb_error **err)
{
  cleanup_oci_manifest struct oci_manifest *m = oci_manifest_new();
  cleanup_free char *text = NULL;
  json_t *cfg = json_object_get(entry, "Config");
  json_t *layers = json_object_get(entry, "Layers");
  json_t *tags = json_object_get(entry, "RepoTags");
  struct oci_descriptor d;
  struct cb_digest md;
  size_t i, len = 0;
  json_t *v;

  if (!json_is_string(cfg) || !json_is_array(layers))
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "'%s': manifest.json entries need Config and Layers",
                   l->path);
  if (layer_descriptor(l, json_string_value(cfg), &d, err) < 0)
    return -1;
  free(d.media_type);
  d.media_type = cb_xstrdup(OCI_MEDIA_CONFIG);
  oci_manifest_set_config(m, &d);
  oci_descriptor_release(&d);
  json_array_foreach(layers, i, v) {
    if (!json_is_string(v) ||
        layer_descriptor(l, json_string_value(v), &d, err) < 0)
      return cb_fail(err, CB_ERR_PARSE, 0, "'%s': bad layer entry %zu",
                     l->path, i + 1);
    oci_manifest_add_layer(m, &d);
    oci_descriptor_release(&d);
  }
  if (check_diff_ids(l, m, &m->config.digest, err) < 0)
    return -1;
  text = oci_manifest_serialize(m, &len);
  if (layer_store_put_blob(l->s, text, len, &md, err) < 0)
    return -1;
  if (!json_is_array(tags) || json_array_size(tags) == 0)
    add_pending(l, &md, len, OCI_MEDIA_MANIFEST, NULL);
  json_array_foreach(tags, i, v) {
    if (json_is_string(v))
      add_pending(l, &md, len, OCI_MEDIA_MANIFEST, json_string_value(v));
  }
  return 0;
}

static int
finish_docker(struct loader *l, struct cb_error **err)
{
  cleanup_json json_t *all = NULL;
  json_error_t je;
  size_t i;
  json_t *entry;

  all = json_loadb(l->manifest_json, l->manifest_len, JSON_REJECT_DUPLICATES,
                   &je);
  if (!json_is_array(all))
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "'%s': manifest.json is not a JSON array (line %d: %s)",
                   l->path, je.line, je.text);
  json_array_foreach(all, i, entry) {
    if (docker_image(l, entry, err) < 0)
      return -1;
  }
  return 0;
}

static int
read_archive(struct loader *l, struct cb_error **err)
{
  cleanup_free char *what = cb_xasprintf("'%s'", l->path);
  struct archive_entry *e;
  struct stat st;
  int r;

  l->fd = open(l->path, O_RDONLY | O_CLOEXEC);
  if (l->fd < 0 || fstat(l->fd, &st) < 0)
    return cb_fail_errno(err, "cannot open '%s'", l->path);
  if (S_ISDIR(st.st_mode))
    return cb_fail(err, CB_ERR_USAGE, 0, "'%s' is a directory, not an archive",
                   l->path);
  archive_read_support_format_tar(l->a);
  archive_read_support_filter_all(l->a);
  if (archive_read_open_fd(l->a, l->fd, COPY_CHUNK) != ARCHIVE_OK)
    return archive_fail(l->a, err, what);
  while ((r = archive_read_next_header(l->a, &e)) == ARCHIVE_OK ||
         r == ARCHIVE_WARN) {
    if (load_entry(l, e, err) < 0)
      return -1;
  }
  if (r != ARCHIVE_EOF)
    return archive_fail(l->a, err, what);
  if (l->oci_layout || l->index_json != NULL)
    return finish_oci(l, err);
  if (l->manifest_json != NULL)
    return finish_docker(l, err);
  return cb_fail(err, CB_ERR_PARSE, 0,
                 "'%s' is neither an oci-archive nor a docker-archive",
                 l->path);
}

static void
loader_release(struct loader *l)
{
  for (size_t i = 0; i < l->nfiles; i++)
    free(l->files[i].name);
  free(l->files);
  for (size_t i = 0; i < l->npending; i++) {
    free(l->pending[i].media_type);
    free(l->pending[i].name);
  }
  free(l->pending);
  free(l->index_json);
  free(l->manifest_json);
  archive_read_free(l->a);
  if (l->fd >= 0)
    close(l->fd);
}

int
layer_store_load(struct layer_store *s, const char *path,
                 struct load_result *res, struct cb_error **err)
{
  struct loader l;
  int rc;

  memset(&l, 0, sizeof(l));
  memset(res, 0, sizeof(*res));
  l.s = s;
  l.a = archive_read_new();
  l.fd = -1;
  l.path = path;
  rc = read_archive(&l, err);
  /* Every name checked before any is tagged.  */
  for (size_t i = 0; rc == 0 && i < l.npending; i++) {
    if (l.pending[i].name != NULL &&
        layer_store_check_tag(l.pending[i].name, err) < 0)
      rc = cb_wrap(err, "'%s'", path);
  }
  for (size_t i = 0; rc == 0 && i < l.npending; i++) {
    const struct pending *p = &l.pending[i];

    if (p->name != NULL)
      rc = layer_store_tag(s, p->name, &p->manifest, p->size, p->media_type,
                           err);
  }
  for (size_t i = 0; rc == 0 && i < l.npending; i++) {
    res->manifests = cb_xreallocarray(res->manifests, res->n + 1,
                                      sizeof(*res->manifests));
    res->names = cb_xreallocarray(res->names, res->n + 1, sizeof(*res->names));
    res->manifests[res->n] = l.pending[i].manifest;
    res->names[res->n++] = steal_ptr(&l.pending[i].name);
  }
  loader_release(&l);
  return rc;
}

void
load_result_release(struct load_result *res)
{
  for (size_t i = 0; i < res->n; i++)
    free(res->names[i]);
  free(res->names);
  free(res->manifests);
  memset(res, 0, sizeof(*res));
}
