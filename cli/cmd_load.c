#include "config.h"

#include <stdio.h>

#include "cli/cli.h"
#include "cli/cli_store.h"
#include "common/cleanup.h"
#include "layers/archive.h"
#include "layers/image.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild load [--root DIR] -i FILE\n"
  "\n"
  "Read an oci-archive or a docker-archive (detected) into the store and\n"
  "print the name (or ID) of each image loaded.\n";

static void
print_loaded(struct layer_store *s, const struct load_result *res)
{
  for (size_t i = 0; i < res->n; i++) {
    struct store_image img;
    char id[CB_DIGEST_HEX_LEN + 1];

    if (res->names[i] != NULL) {
      printf("Loaded image: %s\n", res->names[i]);
      continue;
    }
    if (layer_store_load_image(s, &res->manifests[i], &img, NULL) == 0) {
      cb_digest_hex(&img.id, id);
      printf("Loaded image: %s\n", id);
      store_image_release(&img);
    }
  }
}

static int
set_input(void *data, int id, const char *arg, struct cb_error **err)
{
  *(const char **)data = arg;
  return 0;
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  static const struct cli_opt opts[] = {
    { "input", 'i', true, 0 },
    { NULL, 0, false, 0 },
  };
  cleanup_layer_store struct layer_store *s = NULL;
  struct load_result res;
  const char *input = NULL;
  int first = 0;
  int rc = cli_parse(&cli_cmd_load, argc, argv, opts, true, set_input, &input,
                     &first, err);

  if (rc != 0)
    return rc < 0 ? -1 : 0;
  if (input == NULL || first != argc)
    return cli_usage_error(&cli_cmd_load, err, "expected -i FILE");
  s = cli_store_open(err);
  if (s == NULL || layer_store_lock(s, err) < 0)
    return -1;
  rc = layer_store_load(s, input, &res, err);
  layer_store_unlock(s);
  if (rc < 0)
    return -1;
  print_loaded(s, &res);
  load_result_release(&res);
  return 0;
}


const struct cli_command cli_cmd_load = {
  .name = "load",
  .summary = "read an oci-archive or docker-archive into the store",
  .usage = usage,
  .run = run,
};
