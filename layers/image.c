#include "config.h"

#include "layers/image.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/mem.h"
#include "layers/apply.h"
#include "layers/layer.h"
#include "common/banned.h"

void
store_image_release(struct store_image *img)
{
  cb_strv_free(img->names);
  oci_manifest_free(img->manifest);
  json_decref(img->config);
  memset(img, 0, sizeof(*img));
}

void
store_images_free(struct store_image *images, size_t n)
{
  for (size_t i = 0; i < n; i++)
    store_image_release(&images[i]);
  free(images);
}

int
layer_store_load_image(struct layer_store *s, const struct cb_digest *digest,
                       struct store_image *out, struct cb_error **err)
{
  cleanup_free char *mbuf = NULL;
  cleanup_free char *cbuf = NULL;
  struct store_image img;
  size_t mlen = 0, clen = 0;
  char hex[CB_DIGEST_HEX_LEN + 1];

  memset(&img, 0, sizeof(img));
  cb_digest_hex(digest, hex);
  if (layer_store_blob_read(s, digest, OCI_MAX_MANIFEST_SIZE, &mbuf, &mlen,
                            err) < 0)
    return cb_wrap(err, "manifest %.12s", hex);
  img.manifest = oci_manifest_parse(mbuf, mlen, err);
  if (img.manifest == NULL)
    return cb_wrap(err, "manifest %.12s", hex);
  img.manifest_digest = *digest;
  img.manifest_size = mlen;
  img.id = img.manifest->config.digest;
  if (layer_store_blob_read(s, &img.id, OCI_MAX_CONFIG_SIZE, &cbuf, &clen,
                            err) < 0 ||
      (img.config = oci_config_parse(cbuf, clen, err)) == NULL) {
    store_image_release(&img);
    return cb_wrap(err, "manifest %.12s: config", hex);
  }
  img.names = cb_xcalloc(1, sizeof(*img.names));
  *out = img;
  return 0;
}

static void
add_name(struct store_image *img, const char *name)
{
  size_t n = cb_strv_len(img->names);

  img->names = cb_xreallocarray(img->names, n + 2, sizeof(*img->names));
  img->names[n] = cb_xstrdup(name);
  img->names[n + 1] = NULL;
}

/* Tags that point at an index (a multi-platform image from a pull) are
   not images of their own here; only image manifests are listed.  */
static bool
is_image_manifest(const struct store_tag *t)
{
  return strcmp(t->media_type, OCI_MEDIA_MANIFEST) == 0 ||
         strcmp(t->media_type, DOCKER_MEDIA_MANIFEST) == 0;
}

int
layer_store_images(struct layer_store *s, struct store_image **images,
                   size_t *n, struct cb_error **err)
{
  struct store_tag *tags = NULL;
  struct store_image *imgs = NULL;
  size_t ntags = 0, count = 0;
  int rc = 0;

  if (layer_store_tags(s, &tags, &ntags, err) < 0)
    return -1;
  imgs = cb_xcalloc(ntags + 1, sizeof(*imgs));
  for (size_t i = 0; i < ntags && rc == 0; i++) {
    size_t j = 0;

    if (!is_image_manifest(&tags[i]))
      continue;
    while (j < count && !cb_digest_equal(&imgs[j].manifest_digest,
                                         &tags[i].manifest))
      j++;
    if (j == count) {
      rc = layer_store_load_image(s, &tags[i].manifest, &imgs[j], err);
      if (rc < 0) {
        cb_wrap(err, "image '%s'", tags[i].name);
        break;
      }
      count++;
    }
    add_name(&imgs[j], tags[i].name);
  }
  store_tags_free(tags, ntags);
  if (rc < 0) {
    store_images_free(imgs, count);
    return -1;
  }
  *images = imgs;
  *n = count;
  return 0;
}

/* "app" means "app:latest": a name without a tag after its last '/' and
   without a digest.  */
static char *
with_default_tag(const char *spec)
{
  const char *slash = strrchr(spec, '/');

  if (strchr(spec, '@') != NULL || strchr(slash ? slash : spec, ':') != NULL)
    return cb_xstrdup(spec);
  return cb_xasprintf("%s:latest", spec);
}

static bool
is_hex_prefix(const char *s)
{
  size_t n = strlen(s);

  return n >= 3 && n <= CB_DIGEST_HEX_LEN &&
         strspn(s, "0123456789abcdef") == n;
}

const char *
store_image_name_of(const struct store_image *img, const char *spec)
{
  cleanup_free char *name = with_default_tag(spec);

  for (char **t = img->names; *t != NULL; t++) {
    if (strcmp(*t, name) == 0 || strcmp(*t, spec) == 0)
      return *t;
  }
  return NULL;
}

/* Which image SPEC names, by tag, by digest, or by ID prefix; -1 if none,
   -2 if a prefix is ambiguous.  */
