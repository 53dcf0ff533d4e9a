/* The command-line front end: one file per subcommand, each exporting a
   struct cli_command.  A subcommand returns its exit status (>= 0), or -1
   with *err set; main() prints the error and picks the status.  */
#ifndef CBUILD_CLI_CLI_H
#define CBUILD_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

struct cli_command {
  const char *name;
  const char *summary; /* one line for `cbuild --help` */
  const char *usage;   /* full text for `cbuild help NAME` */
  int (*run)(int argc, char **argv, struct cb_error **err);
};

extern const struct cli_command cli_cmd_build;
extern const struct cli_command cli_cmd_parse;
extern const struct cli_command cli_cmd_lint;
extern const struct cli_command cli_cmd_debug_expand;
extern const struct cli_command cli_cmd_export;
extern const struct cli_command cli_cmd_images;
extern const struct cli_command cli_cmd_import;
extern const struct cli_command cli_cmd_inspect;
extern const struct cli_command cli_cmd_load;
extern const struct cli_command cli_cmd_login;
extern const struct cli_command cli_cmd_logout;
extern const struct cli_command cli_cmd_prune;
extern const struct cli_command cli_cmd_pull;
extern const struct cli_command cli_cmd_push;
extern const struct cli_command cli_cmd_rmi;
extern const struct cli_command cli_cmd_save;
extern const struct cli_command cli_cmd_sbom;
extern const struct cli_command cli_cmd_tag;
extern const struct cli_command cli_cmd_run;
extern const struct cli_command cli_cmd_unshare;
extern const struct cli_command cli_cmd_doctor;

/* main()'s argv, for commands that re-execute cbuild (userns_reexec).  */
extern char **cli_main_argv;

/* An option of a subcommand, for cli_parse().  */
struct cli_opt {
  const char *name; /* long name; NULL ends a table */
  int short_name;   /* 0 for none */
  bool has_arg;
  int id; /* handed to the callback */
};
typedef int (*cli_opt_fn)(void *data, int id, const char *arg,
                          struct cb_error **err);

/* Parse ARGV (ARGV[0] is the command word) with OPTS, plus -h/--help and,
   for commands that use the store (ROOT), --root DIR.  Options may follow
   operands; "--" ends them.  FN gets each of OPTS as it comes.  Returns 1
   when --help printed the usage, 0 with *FIRST the index of the first
   operand, -1 on a usage error (or FN's error).  */
int cli_parse(const struct cli_command *cmd, int argc, char **argv,
              const struct cli_opt *opts, bool root, cli_opt_fn fn,
              void *data, int *first, struct cb_error **err);

/* Parse ARG, the value of CMD's option NAME, as "true" or "false".  */
int cli_parse_bool(const struct cli_command *cmd, const char *name,
                   const char *arg, bool *out, struct cb_error **err);

/* A non-negative decimal integer; WHAT names it in the error.  */
int cli_parse_int64(const char *s, const char *what, int64_t *out,
                    struct cb_error **err);

/* The mtime clamp: *TS when given (>= 0), else SOURCE_DATE_EPOCH when
   set, else -1.  */
int cli_pick_timestamp(int64_t *ts, struct cb_error **err);

/* The paragraph the registry commands' usage texts share.  */
#define CLI_REGISTRY_USAGE                                                     \
  "Registries are spoken to over HTTPS, with the CAs and client\n"             \
  "certificate of /etc/containers/certs.d/HOST:PORT/ or\n"                     \
  "$XDG_CONFIG_HOME/containers/certs.d/HOST:PORT/; those on localhost,\n"      \
  "127.0.0.1 or [::1] over plain HTTP when they do not speak TLS.\n"           \
  "Credentials stored by 'cbuild login' (or in ~/.docker/config.json)\n"       \
  "are sent when the registry asks for them.\n"

/* Print NAME's usage to stdout (for --help) and return 0.  */
int cli_print_usage(const struct cli_command *cmd);

/* A usage error for CMD: "MSG (see 'cbuild help NAME')".  */
int cli_usage_error(const struct cli_command *cmd, struct cb_error **err,
                    const char *fmt, ...) CB_PRINTF(3, 4);

#endif
