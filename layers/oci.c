#include "config.h"

#include "layers/oci.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/mem.h"
#include "common/unicode.h"
#include "layers/layer.h"

#include "common/banned.h"

/* Where a parser is, for error messages: "invalid image manifest:
   'layers[2].size' must be ...".  */
struct where {
  const char *what;   /* the document: "image manifest" */
  const char *prefix; /* the enclosing field, or NULL at the top */
};

static int
bad_field(const struct where *w, const char *key, const char *problem,
          struct cb_error **err)
{
  if (w->prefix != NULL && key != NULL)
    return cb_fail(err, CB_ERR_PARSE, 0, "invalid %s: '%s.%s' %s", w->what,
                   w->prefix, key, problem);
  if (w->prefix != NULL || key != NULL)
    return cb_fail(err, CB_ERR_PARSE, 0, "invalid %s: '%s' %s", w->what,
                   w->prefix != NULL ? w->prefix : key, problem);
  return cb_fail(err, CB_ERR_PARSE, 0, "invalid %s: %s", w->what, problem);
}

static bool
valid_utf8(const char *s)
{
  size_t n = strlen(s);

  while (n > 0) {
    uint32_t cp;
    size_t used = cb_utf8_decode(s, n, &cp);

    if (cp == CB_UTF8_INVALID)
      return false;
    s += used;
    n -= used;
  }
  return true;
}

/* Set O.KEY to V, stealing V.  The values we build are valid by
   construction, so a failure here is out of memory.  */
static void
jset(json_t *o, const char *key, json_t *v)
{
  if (v == NULL || json_object_set_new(o, key, v) != 0)
    abort();
}

static void
jappend(json_t *a, json_t *v)
{
  if (v == NULL || json_array_append_new(a, v) != 0)
    abort();
}

/* A JSON string of S, which the caller has checked is valid UTF-8.  */
static json_t *
jstr(const char *s)
{
  json_t *v = json_string(s);

  if (v == NULL)
    abort();
  return v;
}

static int
get_string(const json_t *o, const char *key, bool required,
           const struct where *w, const char **out, struct cb_error **err)
{
  const json_t *v = json_object_get(o, key);

  if (v == NULL && !required) {
    *out = NULL;
    return 0;
  }
  if (v == NULL)
    return bad_field(w, key, "is missing", err);
  if (!json_is_string(v))
    return bad_field(w, key, "must be a string", err);
  *out = json_string_value(v);
  return 0;
}

static int
get_size(const json_t *o, const char *key, const struct where *w, uint64_t *out,
         struct cb_error **err)
{
  const json_t *v = json_object_get(o, key);

  if (v == NULL)
    return bad_field(w, key, "is missing", err);
  /* A real (1.5, 1e3) is not a size, and negative sizes would wrap.  */
  if (!json_is_integer(v) || json_integer_value(v) < 0)
    return bad_field(w, key, "must be a non-negative integer", err);
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

static int
check_schema_version(const json_t *o, const struct where *w,
                     struct cb_error **err)
{
  const json_t *v = json_object_get(o, "schemaVersion");

  if (v == NULL)
    return bad_field(w, "schemaVersion", "is missing", err);
  if (!json_is_integer(v) || json_integer_value(v) != 2)
    return bad_field(w, "schemaVersion", "must be 2", err);
  return 0;
}

/* An optional object whose values are all strings ("annotations",
   "Labels").  *OUT is a new reference, or NULL when absent.  */
static int
get_string_map(const json_t *o, const char *key, const struct where *w,
               json_t **out, struct cb_error **err)
{
  json_t *v = json_object_get(o, key);
  const char *k;
  json_t *item;

  *out = NULL;
  if (v == NULL)
    return 0;
  if (!json_is_object(v))
    return bad_field(w, key, "must be an object", err);
  json_object_foreach(v, k, item)
  {
    if (!json_is_string(item))
      return bad_field(w, key, "must map names to strings", err);
  }
  *out = json_incref(v);
  return 0;
}

/* --- descriptors --- */

int
oci_descriptor_init(struct oci_descriptor *d, const char *media_type,
                    const struct cb_digest *digest, uint64_t size,
                    struct cb_error **err)
{
  if (!valid_utf8(media_type))
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "media type '%.80s' is not valid UTF-8", media_type);
  if (size > INT64_MAX)
    return cb_fail(err, CB_ERR_UNSAFE, 0, "blob size %llu is too large",
                   (unsigned long long)size);
  memset(d, 0, sizeof(*d));
  d->media_type = cb_xstrdup(media_type);
  d->digest = *digest;
  d->size = size;
  return 0;
}

