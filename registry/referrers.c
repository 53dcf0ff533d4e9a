#include "config.h"

#include "registry/referrers.h"
#include "registry/client-internal.h"
#include "registry/referrers-internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/banned.h"

/* image-spec 1.1 "Empty Descriptor": the config of an artifact that has
   none.  */
static const char empty_json[] = "{}";

/* A JSON string of S, which the caller made sure is UTF-8.  */
static json_t *
jstr(const char *s)
{
  json_t *j = json_string(s);

  if (j == NULL)
    abort();
  return j;
}

static json_t *
descriptor(const char *media_type, const struct cb_digest *d, uint64_t size)
{
  char ds[CB_DIGEST_STR_LEN];
  json_t *j = json_object();

  cb_digest_str(d, ds);
  json_object_set_new(j, "mediaType", jstr(media_type));
  json_object_set_new(j, "digest", jstr(ds));
  json_object_set_new(j, "size", json_integer((json_int_t)size));
  return j;
}

static char *
dump(const json_t *j, size_t *len)
{
  char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

  if (s == NULL)
    abort();
  *len = strlen(s);
  return s;
}

void
registry_referrers_tag(const struct cb_digest *digest,
                       char out[REGISTRY_REFERRERS_TAG_LEN])
{
  char hex[CB_DIGEST_HEX_LEN + 1];

  cb_digest_hex(digest, hex);
  snprintf(out, REGISTRY_REFERRERS_TAG_LEN, "sha256-%s", hex);
}

char *
referrers_manifest_json(const struct registry_subject *subject,
                        const struct registry_artifact *art, size_t *len)
{
  json_auto_t *m = json_object();
  json_t *layer = descriptor(art->layer_media_type, &art->digest, art->size);
  json_t *layers = json_array();
  struct cb_digest empty;

  cb_digest_of(empty_json, strlen(empty_json), &empty);
  if (art->title != NULL) {
    json_t *a = json_object();

    json_object_set_new(a, "org.opencontainers.image.title", jstr(art->title));
    json_object_set_new(layer, "annotations", a);
  }
  json_array_append_new(layers, layer);
  json_object_set_new(m, "schemaVersion", json_integer(2));
  json_object_set_new(m, "mediaType", jstr(REGISTRY_MEDIA_OCI_MANIFEST));
  json_object_set_new(m, "artifactType", jstr(art->artifact_type));
  json_object_set_new(
      m, "config",
      descriptor(REGISTRY_MEDIA_EMPTY, &empty, strlen(empty_json)));
  json_object_set_new(m, "layers", layers);
  json_object_set_new(
      m, "subject",
      descriptor(subject->media_type, &subject->digest, subject->size));
  return dump(m, len);
}

static bool
lists_digest(const json_t *manifests, const char *digest)
{
  size_t i;
  json_t *e;

  json_array_foreach(manifests, i, e)
  {
    const char *d = json_string_value(json_object_get(e, "digest"));

    if (d != NULL && strcmp(d, digest) == 0)
      return true;
  }
  return false;
}

int
referrers_index_add(const char *old, size_t len, const json_t *desc,
                    const char *tag, char **out, size_t *out_len, bool *changed,
                    struct cb_error **err)
{
  json_auto_t *index = NULL;
  const char *digest = json_string_value(json_object_get(desc, "digest"));
  const char *mt;
  json_t *manifests;
  json_error_t je;

  if (old == NULL) {
    index = json_object();
    json_object_set_new(index, "schemaVersion", json_integer(2));
    json_object_set_new(index, "mediaType", jstr(REGISTRY_MEDIA_OCI_INDEX));
    json_object_set_new(index, "manifests", json_array());
  } else {
    index = json_loadb(old, len, JSON_REJECT_DUPLICATES, &je);
    if (index == NULL)
      return cb_fail(err, CB_ERR_REGISTRY, 0,
                     "referrers tag '%s': not JSON: line %d: %s", tag, je.line,
                     je.text);
  }
  mt = json_string_value(json_object_get(index, "mediaType"));
  manifests = json_object_get(index, "manifests");
  if (!json_is_object(index) || mt == NULL ||
      strcmp(mt, REGISTRY_MEDIA_OCI_INDEX) != 0 || !json_is_array(manifests))
    return cb_fail(err, CB_ERR_REGISTRY, 0,
                   "referrers tag '%s' holds something other than an OCI "
                   "image index; not overwriting it",
                   tag);
  if (digest != NULL && lists_digest(manifests, digest)) {
    *changed = false;
    *out = NULL;
    *out_len = 0;
    return 0;
  }
  json_array_append(manifests, (json_t *)desc);
  *out = dump(index, out_len);
  *changed = true;
  return 0;
}

/* One GET of URL (an image index).  *FOUND is false when the registry
   answers 404; else *BUF (NUL-terminated) and *LEN hold the body and
   *CTYPE its media type.  */
static int
get_index_once(struct registry_client *c, const char *url, const char *what,
               bool *found, char **buf, size_t *len, char **ctype,
               struct cb_error **err)
{
  struct curl_slist *headers =
      curl_slist_append(NULL, "Accept: " REGISTRY_MEDIA_OCI_INDEX);
  struct response r = { .max = MAX_MANIFEST_SIZE };
  void *body_ctx[2];
  long status;
  int rc;

