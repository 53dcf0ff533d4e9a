#include "config.h"

#include "registry/pull.h"
#include "registry/client-internal.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/banned.h"

/* More workers than this would only open more connections to one
   registry.  */
#define MAX_JOBS 8

/* image-spec media types, as registry/ needs them.  */
#define MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MEDIA_DOCKER_LIST                                                      \
  "application/vnd.docker.distribution.manifest.list.v2+json"
#define MEDIA_DOCKER_MANIFEST                                                  \
  "application/vnd.docker.distribution.manifest.v2+json"

static void
pull_json_decrefp(json_t **j)
{
  json_decref(*j);
}
#define cleanup_jsonp __attribute__((cleanup(pull_json_decrefp)))

struct desc {
  struct cb_digest digest;
  uint64_t size;
};

/* The config (first) and layers still to fetch, shared by the workers.  */
struct queue {
  pthread_mutex_t lock; /* guards what follows and the STORE calls */
  const struct registry_pull_store *store;
  const char *repo;
  const struct desc *blobs;
  size_t n, next;
  struct cb_error *err; /* the first failure; owned */
};

struct worker {
  struct queue *q;
  struct registry_client *c;
  pthread_t thread;
};

static void
doc_release(struct registry_blob_doc *d)
{
  free(d->buf);
  free(d->media_type);
  memset(d, 0, sizeof(*d));
}

void
registry_pulled_release(struct registry_pulled *p)
{
  doc_release(&p->top);
  doc_release(&p->manifest);
}

const struct registry_blob_doc *
registry_pulled_manifest(const struct registry_pulled *p)
{
  return p->manifest.buf != NULL ? &p->manifest : &p->top;
}

static int
parse_descriptor(json_t *j, struct desc *d, const char *what,
                 struct cb_error **err)
{
  json_t *digest = json_object_get(j, "digest");
  json_t *size = json_object_get(j, "size");
  struct cb_error *inner = NULL;

  if (!json_is_string(digest) || !json_is_integer(size) ||
      json_integer_value(size) < 0)
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "manifest: %s: no valid digest and size", what);
  if (cb_digest_parse(json_string_value(digest), &d->digest, &inner) < 0) {
    cb_error_free(inner);
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "manifest: %s: unsupported digest '%.80s'", what,
                   json_string_value(digest));
  }
  d->size = (uint64_t)json_integer_value(size);
  return 0;
}

static json_t *
load_doc(const struct registry_blob_doc *doc, const char *what,
         struct cb_error **err)
{
  json_error_t je;
  json_t *j = json_loadb(doc->buf, doc->len, 0, &je);

  if (j == NULL)
    return cb_fail_null(err, CB_ERR_PARSE, 0, "%s: line %d: %s", what,
                        je.line, je.text);
  if (!json_is_object(j)) {
    json_decref(j);
    return cb_fail_null(err, CB_ERR_PARSE, 0, "%s: not a JSON object", what);
  }
  return j;
}

/* The config and layers of the image manifest DOC: a new array, config
   first.  */
static struct desc *
manifest_blobs(const struct registry_blob_doc *doc, size_t *n,
               struct cb_error **err)
{
  cleanup_jsonp json_t *j = load_doc(doc, "manifest", err);
  json_t *layers, *l;
  struct desc *out;
  size_t i;

  if (j == NULL)
    return NULL;
  layers = json_object_get(j, "layers");
  if (!json_is_object(json_object_get(j, "config")) ||
      !json_is_array(layers))
    return cb_fail_null(err, CB_ERR_PARSE, 0,
                        "manifest: not an image manifest (no config or "
                        "layers)");
  out = cb_xcalloc(json_array_size(layers) + 1, sizeof(*out));
  if (parse_descriptor(json_object_get(j, "config"), &out[0], "config",
                       err) < 0)
    goto bad;
  json_array_foreach(layers, i, l)
  {
    char what[32];

    snprintf(what, sizeof(what), "layer %zu", i + 1);
    if (parse_descriptor(l, &out[i + 1], what, err) < 0)
      goto bad;
  }
  *n = json_array_size(layers) + 1;
  return out;
bad:
  free(out);
  return NULL;
}