static char *
xstrdup_or_null(const char *s)
{
  return s != NULL ? cb_xstrdup(s) : NULL;
}

static struct oci_platform *
platform_dup(const struct oci_platform *p)
{
  struct oci_platform *r;

  if (p == NULL)
    return NULL;
  r = cb_xcalloc(1, sizeof(*r));
  r->architecture = cb_xstrdup(p->architecture);
  r->os = cb_xstrdup(p->os);
  r->variant = xstrdup_or_null(p->variant);
  r->os_version = xstrdup_or_null(p->os_version);
  return r;
}

static void
platform_free(struct oci_platform *p)
{
  if (p == NULL)
    return;
  free(p->architecture);
  free(p->os);
  free(p->variant);
  free(p->os_version);
  free(p);
}

void
oci_descriptor_copy(struct oci_descriptor *dst,
                    const struct oci_descriptor *src)
{
  memset(dst, 0, sizeof(*dst));
  dst->media_type = cb_xstrdup(src->media_type);
  dst->digest = src->digest;
  dst->size = src->size;
  /* A deep copy: the two descriptors may be changed independently.  */
  if (src->annotations != NULL)
    dst->annotations = json_deep_copy(src->annotations);
  dst->platform = platform_dup(src->platform);
}

void
oci_descriptor_release(struct oci_descriptor *d)
{
  if (d == NULL)
    return;
  free(d->media_type);
  json_decref(d->annotations);
  platform_free(d->platform);
  memset(d, 0, sizeof(*d));
}

int
oci_descriptor_annotate(struct oci_descriptor *d, const char *key,
                        const char *value, struct cb_error **err)
{
  if (!valid_utf8(key) || !valid_utf8(value))
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "annotation '%.80s' is not valid UTF-8", key);
  if (d->annotations == NULL)
    d->annotations = json_object();
  jset(d->annotations, key, jstr(value));
  return 0;
}

