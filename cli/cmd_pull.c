#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/plan.h"
#include "cli/cli.h"
#include "cli/cli_store.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/mem.h"
#include "layers/image.h"
#include "layers/layer.h"
#include "layers/oci.h"
#include "layers/store.h"
#include "registry/client.h"
#include "registry/pull.h"
#include "registry/reference.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild pull [--root DIR] [--platform OS/ARCH[/VARIANT]]\n"
  "                   [--tls-verify=false] NAME[:TAG|@DIGEST]\n"
  "\n"
  "Fetch an image from its registry into the store and name it there by\n"
  "its full reference (\"busybox\" is docker.io/library/busybox:latest).\n"
  "For an image index (a multi-platform image), the image for --platform\n"
  "(default linux and this machine's architecture) is fetched.  Blobs\n"
  "already in the store are not fetched again, the others 3 at a time,\n"
  "each checked against its digest, and a transfer cut short is resumed.\n"
  "Prints the digest of what the registry serves for the reference.\n"
  "\n"
  "Options:\n"
  "  --platform P        the platform to take from an index\n"
  "  --tls-verify=false  do not check the registry's TLS certificate, and\n"
  "                      use plain HTTP if it does not speak TLS\n"
  "\n"
  CLI_REGISTRY_USAGE;

struct pull_opts {
  struct registry_client_config cfg;
  struct registry_platform platform;
  char *platform_buf; /* owned: what platform's strings point into */
};

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

static int
pull(struct layer_store *s, const struct image_ref *ref,
     const struct pull_opts *o, const char *name, struct cb_digest *printed,
     struct cb_error **err)
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
  if (c == NULL || registry_client_configure(c, &o->cfg, err) < 0)
    return -1;
  if (layer_store_lock(s, err) < 0)
    return -1;
  rc = registry_pull(c, ref->path, ref->digest != NULL ? ref->digest : ref->tag,
                     &o->platform, &store, PULL_JOBS, &p, err);
  if (rc == 0)
    rc = store_pulled(s, &p, name, err);
  layer_store_unlock(s);
  if (rc == 0)
    *printed = p.top.digest;
  registry_pulled_release(&p);
  return rc;
}

/* --platform OS/ARCH[/VARIANT].  */
static int
parse_platform(struct pull_opts *o, const char *arg, struct cb_error **err)
{
  char *a, *b;

  free(o->platform_buf);
  o->platform_buf = cb_xstrdup(arg);
  a = strchr(o->platform_buf, '/');
  b = a != NULL ? strchr(a + 1, '/') : NULL;
  if (a == NULL || a == o->platform_buf || a[1] == '\0' || a[1] == '/' ||
      (b != NULL && (b[1] == '\0' || strchr(b + 1, '/') != NULL)))
    return cli_usage_error(&cli_cmd_pull, err,
                           "invalid --platform '%s' (want OS/ARCH[/VARIANT])",
                           arg);
  *a = '\0';
  if (b != NULL)
    *b = '\0';
  o->platform.os = o->platform_buf;
  o->platform.architecture = a + 1;
  o->platform.variant = b != NULL ? b + 1 : NULL;
  return 0;
}

static int
pull_opt(void *data, int id, const char *arg, struct cb_error **err)
{
  struct pull_opts *o = data;

  if (id == 'P')
    return parse_platform(o, arg, err);
  return cli_parse_bool(&cli_cmd_pull, "tls-verify", arg, &o->cfg.tls_verify,
                        err);
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  static const struct cli_opt opts[] = {
    { "tls-verify", 0, true, 'T' },
    { "platform", 0, true, 'P' },
    { NULL, 0, false, 0 },
  };
  cleanup_layer_store struct layer_store *s = NULL;
  cleanup_free char *name = NULL;
  struct pull_opts o = {
    .cfg = { .tls_verify = true },
    .platform = { .os = "linux", .architecture = builder_host_arch() },
  };
  struct image_ref ref;
  struct cb_digest d;
  char ds[CB_DIGEST_STR_LEN];
  int first = 0;
  int rc = cli_parse(&cli_cmd_pull, argc, argv, opts, true, pull_opt, &o,
                     &first, err);

  if (rc != 0) {
    free(o.platform_buf);
    return rc < 0 ? -1 : 0;
  }
  if (argc - first != 1) {
    free(o.platform_buf);
    return cli_usage_error(&cli_cmd_pull, err, "expected one image reference");
  }
  if (image_ref_parse(argv[first], &ref, err) < 0) {
    free(o.platform_buf);
    return -1;
  }
  image_ref_normalize(&ref);
  name = image_ref_string(&ref);
  s = cli_store_open(err);
  rc = s == NULL ? -1 : pull(s, &ref, &o, name, &d, err);
  image_ref_release(&ref);
  free(o.platform_buf);
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