  if (headers == NULL)
    abort();
  client_prepare(c, "GET", url, headers, &r, body_ctx);
  rc = client_perform(c, &r, NULL, what, err);
  status = client_status(c);
  if (rc == 0 && status == 404) {
    *found = false;
  } else if (rc == 0 && status != 200) {
    rc = client_fail_status(c, &r, what, err);
  } else if (rc == 0) {
    *found = true;
    *ctype = cb_xstrndup(
        r.content_type != NULL ? r.content_type : "",
        r.content_type != NULL ? strcspn(r.content_type, "; \t") : 0);
    if (r.body.data == NULL)
      cb_buf_adds(&r.body, "");
    *buf = cb_buf_detach(&r.body, len);
  }
  curl_slist_free_all(headers);
  client_response_release(&r);
  return rc;
}

static int
get_index(struct registry_client *c, const char *path, const char *what,
          bool *found, char **buf, size_t *len, char **ctype,
          struct cb_error **err)
{
  cleanup_free char *url = NULL;

  client_choose_scheme(c);
  url = cb_xasprintf("%s/v2/%s", c->base, path);
  for (int attempt = 1;; attempt++) {
    if (get_index_once(c, url, what, found, buf, len, ctype, err) == 0)
      return 0;
    if (!client_retry(c, attempt, err))
      return -1;
  }
}

/* Upload LEN bytes at BUF as a blob of REPO unless the registry has it.  */
static int
put_small_blob(struct registry_client *c, const char *repo, const char *buf,
               size_t len, struct cb_error **err)
{
  cleanup_close int fd = -1;
  struct cb_digest d;
  bool exists = false;

  cb_digest_of(buf, len, &d);
  if (registry_blob_exists(c, repo, &d, &exists, err) < 0)
    return -1;
  if (exists)
    return 0;
  fd = memfd_create("cbuild-blob", MFD_CLOEXEC);
  if (fd < 0)
    return cb_fail_errno(err, "memfd_create");
  if (cb_write_all(fd, buf, len, err) < 0)
    return -1;
  if (lseek(fd, 0, SEEK_SET) < 0)
    return cb_fail_errno(err, "lseek");
  return registry_put_blob(c, repo, &d, len, fd, NULL, err);
}

/* Whether the registry keeps referrers lists itself.  A registry with
   the referrers API never answers 404 to it (distribution-spec
   "Listing Referrers"); one without must be served through the tag
   schema ("Unavailable Referrers API").  */
static int
has_referrers_api(struct registry_client *c, const char *repo,
                  const struct cb_digest *subject, bool *api,
                  struct cb_error **err)
{
  char ds[CB_DIGEST_STR_LEN];
  cleanup_free char *path = NULL;
  cleanup_free char *buf = NULL;
  cleanup_free char *ctype = NULL;
  size_t len;

  cb_digest_str(subject, ds);
  path = cb_xasprintf("%s/referrers/%s", repo, ds);
  return get_index(c, path, "referrers", api, &buf, &len, &ctype, err);
}

/* The tag-schema fallback: add DESC to the index at the subject's
   referrers tag.  */
static int
update_referrers_tag(struct registry_client *c, const char *repo,
                     const struct cb_digest *subject, const json_t *desc,
                     struct cb_error **err)
{
  char tag[REGISTRY_REFERRERS_TAG_LEN];
  cleanup_free char *path = NULL;
  cleanup_free char *what = NULL;
  cleanup_free char *old = NULL;
  cleanup_free char *ctype = NULL;
  cleanup_free char *next = NULL;
  size_t len = 0, next_len = 0;
  bool found = false, changed = false;

  registry_referrers_tag(subject, tag);
  path = cb_xasprintf("%s/manifests/%s", repo, tag);
  what = cb_xasprintf("referrers tag '%s'", tag);
  if (get_index(c, path, what, &found, &old, &len, &ctype, err) < 0)
    return -1;
  if (referrers_index_add(found ? old : NULL, len, desc, tag, &next, &next_len,
                          &changed, err) < 0)
    return -1;
  if (!changed) {
    cb_log(CB_LOG_INFO, "%s lists the artifact already", what);
    return 0;
  }
  return registry_put_manifest(c, repo, tag, REGISTRY_MEDIA_OCI_INDEX, next,
                               next_len, err);
}

int
registry_push_referrer(struct registry_client *c, const char *repo,
                       const struct registry_subject *subject,
                       const struct registry_artifact *art,
                       struct cb_digest *digest, struct cb_error **err)
{
  cleanup_free char *manifest = NULL;
  json_auto_t *desc = NULL;
  char ds[CB_DIGEST_STR_LEN];
  struct cb_digest md;
  size_t len;
  bool api = false;

  if (put_small_blob(c, repo, empty_json, strlen(empty_json), err) < 0)
    return cb_wrap(err, "artifact config");
  if (lseek(art->fd, 0, SEEK_SET) < 0)
    return cb_fail_errno(err, "lseek");
  if (registry_put_blob(c, repo, &art->digest, art->size, art->fd, NULL, err) <
      0)
    return cb_wrap(err, "artifact blob");
  manifest = referrers_manifest_json(subject, art, &len);
  cb_digest_of(manifest, len, &md);
  cb_digest_str(&md, ds);
  if (registry_put_manifest(c, repo, ds, REGISTRY_MEDIA_OCI_MANIFEST, manifest,
                            len, err) < 0)
    return cb_wrap(err, "artifact manifest");
  if (has_referrers_api(c, repo, &subject->digest, &api, err) < 0)
    return -1;
  if (!api) {
    desc = descriptor(REGISTRY_MEDIA_OCI_MANIFEST, &md, len);
    json_object_set_new(desc, "artifactType", jstr(art->artifact_type));
    if (update_referrers_tag(c, repo, &subject->digest, desc, err) < 0)
      return -1;
  }
  *digest = md;
  return 0;
}