const char *
oci_descriptor_annotation(const struct oci_descriptor *d, const char *key)
{
  const json_t *v;

  if (d->annotations == NULL)
    return NULL;
  v = json_object_get(d->annotations, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

int
oci_descriptor_set_platform(struct oci_descriptor *d, const char *os,
                            const char *architecture, const char *variant,
                            struct cb_error **err)
{
  struct oci_platform *p;

  if (!valid_utf8(os) || !valid_utf8(architecture) ||
      (variant != NULL && !valid_utf8(variant)))
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "platform '%.40s/%.40s' is not valid UTF-8", os,
                   architecture);
  p = cb_xcalloc(1, sizeof(*p));
  p->os = cb_xstrdup(os);
  p->architecture = cb_xstrdup(architecture);
  p->variant = xstrdup_or_null(variant);
  platform_free(d->platform);
  d->platform = p;
  return 0;
}

/* image-spec "Image Index": platform.architecture and platform.os are
   required when a platform is given.  */
static int
platform_parse(const json_t *o, const struct where *w,
               struct oci_platform **out, struct cb_error **err)
{
  const json_t *v = json_object_get(o, "platform");
  const char *arch, *os, *variant, *os_version;
  struct where pw;
  cleanup_free char *prefix = NULL;
  struct oci_platform *p;

  *out = NULL;
  if (v == NULL)
    return 0;
  prefix = w->prefix != NULL ? cb_xasprintf("%s.platform", w->prefix)
                             : cb_xstrdup("platform");
  pw = (struct where){ w->what, prefix };
  if (!json_is_object(v))
    return bad_field(&pw, NULL, "must be an object", err);
  if (get_string(v, "architecture", true, &pw, &arch, err) < 0 ||
      get_string(v, "os", true, &pw, &os, err) < 0 ||
      get_string(v, "variant", false, &pw, &variant, err) < 0 ||
      get_string(v, "os.version", false, &pw, &os_version, err) < 0)
    return -1;
  p = cb_xcalloc(1, sizeof(*p));
  p->architecture = cb_xstrdup(arch);
  p->os = cb_xstrdup(os);
  p->variant = xstrdup_or_null(variant);
  p->os_version = xstrdup_or_null(os_version);
  *out = p;
  return 0;
}

/* Parse descriptor O (at W) into caller storage D.  */
static int
descriptor_parse(const json_t *o, const struct where *w,
                 struct oci_descriptor *d, struct cb_error **err)
{
  struct oci_descriptor r = { 0 };
  const char *media_type, *digest;

  if (!json_is_object(o))
    return bad_field(w, NULL, "must be an object", err);
  if (get_string(o, "mediaType", true, w, &media_type, err) < 0 ||
      get_string(o, "digest", true, w, &digest, err) < 0 ||
      get_size(o, "size", w, &r.size, err) < 0)
    return -1;
  if (cb_digest_parse(digest, &r.digest, err) < 0)
    return w->prefix != NULL
               ? cb_wrap(err, "invalid %s: '%s.digest'", w->what, w->prefix)
               : cb_wrap(err, "invalid %s: 'digest'", w->what);
  if (get_string_map(o, "annotations", w, &r.annotations, err) < 0)
    return -1;
  if (platform_parse(o, w, &r.platform, err) < 0) {
    json_decref(r.annotations);
    return -1;
  }
  r.media_type = cb_xstrdup(media_type);
  *d = r;
  return 0;
}

/* Parse the array O.KEY of descriptors into a new array.  */
static int
descriptor_array_parse(const json_t *o, const char *key, const char *what,
                       struct oci_descriptor **out, size_t *n,
                       struct cb_error **err)
{
  const struct where w = { what, NULL };
  const json_t *a = json_object_get(o, key);
  struct oci_descriptor *ds;
  size_t count;

  if (a == NULL)
    return bad_field(&w, key, "is missing", err);
  if (!json_is_array(a))
    return bad_field(&w, key, "must be an array", err);
  count = json_array_size(a);
  ds = cb_xcalloc(count, sizeof(*ds));
  for (size_t i = 0; i < count; i++) {
    cleanup_free char *prefix = cb_xasprintf("%s[%zu]", key, i);
    const struct where iw = { what, prefix };

    if (descriptor_parse(json_array_get(a, i), &iw, &ds[i], err) < 0) {
      for (size_t j = 0; j < i; j++)
        oci_descriptor_release(&ds[j]);
      free(ds);
      return -1;
    }
  }
  *out = ds;
  *n = count;
  return 0;
}

static json_t *
descriptor_json(const struct oci_descriptor *d)
{
  char digest[CB_DIGEST_STR_LEN];
  json_t *o = json_object();

  cb_digest_str(&d->digest, digest);
  jset(o, "mediaType", jstr(d->media_type));
  jset(o, "digest", jstr(digest));
  jset(o, "size", json_integer((json_int_t)d->size));
  if (d->annotations != NULL && json_object_size(d->annotations) > 0)
    jset(o, "annotations", json_deep_copy(d->annotations));
  if (d->platform != NULL) {
    json_t *p = json_object();

    jset(p, "architecture", jstr(d->platform->architecture));
    jset(p, "os", jstr(d->platform->os));
    if (d->platform->variant != NULL)
      jset(p, "variant", jstr(d->platform->variant));
    if (d->platform->os_version != NULL)
      jset(p, "os.version", jstr(d->platform->os_version));
    jset(o, "platform", p);
  }
  return o;
}

static json_t *
descriptor_array_json(const struct oci_descriptor *ds, size_t n)
{
  json_t *a = json_array();

  for (size_t i = 0; i < n; i++)
    jappend(a, descriptor_json(&ds[i]));
  return a;
}

static void
descriptor_array_free(struct oci_descriptor *ds, size_t n)
{
  for (size_t i = 0; i < n; i++)
    oci_descriptor_release(&ds[i]);
  free(ds);
}

/* --- JSON text --- */

json_t *
oci_json_parse_object(const char *buf, size_t len, size_t max, const char *what,
                      struct cb_error **err)
{
  json_error_t je;
  json_t *j;

  if (len > max)
    return cb_fail_null(err, CB_ERR_UNSAFE, 0, "%s is larger than %zu bytes",
                        what, max);
  /* Duplicate keys are refused: two readers could otherwise see two
     different documents behind one digest.  */
  j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
  if (j == NULL)
    return cb_fail_null(err, CB_ERR_PARSE, 0,
                        "invalid %s: line %d column %d: %s", what, je.line,
                        je.column, je.text);
  if (!json_is_object(j)) {
    json_decref(j);
    return cb_fail_null(err, CB_ERR_PARSE, 0, "invalid %s: not a JSON object",
                        what);
  }
  return j;
}

char *
oci_json_dump(const json_t *j, size_t *len)
{
  char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

  /* Every string in a json_t is valid UTF-8, so only memory can fail.  */
  if (s == NULL)
    abort();
  if (len != NULL)
    *len = strlen(s);
  return s;
}

void
oci_format_time(int64_t t, char out[OCI_TIME_LEN])
{
  /* RFC 3339 has four-digit years: clamp to 1970 .. 9999.  */
  time_t tt = t < 0 ? 0 : t > 253402300799 ? 253402300799 : (time_t)t;
  struct tm tm;

  gmtime_r(&tt, &tm);
  strftime(out, OCI_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* --- image manifests --- */

struct oci_manifest *
oci_manifest_new(void)
{
  struct oci_manifest *m = cb_xcalloc(1, sizeof(*m));

  m->media_type = cb_xstrdup(OCI_MEDIA_MANIFEST);
  return m;
}

/* image-spec "Image Manifest": mediaType is optional in OCI manifests
   (but then it must not be an index); Docker schema 2 always has it.  */
static int
manifest_media_type(const json_t *o, const struct where *w, const char **out,
                    struct cb_error **err)
{
  const char *mt;

  if (get_string(o, "mediaType", false, w, &mt, err) < 0)
    return -1;
  if (mt == NULL && json_object_get(o, "manifests") != NULL)
    return cb_fail(err, CB_ERR_PARSE, 0, "invalid %s: this is an image index",
                   w->what);
  if (mt == NULL)
    mt = OCI_MEDIA_MANIFEST;
  if (strcmp(mt, OCI_MEDIA_MANIFEST) != 0 &&
      strcmp(mt, DOCKER_MEDIA_MANIFEST) != 0)
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "invalid %s: unsupported media type '%.200s'", w->what, mt);
  *out = mt;
  return 0;
}

struct oci_manifest *
oci_manifest_parse(const char *buf, size_t len, struct cb_error **err)
{
  static const struct where w = { "image manifest", NULL };
  static const struct where cw = { "image manifest", "config" };
  cleanup_oci_manifest struct oci_manifest *m = NULL;
  cleanup_json json_t *o = NULL;
  const char *media_type = NULL;
  const json_t *config;

  o = oci_json_parse_object(buf, len, OCI_MAX_MANIFEST_SIZE, w.what, err);
  if (o == NULL)
    return NULL;
  if (check_schema_version(o, &w, err) < 0 ||
      manifest_media_type(o, &w, &media_type, err) < 0)
    return NULL;
  config = json_object_get(o, "config");
  if (config == NULL) {
    bad_field(&w, "config", "is missing", err);
    return NULL;
  }
  m = cb_xcalloc(1, sizeof(*m));
  m->media_type = cb_xstrdup(media_type);
  if (descriptor_parse(config, &cw, &m->config, err) < 0)
    return NULL;
  if (descriptor_array_parse(o, "layers", w.what, &m->layers, &m->n_layers,
                             err) < 0)
    return NULL;
  if (get_string_map(o, "annotations", &w, &m->annotations, err) < 0)
    return NULL;
  return steal_ptr(&m);
}

void
oci_manifest_set_config(struct oci_manifest *m,
                        const struct oci_descriptor *config)
{
  oci_descriptor_release(&m->config);
  oci_descriptor_copy(&m->config, config);
}

void
oci_manifest_add_layer(struct oci_manifest *m,
                       const struct oci_descriptor *layer)
{
  m->layers = cb_xreallocarray(m->layers, m->n_layers + 1, sizeof(*m->layers));
  oci_descriptor_copy(&m->layers[m->n_layers++], layer);
}

char *
oci_manifest_serialize(const struct oci_manifest *m, size_t *len)
{
  cleanup_json json_t *o = json_object();

  jset(o, "schemaVersion", json_integer(2));
  jset(o, "mediaType", jstr(m->media_type));
  jset(o, "config", descriptor_json(&m->config));
  jset(o, "layers", descriptor_array_json(m->layers, m->n_layers));
  if (m->annotations != NULL && json_object_size(m->annotations) > 0)
    jset(o, "annotations", json_deep_copy(m->annotations));
  return oci_json_dump(o, len);
}

void
oci_manifest_free(struct oci_manifest *m)
{
  if (m == NULL)
    return;
  free(m->media_type);
  oci_descriptor_release(&m->config);
  descriptor_array_free(m->layers, m->n_layers);
  json_decref(m->annotations);
  free(m);
}

void
oci_manifest_freep(struct oci_manifest **m)
{
  oci_manifest_free(*m);
  *m = NULL;
}

/* --- image indexes --- */

struct oci_index *
oci_index_new(void)
{
  struct oci_index *idx = cb_xcalloc(1, sizeof(*idx));

  idx->media_type = cb_xstrdup(OCI_MEDIA_INDEX);
  return idx;
}

static int
index_media_type(const json_t *o, const struct where *w, const char **out,
                 struct cb_error **err)
{
  const char *mt;

  if (get_string(o, "mediaType", false, w, &mt, err) < 0)
    return -1;
  if (mt == NULL && json_object_get(o, "config") != NULL)
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "invalid %s: this is an image manifest", w->what);
  if (mt != NULL && strcmp(mt, OCI_MEDIA_INDEX) != 0 &&
      strcmp(mt, DOCKER_MEDIA_MANIFEST_LIST) != 0)
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "invalid %s: unsupported media type '%.200s'", w->what, mt);
  *out = mt;
  return 0;
}

