#include "config.h"

#include <errno.h>
#include <fcntl.h>
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

/* --dump is the only output there is: accepted, nothing to record.  */
static int
parse_opt(void *data, int id, const char *arg, struct cb_error **err)
{
  return 0;
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  static const struct cli_opt opts[] = {
    { "dump", 0, false, 'd' },
    { NULL, 0, false, 0 },
  };
  int first = 0;
  int rc = cli_parse(&cli_cmd_parse, argc, argv, opts, false, parse_opt, NULL,
                     &first, err);

  if (rc != 0)
    return rc < 0 ? -1 : 0;
  if (argc - first != 1)
    return cli_usage_error(&cli_cmd_parse, err, "expected one FILE");
  return dump_file(argv[first], err) < 0 ? -1 : 0;
}

const struct cli_command cli_cmd_parse = {
  .name = "parse",
  .summary = "parse a Dockerfile and print its parse tree",
  .usage = usage,
  .run = run,
};
