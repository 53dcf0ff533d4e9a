#include "config.h"

#include "builder/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/mem.h"
#include "common/banned.h"

/* Docker's default capability set (moby's oci/caps defaults), in its
   order.  */
const struct confine_cap confine_caps[] = {
  { "CAP_CHOWN", CAP_CHOWN },
  { "CAP_DAC_OVERRIDE", CAP_DAC_OVERRIDE },
  { "CAP_FSETID", CAP_FSETID },
  { "CAP_FOWNER", CAP_FOWNER },
  { "CAP_MKNOD", CAP_MKNOD },
  { "CAP_NET_RAW", CAP_NET_RAW },
  { "CAP_SETGID", CAP_SETGID },
  { "CAP_SETUID", CAP_SETUID },
  { "CAP_SETFCAP", CAP_SETFCAP },
  { "CAP_SETPCAP", CAP_SETPCAP },
  { "CAP_NET_BIND_SERVICE", CAP_NET_BIND_SERVICE },
  { "CAP_SYS_CHROOT", CAP_SYS_CHROOT },
  { "CAP_KILL", CAP_KILL },
  { "CAP_AUDIT_WRITE", CAP_AUDIT_WRITE },
};
const size_t confine_n_caps = CB_N_ELEMENTS(confine_caps);

/* What Docker's default profile (an allow list) refuses a container that
   has only the capabilities above, written the other way round: the
   filter lets everything else through.  Besides these, three calls are
   checked by argument (confine_prepare): clone with a CLONE_NEW* flag,
   personality with anything but the harmless values, and socket for
   AF_VSOCK and AF_ALG.  Like Docker we allow ptrace (safe since Linux
   4.8), name_to_handle_at, adjtimex and clock_adjtime (only reading the
   clock: setting it needs CAP_SYS_TIME in the host's namespace), and
   leave NUMA policy calls to the kernel's own CAP_SYS_NICE checks.
   Names this libseccomp does not know are newer than it and skipped.  */
const struct confine_syscall confine_denied[] = {
  /* The sandbox's mounts and namespaces are fixed once it runs.  */
  { "mount", EPERM, "mounts" },
  { "umount", EPERM, "mounts" },
  { "umount2", EPERM, "mounts" },
  { "pivot_root", EPERM, "mounts" },
  { "fsopen", EPERM, "mounts (new API)" },
  { "fsconfig", EPERM, "mounts (new API)" },
  { "fsmount", EPERM, "mounts (new API)" },
  { "fspick", EPERM, "mounts (new API)" },
  { "move_mount", EPERM, "mounts (new API)" },
  { "open_tree", EPERM, "mounts (new API)" },
  { "mount_setattr", EPERM, "mounts (new API)" },
  { "unshare", EPERM, "a new user namespace would give back every capability" },
  { "setns", EPERM, "entering other namespaces" },
  { "clone3", ENOSYS,
    "its flags are in memory the filter cannot read: "
    "ENOSYS makes libc fall back to clone, which is checked" },
  /* Kernel keyrings are not namespaced.  */
  { "keyctl", EPERM, "kernel keyrings" },
  { "add_key", EPERM, "kernel keyrings" },
  { "request_key", EPERM, "kernel keyrings" },
  /* The whole machine.  */
  { "reboot", EPERM, "the machine" },
  { "kexec_load", EPERM, "the machine" },
  { "kexec_file_load", EPERM, "the machine" },
  { "init_module", EPERM, "kernel modules" },
  { "finit_module", EPERM, "kernel modules" },
  { "delete_module", EPERM, "kernel modules" },
  { "create_module", EPERM, "kernel modules (obsolete)" },
  { "swapon", EPERM, "swap" },
  { "swapoff", EPERM, "swap" },
  { "acct", EPERM, "process accounting" },
  { "quotactl", EPERM, "disk quotas" },
  { "quotactl_fd", EPERM, "disk quotas" },
  { "settimeofday", EPERM, "the clock" },
  { "stime", EPERM, "the clock" },
  { "clock_settime", EPERM, "the clock" },
  { "clock_settime64", EPERM, "the clock" },
  { "sethostname", EPERM, "the host name is set up by the sandbox" },
  { "setdomainname", EPERM, "the host name is set up by the sandbox" },
  { "syslog", EPERM, "the kernel log" },
  { "vhangup", EPERM, "terminals" },
  { "iopl", EPERM, "raw I/O ports" },
  { "ioperm", EPERM, "raw I/O ports" },
  /* Kernel attack surface, and looking into other processes.  */
  { "bpf", EPERM, "kernel attack surface" },
  { "perf_event_open", EPERM, "kernel attack surface, side channels" },
  { "userfaultfd", EPERM, "kernel exploit helper" },
  { "io_uring_setup", EPERM, "its operations bypass this filter" },
  { "io_uring_enter", EPERM, "its operations bypass this filter" },
  { "io_uring_register", EPERM, "its operations bypass this filter" },
  { "lookup_dcookie", EPERM, "kernel profiling" },
  { "kcmp", EPERM, "other processes' kernel state" },
  { "pidfd_getfd", EPERM, "other processes' files" },
  { "process_madvise", EPERM, "other processes' memory" },
  { "open_by_handle_at", EPERM, "opens files outside the root" },
  /* Obsolete calls nobody needs.  */
  { "nfsservctl", EPERM, "obsolete" },
  { "get_kernel_syms", EPERM, "obsolete" },
  { "query_module", EPERM, "obsolete" },
  { "uselib", EPERM, "obsolete" },
  { "ustat", EPERM, "obsolete" },
  { "sysfs", EPERM, "obsolete" },
  { "_sysctl", EPERM, "obsolete" },
  { "vm86", EPERM, "obsolete" },
  { "vm86old", EPERM, "obsolete" },
};
const size_t confine_n_denied = CB_N_ELEMENTS(confine_denied);