struct oci_index *
oci_index_parse(const char *buf, size_t len, size_t max, struct cb_error **err)
{
  static const struct where w = { "image index", NULL };
  cleanup_oci_index struct oci_index *idx = NULL;
  cleanup_json json_t *o = NULL;
  const char *media_type = NULL;

  o = oci_json_parse_object(buf, len, max, w.what, err);
  if (o == NULL)
    return NULL;
  if (check_schema_version(o, &w, err) < 0 ||
      index_media_type(o, &w, &media_type, err) < 0)
    return NULL;
  idx = cb_xcalloc(1, sizeof(*idx));
  idx->media_type = xstrdup_or_null(media_type);
  if (descriptor_array_parse(o, "manifests", w.what, &idx->manifests,
                             &idx->n_manifests, err) < 0)
    return NULL;
  if (get_string_map(o, "annotations", &w, &idx->annotations, err) < 0)
    return NULL;
  return steal_ptr(&idx);
}

void
oci_index_add(struct oci_index *idx, const struct oci_descriptor *d)
{
  idx->manifests = cb_xreallocarray(idx->manifests, idx->n_manifests + 1,
                                    sizeof(*idx->manifests));
  oci_descriptor_copy(&idx->manifests[idx->n_manifests++], d);
}

void
oci_index_remove(struct oci_index *idx, size_t i)
{
  if (i >= idx->n_manifests)
    return;
  oci_descriptor_release(&idx->manifests[i]);
  memmove(&idx->manifests[i], &idx->manifests[i + 1],
          (idx->n_manifests - i - 1) * sizeof(*idx->manifests));
  idx->n_manifests--;
}