/* Whether DOC is an image index or manifest list: by its media type, or
   by its shape when the registry sent no manifest type.  */
static bool
is_index(const struct registry_blob_doc *doc)
{
  cleanup_jsonp json_t *j = NULL;

  if (strcmp(doc->media_type, MEDIA_OCI_INDEX) == 0 ||
      strcmp(doc->media_type, MEDIA_DOCKER_LIST) == 0)
    return true;
  if (strcmp(doc->media_type, MEDIA_OCI_MANIFEST) == 0 ||
      strcmp(doc->media_type, MEDIA_DOCKER_MANIFEST) == 0)
    return false;
  j = json_loadb(doc->buf, doc->len, 0, NULL);
  return json_is_array(json_object_get(j, "manifests"));
}

static bool
platform_matches(json_t *p, const struct registry_platform *want)
{
  json_t *os = json_object_get(p, "os");
  json_t *arch = json_object_get(p, "architecture");
  json_t *variant = json_object_get(p, "variant");

  return json_is_string(os) && json_is_string(arch) &&
         strcmp(json_string_value(os), want->os) == 0 &&
         strcmp(json_string_value(arch), want->architecture) == 0 &&
         (want->variant == NULL ||
          (json_is_string(variant) &&
           strcmp(json_string_value(variant), want->variant) == 0));
}

/* The entry of the index INDEX for WANT.  */
static int
pick_platform(const struct registry_blob_doc *index,
              const struct registry_platform *want, struct desc *out,
              struct cb_error **err)
{
  cleanup_jsonp json_t *j = load_doc(index, "image index", err);
  json_t *m;
  size_t i;

  if (j == NULL)
    return -1;
  json_array_foreach(json_object_get(j, "manifests"), i, m)
  {
    if (platform_matches(json_object_get(m, "platform"), want))
      return parse_descriptor(m, out, "index entry", err);
  }
  return cb_fail(err, CB_ERR_REGISTRY, 0,
                 "the image index has no manifest for %s/%s%s%s", want->os,
                 want->architecture, want->variant != NULL ? "/" : "",
                 want->variant != NULL ? want->variant : "");
}

static int
get_doc(struct registry_client *c, const char *repo, const char *reference,
        struct registry_blob_doc *doc, struct cb_error **err)
{
  return registry_get_manifest(c, repo, reference, &doc->buf, &doc->len,
                               &doc->media_type, &doc->digest, err);
}

/* Fetch blob I of Q into the store unless it is there.  */
static int
fetch_one(struct registry_client *c, struct queue *q, size_t i,
          struct cb_error **err)
{
  const struct registry_pull_store *s = q->store;
  const struct desc *d = &q->blobs[i];
  char ds[CB_DIGEST_STR_LEN];
  struct cb_sink sink;
  void *handle = NULL;
  bool have;
  int rc = 0;

  cb_digest_str(&d->digest, ds);
  pthread_mutex_lock(&q->lock);
  have = s->has_blob(s->data, &d->digest);
  if (!have)
    rc = s->blob_begin(s->data, &d->digest, &sink, &handle, err);
  pthread_mutex_unlock(&q->lock);
  if (rc < 0)
    return -1;
  if (have) {
    cb_log(CB_LOG_INFO, "blob %.19s: already in the store", ds);
    return 0;
  }
  cb_log(CB_LOG_INFO, "blob %.19s: fetching %llu bytes", ds,
         (unsigned long long)d->size);
  rc = registry_get_blob(c, q->repo, &d->digest, d->size, &sink, err);
  pthread_mutex_lock(&q->lock);
  if (rc == 0)
    rc = s->blob_commit(s->data, handle, &d->digest, err);
  else
    s->blob_abort(s->data, handle);
  pthread_mutex_unlock(&q->lock);
  return rc;
}

