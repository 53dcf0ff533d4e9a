#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_store.h"
#include "common/cleanup.h"
#include "layers/image.h"
#include "layers/layer.h"
#include "registry/reference.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild tag [--root DIR] IMAGE NAME[:TAG]...\n"
  "\n"
  "Give the image IMAGE (a name, an ID or a digest) one or more new names.\n";

/* The store name for a user-given reference: checked, ":latest" added.  */
static char *
local_name(const char *spec, struct cb_error **err)
{
  struct image_ref ref;
  char *name;

  if (image_ref_parse(spec, &ref, err) < 0)
    return NULL;
  if (ref.digest != NULL) {
    image_ref_release(&ref);
    return cb_fail_null(err, CB_ERR_USAGE, 0,
                        "'%s': a tag cannot contain a digest", spec);
  }
  name = image_ref_local_name(&ref);
  image_ref_release(&ref);
  return name;
}

static int
tag_all(struct layer_store *s, const struct store_image *img, char **names,
        int n, struct cb_error **err)
{
  for (int i = 0; i < n; i++) {
    cleanup_free char *name = local_name(names[i], err);

    if (name == NULL ||
        layer_store_tag(s, name, &img->manifest_digest, img->manifest_size,
                        img->manifest->media_type, err) < 0)
      return -1;
  }
  return 0;
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  cleanup_layer_store struct layer_store *s = NULL;
  struct store_image img;
  int first = 0;
  int rc = cli_parse(&cli_cmd_tag, argc, argv, NULL, true, NULL, NULL,
                     &first, err);

  if (rc != 0)
    return rc < 0 ? -1 : 0;
  if (argc - first < 2)
    return cli_usage_error(&cli_cmd_tag, err, "expected IMAGE and NAME");
  s = cli_store_open(err);
  if (s == NULL || layer_store_lock(s, err) < 0)
    return -1;
  rc = layer_store_resolve(s, argv[first], &img, err);
  if (rc == 0) {
    rc = tag_all(s, &img, argv + first + 1, argc - first - 1, err);
    store_image_release(&img);
  }
  layer_store_unlock(s);
  return rc;
}


const struct cli_command cli_cmd_tag = {
  .name = "tag",
  .summary = "give an image another name",
  .usage = usage,
  .run = run,
};