char *
oci_index_serialize(const struct oci_index *idx, size_t *len)
{
  cleanup_json json_t *o = json_object();

  jset(o, "schemaVersion", json_integer(2));
  if (idx->media_type != NULL)
    jset(o, "mediaType", jstr(idx->media_type));
  jset(o, "manifests", descriptor_array_json(idx->manifests, idx->n_manifests));
  if (idx->annotations != NULL && json_object_size(idx->annotations) > 0)
    jset(o, "annotations", json_deep_copy(idx->annotations));
  return oci_json_dump(o, len);
}

void
oci_index_free(struct oci_index *idx)
{
  if (idx == NULL)
    return;
  free(idx->media_type);
  descriptor_array_free(idx->manifests, idx->n_manifests);
  json_decref(idx->annotations);
  free(idx);
}

void
oci_index_freep(struct oci_index **idx)
{
  oci_index_free(*idx);
  *idx = NULL;
}

/* --- image configs --- */

json_t *
oci_config_new(const char *os, const char *architecture, struct cb_error **err)
{
  json_t *cfg, *rootfs;

  if (!valid_utf8(os) || !valid_utf8(architecture))
    return cb_fail_null(err, CB_ERR_PARSE, 0,
                        "platform '%.40s/%.40s' is not valid UTF-8", os,
                        architecture);
  cfg = json_object();
  rootfs = json_object();
  jset(rootfs, "type", jstr("layers"));
  jset(rootfs, "diff_ids", json_array());
  jset(cfg, "architecture", jstr(architecture));
  jset(cfg, "os", jstr(os));
  jset(cfg, "config", json_object());
  jset(cfg, "rootfs", rootfs);
  jset(cfg, "history", json_array());
  return cfg;
}

