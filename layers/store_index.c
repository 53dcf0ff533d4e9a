#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/mem.h"
#include "layers/layer.h"
#include "layers/oci.h"
#include "layers/store-internal.h"
#include "layers/store.h"

#include "common/banned.h"

/* Tags are at most this long; the grammar bounds nothing itself.  */
#define STORE_MAX_TAG_LEN 4096

struct oci_index *
store_read_index(struct layer_store *s, struct cb_error **err)
{
  cleanup_free char *buf = NULL;
  struct oci_index *idx;
  size_t len;

  if (cb_read_file_at(s->root_fd, "index.json", STORE_MAX_INDEX_SIZE, &buf,
                      &len, err) < 0)
    return cb_wrap_null(err, "store '%s'", s->root);
  idx = oci_index_parse(buf, len, STORE_MAX_INDEX_SIZE, err);
  if (idx == NULL)
    return cb_wrap_null(err, "'%s/index.json'", s->root);
  return idx;
}

int
store_write_index(struct layer_store *s, const struct oci_index *idx,
                  struct cb_error **err)
{
  cleanup_free char *text = NULL;
  size_t len;

  text = oci_index_serialize(idx, &len);
  return store_write_atomic(s, s->root_fd, "index.json", text, len, err);
}

static bool
is_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

/* image-spec "Annotations", org.opencontainers.image.ref.name:
     ref       ::= component ("/" component)*
     component ::= alphanum (separator alphanum)*
     alphanum  ::= [A-Za-z0-9]+
     separator ::= [-._:@+] | "--"
   skopeo's oci: transport checks names the same way.  */
static bool
valid_ref_name(const char *s)
{
  if (strlen(s) > STORE_MAX_TAG_LEN)
    return false;
  for (;;) {
    const char *start = s;

    while (is_alnum(*s))
      s++;
    if (s == start)
      return false;
    if (*s == '\0')
      return true;
    if (s[0] == '-' && s[1] == '-')
      s += 2;
    else if (strchr("/-._:@+", *s) != NULL)
      s++;
    else
      return false;
  }
}

static bool
taggable_media_type(const char *mt)
{
  return strcmp(mt, OCI_MEDIA_MANIFEST) == 0 ||
         strcmp(mt, OCI_MEDIA_INDEX) == 0 ||
         strcmp(mt, DOCKER_MEDIA_MANIFEST) == 0 ||
         strcmp(mt, DOCKER_MEDIA_MANIFEST_LIST) == 0;
}

static const char *
ref_name(const struct oci_descriptor *d)
{
  return oci_descriptor_annotation(d, OCI_ANNOTATION_REF_NAME);
}

int
layer_store_tags(struct layer_store *s, struct store_tag **tags, size_t *n,
                 struct cb_error **err)
{
  cleanup_oci_index struct oci_index *idx = store_read_index(s, err);
  struct store_tag *r;
  size_t count = 0;

  if (idx == NULL)
    return -1;
  r = cb_xcalloc(idx->n_manifests, sizeof(*r));
  for (size_t i = 0; i < idx->n_manifests; i++) {
    const struct oci_descriptor *d = &idx->manifests[i];

    if (ref_name(d) == NULL)
      continue;
    r[count].name = cb_xstrdup(ref_name(d));
    r[count].manifest = d->digest;
    r[count].size = d->size;
    r[count].media_type = cb_xstrdup(d->media_type);
    count++;
  }
  *tags = r;
  *n = count;
  return 0;
}

void
store_tags_free(struct store_tag *tags, size_t n)
{
  for (size_t i = 0; tags != NULL && i < n; i++) {
    free(tags[i].name);
    free(tags[i].media_type);
  }
  free(tags);
}

