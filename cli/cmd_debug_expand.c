#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/mem.h"
#include "parser/shell.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild debug-expand [--words] [--env NAME=VALUE]... -- INPUT\n"
  "\n"
  "Apply Dockerfile word expansion to INPUT and print the result.\n"
  "The environment is exactly the --env options, in order.\n"
  "\n"
  "Options:\n"
  "  --env NAME=VALUE  define a variable (NAME alone defines it empty)\n"
  "  --words           split the result into words, one per line\n"
  "  --escape CHAR     the escape character, \\ (default) or `\n";

static void
shell_env_releasep(struct shell_env *env)
{
  shell_env_release(env);
}

static int
print_words(const char *input, const struct shell_env *env, char escape,
            struct cb_error **err)
{
  const struct shell_opts opts = { escape, 0 };
  cleanup_strv char **words = shell_expand_words(input, env, &opts, err);

  if (words == NULL)
    return -1;
  for (char **w = words; *w != NULL; w++)
    printf("%s\n", *w);
  return 0;
}

static int
print_word(const char *input, const struct shell_env *env, char escape,
           struct cb_error **err)
{
  const struct shell_opts opts = { escape, 0 };
  cleanup_free char *out = shell_expand_word(input, env, &opts, err);

  if (out == NULL)
    return -1;
  printf("%s\n", out);
  return 0;
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  static const struct option opts[] = {
    { "env", required_argument, NULL, 'e' },
    { "words", no_argument, NULL, 'w' },
    { "escape", required_argument, NULL, 'E' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  __attribute__((cleanup(shell_env_releasep))) struct shell_env env =
    SHELL_ENV_INIT;
  bool words = false;
  char escape = '\\';
  int c;

  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
    switch (c) {
    case 'e':
      shell_env_set_pair(&env, optarg);
      break;
    case 'w':
      words = true;
      break;
    case 'E':
      if (strcmp(optarg, "\\") != 0 && strcmp(optarg, "`") != 0)
        return cli_usage_error(&cli_cmd_debug_expand, err,
                               "--escape must be \\ or `");
      escape = optarg[0];
      break;
    case 'h':
      return cli_print_usage(&cli_cmd_debug_expand);
    default:
      return cli_usage_error(&cli_cmd_debug_expand, err, "bad option");
    }
  }
  if (argc - optind != 1)
    return cli_usage_error(&cli_cmd_debug_expand, err,
                           "expected exactly one INPUT after --");
  if (words)
    return print_words(argv[optind], &env, escape, err) < 0 ? -1 : 0;
  return print_word(argv[optind], &env, escape, err) < 0 ? -1 : 0;
}

const struct cli_command cli_cmd_debug_expand = {
  .name = "debug-expand",
  .summary = "apply Dockerfile word expansion to a string (for tests)",
  .usage = usage,
  .run = run,
};
