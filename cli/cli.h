/* The command-line front end: one file per subcommand, each exporting a
   struct cli_command.  A subcommand returns its exit status (>= 0), or -1
   with *err set; main() prints the error and picks the status.  */
#ifndef CBUILD_CLI_CLI_H
#define CBUILD_CLI_CLI_H

#include "common/error.h"

struct cli_command {
  const char *name;
  const char *summary; /* one line for `cbuild --help` */
  const char *usage;   /* full text for `cbuild help NAME` */
  int (*run)(int argc, char **argv, struct cb_error **err);
};

extern const struct cli_command cli_cmd_build;
extern const struct cli_command cli_cmd_parse;
extern const struct cli_command cli_cmd_debug_expand;
extern const struct cli_command cli_cmd_export;
extern const struct cli_command cli_cmd_images;
extern const struct cli_command cli_cmd_import;
extern const struct cli_command cli_cmd_inspect;
extern const struct cli_command cli_cmd_load;
extern const struct cli_command cli_cmd_prune;
extern const struct cli_command cli_cmd_rmi;
extern const struct cli_command cli_cmd_save;
extern const struct cli_command cli_cmd_tag;

/* Print NAME's usage to stdout (for --help) and return 0.  */
int cli_print_usage(const struct cli_command *cmd);

/* A usage error for CMD: "MSG (see 'cbuild help NAME')".  */
int cli_usage_error(const struct cli_command *cmd, struct cb_error **err,
                    const char *fmt, ...) CB_PRINTF(3, 4);

#endif
