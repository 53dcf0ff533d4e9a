#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/context.h"
#include "builder/lint.h"
#include "cli/cli.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/mem.h"
#include "parser/dockerfile.h"
#include "parser/instructions.h"
#include "common/banned.h"

static const char usage[] =
    "usage: cbuild lint [OPTIONS] [CONTEXT]\n"
    "\n"
    "Check the Dockerfile of CONTEXT (default: the current directory)\n"
    "against cbuild's rules, build nothing, and print one line per "
    "finding:\n"
    "  FILE:LINE  RULE  severity  message\n"
    "Exit status: 0 without error-severity findings, 1 with some, 2 for a\n"
    "usage or parse error.\n"
    "\n"
    "A comment right above an instruction silences rules for it:\n"
    "  # cbuild-lint ignore=CB012,pipe-to-shell\n"
    "\n"
    "Options:\n"
    "  -f, --file FILE        the Dockerfile (default CONTEXT/Dockerfile; - "
    "for stdin)\n"
    "      --format FORMAT    text (default), json or sarif (SARIF 2.1.0)\n"
    "      --ignore RULE      never report RULE, an id or a name "
    "(repeatable)\n"
    "      --target STAGE     the stage that becomes the image (default: "
    "the last)\n"
    "      --list             list the rules and exit\n";

enum lint_format { FORMAT_TEXT, FORMAT_JSON, FORMAT_SARIF };

struct lint_cli {
  const char *file;
  const char *target;
  enum lint_format format;
  char **ignore; /* borrowed from argv */
  size_t nignore;
  bool list;
};

static int
lint_opt(void *data, int id, const char *arg, struct cb_error **err)
{
  struct lint_cli *o = data;

  switch (id) {
  case 'f':
    o->file = arg;
    return 0;
  case 'T':
    o->target = arg;
    return 0;
  case 'l':
    o->list = true;
    return 0;
  case 'i':
    if (lint_rule_find(arg) == NULL)
      return cli_usage_error(&cli_cmd_lint, err,
                             "--ignore: unknown rule "
                             "'%s' (see 'cbuild lint --list')",
                             arg);
    o->ignore = cb_xreallocarray(o->ignore, o->nignore + 1, sizeof(*o->ignore));
    o->ignore[o->nignore++] = (char *)arg;
    return 0;
  default:
    if (strcmp(arg, "text") == 0)
      o->format = FORMAT_TEXT;
    else if (strcmp(arg, "json") == 0)
      o->format = FORMAT_JSON;
    else if (strcmp(arg, "sarif") == 0)
      o->format = FORMAT_SARIF;
    else
      return cli_usage_error(&cli_cmd_lint, err,
                             "--format is text, json "
                             "or sarif, not '%s'",
                             arg);
    return 0;
  }
}

static int
print_list(void)
{
  size_t n;
  const struct lint_rule *rules = lint_rules(&n);

  for (size_t i = 0; i < n; i++)
    printf("%s  %-34s %-8s %s\n", rules[i].id, rules[i].name,
           lint_severity_name(rules[i].severity), rules[i].doc);
  return 0;
}

static int
write_out(const struct lint_cli *o, const struct lint_report *r,
          const char *file, struct cb_error **err)
{
  cleanup_buf struct cb_buf text = CB_BUF_INIT;
  cleanup_free char *dump = NULL;
  json_t *doc = NULL;

  if (o->format == FORMAT_TEXT) {
    lint_report_text(r, file, &text);
  } else {
    doc = o->format == FORMAT_JSON ? lint_report_json(r, file)
                                   : lint_report_sarif(r, file);
    dump = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (dump == NULL)
      return cb_fail(err, CB_ERR_SYSTEM, 0, "cannot encode the report");
    cb_buf_adds(&text, dump);
    cb_buf_addc(&text, '\n');
  }
  if (fwrite(cb_buf_str(&text), 1, text.len, stdout) != text.len ||
      fflush(stdout) != 0)
    return cb_fail_errno(err, "cannot write the report");
  return 0;
}

static int
lint(const struct lint_cli *o, const char *dir, struct cb_error **err)
{
  cleanup_build_context struct build_context *ctx = NULL;
  cleanup_free char *text = NULL;
  cleanup_dockerfile struct dockerfile *df = NULL;
  cleanup_build_plan struct build_plan *plan = NULL;
  cleanup_lint_report struct lint_report *r = NULL;
  struct lint_opts lo;
  size_t len = 0;

  ctx = build_context_open(dir, o->file, &text, &len, err);
  if (ctx == NULL ||
      dockerfile_parse(ctx->dockerfile_name, text, len, &df, err) < 0)
    return -1;
  for (char **w = df->warnings; w != NULL && *w != NULL; w++)
    cb_log(CB_LOG_WARN, "%s:%s", ctx->dockerfile_name, *w);
  if (build_plan_new(df, &plan, err) < 0)
    return -1;
  memset(&lo, 0, sizeof(lo));
  lo.text = text;
  lo.len = len;
  lo.has_dockerignore = ctx->ignore_name != NULL;
  lo.target = o->target;
  lo.ignore = o->ignore;
  lo.nignore = o->nignore;
  if (lint_run(plan, &lo, &r, err) < 0 ||
      write_out(o, r, ctx->dockerfile_name, err) < 0)
    return -1;
  return r->count[LINT_ERROR] > 0 ? 1 : 0;
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  static const struct cli_opt opts[] = {
    { "file", 'f', true, 'f' }, { "format", 0, true, 'F' },
    { "ignore", 0, true, 'i' }, { "target", 0, true, 'T' },
    { "list", 0, false, 'l' },  { NULL, 0, false, 0 },
  };
  struct lint_cli o;
  int first = 0, rc;

  memset(&o, 0, sizeof(o));
  rc = cli_parse(&cli_cmd_lint, argc, argv, opts, false, lint_opt, &o, &first,
                 err);
  if (rc == 1) /* --help printed the usage */
    rc = 0;
  else if (rc == 0 && o.list)
    rc = print_list();
  else if (rc == 0 && argc - first > 1)
    rc = cli_usage_error(&cli_cmd_lint, err, "expected at most one CONTEXT");
  else if (rc == 0)
    rc = lint(&o, argc - first == 1 ? argv[first] : ".", err);
  free(o.ignore);
  return rc;
}

const struct cli_command cli_cmd_lint = {
  .name = "lint",
  .summary = "check a Dockerfile against cbuild's rules",
  .usage = usage,
  .run = run,
};
