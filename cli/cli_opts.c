#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_store.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/mem.h"
#include "common/banned.h"

/* getopt values: short options are their character, long ones OPT_LONG
   plus their index in the table.  */
enum { OPT_LONG = 0x1000, OPT_ROOT = 0x10000, OPT_HELP };

/* The getopt tables for OPTS plus the common options.  */
static struct option *
long_table(const struct cli_opt *opts, bool root, struct cb_buf *shorts)
{
  size_t n = 0, k = 0;
  struct option *t;

  while (opts != NULL && opts[n].name != NULL)
    n++;
  t = cb_xcalloc(n + 3, sizeof(*t));
  for (size_t i = 0; i < n; i++) {
    t[k++] = (struct option){ opts[i].name,
                              opts[i].has_arg ? required_argument
                                              : no_argument,
                              NULL, OPT_LONG + (int)i };
    if (opts[i].short_name != 0) {
      cb_buf_addc(shorts, (char)opts[i].short_name);
      if (opts[i].has_arg)
        cb_buf_addc(shorts, ':');
    }
  }
  if (root)
    t[k++] = (struct option){ "root", required_argument, NULL, OPT_ROOT };
  t[k++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
  cb_buf_addc(shorts, 'h');
  return t;
}

static int
short_index(const struct cli_opt *opts, int c)
{
  for (int i = 0; opts != NULL && opts[i].name != NULL; i++) {
    if (opts[i].short_name == c)
      return i;
  }
  return -1;
}

int
cli_parse(const struct cli_command *cmd, int argc, char **argv,
          const struct cli_opt *opts, bool root, cli_opt_fn fn, void *data,
          int *first, struct cb_error **err)
{
  cleanup_buf struct cb_buf shorts = CB_BUF_INIT;
  cleanup_free struct option *table = NULL;
  int c;

  table = long_table(opts, root, &shorts);
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, cb_buf_str(&shorts), table, NULL)) !=
         -1) {
    int i = c >= OPT_LONG && c < OPT_ROOT ? c - OPT_LONG
                                           : short_index(opts, c);

    if (c == OPT_ROOT) {
      cli_root = optarg;
    } else if (c == OPT_HELP || c == 'h') {
      cli_print_usage(cmd);
      return 1;
    } else if (c == '?' || c == ':' || i < 0) {
      return cli_usage_error(cmd, err, c == ':' ? "option '%s' needs a value"
                                                : "unknown option '%s'",
                             argv[optind - 1]);
    } else if (fn(data, opts[i].id, optarg, err) < 0) {
      return -1;
    }
  }
  *first = optind;
  return 0;
}

int
cli_parse_bool(const struct cli_command *cmd, const char *name,
               const char *arg, bool *out, struct cb_error **err)
{
  if (strcmp(arg, "true") == 0)
    *out = true;
  else if (strcmp(arg, "false") == 0)
    *out = false;
  else
    return cli_usage_error(cmd, err, "--%s wants true or false, not '%s'",
                           name, arg);
  return 0;
}

int
cli_parse_int64(const char *s, const char *what, int64_t *out,
                struct cb_error **err)
{
  char *end = NULL;
  long long v;

  errno = 0;
  v = strtoll(s, &end, 10);
  if (*s == '\0' || *end != '\0' || errno != 0 || v < 0)
    return cb_fail(err, CB_ERR_USAGE, 0, "invalid %s '%s'", what, s);
  *out = v;
  return 0;
}

int
cli_pick_timestamp(int64_t *ts, struct cb_error **err)
{
  const char *sde = getenv("SOURCE_DATE_EPOCH");

  if (*ts < 0 && sde != NULL && *sde != '\0')
    return cli_parse_int64(sde, "SOURCE_DATE_EPOCH", ts, err);
  return 0;
}
