#include "config.h"

#include <stdio.h>

#include "cli/cli.h"
#include "cli/cli_store.h"
#include "common/cleanup.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild prune [--root DIR]\n"
  "\n"
  "Remove from the store every blob no tagged image refers to, unpacked\n"
  "layers no image uses, and leftovers of interrupted commands.  Prints\n"
  "what it freed.\n";

static int
run(int argc, char **argv, struct cb_error **err)
{
  cleanup_layer_store struct layer_store *s = NULL;
  struct store_gc_stats st = { 0, 0, 0, 0 };
  char size[32];
  int first = 0;
  int rc = cli_parse(&cli_cmd_prune, argc, argv, NULL, true, NULL, NULL,
                     &first, err);

  if (rc != 0)
    return rc < 0 ? -1 : 0;
  if (first != argc)
    return cli_usage_error(&cli_cmd_prune, err, "unexpected argument '%s'",
                           argv[first]);
  s = cli_store_open(err);
  if (s == NULL || layer_store_lock(s, err) < 0)
    return -1;
  rc = layer_store_gc(s, &st, err);
  layer_store_unlock(s);
  if (rc < 0)
    return -1;
  cli_format_size(st.blob_bytes, size, sizeof(size));
  printf("removed %llu blobs (%s), %llu unpacked layers, %llu temporary "
         "entries\n",
         (unsigned long long)st.blobs_removed, size,
         (unsigned long long)st.unpacked_removed,
         (unsigned long long)st.tmp_removed);
  return 0;
}


const struct cli_command cli_cmd_prune = {
  .name = "prune",
  .summary = "free store space nothing refers to",
  .usage = usage,
  .run = run,
};
