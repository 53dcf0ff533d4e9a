/* Parts of builder/scan.c for the unit tests.  */
#ifndef CBUILD_BUILDER_SCAN_INTERNAL_H
#define CBUILD_BUILDER_SCAN_INTERNAL_H

#ifndef CB_IN_BUILDER
#error "builder/scan-internal.h is internal to builder/"
#endif

#include <stdbool.h>
#include <stdint.h>

#include "builder/scan.h"

/* CMD with each "{}" replaced by ARCHIVE.  New string.  */
char *scan_expand(const char *cmd, const char *archive);

/* Whether the variable NAME looks like it holds a credential (the list
   in scan.h).  */
bool scan_name_is_secret(const char *name);

/* The scanners' environment: ENV ("NAME=VALUE" strings) without what
   scan.h says is left out, nor cbuild's own CBUILD_IMAGE_*,
   CBUILD_REPORT and CBUILD_IN_USERNS, plus ADD.  New array of new
   strings.  */
char **scan_env_new(char *const *env, const struct scan_config *c,
                    const struct build_secrets *secrets, char *const *add);

/* How a scanner ended.  */
struct scan_exit {
  int code;        /* exit status, when it exited */
  int signal;      /* the signal that killed it, or 0 */
  bool timed_out;  /* killed at the timeout */
  int interrupted; /* the signal (SIGINT, SIGTERM, ...) that made us stop */
};

/* Run CMD with "/bin/sh -c" in ENVP, in a process group of its own, and
   wait for it at most TIMEOUT_MS; then, or when cbuild gets SIGINT,
   SIGTERM, SIGHUP or SIGQUIT meanwhile, kill the whole group.  Whatever
   of the group is left when the shell ends is killed too.  -1 only when
   it could not be started.  */
int scan_exec(const char *cmd, char *const *envp, int64_t timeout_ms,
              struct scan_exit *ex, struct cb_error **err);

#endif