/* clone flags that make a namespace: refused, as by Docker.  */
static const unsigned long clone_ns_flags[] = {
  CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,    CLONE_NEWUSER,
  CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
};

/* personality values Docker allows: PER_LINUX, PER_LINUX32, each with
   UNAME26, and 0xffffffff, which only asks for the current one.  Others
   (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, ...) weaken exploit defences.  */
static const uint32_t personality_ok[] = { 0x0, 0x8, 0x20000, 0x20008,
                                           0xffffffff };

/* Socket families Docker's profile leaves out: AF_VSOCK reaches the
   host's virtual machines across network namespaces, AF_ALG is kernel
   crypto nobody in a build needs.  */
static const int socket_denied[] = { AF_VSOCK, AF_ALG };

/* The ABIs the kernel runs for this CPU, each with the value it puts in
   seccomp_data.arch: x32 calls carry x86-64's arch and set
   __X32_SYSCALL_BIT in the number instead (libseccomp knows).  */
struct filter_arch {
  uint32_t scmp;
  uint32_t audit;
};

static size_t
filter_arches(struct filter_arch out[3])
{
#if defined(__x86_64__)
  out[0] = (struct filter_arch){ SCMP_ARCH_X86_64, AUDIT_ARCH_X86_64 };
  out[1] = (struct filter_arch){ SCMP_ARCH_X86, AUDIT_ARCH_I386 };
  out[2] = (struct filter_arch){ SCMP_ARCH_X32, AUDIT_ARCH_X86_64 };
  return 3;
#elif defined(__aarch64__)
  out[0] = (struct filter_arch){ SCMP_ARCH_AARCH64, AUDIT_ARCH_AARCH64 };
  out[1] = (struct filter_arch){ SCMP_ARCH_ARM, AUDIT_ARCH_ARM };
  return 2;
#else
  /* Elsewhere libseccomp's arch token is the audit value.  */
  out[0] = (struct filter_arch){ seccomp_arch_native(), seccomp_arch_native() };
  return 1;
#endif
}

uint64_t
confine_cap_mask(void)
{
  uint64_t m = 0;

  for (size_t i = 0; i < confine_n_caps; i++)
    m |= UINT64_C(1) << confine_caps[i].cap;
  return m;
}

static void
seccomp_releasep(scmp_filter_ctx *ctx)
{
  if (*ctx != NULL)
    seccomp_release(*ctx);
}
#define cleanup_seccomp CB_CLEANUP(seccomp_releasep)

/* libseccomp returns -errno.  */
static int
scmp_fail(int rc, const char *what, const char *name, struct cb_error **err)
{
  return cb_fail(err, CB_ERR_SYSTEM, -rc, "seccomp: %s '%s'", what, name);
}

static int
add_table_rules(scmp_filter_ctx ctx, size_t *n, struct cb_error **err)
{
  for (size_t i = 0; i < confine_n_denied; i++) {
    const struct confine_syscall *d = &confine_denied[i];
    int nr = seccomp_syscall_resolve_name(d->name);
    int rc;

    if (nr == __NR_SCMP_ERROR)
      continue;
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t)d->errnum), nr, 0);
    if (rc < 0)
      return scmp_fail(rc, "cannot add a rule for", d->name, err);
    (*n)++;
  }
  return 0;
}

