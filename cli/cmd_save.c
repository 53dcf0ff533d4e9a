#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_store.h"
#include "common/cleanup.h"
#include "layers/archive.h"
#include "layers/image.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild save [--root DIR] [--format FORMAT] -o PATH IMAGE\n"
  "\n"
  "Write IMAGE to PATH as an archive other tools load.\n"
  "\n"
  "Options:\n"
  "  -o, --output PATH   where to write (required)\n"
  "  --format FORMAT     oci-archive (default), docker-archive or oci-dir\n";

/* The name to record: IMAGE itself when it is one of the image's names
   ("app" standing for "app:latest"), else its first name.  */
static const char *
name_for(const struct store_image *img, const char *spec)
{
  size_t n = strlen(spec);

  for (char **t = img->names; *t != NULL; t++) {
    if (strcmp(*t, spec) == 0 ||
        (strncmp(*t, spec, n) == 0 && strcmp(*t + n, ":latest") == 0))
      return *t;
  }
  return img->names[0];
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  static const struct option opts[] = {
    { "output", required_argument, NULL, 'o' },
    { "format", required_argument, NULL, 'F' },
    { "root", required_argument, NULL, 'R' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_layer_store struct layer_store *s = NULL;
  enum archive_format format = ARCHIVE_OCI;
  const char *output = NULL;
  struct store_image img;
  int c, rc;

  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
    switch (c) {
    case 'o':
      output = optarg;
      break;
    case 'F':
      if (archive_format_parse(optarg, &format, err) < 0)
        return -1;
      break;
    case 'R':
      cli_root = optarg;
      break;
    case 'h':
      return cli_print_usage(&cli_cmd_save);
    default:
      return cli_usage_error(&cli_cmd_save, err, "unknown option '%s'",
                             argv[optind - 1]);
    }
  }
  if (output == NULL || argc - optind != 1)
    return cli_usage_error(&cli_cmd_save, err, "expected -o PATH and one IMAGE");
  s = cli_store_open(err);
  if (s == NULL || layer_store_resolve(s, argv[optind], &img, err) < 0)
    return -1;
  rc = layer_store_save(s, &img, name_for(&img, argv[optind]), format, output,
                        err);
  store_image_release(&img);
  return rc;
}

const struct cli_command cli_cmd_save = {
  .name = "save",
  .summary = "write an image to an oci-archive, docker-archive or oci-dir",
  .usage = usage,
  .run = run,
};
