#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/userns.h"
#include "cli/cli.h"
#include "common/log.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild unshare [--] [COMMAND [ARGS...]]\n"
  "\n"
  "Run COMMAND (default $SHELL, else /bin/sh) in the user namespace cbuild\n"
  "builds in: you are uid 0 there, and uids 1..N are your subordinate ids\n"
  "from /etc/subuid (gids likewise from /etc/subgid).  Without a range,\n"
  "only uid 0 is mapped (to you).  Exits with COMMAND's status (128 + N if\n"
  "it was killed by signal N).  Inside a namespace cbuild made already\n"
  "(CBUILD_IN_USERNS=1), COMMAND runs there.\n";

/* Inside the namespace: become COMMAND.  Like a shell, 127 when it is not
   found and 126 when it cannot be run.  */
static int
exec_command(char **cmd)
{
  const char *shell = getenv("SHELL");
  char *argv_sh[2] = { NULL, NULL };

  if (cmd[0] == NULL) {
    argv_sh[0] = (char *)(shell != NULL && *shell != '\0' ? shell : "/bin/sh");
    cmd = argv_sh;
  }
  execvp(cmd[0], cmd);
  cb_log(CB_LOG_ERROR, "cannot run '%s': %s", cmd[0], strerror(errno));
  return errno == ENOENT ? 127 : 126;
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  int first = 1, status = 0, rc;

  if (first < argc &&
      (strcmp(argv[first], "-h") == 0 || strcmp(argv[first], "--help") == 0))
    return cli_print_usage(&cli_cmd_unshare);
  /* Options of COMMAND are its own: stop at the first operand.  */
  if (first < argc && strcmp(argv[first], "--") == 0)
    first++;
  else if (first < argc && argv[first][0] == '-')
    return cli_usage_error(&cli_cmd_unshare, err, "unknown option '%s'",
                           argv[first]);
  rc = userns_reexec(cli_main_argv, &status, err);
  if (rc < 0)
    return -1;
  if (rc > 0)
    return status;
  return exec_command(argv + first);
}

const struct cli_command cli_cmd_unshare = {
  .name = "unshare",
  .summary = "run a command in cbuild's user namespace",
  .usage = usage,
  .run = run,
};
