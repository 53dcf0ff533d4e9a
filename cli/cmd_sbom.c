#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/sbom.h"
#include "cli/cli.h"
#include "cli/cli_store.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/mem.h"
#include "layers/image.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild sbom [--root DIR] [--format FORMAT] [-o FILE] IMAGE\n"
  "\n"
  "Print the software bill of materials of IMAGE: the operating system\n"
  "(/etc/os-release) and the packages of the dpkg database\n"
  "(/var/lib/dpkg/status and status.d/) and the apk database\n"
  "(/lib/apk/db/installed), each with its package URL.  The same image\n"
  "gives the same document: its identifiers come from the manifest digest\n"
  "and its time from the image's creation time.\n"
  "\n"
  "Options:\n"
  "  --format FORMAT   spdx-json (SPDX 2.3, the default) or cyclonedx-json\n"
  "                    (CycloneDX 1.5)\n"
  "  -o, --output FILE write the document to FILE instead of stdout\n";

struct sbom_opts {
  const char *output;
  enum sbom_format format;
};

static int
sbom_opt(void *data, int id, const char *arg, struct cb_error **err)
{
  struct sbom_opts *o = data;

  if (id == 'o') {
    o->output = arg;
    return 0;
  }
  return sbom_format_parse(arg, &o->format, err);
}

struct text {
  const char *buf;
  size_t len;
};

static int
fill_text(int fd, void *data, struct cb_error **err)
{
  const struct text *t = data;

  return cb_write_all(fd, t->buf, t->len, err);
}

/* TEXT into DEST, whole or not at all.  */
static int
write_file(const char *dest, const char *text, size_t len,
           struct cb_error **err)
{
  struct text t = { text, len };

  return cb_replace_file(dest, 0644, fill_text, &t, err);
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  static const struct cli_opt opts[] = {
    { "output", 'o', true, 'o' },
    { "format", 0, true, 'F' },
    { NULL, 0, false, 0 },
  };
  cleanup_layer_store struct layer_store *s = NULL;
  struct sbom_opts o = { NULL, SBOM_SPDX_JSON };
  cleanup_free char *text = NULL;
  struct store_image img;
  size_t len = 0;
  int first = 0;
  int rc = cli_parse(&cli_cmd_sbom, argc, argv, opts, true, sbom_opt, &o,
                     &first, err);

  if (rc != 0)
    return rc < 0 ? -1 : 0;
  if (argc - first != 1)
    return cli_usage_error(&cli_cmd_sbom, err, "expected one IMAGE");
  s = cli_store_open(err);
  if (s == NULL || layer_store_resolve(s, argv[first], &img, err) < 0)
    return -1;
  rc = sbom_for_image(s, &img, store_image_name_of(&img, argv[first]),
                      o.format, &text, &len, err);
  store_image_release(&img);
  if (rc < 0)
    return -1;
  if (o.output != NULL)
    return write_file(o.output, text, len, err) < 0 ? -1 : 0;
  if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)
    return cb_fail_errno(err, "cannot write the document");
  return 0;
}

const struct cli_command cli_cmd_sbom = {
  .name = "sbom",
  .summary = "list an image's OS packages as an SPDX or CycloneDX SBOM",
  .usage = usage,
  .run = run,
};
