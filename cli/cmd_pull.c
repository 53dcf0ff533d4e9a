#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/plan.h"
#include "cli/cli.h"
#include "cli/cli_store.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "layers/image.h"
#include "layers/layer.h"
#include "layers/oci.h"
#include "layers/store.h"
#include "registry/client.h"
#include "registry/reference.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild pull [--root DIR] [--tls-verify=false] NAME[:TAG|@DIGEST]\n"
  "\n"
  "Fetch an image from its registry into the store and name it there by\n"
  "its full reference (\"busybox\" is docker.io/library/busybox:latest).\n"
  "For an image index (a multi-platform image), the linux image for this\n"
  "machine's architecture is fetched.  Blobs already in the store are not\n"
  "fetched again; every blob is checked against its digest.  Prints the\n"
  "digest of what the registry serves for the reference.\n"
  "\n"
  "Options:\n"
  "  --tls-verify=false  do not check the registry's TLS certificate, and\n"
  "                      use plain HTTP if it does not speak TLS\n"
  "\n"
  CLI_REGISTRY_USAGE;

/* A manifest as fetched: its bytes, type and digest.  */
struct fetched {
  char *buf; /* owned */
  size_t len;
  char *media_type; /* owned */
  struct cb_digest digest;
};

static void
fetched_release(struct fetched *f)
{
  free(f->buf);
  free(f->media_type);
  memset(f, 0, sizeof(*f));
}

static int
fetch_manifest(struct registry_client *c, const char *repo,
               const char *reference, struct fetched *out,
               struct cb_error **err)
{
  return registry_get_manifest(c, repo, reference, &out->buf, &out->len,
                               &out->media_type, &out->digest, err);
}

/* Whether F is an image index or manifest list: by its Content-Type, or,
   when the registry did not send a manifest type, by its shape.  */
static bool
is_index(const struct fetched *f)
{
  cleanup_json json_t *j = NULL;
  struct cb_error *ignored = NULL;

  if (strcmp(f->media_type, OCI_MEDIA_INDEX) == 0 ||
      strcmp(f->media_type, DOCKER_MEDIA_MANIFEST_LIST) == 0)
    return true;
  if (strcmp(f->media_type, OCI_MEDIA_MANIFEST) == 0 ||
      strcmp(f->media_type, DOCKER_MEDIA_MANIFEST) == 0)
    return false;
  j = oci_json_parse_object(f->buf, f->len, OCI_MAX_MANIFEST_SIZE, "manifest",
                            &ignored);
  cb_error_free(ignored);
  return j != NULL && json_is_array(json_object_get(j, "manifests"));
}

/* The entry of IDX for linux on this machine's architecture (the first
   one, whatever its variant), or NULL.  */
static const struct oci_descriptor *
pick_platform(const struct oci_index *idx)
{
  const char *arch = builder_host_arch();

  for (size_t i = 0; i < idx->n_manifests; i++) {
    const struct oci_platform *p = idx->manifests[i].platform;

    if (p != NULL && strcmp(p->os, "linux") == 0 &&
        strcmp(p->architecture, arch) == 0)
      return &idx->manifests[i];
  }
  return NULL;
}

/* TOP is an index: fetch the manifest it lists for this platform into
   *OUT, checking its digest and size.  */
static int
fetch_platform_manifest(struct registry_client *c, const char *repo,
                        const struct fetched *top, struct fetched *out,
                        struct cb_error **err)
{
  cleanup_oci_index struct oci_index *idx = NULL;
  const struct oci_descriptor *d;
  char ds[CB_DIGEST_STR_LEN];

  idx = oci_index_parse(top->buf, top->len, OCI_MAX_MANIFEST_SIZE, err);
  if (idx == NULL)
    return -1;
  d = pick_platform(idx);
  if (d == NULL)
    return cb_fail(err, CB_ERR_REGISTRY, 0,
                   "the image index has no manifest for linux/%s",
                   builder_host_arch());
  cb_digest_str(&d->digest, ds);
  if (fetch_manifest(c, repo, ds, out, err) < 0)
    return -1;
  if (out->len != d->size)
    return cb_fail(err, CB_ERR_DIGEST, 0,
                   "manifest '%s': %zu bytes, the index says %llu", ds,
                   out->len, (unsigned long long)d->size);
  return 0;
}

/* Fetch blob D into the store unless it is there.  A failed fetch leaves
   nothing behind.  */
static int
fetch_blob(struct layer_store *s, struct registry_client *c, const char *repo,
           const struct oci_descriptor *d, struct cb_error **err)
{
  struct blob_writer *w;
  struct cb_sink sink;
  char ds[CB_DIGEST_STR_LEN];

  cb_digest_str(&d->digest, ds);
  if (layer_store_has_blob(s, &d->digest)) {
    cb_log(CB_LOG_INFO, "blob %.19s: already in the store", ds);
    return 0;
  }
  cb_log(CB_LOG_INFO, "blob %.19s: fetching %llu bytes", ds,
         (unsigned long long)d->size);
  w = layer_store_blob_begin(s, err);
  if (w == NULL)
    return -1;
  sink = blob_writer_sink(w);
  if (registry_get_blob(c, repo, &d->digest, d->size, &sink, err) < 0) {
    blob_writer_abort(w);
    return -1;
  }
  return blob_writer_commit(w, &d->digest, NULL, NULL, err);
}

