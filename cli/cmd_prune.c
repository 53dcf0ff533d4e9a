#include "config.h"

#include <getopt.h>
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
  static const struct option opts[] = {
    { "root", required_argument, NULL, 'R' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_layer_store struct layer_store *s = NULL;
  struct store_gc_stats st = { 0, 0, 0, 0 };
  char size[32];
  int c, rc;

  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (c == 'R')
      cli_root = optarg;
    else if (c == 'h')
      return cli_print_usage(&cli_cmd_prune);
    else
      return cli_usage_error(&cli_cmd_prune, err, "unknown option '%s'",
                             argv[optind - 1]);
  }
  if (optind != argc)
    return cli_usage_error(&cli_cmd_prune, err, "unexpected argument '%s'",
                           argv[optind]);
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