/* image-spec "Image Configuration": rootfs.type must be "layers" and
   rootfs.diff_ids lists the uncompressed layer digests.  *IDS is
   borrowed from CFG.  */
static int
rootfs_diff_ids(const json_t *cfg, json_t **ids, struct cb_error **err)
{
  static const struct where w = { "image config", "rootfs" };
  const json_t *rootfs = json_object_get(cfg, "rootfs");
  const char *type;
  json_t *a;

  if (rootfs == NULL)
    return bad_field(&w, NULL, "is missing", err);
  if (!json_is_object(rootfs))
    return bad_field(&w, NULL, "must be an object", err);
  if (get_string(rootfs, "type", true, &w, &type, err) < 0)
    return -1;
  if (strcmp(type, "layers") != 0)
    return bad_field(&w, "type", "must be \"layers\"", err);
  a = json_object_get(rootfs, "diff_ids");
  if (a == NULL)
    return bad_field(&w, "diff_ids", "is missing", err);
  if (!json_is_array(a))
    return bad_field(&w, "diff_ids", "must be an array", err);
  for (size_t i = 0; i < json_array_size(a); i++) {
    const json_t *v = json_array_get(a, i);
    struct cb_digest d;

    if (!json_is_string(v))
      return bad_field(&w, "diff_ids", "must hold strings", err);
    if (cb_digest_parse(json_string_value(v), &d, err) < 0)
      return cb_wrap(err, "invalid image config: 'rootfs.diff_ids[%zu]'", i);
  }
  *ids = a;
  return 0;
}

enum field_type {
  FIELD_STRING,
  FIELD_STRINGS, /* an array of strings */
  FIELD_OBJECT,
  FIELD_STRING_MAP,
  FIELD_BOOL,
};

static bool
field_type_ok(const json_t *v, enum field_type type)
{
  size_t i;
  const char *k;
  json_t *item;

  if (json_is_null(v)) /* Docker writes null for unset fields */
    return true;
  switch (type) {
  case FIELD_STRING:
    return json_is_string(v);
  case FIELD_BOOL:
    return json_is_boolean(v);
  case FIELD_OBJECT:
    return json_is_object(v);
  case FIELD_STRINGS:
    if (!json_is_array(v))
      return false;
    json_array_foreach(v, i, item)
    {
      if (!json_is_string(item))
        return false;
    }
    return true;
  case FIELD_STRING_MAP:
    if (!json_is_object(v))
      return false;
    json_object_foreach((json_t *)v, k, item)
    {
      if (!json_is_string(item))
        return false;
    }
    return true;
  }
  return false;
}

static const char *const field_type_names[] = {
  [FIELD_STRING] = "must be a string",
  [FIELD_STRINGS] = "must be an array of strings",
  [FIELD_OBJECT] = "must be an object",
  [FIELD_STRING_MAP] = "must map names to strings",
  [FIELD_BOOL] = "must be true or false",
};