/* Take blobs from the queue until it is empty or something failed.  */
static void *
work(void *arg)
{
  struct worker *w = arg;
  struct queue *q = w->q;

  for (;;) {
    struct cb_error *err = NULL;
    size_t i;

    pthread_mutex_lock(&q->lock);
    i = q->next;
    if (q->err == NULL && q->next < q->n)
      q->next++;
    pthread_mutex_unlock(&q->lock);
    if (q->err != NULL || i >= q->n)
      return NULL;
    if (fetch_one(w->c, q, i, &err) == 0)
      continue;
    if (i == 0)
      cb_wrap(&err, "config");
    else
      cb_wrap(&err, "layer %zu", i);
    pthread_mutex_lock(&q->lock);
    if (q->err == NULL)
      q->err = steal_ptr(&err);
    pthread_mutex_unlock(&q->lock);
    cb_error_free(err);
    return NULL;
  }
}

/* Fetch BLOBS[0..N) with JOBS workers: this thread with C, the others
   with clones of it.  */
static int
fetch_blobs(struct registry_client *c, const char *repo,
            const struct desc *blobs, size_t n,
            const struct registry_pull_store *store, unsigned jobs,
            struct cb_error **err)
{
  struct queue q = { .store = store, .repo = repo, .blobs = blobs, .n = n };
  struct worker w[MAX_JOBS];
  size_t nw = jobs < 1 ? 1 : jobs > MAX_JOBS ? MAX_JOBS : jobs;

  if (nw > n)
    nw = n;
  pthread_mutex_init(&q.lock, NULL);
  w[0] = (struct worker){ .q = &q, .c = c };
  for (size_t i = 1; i < nw; i++) {
    w[i] = (struct worker){ .q = &q, .c = client_clone(c) };
    if (pthread_create(&w[i].thread, NULL, work, &w[i]) != 0) {
      registry_client_free(w[i].c);
      nw = i; /* fewer workers then */
      break;
    }
  }
  work(&w[0]);
  for (size_t i = 1; i < nw; i++) {
    pthread_join(w[i].thread, NULL);
    registry_client_free(w[i].c);
  }
  pthread_mutex_destroy(&q.lock);
  if (q.err != NULL) {
    *err = q.err;
    return -1;
  }
  return 0;
}

/* TOP is an index: fetch its entry for PLATFORM into *OUT.  */
static int
get_platform_manifest(struct registry_client *c, const char *repo,
                      const struct registry_blob_doc *top,
                      const struct registry_platform *platform,
                      struct registry_blob_doc *out, struct cb_error **err)
{
  char ds[CB_DIGEST_STR_LEN];
  struct desc d;

  if (pick_platform(top, platform, &d, err) < 0)
    return -1;
  cb_digest_str(&d.digest, ds);
  if (get_doc(c, repo, ds, out, err) < 0)
    return -1;
  if (out->len != d.size)
    return cb_fail(err, CB_ERR_DIGEST, 0,
                   "manifest '%s': %zu bytes, the index says %llu", ds,
                   out->len, (unsigned long long)d.size);
  return 0;
}

int
registry_pull(struct registry_client *c, const char *repo,
              const char *reference, const struct registry_platform *platform,
              const struct registry_pull_store *store, unsigned jobs,
              struct registry_pulled *out, struct cb_error **err)
{
  struct registry_pulled p = { 0 };
  cleanup_free struct desc *blobs = NULL;
  size_t n = 0;

  if (get_doc(c, repo, reference, &p.top, err) < 0)
    goto bad;
  if (is_index(&p.top) &&
      get_platform_manifest(c, repo, &p.top, platform, &p.manifest, err) < 0)
    goto bad;
  blobs = manifest_blobs(registry_pulled_manifest(&p), &n, err);
  if (blobs == NULL)
    goto bad;
  if (fetch_blobs(c, repo, blobs, n, store, jobs, err) < 0)
    goto bad;
  p.config = blobs[0].digest;
  p.n_layers = n - 1;
  *out = p;
  return 0;
bad:
  registry_pulled_release(&p);
  return -1;
}
