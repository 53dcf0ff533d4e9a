#include "config.h"

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

/* The name to record: IMAGE itself when it is one of the image's names,
   else its first name.  */
static const char *
name_for(const struct store_image *img, const char *spec)
{
  const char *name = store_image_name_of(img, spec);

  return name != NULL ? name : img->names[0];
}

struct save_opts {
  const char *output;
  enum archive_format format;
};

static int
save_opt(void *data, int id, const char *arg, struct cb_error **err)
{
  struct save_opts *o = data;

  if (id == 'o') {
    o->output = arg;
    return 0;
  }
  return archive_format_parse(arg, &o->format, err);
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
  struct save_opts o = { NULL, ARCHIVE_OCI };
  struct store_image img;
  int first = 0;
  int rc = cli_parse(&cli_cmd_save, argc, argv, opts, true, save_opt, &o,
                     &first, err);

  if (rc != 0)
    return rc < 0 ? -1 : 0;
  if (o.output == NULL || argc - first != 1)
    return cli_usage_error(&cli_cmd_save, err, "expected -o PATH and one IMAGE");
  s = cli_store_open(err);
  if (s == NULL || layer_store_resolve(s, argv[first], &img, err) < 0)
    return -1;
  rc = layer_store_save(s, &img, name_for(&img, argv[first]), o.format,
                        o.output, err);
  store_image_release(&img);
  return rc;
}


const struct cli_command cli_cmd_save = {
  .name = "save",
  .summary = "write an image to an oci-archive, docker-archive or oci-dir",
  .usage = usage,
  .run = run,
};