/* The config must parse, or the store would hold an image that every
   listing trips over.  */
static int
check_config(struct layer_store *s, const struct oci_descriptor *d,
             struct cb_error **err)
{
  cleanup_free char *buf = NULL;
  cleanup_json json_t *cfg = NULL;
  size_t len;

  if (layer_store_blob_read(s, &d->digest, OCI_MAX_CONFIG_SIZE, &buf, &len,
                            err) < 0)
    return -1;
  cfg = oci_config_parse(buf, len, err);
  return cfg == NULL ? -1 : 0;
}

/* Fetch the config and layers of M, store MAN (its bytes) and TOP (an
   index, or NULL), then name the manifest NAME.  */
static int
fetch_image(struct layer_store *s, struct registry_client *c,
            const char *repo, const struct oci_manifest *m,
            const struct fetched *man, const struct fetched *top,
            const char *name, struct cb_error **err)
{
  struct cb_digest d;

  if (m->config.size > OCI_MAX_CONFIG_SIZE)
    return cb_fail(err, CB_ERR_UNSAFE, 0, "config: more than %u bytes",
                   OCI_MAX_CONFIG_SIZE);
  if (fetch_blob(s, c, repo, &m->config, err) < 0 ||
      check_config(s, &m->config, err) < 0)
    return cb_wrap(err, "config");
  for (size_t i = 0; i < m->n_layers; i++) {
    if (fetch_blob(s, c, repo, &m->layers[i], err) < 0)
      return cb_wrap(err, "layer %zu", i + 1);
  }
  if (top != NULL && layer_store_put_blob(s, top->buf, top->len, &d, err) < 0)
    return -1;
  if (layer_store_put_blob(s, man->buf, man->len, &d, err) < 0)
    return -1;
  return layer_store_tag(s, name, &man->digest, man->len, m->media_type, err);
}

static int
pull_opt(void *data, int id, const char *arg, struct cb_error **err)
{
  struct registry_client_config *cfg = data;

  return cli_parse_bool(&cli_cmd_pull, "tls-verify", arg, &cfg->tls_verify,
                        err);
}

static int
pull(struct layer_store *s, const struct image_ref *ref,
     const struct registry_client_config *cfg, const char *name,
     struct cb_digest *printed, struct cb_error **err)
{
  cleanup_registry_client struct registry_client *c = NULL;
  cleanup_oci_manifest struct oci_manifest *m = NULL;
  struct fetched top = { 0 }, plat = { 0 };
  const struct fetched *man = &top;
  int rc = -1;

  c = registry_client_new(ref->domain, err);
  if (c == NULL || registry_client_configure(c, cfg, err) < 0)
    return -1;
  if (fetch_manifest(c, ref->path, ref->digest != NULL ? ref->digest : ref->tag,
                     &top, err) < 0)
    goto out;
  if (is_index(&top)) {
    if (fetch_platform_manifest(c, ref->path, &top, &plat, err) < 0)
      goto out;
    man = &plat;
  }
  m = oci_manifest_parse(man->buf, man->len, err);
  if (m == NULL)
    goto out;
  if (layer_store_lock(s, err) < 0)
    goto out;
  rc = fetch_image(s, c, ref->path, m, man, man == &plat ? &top : NULL, name,
                   err);
  layer_store_unlock(s);
  if (rc == 0)
    *printed = top.digest;
out:
  fetched_release(&top);
  fetched_release(&plat);
  return rc;
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  static const struct cli_opt opts[] = {
    { "tls-verify", 0, true, 'T' },
    { NULL, 0, false, 0 },
  };
  cleanup_layer_store struct layer_store *s = NULL;
  cleanup_free char *name = NULL;
  struct registry_client_config cfg = { .tls_verify = true };
  struct image_ref ref;
  struct cb_digest d;
  char ds[CB_DIGEST_STR_LEN];
  int first = 0;
  int rc = cli_parse(&cli_cmd_pull, argc, argv, opts, true, pull_opt, &cfg,
                     &first, err);

  if (rc != 0)
    return rc < 0 ? -1 : 0;
  if (argc - first != 1)
    return cli_usage_error(&cli_cmd_pull, err, "expected one image reference");
  if (image_ref_parse(argv[first], &ref, err) < 0)
    return -1;
  image_ref_normalize(&ref);
  name = image_ref_string(&ref);
  s = cli_store_open(err);
  rc = s == NULL ? -1 : pull(s, &ref, &cfg, name, &d, err);
  image_ref_release(&ref);
  if (rc < 0)
    return cb_wrap(err, "pulling '%s'", name);
  cb_digest_str(&d, ds);
  printf("%s\n", ds);
  return 0;
}

const struct cli_command cli_cmd_pull = {
  .name = "pull",
  .summary = "fetch an image from a registry",
  .usage = usage,
  .run = run,
};
