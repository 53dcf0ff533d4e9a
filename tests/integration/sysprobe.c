/* cb-sysprobe CALL...: make each named system call once, with harmless
   arguments, and print "CALL: ok" or "CALL: <strerror>" per line.  Built
   static, so that it runs in the busybox test image, which has no libc;
   sandbox.bats copies it in to see what the seccomp filter refuses.
   Exits 0 when every call ran (whatever it answered), 2 on a bad name.  */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* A child made by clone(2) with FLAGS: it exits at once.  */
static long
do_clone(unsigned long flags)
{
  long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);

  if (pid == 0)
    _exit(0);
  if (pid > 0)
    waitpid((pid_t)pid, NULL, 0);
  return pid < 0 ? -1 : 0;
}

static long
do_clone3(void)
{
  struct clone_args a;
  long pid;

  memset(&a, 0, sizeof(a));
  a.exit_signal = SIGCHLD;
  pid = syscall(SYS_clone3, &a, sizeof(a));
  if (pid == 0)
    _exit(0);
  if (pid > 0)
    waitpid((pid_t)pid, NULL, 0);
  return pid < 0 ? -1 : 0;
}

/* Each call returns < 0 with errno set on failure.  */
static long
run(const char *name)
{
  if (strcmp(name, "keyctl") == 0)
    return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING,
                   0);
  if (strcmp(name, "add_key") == 0)
    return syscall(SYS_add_key, "user", "cbuild-probe", "x", 1,
                   KEY_SPEC_PROCESS_KEYRING);
  if (strcmp(name, "unshare-user") == 0)
    return unshare(CLONE_NEWUSER);
  if (strcmp(name, "clone-newuser") == 0)
    return do_clone(CLONE_NEWUSER);
  if (strcmp(name, "clone") == 0)
    return do_clone(0);
  if (strcmp(name, "clone3") == 0)
    return do_clone3();
  if (strcmp(name, "mount") == 0)
    return mount("none", "/tmp", "tmpfs", 0, NULL);
  if (strcmp(name, "personality-query") == 0)
    return personality(0xffffffff);
  if (strcmp(name, "personality-no-aslr") == 0)
    return personality(PER_LINUX | ADDR_NO_RANDOMIZE);
  if (strcmp(name, "userfaultfd") == 0)
    return syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */);
  if (strcmp(name, "io_uring_setup") == 0) {
    char params[120]; /* struct io_uring_params, zeroed */

    memset(params, 0, sizeof(params));
    return syscall(SYS_io_uring_setup, 1, params);
  }
  if (strcmp(name, "socket-vsock") == 0)
    return socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  errno = 0;
  return -2;
}

int
main(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    long r = run(argv[i]);

    if (r == -2 && errno == 0) {
      fprintf(stderr, "cb-sysprobe: unknown call '%s'\n", argv[i]);
      return 2;
    }
    printf("%s: %s\n", argv[i], r < 0 ? strerror(errno) : "ok");
  }
  return 0;
}