/* The "config" fields cbuild reads or writes (image-spec "Image
   Configuration", plus Docker's Shell, Healthcheck, OnBuild, ArgsEscaped).
   Their types are checked once here so that readers can trust them.  */
static int
check_exec_config(const json_t *cfg, struct cb_error **err)
{
  static const struct where w = { "image config", "config" };
  static const struct {
    const char *name;
    enum field_type type;
  } fields[] = {
    { "User", FIELD_STRING },        { "WorkingDir", FIELD_STRING },
    { "StopSignal", FIELD_STRING },  { "Env", FIELD_STRINGS },
    { "Entrypoint", FIELD_STRINGS }, { "Cmd", FIELD_STRINGS },
    { "Shell", FIELD_STRINGS },      { "OnBuild", FIELD_STRINGS },
    { "Volumes", FIELD_OBJECT },     { "ExposedPorts", FIELD_OBJECT },
    { "Healthcheck", FIELD_OBJECT }, { "Labels", FIELD_STRING_MAP },
    { "ArgsEscaped", FIELD_BOOL },
  };
  const json_t *c = json_object_get(cfg, "config");

  if (c == NULL || json_is_null(c))
    return 0;
  if (!json_is_object(c))
    return bad_field(&w, NULL, "must be an object", err);
  for (size_t i = 0; i < CB_N_ELEMENTS(fields); i++) {
    const json_t *v = json_object_get(c, fields[i].name);

    if (v != NULL && !field_type_ok(v, fields[i].type))
      return bad_field(&w, fields[i].name, field_type_names[fields[i].type],
                       err);
  }
  return 0;
}

static int
check_history(const json_t *cfg, struct cb_error **err)
{
  static const char *const strings[] = { "created", "created_by", "author",
                                         "comment" };
  const json_t *h = json_object_get(cfg, "history");
  const struct where w = { "image config", NULL };

  if (h == NULL)
    return 0;
  if (!json_is_array(h))
    return bad_field(&w, "history", "must be an array", err);
  for (size_t i = 0; i < json_array_size(h); i++) {
    const json_t *e = json_array_get(h, i);
    cleanup_free char *prefix = cb_xasprintf("history[%zu]", i);
    const struct where ew = { "image config", prefix };
    const json_t *empty = json_object_get(e, "empty_layer");
    const char *s;

    if (!json_is_object(e))
      return bad_field(&ew, NULL, "must be an object", err);
    for (size_t j = 0; j < CB_N_ELEMENTS(strings); j++)
      if (get_string(e, strings[j], false, &ew, &s, err) < 0)
        return -1;
    if (empty != NULL && !json_is_boolean(empty))
      return bad_field(&ew, "empty_layer", "must be true or false", err);
  }
  return 0;
}

json_t *
oci_config_parse(const char *buf, size_t len, struct cb_error **err)
{
  static const struct where w = { "image config", NULL };
  static const char *const optional[] = { "created", "author", "variant",
                                          "os.version" };
  cleanup_json json_t *cfg = NULL;
  json_t *ids;
  const char *s;

  cfg = oci_json_parse_object(buf, len, OCI_MAX_CONFIG_SIZE, w.what, err);
  if (cfg == NULL)
    return NULL;
  if (get_string(cfg, "architecture", true, &w, &s, err) < 0 ||
      get_string(cfg, "os", true, &w, &s, err) < 0)
    return NULL;
  for (size_t i = 0; i < CB_N_ELEMENTS(optional); i++)
    if (get_string(cfg, optional[i], false, &w, &s, err) < 0)
      return NULL;
  if (rootfs_diff_ids(cfg, &ids, err) < 0 || check_history(cfg, err) < 0 ||
      check_exec_config(cfg, err) < 0)
    return NULL;
  return steal_ptr(&cfg);
}

/* Set O.KEY to S unless S is NULL; false if S is not valid UTF-8.  */
static bool
set_opt_string(json_t *o, const char *key, const char *s)
{
  json_t *v;

  if (s == NULL)
    return true;
  v = json_string(s);
  if (v == NULL)
    return false;
  jset(o, key, v);
  return true;
}

