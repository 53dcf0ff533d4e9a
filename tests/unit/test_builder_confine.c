/* builder/confine: the capability table, and confine_apply() for real in
   a child that made a user namespace of its own (so that it has the
   capabilities to give up).  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/confine.h"
#include "common/fs.h"
#include "common/mem.h"
#include "tap.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static void
test_caps_table(void)
{
  /* Docker's default set, by name (moby's oci/caps).  */
  static const char *const docker[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE",
  };
  uint64_t m = confine_cap_mask();

  is_int((long long)confine_n_caps, (long long)CB_N_ELEMENTS(docker),
         "as many capabilities as Docker keeps");
  for (size_t i = 0; i < CB_N_ELEMENTS(docker); i++) {
    bool found = false;

    for (size_t j = 0; j < confine_n_caps; j++)
      found |= strcmp(confine_caps[j].name, docker[i]) == 0;
    ok(found, "%s is kept", docker[i]);
  }
  is_int(__builtin_popcountll(m), (long long)confine_n_caps,
         "the mask has one bit per capability");
  ok((m & (UINT64_C(1) << 21)) == 0, "CAP_SYS_ADMIN (21) is not kept");
}

static void
test_table_sane(void)
{
  size_t bad = 0;

  for (size_t i = 0; i < confine_n_denied; i++)
    if (confine_denied[i].errnum != EPERM && confine_denied[i].errnum != ENOSYS)
      bad++;
  is_int((long long)bad, 0, "every denied call answers EPERM or ENOSYS");
}

static int
write_file(const char *path, const char *text)
{
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0)
    return -1;
  n = write(fd, text, strlen(text));
  close(fd);
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Become uid 0 of a new user namespace: every capability, inside.  */
static int
enter_userns(uid_t uid, gid_t gid)
{
  char map[64];

  if (unshare(CLONE_NEWUSER) < 0 ||
      write_file("/proc/self/setgroups", "deny") < 0)
    return -1;
  snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
  if (write_file("/proc/self/uid_map", map) < 0)
    return -1;
  snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
  return write_file("/proc/self/gid_map", map);
}

static const char *
result(long r)
{
  return r < 0 ? strerror(errno) : "ok";
}

/* The child: confine itself, then print what it sees, one "key: value"
   line each.  */
static void __attribute__((noreturn))
child(int out)
{
  struct cb_error *err = NULL;
  struct confine cf;
  const char *step = "";
  char *status = NULL;
  size_t len;
  FILE *f = fdopen(out, "w");

  if (enter_userns(getuid(), getgid()) < 0) {
    fprintf(f, "userns: %s\n", strerror(errno));
    fclose(f);
    _exit(0);
  }
  if (confine_prepare(&cf, &err) < 0) {
    fprintf(f, "prepare: %s\n", err->msg);
    fclose(f);
    _exit(0);
  }
  fprintf(f, "progs: %zu\nsetgroups_allowed: %d\n", cf.n_progs,
          (int)cf.setgroups_allowed);
  fprintf(f, "apply: %s\n",
          confine_apply(&cf, 0, 0, NULL, 0, &step) < 0 ? step : "ok");
  fprintf(f, "keyctl: %s\n",
          result(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID,
                         KEY_SPEC_SESSION_KEYRING, 0)));
  fprintf(f, "unshare: %s\n", result(unshare(CLONE_NEWUSER)));
  fprintf(f, "clone3: %s\n", result(syscall(SYS_clone3, NULL, 0)));
  fprintf(f, "personality query: %s\n", result(personality(0xffffffff)));
  fprintf(f, "personality no-aslr: %s\n",
          result(personality(PER_LINUX | ADDR_NO_RANDOMIZE)));
  fprintf(f, "socket vsock: %s\n",
          result(socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0)));
  fprintf(f, "getpid: %s\n", result(getpid()));
  if (cb_read_file_at(AT_FDCWD, "/proc/self/status", 1 << 20, &status, &len,
                      &err) == 0)
    fwrite(status, 1, len, f);
  fclose(f);
  _exit(0);
}

/* The value of "KEY: value" in TEXT, or "" (a static buffer).  */
static const char *
field(const char *text, const char *key)
{
  static char val[256];
  size_t klen = strlen(key);

  val[0] = '\0';
  for (const char *p = text; p != NULL && *p != '\0';) {
    const char *end = strchr(p, '\n');

    if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
      const char *v = p + klen + 1;
      size_t n;

      v += strspn(v, " \t");
      n = end != NULL ? (size_t)(end - v) : strlen(v);
      snprintf(val, sizeof(val), "%.*s", (int)n, v);
      break;
    }
    p = end != NULL ? end + 1 : NULL;
  }
  return val;
}

static void
test_apply(void)
{
  struct cb_error *err = NULL;
  char *out = NULL, want[32];
  size_t len;
  int fds[2], st;
  pid_t pid;

  if (pipe(fds) < 0)
    abort();
  pid = fork();
  if (pid == 0) {
    close(fds[0]);
    child(fds[1]);
  }
  close(fds[1]);
  if (cb_read_all(fds[0], 1 << 20, &out, &len, &err) < 0)
    abort();
  close(fds[0]);
  waitpid(pid, &st, 0);
  if (field(out, "userns")[0] != '\0') {
    skip(17, "no user namespace: %s", field(out, "userns"));
    free(out);
    return;
  }
  is_str(field(out, "prepare"), "", "the filter builds");
  is_str(field(out, "progs"), "2", "two seccomp programs");
  is_str(field(out, "setgroups_allowed"), "0", "setgroups is denied here");
  is_str(field(out, "apply"), "ok", "confine_apply works as uid 0");
  snprintf(want, sizeof(want), "%016llx",
           (unsigned long long)confine_cap_mask());
  is_str(field(out, "CapEff"), want, "CapEff is the kept set");
  is_str(field(out, "CapPrm"), want, "CapPrm is the kept set");
  is_str(field(out, "CapBnd"), want, "CapBnd is the kept set");
  is_str(field(out, "CapInh"), "0000000000000000", "CapInh is empty");
  is_str(field(out, "NoNewPrivs"), "1", "no_new_privs");
  is_str(field(out, "Seccomp"), "2", "a seccomp filter");
  is_str(field(out, "keyctl"), strerror(EPERM), "keyctl: EPERM");
  is_str(field(out, "unshare"), strerror(EPERM), "unshare: EPERM");
  is_str(field(out, "clone3"), strerror(ENOSYS), "clone3: ENOSYS");
  is_str(field(out, "personality query"), "ok", "personality query works");
  is_str(field(out, "personality no-aslr"), strerror(EPERM),
         "personality(ADDR_NO_RANDOMIZE): EPERM");
  is_str(field(out, "socket vsock"), strerror(EPERM), "AF_VSOCK: EPERM");
  is_str(field(out, "getpid"), "ok", "everything else runs");
  free(out);
}

int
main(void)
{
  test_caps_table();
  test_table_sane();
  test_apply();
  return done_testing();
}
