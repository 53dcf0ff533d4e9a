#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/cli_store.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/banned.h"

static const struct cli_command *const commands[] = {
  &cli_cmd_build,
  &cli_cmd_import,
  &cli_cmd_images,
  &cli_cmd_inspect,
  &cli_cmd_tag,
  &cli_cmd_rmi,
  &cli_cmd_prune,
  &cli_cmd_save,
  &cli_cmd_load,
  &cli_cmd_export,
  &cli_cmd_sbom,
  &cli_cmd_login,
  &cli_cmd_logout,
  &cli_cmd_pull,
  &cli_cmd_push,
  &cli_cmd_parse,
  &cli_cmd_lint,
  &cli_cmd_debug_expand,
  &cli_cmd_run,
  &cli_cmd_unshare,
  &cli_cmd_doctor,
};

char **cli_main_argv;

static const struct cli_command *
find_command(const char *name)
{
  for (size_t i = 0; i < CB_N_ELEMENTS(commands); i++) {
    if (strcmp(commands[i]->name, name) == 0)
      return commands[i];
  }
  return NULL;
}

static void
print_main_help(void)
{
  printf("usage: cbuild [--log-level LEVEL] COMMAND [ARGS...]\n"
         "       cbuild [BUILD OPTIONS] CONTEXT   (same as 'cbuild build')\n"
         "\n"
         "Build OCI container images from Dockerfiles, without a daemon and "
         "without root.\n"
         "\n"
         "Commands:\n");
  for (size_t i = 0; i < CB_N_ELEMENTS(commands); i++)
    printf("  %-14s %s\n", commands[i]->name, commands[i]->summary);
  printf("  %-14s %s\n", "help", "show help for a command");
  printf("  %-14s %s\n", "version", "show the version");
  printf("\n"
         "Global options:\n"
         "  --log-level LEVEL  error, warn (default), info or debug; "
         "also CBUILD_LOG\n"
         "  --root DIR         the image store (default $CBUILD_ROOT, else\n"
         "                     $XDG_DATA_HOME/cbuild or "
         "~/.local/share/cbuild)\n"
         "  -h, --help         show this help\n"
         "  -v, --version      show the version\n"
         "\n"
         "Run 'cbuild help COMMAND' for a command's options.\n");
}

int
cli_print_usage(const struct cli_command *cmd)
{
  fputs(cmd->usage, stdout);
  return 0;
}

int
cli_usage_error(const struct cli_command *cmd, struct cb_error **err,
                const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;

  va_start(ap, fmt);
  msg = cb_xvasprintf(fmt, ap);
  va_end(ap);
  return cb_fail(err, CB_ERR_USAGE, 0, "%s (see 'cbuild help %s')", msg,
                 cmd->name);
}

static int
run_help(int argc, char **argv, struct cb_error **err)
{
  const struct cli_command *cmd;

  if (argc < 2) {
    print_main_help();
    return 0;
  }
  cmd = find_command(argv[1]);
  if (cmd == NULL)
    return cb_fail(err, CB_ERR_USAGE, 0, "unknown command '%s'", argv[1]);
  return cli_print_usage(cmd);
}

static int
set_log_level(const char *name, struct cb_error **err)
{
  enum cb_log_level level;

  if (cb_log_parse_level(name, &level, err) < 0)
    return -1;
  cb_log_set_level(level);
  return 0;
}

/* Global options come before the command word.  Returns the index of the
   first argument that is not a global option, or -1.  */
static int
parse_global_options(int argc, char **argv, bool *done,
                     struct cb_error **err)
{
  int i = 1;

  *done = false;
  for (; i < argc; i++) {
    const char *a = argv[i];

    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      print_main_help();
      *done = true;
      return i;
    }
    if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
      printf("cbuild version %s\n", CBUILD_VERSION);
      *done = true;
      return i;
    }
    if (strcmp(a, "--root") == 0) {
      if (i + 1 >= argc)
        return cb_fail(err, CB_ERR_USAGE, 0, "--root needs a value");
      cli_root = argv[++i];
      continue;
    }
    if (strncmp(a, "--root=", 7) == 0) {
      cli_root = a + 7;
      continue;
    }
    if (strcmp(a, "--log-level") == 0) {
      if (i + 1 >= argc)
        return cb_fail(err, CB_ERR_USAGE, 0, "--log-level needs a value");
      if (set_log_level(argv[++i], err) < 0)
        return -1;
      continue;
    }
    if (strncmp(a, "--log-level=", 12) == 0) {
      if (set_log_level(a + 12, err) < 0)
        return -1;
      continue;
    }
    break;
  }
  return i;
}

static int
dispatch(int argc, char **argv, struct cb_error **err)
{
  const struct cli_command *cmd;
  const char *env_level = getenv("CBUILD_LOG");
  bool done;
  int first;

  if (env_level != NULL && *env_level != '\0' &&
      set_log_level(env_level, err) < 0)
    return cb_wrap(err, "CBUILD_LOG");
  first = parse_global_options(argc, argv, &done, err);
  if (first < 0 || done)
    return first < 0 ? -1 : 0;
  if (first >= argc) {
    print_main_help();
    return 2;
  }
  if (strcmp(argv[first], "help") == 0)
    return run_help(argc - first, argv + first, err);
  if (strcmp(argv[first], "version") == 0) {
    printf("cbuild version %s\n", CBUILD_VERSION);
    return 0;
  }
  cmd = find_command(argv[first]);
  if (cmd != NULL)
    return cmd->run(argc - first, argv + first, err);
  /* `cbuild -t app:1 .` is `cbuild build -t app:1 .`: build is the
     default verb.  A bare word that is not a command and not a directory
     is more likely a typo than a context.  */
  if (argv[first][0] != '-' && strchr(argv[first], '/') == NULL &&
      strcmp(argv[first], ".") != 0 && strcmp(argv[first], "..") != 0) {
    struct stat st;

    if (stat(argv[first], &st) < 0 || !S_ISDIR(st.st_mode))
      return cb_fail(err, CB_ERR_USAGE, 0,
                     "unknown command '%s' (see 'cbuild --help')",
                     argv[first]);
  }
  argv[first - 1] = (char *)"build";
  return cli_cmd_build.run(argc - first + 1, argv + first - 1, err);
}

int
main(int argc, char **argv)
{
  cleanup_error struct cb_error *err = NULL;
  int rc;

  cli_main_argv = argv;
  rc = dispatch(argc, argv, &err);
  if (rc < 0) {
    cleanup_free char *text = cb_error_text(err);

    fflush(stdout);
    fprintf(stderr, "cbuild: error: %s\n", text);
    return cb_error_exit_code(err);
  }
  return rc;
}
