#include "config.h"

#include "builder/push.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/mem.h"
#include "layers/oci.h"
#include "registry/referrers.h"
#include "common/banned.h"

/* The images of the store, to find where else on the registry a blob
   already is.  */
struct known {
  struct store_image *images;
  size_t n;
};

static bool
manifest_has(const struct oci_manifest *m, const struct cb_digest *d)
{
  if (cb_digest_equal(&m->config.digest, d))
    return true;
  for (size_t i = 0; i < m->n_layers; i++) {
    if (cb_digest_equal(&m->layers[i].digest, d))
      return true;
  }
  return false;
}

/* Candidates for a cross-repository mount of blob D into DEST: the other
   repositories of DEST's registry that the store has tags of whose image
   holds D.  A tag is named after a registry because the image was pulled
   from there or pushed there; when it was only named so, the registry
   refuses the mount and the blob is uploaded.  NULL-terminated, at most
   MAX_MOUNTS, new.  */
#define MAX_MOUNTS 3
static char **
mount_sources(const struct known *k, const struct image_ref *dest,
              const struct cb_digest *d)
{
  char **out = cb_xcalloc(MAX_MOUNTS + 1, sizeof(*out));
  size_t n = 0;

  for (size_t i = 0; i < k->n && n < MAX_MOUNTS; i++) {
    if (!manifest_has(k->images[i].manifest, d))
      continue;
    for (char **name = k->images[i].names; *name && n < MAX_MOUNTS; name++) {
      struct cb_error *ignored = NULL;
      struct image_ref r;
      bool dup = false;

      if (image_ref_parse(*name, &r, &ignored) < 0) {
        cb_error_free(ignored);
        continue;
      }
      image_ref_normalize(&r);
      for (size_t j = 0; j < n; j++)
        dup = dup || strcmp(out[j], r.path) == 0;
      if (!dup && strcmp(r.domain, dest->domain) == 0 &&
          strcmp(r.path, dest->path) != 0)
        out[n++] = cb_xstrdup(r.path);
      image_ref_release(&r);
    }
  }
  return out;
}

/* Upload blob D from the store unless the registry has it.  */
static int
push_blob(struct layer_store *s, struct registry_client *c,
          const struct known *k, const struct image_ref *dest,
          const struct oci_descriptor *d, struct cb_error **err)
{
  cleanup_strv char **from = NULL;
  cleanup_close int fd = -1;
  char ds[CB_DIGEST_STR_LEN];
  struct stat st;
  bool exists = false;

  if (registry_blob_exists(c, dest->path, &d->digest, &exists, err) < 0)
    return -1;
  cb_digest_str(&d->digest, ds);
  if (exists) {
    cb_log(CB_LOG_INFO, "blob %.19s: already in the registry", ds);
    return 0;
  }
  cb_log(CB_LOG_INFO, "blob %.19s: uploading %llu bytes", ds,
         (unsigned long long)d->size);
  fd = layer_store_blob_open(s, &d->digest, err);
  if (fd < 0)
    return -1;
  if (fstat(fd, &st) < 0)
    return cb_fail_errno(err, "stat blob");
  if ((uint64_t)st.st_size != d->size)
    return cb_fail(err, CB_ERR_DIGEST, 0,
                   "the stored blob has %lld bytes, the manifest says %llu",
                   (long long)st.st_size, (unsigned long long)d->size);
  from = mount_sources(k, dest, &d->digest);
  return registry_put_blob(c, dest->path, &d->digest, d->size, fd,
                           (const char *const *)from, err);
}

int
image_push(struct layer_store *s, const struct store_image *img,
           const struct image_ref *dest,
           const struct registry_client_config *cfg, struct cb_error **err)
{
  cleanup_registry_client struct registry_client *c = NULL;
  cleanup_free char *buf = NULL;
  struct known k = { NULL, 0 };
  char ds[CB_DIGEST_STR_LEN];
  size_t len;
  int rc = -1;

  cb_digest_str(&img->manifest_digest, ds);
  if (dest->digest != NULL && dest->tag == NULL && strcmp(dest->digest, ds))
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "the image's manifest digest is %s, not %s", ds,
                   dest->digest);
  c = registry_client_new(dest->domain, err);
  if (c == NULL || registry_client_configure(c, cfg, err) < 0)
    return -1;
  if (layer_store_images(s, &k.images, &k.n, err) < 0)
    return -1;
  if (push_blob(s, c, &k, dest, &img->manifest->config, err) < 0) {
    cb_wrap(err, "config");
    goto out;
  }
  for (size_t i = 0; i < img->manifest->n_layers; i++) {
    if (push_blob(s, c, &k, dest, &img->manifest->layers[i], err) < 0) {
      cb_wrap(err, "layer %zu", i + 1);
      goto out;
    }
  }
  if (layer_store_blob_read(s, &img->manifest_digest, OCI_MAX_MANIFEST_SIZE,
                            &buf, &len, err) < 0)
    goto out;
  rc = registry_put_manifest(c, dest->path, dest->tag != NULL ? dest->tag : ds,
                             img->manifest->media_type, buf, len, err);
out:
  store_images_free(k.images, k.n);
  return rc;
}

/* Hash FD from its start to its end: SIZE bytes.  */
static int
hash_fd(int fd, struct cb_digest *d, uint64_t *size, struct cb_error **err)
{
  cleanup_hasher struct cb_hasher *h = cb_hasher_new();
  char buf[65536];
  uint64_t total = 0;

  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return cb_fail_errno(err, "read");
    if (n == 0)
      break;
    cb_hasher_update(h, buf, (size_t)n);
    total += (uint64_t)n;
  }
  cb_hasher_peek(h, d);
  *size = total;
  return 0;
}

int
image_push_artifact(const struct store_image *img, const struct image_ref *dest,
                    const struct registry_client_config *cfg, const char *path,
                    const char *type, struct cb_digest *digest,
                    struct cb_error **err)
{
  cleanup_registry_client struct registry_client *c = NULL;
  cleanup_close int fd =
      open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
  const char *base = strrchr(path, '/');
  struct registry_subject subject;
  struct registry_artifact art;
  struct stat st;

  if (fd < 0)
    return cb_fail_errno(err, "cannot open '%s'", path);
  if (fstat(fd, &st) < 0)
    return cb_fail_errno(err, "stat '%s'", path);
  if (!S_ISREG(st.st_mode))
    return cb_fail(err, CB_ERR_USAGE, 0, "'%s' is not a regular file", path);
  memset(&art, 0, sizeof(art));
  art.artifact_type = type;
  art.layer_media_type = type;
  art.title = base != NULL ? base + 1 : path;
  art.fd = fd;
  if (hash_fd(fd, &art.digest, &art.size, err) < 0)
    return cb_wrap(err, "'%s'", path);
  subject.media_type = img->manifest->media_type;
  subject.digest = img->manifest_digest;
  subject.size = img->manifest_size;
  c = registry_client_new(dest->domain, err);
  if (c == NULL || registry_client_configure(c, cfg, err) < 0)
    return -1;
  return registry_push_referrer(c, dest->path, &subject, &art, digest, err);
}