/* One rule per flag: libseccomp cannot say "any of these bits".  */
static int
add_arg_rules(scmp_filter_ctx ctx, size_t *n, struct cb_error **err)
{
#if defined(__s390__) || defined(__s390x__)
  const unsigned int clone_flags_arg = 1; /* s390 swaps clone's first two */
#else
  const unsigned int clone_flags_arg = 0;
#endif
  int rc;

  for (size_t i = 0; i < CB_N_ELEMENTS(clone_ns_flags); i++) {
    struct scmp_arg_cmp c = { clone_flags_arg, SCMP_CMP_MASKED_EQ,
                              clone_ns_flags[i], clone_ns_flags[i] };

    rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                &c);
    if (rc < 0)
      return scmp_fail(rc, "cannot add a rule for", "clone", err);
    (*n)++;
  }
  for (size_t i = 0; i < CB_N_ELEMENTS(socket_denied); i++) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
                          SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)socket_denied[i]));
    if (rc < 0)
      return scmp_fail(rc, "cannot add a rule for", "socket", err);
    (*n)++;
  }
  return 0;
}

/* The BPF program of CTX, read back through a memfd (libseccomp 2.5 has
   no export to memory).  */
static int
export_prog(scmp_filter_ctx ctx, struct sock_fprog *prog, struct cb_error **err)
{
  cleanup_close int fd = memfd_create("cbuild-seccomp", MFD_CLOEXEC);
  cleanup_free char *buf = NULL;
  size_t len = 0;
  int rc;

  if (fd < 0)
    return cb_fail_errno(err, "seccomp: memfd_create");
  rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0)
    return cb_fail(err, CB_ERR_SYSTEM, -rc,
                   "seccomp: cannot export the filter");
  if (lseek(fd, 0, SEEK_SET) < 0)
    return cb_fail_errno(err, "seccomp: lseek");
  if (cb_read_all(fd, BPF_MAXINSNS * sizeof(struct sock_filter), &buf, &len,
                  err) < 0)
    return cb_wrap(err, "seccomp: cannot read the filter back");
  if (len == 0 || len % sizeof(struct sock_filter) != 0)
    return cb_fail(err, CB_ERR_SYSTEM, 0,
                   "seccomp: the exported filter has %zu bytes", len);
  prog->len = (unsigned short)(len / sizeof(struct sock_filter));
  prog->filter = (struct sock_filter *)steal_ptr(&buf);
  return 0;
}

/* The main filter, made by libseccomp.  */
static int
build_main(struct confine *cf, struct cb_error **err)
{
  cleanup_seccomp scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  struct filter_arch arches[3];
  size_t n_arches = filter_arches(arches);
  int rc;

  if (ctx == NULL)
    return cb_fail(err, CB_ERR_SYSTEM, 0, "seccomp: seccomp_init failed");
  /* Calls from the other ABIs this CPU runs get the same rules; a call
     from any ABI not added is killed (libseccomp's default).  */
  for (size_t i = 1; i < n_arches; i++) {
    rc = seccomp_arch_add(ctx, arches[i].scmp);
    if (rc < 0 && rc != -EEXIST)
      return cb_fail(err, CB_ERR_SYSTEM, -rc,
                     "seccomp: cannot add architecture 0x%x",
                     (unsigned)arches[i].scmp);
  }
  if (add_table_rules(ctx, &cf->n_rules, err) < 0 ||
      add_arg_rules(ctx, &cf->n_rules, err) < 0)
    return -1;
  return export_prog(ctx, &cf->progs[cf->n_progs++], err);
}

/* personality is checked by a small filter of our own, loaded after the
   main one: allowing a few values needs "A0 != x and A0 != y", and
   libseccomp 2.5 refuses two comparisons of one argument in a rule.  The
   kernel takes the call's argument as an unsigned int: only the low 32
   bits count.  */
