#include "config.h"

#include "builder/pull.h"

#include <stdbool.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "common/mem.h"
#include "layers/image.h"
#include "layers/oci.h"
#include "common/banned.h"

/* The store behind registry_pull: blobs go through blob writers, which
   registry_pull begins and ends one at a time and writes into side by
   side (each writer has its own file and hasher).  */
static bool
store_has_blob(void *data, const struct cb_digest *d)
{
  return layer_store_has_blob(data, d);
}

static int
store_blob_begin(void *data, const struct cb_digest *d, struct cb_sink *sink,
                 void **handle, struct cb_error **err)
{
  struct blob_writer *w = layer_store_blob_begin(data, err);

  if (w == NULL)
    return -1;
  *sink = blob_writer_sink(w);
  *handle = w;
  return 0;
}

static int
store_blob_commit(void *data, void *handle, const struct cb_digest *d,
                  struct cb_error **err)
{
  return blob_writer_commit(handle, d, NULL, NULL, err);
}

static void
store_blob_abort(void *data, void *handle)
{
  blob_writer_abort(handle);
}

/* The config must parse, or the store would hold an image that every
   listing trips over.  */
static int
check_config(struct layer_store *s, const struct cb_digest *d,
             struct cb_error **err)
{
  cleanup_free char *buf = NULL;
  cleanup_json json_t *cfg = NULL;
  size_t len;

  if (layer_store_blob_read(s, d, OCI_MAX_CONFIG_SIZE, &buf, &len, err) < 0)
    return -1;
  cfg = oci_config_parse(buf, len, err);
  return cfg == NULL ? cb_wrap(err, "config") : 0;
}

/* Store the manifests P got (and the index it went through) and name the
   manifest NAME.  The manifest must be one the store can use.  */
static int
store_pulled(struct layer_store *s, const struct registry_pulled *p,
             const char *name, struct cb_error **err)
{
  const struct registry_blob_doc *man = registry_pulled_manifest(p);
  cleanup_oci_manifest struct oci_manifest *m = NULL;
  struct cb_digest d;

  m = oci_manifest_parse(man->buf, man->len, err);
  if (m == NULL || check_config(s, &p->config, err) < 0)
    return -1;
  if (man != &p->top &&
      layer_store_put_blob(s, p->top.buf, p->top.len, &d, err) < 0)
    return -1;
  if (layer_store_put_blob(s, man->buf, man->len, &d, err) < 0)
    return -1;
  return layer_store_tag(s, name, &man->digest, man->len, m->media_type, err);
}

/* Layers fetched at once.  */
#define PULL_JOBS 3

int
image_pull(struct layer_store *s, const struct image_ref *ref,
           const struct registry_client_config *cfg,
           const struct registry_platform *platform, const char *name,
           struct cb_digest *printed, struct cb_error **err)
{
  cleanup_registry_client struct registry_client *c = NULL;
  const struct registry_pull_store store = {
    .data = s,
    .has_blob = store_has_blob,
    .blob_begin = store_blob_begin,
    .blob_commit = store_blob_commit,
    .blob_abort = store_blob_abort,
  };
  struct registry_pulled p = { 0 };
  int rc;

  c = registry_client_new(ref->domain, err);
  if (c == NULL || registry_client_configure(c, cfg, err) < 0)
    return -1;
  if (layer_store_lock(s, err) < 0)
    return -1;
  rc = registry_pull(c, ref->path, ref->digest != NULL ? ref->digest : ref->tag,
                     platform, &store, PULL_JOBS, &p, err);
  if (rc == 0)
    rc = store_pulled(s, &p, name, err);
  layer_store_unlock(s);
  if (rc == 0)
    *printed = p.top.digest;
  registry_pulled_release(&p);
  return rc;
}