static json_t *
history_json(const struct oci_history *h, bool empty_layer,
             struct cb_error **err)
{
  json_t *e = json_object();

  if (!set_opt_string(e, "created", h->created) ||
      !set_opt_string(e, "created_by", h->created_by) ||
      !set_opt_string(e, "comment", h->comment)) {
    json_decref(e);
    return cb_fail_null(err, CB_ERR_PARSE, 0,
                        "history entry is not valid UTF-8");
  }
  /* Docker omits "empty_layer": false.  */
  if (empty_layer)
    jset(e, "empty_layer", json_true());
  return e;
}

/* The "history" array of CFG, created if absent.  */
static json_t *
history_array(json_t *cfg, struct cb_error **err)
{
  static const struct where w = { "image config", NULL };
  json_t *h = json_object_get(cfg, "history");

  if (h == NULL || json_is_null(h)) {
    h = json_array();
    jset(cfg, "history", h);
  }
  if (!json_is_array(h)) {
    bad_field(&w, "history", "must be an array", err);
    return NULL;
  }
  return h;
}

int
oci_config_add_layer(json_t *cfg, const struct cb_digest *diff_id,
                     const struct oci_history *h, struct cb_error **err)
{
  cleanup_json json_t *entry = NULL;
  char digest[CB_DIGEST_STR_LEN];
  json_t *ids, *history = NULL;

  if (rootfs_diff_ids(cfg, &ids, err) < 0)
    return -1;
  if (h != NULL) {
    entry = history_json(h, false, err);
    if (entry == NULL)
      return -1;
    history = history_array(cfg, err);
    if (history == NULL)
      return -1;
  }
  cb_digest_str(diff_id, digest);
  jappend(ids, jstr(digest));
  if (history != NULL)
    jappend(history, steal_ptr(&entry));
  return 0;
}

int
oci_config_add_history(json_t *cfg, const struct oci_history *h,
                       struct cb_error **err)
{
  cleanup_json json_t *entry = history_json(h, h->empty_layer, err);
  json_t *history;

  /* Build the entry first, so that a refused one leaves CFG unchanged. */
  if (entry == NULL)
    return -1;
  history = history_array(cfg, err);
  if (history == NULL)
    return -1;
  jappend(history, steal_ptr(&entry));
  return 0;
}

int
oci_config_diff_ids(const json_t *cfg, struct cb_digest **ids, size_t *n,
                    struct cb_error **err)
{
  struct cb_digest *r = NULL;
  json_t *a;
  size_t count;

  if (rootfs_diff_ids(cfg, &a, err) < 0)
    return -1;
  count = json_array_size(a);
  if (count > 0)
    r = cb_xcalloc(count, sizeof(*r));
  for (size_t i = 0; i < count; i++) {
    const char *s = json_string_value(json_array_get(a, i));

    if (cb_digest_parse(s, &r[i], NULL) < 0)
      abort(); /* rootfs_diff_ids has parsed each one */
  }
  *ids = r;
  *n = count;
  return 0;
}

json_t *
oci_config_get(const json_t *cfg, const char *field)
{
  const json_t *c = json_object_get(cfg, "config");

  return json_is_object(c) ? json_object_get(c, field) : NULL;
}

int
oci_config_set(json_t *cfg, const char *field, json_t *value,
               struct cb_error **err)
{
  json_t *c = json_object_get(cfg, "config");

  if (c == NULL || json_is_null(c)) {
    c = json_object();
    jset(cfg, "config", c);
  }
  if (!json_is_object(c)) {
    json_decref(value);
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "invalid image config: 'config' must be an object");
  }
  if (value == NULL) {
    json_object_del(c, field);
    return 0;
  }
  if (json_object_set_new(c, field, value) != 0)
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "config field '%.80s' is not valid UTF-8", field);
  return 0;
}

int
oci_config_set_created(json_t *cfg, int64_t t, struct cb_error **err)
{
  char created[OCI_TIME_LEN];

  oci_format_time(t, created);
  jset(cfg, "created", jstr(created));
  return 0;
}
