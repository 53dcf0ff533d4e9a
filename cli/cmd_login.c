#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "registry/client.h"
#include "registry/credentials.h"
#include "common/banned.h"

static const char login_usage[] =
  "usage: cbuild login -u USER (-p PASS | --password-stdin)\n"
  "                    [--tls-verify=false] HOST\n"
  "\n"
  "Check USER's credentials against the registry HOST (\"host:port\") and\n"
  "store them for pull and push, in $REGISTRY_AUTH_FILE, else\n"
  "$XDG_RUNTIME_DIR/containers/auth.json (mode 0600).\n"
  "\n"
  "Options:\n"
  "  -u, --username USER  the user name\n"
  "  -p, --password PASS  the password (other users may see it in the\n"
  "                       process list: prefer --password-stdin)\n"
  "  --password-stdin     read the password from standard input\n"
  "  --tls-verify=false   do not check the registry's TLS certificate\n";

static const char logout_usage[] =
  "usage: cbuild logout HOST\n"
  "\n"
  "Remove the credentials stored for the registry HOST.\n";

enum { OPT_USER = 'u', OPT_PASS = 'p', OPT_STDIN = 'S', OPT_TLS = 'T' };

struct login_opts {
  const char *user;
  const char *pass;
  bool pass_stdin;
  struct registry_client_config cfg;
};

static int
login_opt(void *data, int id, const char *arg, struct cb_error **err)
{
  struct login_opts *o = data;

  switch (id) {
  case OPT_USER:
    o->user = arg;
    break;
  case OPT_PASS:
    o->pass = arg;
    break;
  case OPT_STDIN:
    o->pass_stdin = true;
    break;
  default:
    return cli_parse_bool(&cli_cmd_login, "tls-verify", arg,
                          &o->cfg.tls_verify, err);
  }
  return 0;
}

/* The password on standard input, without its final newline: a new
   string.  */
static char *
read_password(struct cb_error **err)
{
  char *buf = NULL;
  size_t len;

  if (cb_read_all(STDIN_FILENO, REGISTRY_MAX_CREDENTIALS, &buf, &len, err) <
      0)
    return cb_wrap_null(err, "reading the password from standard input");
  if (len > 0 && buf[len - 1] == '\n')
    buf[--len] = '\0';
  if (len > 0 && buf[len - 1] == '\r')
    buf[--len] = '\0';
  if (strlen(buf) != len || len == 0) {
    explicit_bzero(buf, len);
    free(buf);
    return cb_fail_null(err, CB_ERR_USAGE, 0,
                        "the password on standard input is empty or holds "
                        "a NUL byte");
  }
  return buf;
}

static int
login(const char *host, struct login_opts *o, struct cb_error **err)
{
  cleanup_registry_client struct registry_client *c = NULL;

  c = registry_client_new(host, err);
  if (c == NULL || registry_client_configure(c, &o->cfg, err) < 0 ||
      registry_login(c, err) < 0)
    return -1;
  return registry_credentials_store(host, o->user, o->pass, err);
}

static int
login_run(int argc, char **argv, struct cb_error **err)
{
  static const struct cli_opt opts[] = {
    { "username", 'u', true, OPT_USER },
    { "password", 'p', true, OPT_PASS },
    { "password-stdin", 0, false, OPT_STDIN },
    { "tls-verify", 0, true, OPT_TLS },
    { NULL, 0, false, 0 },
  };
  struct login_opts o = { .cfg = { .tls_verify = true } };
  char *stdin_pass = NULL;
  int first = 0;
  int rc = cli_parse(&cli_cmd_login, argc, argv, opts, false, login_opt, &o,
                     &first, err);

  if (rc != 0)
    return rc < 0 ? -1 : 0;
  if (argc - first != 1)
    return cli_usage_error(&cli_cmd_login, err, "expected one HOST");
  if (o.user == NULL || *o.user == '\0' || strchr(o.user, ':') != NULL)
    return cli_usage_error(&cli_cmd_login, err,
                           "-u USER is needed (a name without ':')");
  if ((o.pass != NULL) == o.pass_stdin)
    return cli_usage_error(&cli_cmd_login, err,
                           "give the password with -p or --password-stdin");
  if (o.pass_stdin) {
    stdin_pass = read_password(err);
    if (stdin_pass == NULL)
      return -1;
    o.pass = stdin_pass;
  }
  o.cfg.user = o.user;
  o.cfg.pass = o.pass;
  rc = login(argv[first], &o, err);
  registry_free_secret(stdin_pass);
  if (rc < 0)
    return -1;
  printf("Login Succeeded!\n");
  return 0;
}

static int
logout_run(int argc, char **argv, struct cb_error **err)
{
  bool found = false;
  int first = 0;
  int rc = cli_parse(&cli_cmd_logout, argc, argv, NULL, false, NULL, NULL,
                     &first, err);

  if (rc != 0)
    return rc < 0 ? -1 : 0;
  if (argc - first != 1)
    return cli_usage_error(&cli_cmd_logout, err, "expected one HOST");
  if (registry_credentials_remove(argv[first], &found, err) < 0)
    return -1;
  if (!found)
    return cb_fail(err, CB_ERR_USAGE, 0, "not logged in to '%s'",
                   argv[first]);
  printf("Removed login credentials for %s\n", argv[first]);
  return 0;
}

const struct cli_command cli_cmd_login = {
  .name = "login",
  .summary = "store credentials for a registry",
  .usage = login_usage,
  .run = login_run,
};

const struct cli_command cli_cmd_logout = {
  .name = "logout",
  .summary = "remove the credentials stored for a registry",
  .usage = logout_usage,
  .run = logout_run,
};
