#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/cli_store.h"
#include "common/cleanup.h"
#include "layers/image.h"
#include "layers/oci.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild inspect [--root DIR] IMAGE...\n"
  "\n"
  "Print a JSON array with, for each IMAGE (a name, an ID or a digest), its\n"
  "ID (the config digest), manifest digest, names, size, the manifest and\n"
  "the image config.\n";

static json_t *
inspect_json(const struct store_image *img)
{
  json_t *o = json_object();
  json_t *names = json_array();
  char id[CB_DIGEST_HEX_LEN + 1], dg[CB_DIGEST_STR_LEN];
  cleanup_free char *mtext = oci_manifest_serialize(img->manifest, NULL);

  cb_digest_hex(&img->id, id);
  cb_digest_str(&img->manifest_digest, dg);
  for (char **t = img->names; *t != NULL; t++)
    json_array_append_new(names, json_string(*t));
  json_object_set_new(o, "Id", json_string(id));
  json_object_set_new(o, "Digest", json_string(dg));
  json_object_set_new(o, "RepoTags", names);
  json_object_set_new(o, "Size", json_integer((json_int_t)store_image_size(img)));
  json_object_set_new(o, "Manifest", json_loads(mtext, 0, NULL));
  json_object_set_new(o, "Config", json_deep_copy(img->config));
  return o;
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  cleanup_layer_store struct layer_store *s = NULL;
  cleanup_json json_t *out = json_array();
  cleanup_free char *text = NULL;
  int first = 0;
  int rc = cli_parse(&cli_cmd_inspect, argc, argv, NULL, true, NULL, NULL,
                     &first, err);

  if (rc != 0)
    return rc < 0 ? -1 : 0;
  if (first >= argc)
    return cli_usage_error(&cli_cmd_inspect, err, "expected an IMAGE");
  s = cli_store_open(err);
  if (s == NULL)
    return -1;
  for (int i = first; i < argc; i++) {
    struct store_image img;

    if (layer_store_resolve(s, argv[i], &img, err) < 0)
      return -1;
    json_array_append_new(out, inspect_json(&img));
    store_image_release(&img);
  }
  text = json_dumps(out, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
  printf("%s\n", text);
  return 0;
}


const struct cli_command cli_cmd_inspect = {
  .name = "inspect",
  .summary = "show an image's manifest and config as JSON",
  .usage = usage,
  .run = run,
};