/* The blob a tag is about to point at must be there, with that size.  */
static int
check_manifest_blob(struct layer_store *s, const struct cb_digest *manifest,
                    uint64_t size, struct cb_error **err)
{
  char hex[CB_DIGEST_HEX_LEN + 1];
  struct stat st;

  cb_digest_hex(manifest, hex);
  if (fstatat(s->blobs_fd, hex, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return cb_fail_errno(err, "manifest 'sha256:%s' is not in the store", hex);
  if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "manifest 'sha256:%s' has %llu bytes, not %llu", hex,
                   (unsigned long long)st.st_size, (unsigned long long)size);
  return 0;
}

/* Point NAME at D in IDX: replace the first entry with that name where it
   is, drop any later ones, or append.  */
static void
index_set_tag(struct oci_index *idx, const char *name,
              const struct oci_descriptor *d)
{
  bool placed = false;

  for (size_t i = 0; i < idx->n_manifests;) {
    const char *n = ref_name(&idx->manifests[i]);

    if (n == NULL || strcmp(n, name) != 0) {
      i++;
    } else if (!placed) {
      oci_descriptor_release(&idx->manifests[i]);
      oci_descriptor_copy(&idx->manifests[i], d);
      placed = true;
      i++;
    } else {
      oci_index_remove(idx, i);
    }
  }
  if (!placed)
    oci_index_add(idx, d);
}

/* Whether IDX already is what tagging NAME with D would write: an OCI
   index with one entry of that name, equal to D.  */
static bool
index_has_tag(const struct oci_index *idx, const char *name,
              const struct oci_descriptor *d)
{
  const struct oci_descriptor *found = NULL;

  if (idx->media_type == NULL || strcmp(idx->media_type, OCI_MEDIA_INDEX) != 0)
    return false;
  for (size_t i = 0; i < idx->n_manifests; i++) {
    const char *n = ref_name(&idx->manifests[i]);

    if (n == NULL || strcmp(n, name) != 0)
      continue;
    if (found != NULL)
      return false;
    found = &idx->manifests[i];
  }
  return found != NULL && found->platform == NULL && d->platform == NULL &&
         strcmp(found->media_type, d->media_type) == 0 &&
         cb_digest_equal(&found->digest, &d->digest) &&
         found->size == d->size &&
         json_equal(found->annotations, d->annotations);
}

static int
tag_locked(struct layer_store *s, const char *name,
           const struct oci_descriptor *d, struct cb_error **err)
{
  cleanup_oci_index struct oci_index *idx = NULL;

  if (check_manifest_blob(s, &d->digest, d->size, err) < 0)
    return -1;
  idx = store_read_index(s, err);
  if (idx == NULL)
    return -1;
  /* A rebuild tags the same image again: spare index.json's two fsyncs.  */
  if (index_has_tag(idx, name, d))
    return 0;
  index_set_tag(idx, name, d);
  /* We write an OCI index even over one that omitted its media type.  */
  free(idx->media_type);
  idx->media_type = cb_xstrdup(OCI_MEDIA_INDEX);
  return store_write_index(s, idx, err);
}

int
layer_store_check_tag(const char *name, struct cb_error **err)
{
  if (!valid_ref_name(name))
    return cb_fail(err, CB_ERR_USAGE, 0, "invalid tag name '%.200s'", name);
  return 0;
}

int
layer_store_tag(struct layer_store *s, const char *name,
                const struct cb_digest *manifest, uint64_t size,
                const char *media_type, struct cb_error **err)
{
  struct oci_descriptor d;
  int r;

  if (layer_store_check_tag(name, err) < 0)
    return -1;
  if (!taggable_media_type(media_type))
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "tag '%s': '%.200s' is not a manifest media type", name,
                   media_type);
  if (oci_descriptor_init(&d, media_type, manifest, size, err) < 0)
    return cb_wrap(err, "tag '%s'", name);
  if (oci_descriptor_annotate(&d, OCI_ANNOTATION_REF_NAME, name, err) < 0 ||
      layer_store_lock(s, err) < 0) {
    oci_descriptor_release(&d);
    return cb_wrap(err, "tag '%s'", name);
  }
  r = tag_locked(s, name, &d, err);
  layer_store_unlock(s);
  oci_descriptor_release(&d);
  return r < 0 ? cb_wrap(err, "tag '%s'", name) : 0;
}

static int
untag_locked(struct layer_store *s, const char *name, bool *found,
             struct cb_error **err)
{
  cleanup_oci_index struct oci_index *idx = store_read_index(s, err);
  bool any = false;

  if (idx == NULL)
    return -1;
  for (size_t i = 0; i < idx->n_manifests;) {
    const char *n = ref_name(&idx->manifests[i]);

    if (n != NULL && strcmp(n, name) == 0) {
      oci_index_remove(idx, i);
      any = true;
    } else {
      i++;
    }
  }
  if (any && store_write_index(s, idx, err) < 0)
    return -1;
  *found = any;
  return 0;
}

int
layer_store_untag(struct layer_store *s, const char *name, bool *found,
                  struct cb_error **err)
{
  int r;

  if (layer_store_lock(s, err) < 0)
    return -1;
  r = untag_locked(s, name, found, err);
  layer_store_unlock(s);
  return r < 0 ? cb_wrap(err, "untag '%s'", name) : 0;
}
