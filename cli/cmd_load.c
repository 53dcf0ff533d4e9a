#include "config.h"

#include <getopt.h>
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
run(int argc, char **argv, struct cb_error **err)
{
  static const struct option opts[] = {
    { "input", required_argument, NULL, 'i' },
    { "root", required_argument, NULL, 'R' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_layer_store struct layer_store *s = NULL;
  struct load_result res;
  const char *input = NULL;
  int c, rc;

  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "i:h", opts, NULL)) != -1) {
    if (c == 'i')
      input = optarg;
    else if (c == 'R')
      cli_root = optarg;
    else if (c == 'h')
      return cli_print_usage(&cli_cmd_load);
    else
      return cli_usage_error(&cli_cmd_load, err, "unknown option '%s'",
                             argv[optind - 1]);
  }
  if (input == NULL || optind != argc)
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
