#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/context.h"
#include "builder/plan.h"
#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/mem.h"
#include "parser/dockerfile.h"
#include "parser/instructions.h"
#include "parser/shell.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild build [OPTIONS] CONTEXT\n"
  "       cbuild [OPTIONS] CONTEXT\n"
  "\n"
  "Build an image from the Dockerfile in CONTEXT.\n"
  "\n"
  "Options:\n"
  "  -t, --tag NAME[:TAG]     name the image (repeatable)\n"
  "  -f, --file FILE          the Dockerfile (default CONTEXT/Dockerfile; - "
  "for stdin)\n"
  "      --build-arg NAME[=VALUE]\n"
  "                           set a build-time variable (NAME alone takes "
  "the\n"
  "                           value from the environment)\n"
  "      --target STAGE       build up to this stage\n"
  "\n"
  "For now the build stops after planning: it parses the Dockerfile and\n"
  "its .dockerignore, prints the stages and instructions, and reports that\n"
  "building is not implemented yet.\n";

struct build_cli {
  const char **tags; /* borrowed from argv */
  size_t ntags;
  const char *file;
  const char *target;
  struct shell_env build_args;
};

static void
build_cli_release(struct build_cli *o)
{
  free(o->tags);
  shell_env_release(&o->build_args);
}

/* --build-arg NAME=VALUE, or NAME alone: the value comes from the
   environment, and an unset NAME is left out (as docker build does).  */
static void
add_build_arg(struct build_cli *o, const char *arg)
{
  const char *eq = strchr(arg, '=');
  const char *env;

  if (eq != NULL) {
    shell_env_set_pair(&o->build_args, arg);
    return;
  }
  env = getenv(arg);
  if (env != NULL)
    shell_env_set(&o->build_args, arg, env);
}

static int
build_opt(void *data, int id, const char *arg, struct cb_error **err)
{
  struct build_cli *o = data;

  switch (id) {
  case 't':
    o->tags = cb_xreallocarray(o->tags, o->ntags + 1, sizeof(*o->tags));
    o->tags[o->ntags++] = arg;
    return 0;
  case 'f':
    o->file = arg;
    return 0;
  case 'a':
    add_build_arg(o, arg);
    return 0;
  default:
    o->target = arg;
    return 0;
  }
}

static void
print_summary(const struct build_context *ctx, const struct build_cli *o)
{
  printf("context: %s\n", ctx->dir);
  printf("dockerfile: %s\n", ctx->dockerfile_name);
  printf("dockerignore: %s (%zu pattern%s)\n",
         ctx->ignore_name ? ctx->ignore_name : "none",
         ignore_matcher_count(ctx->ignore),
         ignore_matcher_count(ctx->ignore) == 1 ? "" : "s");
  for (size_t i = 0; i < o->ntags; i++)
    printf("tag: %s\n", o->tags[i]);
}

static int
plan_build(const char *dir, const struct build_cli *o, struct cb_error **err)
{
  cleanup_build_context struct build_context *ctx = NULL;
  cleanup_dockerfile struct dockerfile *df = NULL;
  cleanup_build_plan struct build_plan *plan = NULL;
  cleanup_exec_plan struct exec_plan *ep = NULL;
  cleanup_free char *text = NULL;
  size_t len = 0;

  ctx = build_context_open(dir, o->file, &text, &len, err);
  if (ctx == NULL)
    return -1;
  if (dockerfile_parse(ctx->dockerfile_name, text, len, &df, err) < 0)
    return -1;
  for (char **w = df->warnings; w != NULL && *w != NULL; w++)
    cb_log(CB_LOG_WARN, "%s:%s", ctx->dockerfile_name, *w);
  if (build_plan_new(df, &plan, err) < 0 ||
      exec_plan_new(plan, &o->build_args, o->target, &ep, err) < 0)
    return -1;
  print_summary(ctx, o);
  exec_plan_print(ep, stdout);
  fflush(stdout);
  return cb_fail(err, CB_ERR_UNSUPPORTED, 0,
                 "building is not implemented yet: the Dockerfile was parsed "
                 "and planned, but no image was built");
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  static const struct cli_opt opts[] = {
    { "tag", 't', true, 't' },
    { "file", 'f', true, 'f' },
    { "build-arg", 0, true, 'a' },
    { "target", 0, true, 'T' },
    { NULL, 0, false, 0 },
  };
  struct build_cli o = { NULL, 0, NULL, NULL, SHELL_ENV_INIT };
  int first = 0;
  int rc = cli_parse(&cli_cmd_build, argc, argv, opts, false, build_opt, &o,
                     &first, err);

  if (rc == 1) /* --help printed the usage */
    rc = 0;
  else if (rc == 0 && argc - first != 1)
    rc = cli_usage_error(&cli_cmd_build, err,
                         "expected exactly one CONTEXT directory");
  else if (rc == 0)
    rc = plan_build(argv[first], &o, err);
  build_cli_release(&o);
  return rc;
}

const struct cli_command cli_cmd_build = {
  .name = "build",
  .summary = "build an image from a Dockerfile (the default command)",
  .usage = usage,
  .run = run,
};
