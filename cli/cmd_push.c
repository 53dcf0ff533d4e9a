#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/push.h"
#include "cli/cli.h"
#include "cli/cli_publish.h"
#include "cli/cli_store.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/mem.h"
#include "layers/image.h"
#include "layers/store.h"
#include "registry/client.h"
#include "registry/reference.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild push [--root DIR] [--digestfile FILE] [--tls-verify=false]\n"
  "                   IMAGE [DEST]\n"
  "\n"
  "Upload IMAGE (a name, an ID or a digest in the store) to a registry, as\n"
  "DEST (NAME[:TAG]; default IMAGE itself, so \"host:5000/app:1\" goes to\n"
  "host:5000).  Blobs the registry already has are not sent again; one\n"
  "that the store has from another repository of the same registry (a\n"
  "pulled or pushed image named after it) is mounted from there.  Blobs\n"
  "over 32 MiB ($CBUILD_PUSH_CHUNK_SIZE) are sent in chunks.\n"
  "Prints the digest of the pushed manifest.\n"
  "\n"
  "Options:\n"
  "  --digestfile FILE   also write the digest to FILE\n"
  "  --tls-verify=false  do not check the registry's TLS certificate, and\n"
  "                      use plain HTTP if it does not speak TLS\n"
  CLI_PUBLISH_SCAN_USAGE
  "\n"
  CLI_REGISTRY_USAGE;

struct push_opts {
  const char *digestfile;
  struct registry_client_config cfg;
  struct cli_publish pub; /* --scan */
};

static int
push_opt(void *data, int id, const char *arg, struct cb_error **err)
{
  struct push_opts *o = data;

  if (cli_publish_is_opt(id))
    return cli_publish_opt(&o->pub, &cli_cmd_push, id, arg, err);
  if (id == 'T')
    return cli_parse_bool(&cli_cmd_push, "tls-verify", arg,
                          &o->cfg.tls_verify, err);
  o->digestfile = arg;
  return 0;
}

static int
write_digestfile(const char *path, const char *digest, struct cb_error **err)
{
  cleanup_close int fd =
    open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  if (fd < 0)
    return cb_fail_errno(err, "cannot open '%s'", path);
  if (cb_write_all(fd, digest, strlen(digest), err) < 0)
    return cb_wrap(err, "'%s'", path);
  return 0;
}

/* Scan (when asked to), push SPEC as TO and print the digest.  */
static int
push_image(struct push_opts *o, const char *spec, const char *to,
           struct cb_error **err)
{
  cleanup_layer_store struct layer_store *s = NULL;
  struct store_image img;
  struct image_ref dest;
  char ds[CB_DIGEST_STR_LEN];
  int rc;

  if (image_ref_parse(to, &dest, err) < 0)
    return -1;
  image_ref_normalize(&dest);
  s = cli_store_open(err);
  if (s == NULL || layer_store_resolve(s, spec, &img, err) < 0) {
    image_ref_release(&dest);
    return -1;
  }
  rc = cli_publish_push(&o->pub, s, &img, &dest, &o->cfg, err);
  cb_digest_str(&img.manifest_digest, ds);
  store_image_release(&img);
  image_ref_release(&dest);
  if (rc < 0)
    return -1;
  if (o->digestfile != NULL && write_digestfile(o->digestfile, ds, err) < 0)
    return -1;
  printf("%s\n", ds);
  return 0;
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  static const struct cli_opt opts[] = {
    { "digestfile", 0, true, 'D' },
    { "tls-verify", 0, true, 'T' },
    CLI_PUBLISH_SCAN_OPTS,
    { NULL, 0, false, 0 },
  };
  struct push_opts o;
  int first = 0;
  int rc;

  memset(&o, 0, sizeof(o));
  o.cfg.tls_verify = true;
  if (cli_publish_init(&o.pub, err) < 0) {
    cli_publish_release(&o.pub);
    return -1;
  }
  rc = cli_parse(&cli_cmd_push, argc, argv, opts, true, push_opt, &o, &first,
                 err);
  if (rc == 1) /* --help printed the usage */
    rc = 0;
  else if (rc == 0 && (argc - first < 1 || argc - first > 2))
    rc = cli_usage_error(&cli_cmd_push, err, "expected IMAGE and maybe DEST");
  else if (rc == 0)
    rc = push_image(&o, argv[first], argv[argc - 1], err);
  cli_publish_release(&o.pub);
  return rc;
}

const struct cli_command cli_cmd_push = {
  .name = "push",
  .summary = "upload an image to a registry",
  .usage = usage,
  .run = run,
};