static int
match_image(const struct store_image *imgs, size_t n, const char *spec)
{
  const char *hex = strncmp(spec, "sha256:", 7) == 0 ? spec + 7 : spec;
  int found = -1;

  for (size_t i = 0; i < n; i++) {
    if (store_image_name_of(&imgs[i], spec) != NULL)
      return (int)i;
  }
  if (!is_hex_prefix(hex))
    return -1;
  for (size_t i = 0; i < n; i++) {
    char id[CB_DIGEST_HEX_LEN + 1], m[CB_DIGEST_HEX_LEN + 1];

    cb_digest_hex(&imgs[i].id, id);
    cb_digest_hex(&imgs[i].manifest_digest, m);
    if (strncmp(id, hex, strlen(hex)) != 0 &&
        strncmp(m, hex, strlen(hex)) != 0)
      continue;
    if (found >= 0 && !cb_digest_equal(&imgs[found].id, &imgs[i].id))
      return -2;
    found = (int)i;
  }
  return found;
}

int
layer_store_resolve(struct layer_store *s, const char *spec,
                    struct store_image *out, struct cb_error **err)
{
  struct store_image *imgs = NULL;
  size_t n = 0;
  int i;

  if (layer_store_images(s, &imgs, &n, err) < 0)
    return -1;
  i = match_image(imgs, n, spec);
  if (i >= 0) {
    *out = imgs[i];
    memset(&imgs[i], 0, sizeof(imgs[i]));
  }
  store_images_free(imgs, n);
  if (i == -2)
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "image ID prefix '%s' is ambiguous", spec);
  if (i < 0)
    return cb_fail(err, CB_ERR_USAGE, 0, "image '%s' not found", spec);
  return 0;
}

uint64_t
store_image_size(const struct store_image *img)
{
  uint64_t total = 0;

  for (size_t i = 0; i < img->manifest->n_layers; i++)
    total += img->manifest->layers[i].size;
  return total;
}

static void
add_stats(struct flatten_stats *st, const struct layer_apply_result *r)
{
  if (st == NULL)
    return;
  st->layers++;
  st->owner_failures += r->owner_failures;
  st->devices_skipped += r->devices_skipped;
  st->xattrs_skipped += r->xattrs_skipped;
}

/* The diff_ids of IMG's config, one per manifest layer.  */
static int
image_diff_ids(const struct store_image *img, struct cb_digest **ids,
               struct cb_error **err)
{
  size_t n = 0;

  if (oci_config_diff_ids(img->config, ids, &n, err) < 0)
    return -1;
  if (n != img->manifest->n_layers) {
    free(*ids);
    *ids = NULL;
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "the config lists %zu layers, the manifest %zu", n,
                   img->manifest->n_layers);
  }
  return 0;
}

static int
apply_layer(struct layer_store *s, const struct oci_descriptor *layer,
            const struct cb_digest *diff_id, int root_fd, unsigned flags,
            struct flatten_stats *stats, struct cb_error **err)
{
  cleanup_close int fd = layer_store_blob_open(s, &layer->digest, err);
  struct layer_apply_opts opts = { &layer->digest, diff_id, NULL,
                                   LAYER_APPLY_IGNORE_OWNER_ERRORS | flags };
  struct layer_apply_result res;

  if (fd < 0 || layer_apply(root_fd, fd, &opts, &res, err) < 0)
    return -1;
  add_stats(stats, &res);
  return 0;
}

int
store_image_flatten(struct layer_store *s, const struct store_image *img,
                    int root_fd, struct flatten_stats *stats,
                    struct cb_error **err)
{
  cleanup_free struct cb_digest *ids = NULL;

  if (image_diff_ids(img, &ids, err) < 0)
    return -1;
  for (size_t i = 0; i < img->manifest->n_layers; i++) {
    if (apply_layer(s, &img->manifest->layers[i], &ids[i], root_fd, 0, stats,
                    err) < 0)
      return -1;
  }
  return 0;
}

int
store_image_unpack_layer(struct layer_store *s, const struct store_image *img,
                         size_t i, struct flatten_stats *stats,
                         struct cb_error **err)
{
  cleanup_free struct cb_digest *ids = NULL;
  struct unpacked_writer *w;
  int fd;

  if (i >= img->manifest->n_layers)
    return cb_fail(err, CB_ERR_USAGE, 0, "no layer %zu", i);
  if (image_diff_ids(img, &ids, err) < 0)
    return -1;
  fd = layer_store_unpacked_open(s, &ids[i], err);
  if (fd >= 0 || (err != NULL && *err != NULL))
    return fd;
  w = layer_store_unpacked_begin(s, &ids[i], err);
  if (w == NULL)
    return -1;
  if (apply_layer(s, &img->manifest->layers[i], &ids[i],
                  unpacked_writer_fd(w),
                  LAYER_APPLY_OVERLAY_WHITEOUTS | LAYER_APPLY_RECORD_OWNERS,
                  stats, err) < 0) {
    unpacked_writer_abort(w);
    return -1;
  }
  if (unpacked_writer_commit(w, err) < 0)
    return -1;
  return layer_store_unpacked_open(s, &ids[i], err);
}
