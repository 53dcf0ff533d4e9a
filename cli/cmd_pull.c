#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/plan.h"
#include "builder/pull.h"
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
  rc = s == NULL ? -1 : image_pull(s, &ref, &o.cfg, &o.platform, name, &d, err);
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
