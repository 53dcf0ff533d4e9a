/* Run a program with openat2 failing ENOSYS, as on kernels before 5.6, so
   that the unit tests also go through the walk fallback of
   cb_open_in_root() (crun runs its tests the same way).
   Usage: no_openat2 PROGRAM [ARG]...  */
#include "config.h"

#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/banned.h"

/* Everything is allowed but openat2.  seccomp_load() sets no_new_privs,
   which needs no privilege.  */
static int
deny_openat2(void)
{
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  int rc;

  if (ctx == NULL)
    return -ENOMEM;
  rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0);
  if (rc == 0)
    rc = seccomp_load(ctx);
  seccomp_release(ctx);
  return rc;
}

int
main(int argc, char **argv)
{
  int rc;

  if (argc < 2) {
    fprintf(stderr, "usage: no_openat2 PROGRAM [ARG]...\n");
    return 2;
  }
  /* No filter must not mean a quiet second run through openat2: fail.  */
  rc = deny_openat2();
  if (rc < 0) {
    fprintf(stderr, "no_openat2: cannot install the seccomp filter: %s\n",
            strerror(-rc));
    return 1;
  }
  execvp(argv[1], argv + 1);
  fprintf(stderr, "no_openat2: cannot run '%s': %s\n", argv[1],
          strerror(errno));
  return 127;
}
