#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/limits.h"
#include "common/log.h"
#include "parser/dockerfile.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild parse --dump FILE\n"
  "\n"
  "Parse the Dockerfile FILE exactly as a build would, build nothing, and\n"
  "print the parse tree (BuildKit's dump format: one line per "
  "instruction).\n"
  "\n"
  "Options:\n"
  "  --dump   print the parse tree (the default and only output for now)\n";

static int
dump_file(const char *path, struct cb_error **err)
{
  cleanup_free char *text = NULL;
  cleanup_dockerfile struct dockerfile *df = NULL;
  cleanup_buf struct cb_buf out = CB_BUF_INIT;
  size_t len = 0;

  if (cb_read_file_at(AT_FDCWD, path, CB_MAX_DOCKERFILE_SIZE, &text, &len,
                      err) < 0)
    return -1;
  if (dockerfile_parse(path, text, len, &df, err) < 0)
    return -1;
  for (char **w = df->warnings; w != NULL && *w != NULL; w++)
    cb_log(CB_LOG_WARN, "%s:%s", path, *w);
  dockerfile_dump(df, &out);
  if (fwrite(cb_buf_str(&out), 1, out.len, stdout) != out.len ||
      fflush(stdout) != 0)
    return cb_fail_errno(err, "cannot write the dump");
  return 0;
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  static const struct option opts[] = {
    { "dump", no_argument, NULL, 'd' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'd':
      break;
    case 'h':
      return cli_print_usage(&cli_cmd_parse);
    default:
      return cli_usage_error(&cli_cmd_parse, err, "unknown option '%s'",
                             argv[optind - 1]);
    }
  }
  if (argc - optind != 1)
    return cli_usage_error(&cli_cmd_parse, err, "expected one FILE");
  return dump_file(argv[optind], err) < 0 ? -1 : 0;
}

const struct cli_command cli_cmd_parse = {
  .name = "parse",
  .summary = "parse a Dockerfile and print its parse tree",
  .usage = usage,
  .run = run,
};