static int
build_personality(struct confine *cf, struct cb_error **err)
{
  enum { MAX = 3 * 4 + 1 + 1 + CB_N_ELEMENTS(personality_ok) + 2 };
  const uint32_t arg0 = offsetof(struct seccomp_data, args[0]) +
                        (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 4 : 0);
  struct sock_filter *p = cb_xcalloc(MAX, sizeof(*p));
  struct filter_arch arches[3];
  size_t n_arches = filter_arches(arches), i = 0, check, allow;
  size_t n_ok = CB_N_ELEMENTS(personality_ok);

  /* Count the arches that have the call, to place CHECK and ALLOW.  */
  check = 1;
  for (size_t k = 0; k < n_arches; k++)
    if (seccomp_syscall_resolve_name_arch(arches[k].scmp, "personality") >= 0)
      check += 4;
  allow = check + 1 + n_ok + 1;
  for (size_t k = 0; k < n_arches; k++) {
    int nr = seccomp_syscall_resolve_name_arch(arches[k].scmp, "personality");

    if (nr < 0)
      continue;
    p[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                          offsetof(struct seccomp_data, arch));
    p[i++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
                                          arches[k].audit, 0, 2);
    p[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                          offsetof(struct seccomp_data, nr));
    p[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr,
                                        (uint8_t)(check - i - 1), 0);
    i++;
  }
  p[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  /* CHECK */
  p[i++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, arg0);
  for (size_t k = 0; k < n_ok; k++, i++)
    p[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
                                        personality_ok[k],
                                        (uint8_t)(allow - i - 1), 0);
  p[i++] =
      (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
  /* ALLOW */
  p[i++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  if (i != allow + 1) {
    free(p);
    return cb_fail(err, CB_ERR_SYSTEM, 0,
                   "seccomp: personality filter of %zu instructions", i);
  }
  cf->progs[cf->n_progs].filter = p;
  cf->progs[cf->n_progs++].len = (unsigned short)i;
  cf->n_rules++;
  return 0;
}

/* /proc/self/setgroups holds "deny" in a user namespace whose gid map
   was written without the right to call setgroups (no subordinate gid
   range); without the file (no user namespace support) it is allowed. */
static bool
setgroups_allowed(void)
{
  char buf[16];
  int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0)
    return true;
  n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  return !(n >= 4 && memcmp(buf, "deny", 4) == 0);
}

int
confine_prepare(struct confine *cf, struct cb_error **err)
{
  memset(cf, 0, sizeof(*cf));
  cf->setgroups_allowed = setgroups_allowed();
  if (build_main(cf, err) < 0 || build_personality(cf, err) < 0) {
    confine_release(cf);
    return -1;
  }
  return 0;
}

void
confine_release(struct confine *cf)
{
  for (size_t i = 0; i < cf->n_progs; i++)
    free(cf->progs[i].filter);
  memset(cf, 0, sizeof(*cf));
}

/* RLIMIT_NOFILE to CONFINE_NOFILE; without the right to raise the hard
   limit (only the host's root has it), the soft limit goes up to the
   hard one, as podman does for rootless containers.  */
static int
raise_nofile(void)
{
  struct rlimit rl = { CONFINE_NOFILE, CONFINE_NOFILE };

  if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
    return 0;
  if (errno != EPERM || getrlimit(RLIMIT_NOFILE, &rl) < 0)
    return -1;
  rl.rlim_cur = rl.rlim_max;
  return setrlimit(RLIMIT_NOFILE, &rl);
}

/* Drop from the bounding set every capability not in KEEP, up to the
   last one this kernel knows (PR_CAPBSET_READ fails EINVAL past it).  */
static int
drop_bounding(uint64_t keep)
{
  for (unsigned long cap = 0; cap < 64; cap++) {
    int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

    if (r < 0 && errno == EINVAL)
      return 0;
    if (r < 0)
      return -1;
    if (r == 1 && (keep & (UINT64_C(1) << cap)) == 0 &&
        prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
      return -1;
  }
  return 0;
}

/* Permitted and effective to KEEP; inheritable empty, as Docker has it
   since CVE-2022-24769 (inheritable file capabilities must not grow a
   non-root user's set).  */
static int
set_caps(uint64_t keep)
{
  struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

  memset(d, 0, sizeof(d));
  d[0].permitted = d[0].effective = (uint32_t)keep;
  d[1].permitted = d[1].effective = (uint32_t)(keep >> 32);
  return (int)syscall(SYS_capset, &h, d);
}

/* The raw calls: glibc's wrappers would try to signal the other threads
   of the process we were cloned from, which do not exist here.  Where
   the plain calls take 16-bit ids (32-bit x86 and arm), the "32" ones
   are the real ones.  */
#ifdef SYS_setresuid32
#define NR_SETGROUPS SYS_setgroups32
#define NR_SETRESGID SYS_setresgid32
#define NR_SETRESUID SYS_setresuid32
#else
#define NR_SETGROUPS SYS_setgroups
#define NR_SETRESGID SYS_setresgid
#define NR_SETRESUID SYS_setresuid
#endif

int
confine_load_seccomp(const struct confine *cf)
{
  /* no_new_privs also lets an unprivileged process install a filter.  */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return -1;
  for (size_t i = 0; i < cf->n_progs; i++)
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &cf->progs[i], 0, 0) < 0)
      return -1;
  return 0;
}

int
confine_apply(const struct confine *cf, uid_t uid, gid_t gid,
              const gid_t *groups, size_t n_groups, const char **step)
{
  uint64_t keep = confine_cap_mask();

  *step = "setrlimit RLIMIT_NOFILE";
  if (raise_nofile() < 0)
    return -1;
  /* Needs CAP_SETPCAP, which we still have in full.  */
  *step = "drop capabilities from the bounding set";
  if (drop_bounding(keep) < 0)
    return -1;
  *step = "setgroups";
  if (cf->setgroups_allowed &&
      syscall(NR_SETGROUPS, n_groups, n_groups > 0 ? groups : NULL) < 0)
    return -1;
  *step = "setgid";
  if (syscall(NR_SETRESGID, gid, gid, gid) < 0)
    return -1;
  /* Before setuid: CAP_SETUID stays in the kept set, and for a non-root
     UID the kernel then empties permitted and effective itself.  */
  *step = "capset";
  if (set_caps(keep) < 0)
    return -1;
  *step = "setuid";
  if (syscall(NR_SETRESUID, uid, uid, uid) < 0)
    return -1;
  /* EINVAL: a kernel before 4.3, without ambient capabilities.  */
  *step = "clear ambient capabilities";
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
      errno != EINVAL)
    return -1;
  *step = "no_new_privs";
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return -1;
  *step = "seccomp";
  return confine_load_seccomp(cf);
}

