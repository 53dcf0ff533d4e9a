#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_store.h"
#include "common/cleanup.h"
#include "common/mem.h"
#include "layers/image.h"
#include "layers/oci.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild images [--root DIR] [--format table|json] [-q] [--no-trunc]\n"
  "\n"
  "List the images in the store, one line per name.\n"
  "\n"
  "Options:\n"
  "  --format table|json  output format (default table)\n"
  "  -q, --quiet          print image IDs only\n"
  "  --no-trunc           print full image IDs\n"
  "  --root DIR           the store (default $CBUILD_ROOT or "
  "~/.local/share/cbuild)\n";

struct images_opts {
  bool json, quiet, no_trunc;
};

static const char *
created_of(const struct store_image *img)
{
  return json_string_value(json_object_get(img->config, "created"));
}

/* "repo:tag" -> repo and tag (the ":" after the last "/").  */
static void
split_name(const char *name, char *repo, size_t rlen, const char **tag)
{
  const char *at = strchr(name, '@');
  const char *slash = strrchr(name, '/');
  const char *colon = at != NULL ? NULL : strrchr(slash ? slash : name, ':');
  size_t n = at != NULL  ? (size_t)(at - name)
             : colon     ? (size_t)(colon - name)
                         : strlen(name);

  /* "repo@sha256:..." (pulled by digest) has no tag, as docker shows it. */
  snprintf(repo, rlen, "%.*s", (int)n, name);
  *tag = colon ? colon + 1 : "<none>";
}

static void
print_table(const struct store_image *imgs, size_t n,
            const struct images_opts *o)
{
  /* A full ID is wider than the column.  */
  int idw = o->no_trunc ? CB_DIGEST_HEX_LEN + 2 : 14;

  if (!o->quiet)
    printf("%-40s %-16s %-*s %-20s %s\n", "REPOSITORY", "TAG", idw, "IMAGE ID",
           "CREATED", "SIZE");
  for (size_t i = 0; i < n; i++) {
    char id[CB_DIGEST_HEX_LEN + 1], size[32], ago[64], repo[256];
    const char *tag;

    cb_digest_hex(&imgs[i].id, id);
    if (!o->no_trunc)
      id[12] = '\0';
    if (o->quiet) {
      printf("%s\n", id);
      continue;
    }
    cli_format_size(store_image_size(&imgs[i]), size, sizeof(size));
    cli_format_ago(created_of(&imgs[i]), ago, sizeof(ago));
    for (char **t = imgs[i].names; *t != NULL; t++) {
      split_name(*t, repo, sizeof(repo), &tag);
      printf("%-40s %-16s %-*s %-20s %s\n", repo, tag, idw, id, ago, size);
    }
  }
}

static json_t *
image_json(const struct store_image *img)
{
  json_t *o = json_object();
  json_t *names = json_array();
  char id[CB_DIGEST_HEX_LEN + 1], dg[CB_DIGEST_STR_LEN];
  json_t *labels = oci_config_get(img->config, "Labels");
  const char *created = created_of(img);

  cb_digest_hex(&img->id, id);
  cb_digest_str(&img->manifest_digest, dg);
  for (char **t = img->names; *t != NULL; t++)
    json_array_append_new(names, json_string(*t));
  json_object_set_new(o, "Id", json_string(id));
  json_object_set_new(o, "Names", names);
  json_object_set_new(o, "Digest", json_string(dg));
  json_object_set_new(o, "Created", created ? json_string(created)
                                            : json_null());
  json_object_set_new(o, "Size", json_integer((json_int_t)store_image_size(img)));
  json_object_set_new(o, "Labels", json_is_object(labels)
                                     ? json_deep_copy(labels)
                                     : json_object());
  return o;
}

static void
print_json(const struct store_image *imgs, size_t n)
{
  json_t *a = json_array();
  char *s;

  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, image_json(&imgs[i]));
  s = json_dumps(a, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
  printf("%s\n", s);
  free(s);
  json_decref(a);
}

static int
images_opt(void *data, int id, const char *arg, struct cb_error **err)
{
  struct images_opts *o = data;

  switch (id) {
  case 'F':
    if (strcmp(arg, "json") != 0 && strcmp(arg, "table") != 0)
      return cli_usage_error(&cli_cmd_images, err,
                             "unknown format '%s' (table, json)", arg);
    o->json = strcmp(arg, "json") == 0;
    return 0;
  case 'q':
    o->quiet = true;
    return 0;
  default:
    o->no_trunc = true;
    return 0;
  }
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  static const struct cli_opt opts[] = {
    { "format", 0, true, 'F' },
    { "quiet", 'q', false, 'q' },
    { "no-trunc", 0, false, 'N' },
    { NULL, 0, false, 0 },
  };
  struct images_opts o = { false, false, false };
  cleanup_layer_store struct layer_store *s = NULL;
  struct store_image *imgs = NULL;
  size_t n = 0;
  int first = 0;
  int rc = cli_parse(&cli_cmd_images, argc, argv, opts, true, images_opt, &o,
                     &first, err);

  if (rc != 0)
    return rc < 0 ? -1 : 0;
  if (first != argc)
    return cli_usage_error(&cli_cmd_images, err, "unexpected argument '%s'",
                           argv[first]);
  s = cli_store_open(err);
  if (s == NULL || layer_store_images(s, &imgs, &n, err) < 0)
    return -1;
  if (o.json)
    print_json(imgs, n);
  else
    print_table(imgs, n, &o);
  store_images_free(imgs, n);
  return 0;
}


const struct cli_command cli_cmd_images = {
  .name = "images",
  .summary = "list the images in the store",
  .usage = usage,
  .run = run,
};
