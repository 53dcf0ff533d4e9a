#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_store.h"
#include "common/cleanup.h"
#include "layers/image.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild rmi [--root DIR] IMAGE...\n"
  "\n"
  "Remove images from the store.  A name removes that name; an image ID or\n"
  "digest removes every name of the image.  The image's blobs are freed\n"
  "by 'cbuild prune' once nothing refers to them.\n";

static int
untag_spec(struct layer_store *s, const char *spec, struct cb_error **err)
{
  struct store_image img;
  const char *only;
  char id[CB_DIGEST_HEX_LEN + 1];
  int rc = 0;

  if (layer_store_resolve(s, spec, &img, err) < 0)
    return -1;
  /* A name removes that name; an ID or digest removes every name.  */
  only = store_image_name_of(&img, spec);
  for (char **t = img.names; *t != NULL && rc == 0; t++) {
    bool found = false;

    if (only != NULL && *t != only)
      continue;
    rc = layer_store_untag(s, *t, &found, err);
    if (rc == 0)
      printf("Untagged: %s\n", *t);
  }
  cb_digest_hex(&img.id, id);
  if (rc == 0 && only == NULL)
    printf("Removed: %s\n", id);
  store_image_release(&img);
  return rc;
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  cleanup_layer_store struct layer_store *s = NULL;
  int first = 0;
  int rc = cli_parse(&cli_cmd_rmi, argc, argv, NULL, true, NULL, NULL,
                     &first, err);

  if (rc != 0)
    return rc < 0 ? -1 : 0;
  if (first >= argc)
    return cli_usage_error(&cli_cmd_rmi, err, "expected an IMAGE");
  s = cli_store_open(err);
  if (s == NULL || layer_store_lock(s, err) < 0)
    return -1;
  for (int i = first; i < argc && rc == 0; i++)
    rc = untag_spec(s, argv[i], err);
  layer_store_unlock(s);
  return rc;
}


const struct cli_command cli_cmd_rmi = {
  .name = "rmi",
  .summary = "remove images from the store",
  .usage = usage,
  .run = run,
};