/* What Docker hides in /proc and /sys (moby's oci defaults): files get
   an empty file on top (/dev/null), directories an empty read-only
   tmpfs.  They show kernel memory, other processes' keys and timers,
   and firmware and power controls.  */
static const char *const masked_paths[] = {
  "/proc/acpi",       "/proc/asound",      "/proc/interrupts",
  "/proc/kcore",      "/proc/keys",        "/proc/latency_stats",
  "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
  "/proc/scsi",       "/sys/firmware",     "/sys/devices/virtual/powercap",
};

/* Read-only for everybody: sysctls, the magic SysRq key (a write there
   can reboot the host when cbuild runs as real root), IRQ and bus
   settings.  /etc/resolv.conf is a copy in the run dir: writable, as in
   a Docker container, and thrown away.  */
static const char *const readonly_paths[] = {
  "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

int
confine_remount_ro(const char *path)
{
  struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                      MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };
  static const struct {
    unsigned long st, ms;
  } locked[] = { { ST_NOATIME, MS_NOATIME },
                 { ST_NODIRATIME, MS_NODIRATIME },
                 { ST_RELATIME, MS_RELATIME } };
  unsigned long flags =
      MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  struct statfs sf;

  if (syscall(SYS_mount_setattr, AT_FDCWD, path,
              AT_RECURSIVE | AT_SYMLINK_NOFOLLOW, &a, sizeof(a)) == 0)
    return 0;
  if (errno != ENOSYS)
    return -1;
  /* A remount must repeat the atime flags a mount from the host's
     namespace has, or the kernel refuses it.  */
  if (statfs(path, &sf) < 0)
    return -1;
  for (size_t i = 0; i < CB_N_ELEMENTS(locked); i++)
    if (sf.f_flags & locked[i].st)
      flags |= locked[i].ms;
  return mount(NULL, path, NULL, flags, NULL);
}

static int
mask_path(const char *path)
{
  struct stat sb;

  if (lstat(path, &sb) < 0)
    return errno == ENOENT ? 0 : -1;
  if (S_ISDIR(sb.st_mode))
    return mount("tmpfs", path, "tmpfs",
                 MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                 "size=0,mode=555");
  return mount("/dev/null", path, NULL, MS_BIND, NULL);
}

static int
readonly_path(const char *path)
{
  struct stat sb;

  if (lstat(path, &sb) < 0)
    return errno == ENOENT ? 0 : -1;
  /* A mount of its own first, so that only PATH turns read-only.  */
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
    return -1;
  return confine_remount_ro(path);
}

int
confine_paths(const char **step)
{
  for (size_t i = 0; i < CB_N_ELEMENTS(masked_paths); i++) {
    *step = masked_paths[i];
    if (mask_path(masked_paths[i]) < 0)
      return -1;
  }
  for (size_t i = 0; i < CB_N_ELEMENTS(readonly_paths); i++) {
    *step = readonly_paths[i];
    if (readonly_path(readonly_paths[i]) < 0)
      return -1;
  }
  return 0;
}
