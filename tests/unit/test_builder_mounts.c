/* builder/mounts: --secret reading and the translation of RUN --mount
   options into sandbox mounts, against a real store and context in a temp
   dir (no sandbox is started here; tests/integration/mounts.bats runs
   them).  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/mounts.h"
#include "builder/sandbox.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/limits.h"
#include "common/mem.h"
#include "layers/store.h"
#include "parser/instructions.h"
#include "tap.h"

static char *top;
static int top_fd = -1;

static void __attribute__((noreturn))
bail(const char *what)
{
  printf("Bail out! %s: %s\n", what, strerror(errno));
  exit(1);
}

static void
write_file(const char *name, const char *text)
{
  cleanup_close int fd = openat(top_fd, name,
                                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
    bail(name);
}

static char *
read_fd_text(int fd)
{
  char proc[64], *buf = NULL;
  size_t len;
  struct cb_error *err = NULL;
  cleanup_close int rd = -1;

  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
  rd = open(proc, O_RDONLY | O_CLOEXEC);
  if (rd < 0 || cb_read_all(rd, 1 << 20, &buf, &len, &err) < 0) {
    cb_error_free(err);
    return cb_xstrdup("(unreadable)");
  }
  return buf;
}

/* ---- --secret ---------------------------------------------------------- */

static void
test_secrets(void)
{
  struct build_secrets s = { NULL, 0 };
  struct cb_error *err = NULL;
  cleanup_free char *path = cb_xasprintf("%s/sec", top);
  cleanup_free char *spec = cb_xasprintf("id=f,src=%s", path);
  cleanup_free char *typed = cb_xasprintf("id=t,type=file,env=%s", path);
  const struct build_secret *sec;

  write_file("sec", "file-secret");
  setenv("CB_TEST_SECRET", "env-secret", 1);
  setenv("bare", "bare-env", 1);
  is_int(build_secrets_add(&s, spec, &err), 0, "id and src: a file");
  is_int(build_secrets_add(&s, "id=e,env=CB_TEST_SECRET", &err), 0,
         "id and env: a variable");
  is_int(build_secrets_add(&s, "id=bare", &err), 0,
         "id alone: the variable of that name when set");
  is_int(build_secrets_add(&s, typed, &err), 0,
         "type=file takes env= as the file");
  sec = build_secrets_find(&s, "f");
  ok(sec != NULL && sec->len == 11 && memcmp(sec->data, "file-secret", 11) == 0,
     "the file's bytes");
  sec = build_secrets_find(&s, "e");
  ok(sec != NULL && strcmp(sec->data, "env-secret") == 0, "the variable's");
  sec = build_secrets_find(&s, "bare");
  ok(sec != NULL && strcmp(sec->data, "bare-env") == 0, "the id's variable");
  sec = build_secrets_find(&s, "t");
  ok(sec != NULL && strcmp(sec->data, "file-secret") == 0, "typed file");
  ok(build_secrets_find(&s, "none") == NULL, "an unknown id is not found");

  static const struct {
    const char *spec, *msg;
  } bad[] = {
    { "src=/x", "has no id" },
    { "id=x,colour=red", "unknown key 'colour'" },
    { "id=x,type=ssh", "type is file or env" },
    { "id=x,env=CB_TEST_UNSET_VARIABLE", "is not set" },
    { "id=x,src=/nonexistent/secret", "cannot open" },
    { "id=x,src=/", "not a regular file" },
  };
  for (size_t i = 0; i < CB_N_ELEMENTS(bad); i++) {
    err = NULL;
    is_int(build_secrets_add(&s, bad[i].spec, &err), -1, "refuse '%s'",
           bad[i].spec);
    ok(err != NULL && strstr(err->msg, bad[i].msg) != NULL, "'%s': %s",
       bad[i].spec, err != NULL ? err->msg : "(no error)");
    cb_error_free(err);
  }
  /* Too large: the message must not carry the content.  */
  {
    char *big = cb_xmalloc(CB_MAX_SECRET_SIZE + 2);
    cleanup_free char *bigspec = cb_xasprintf("id=big,src=%s/big", top);

    memset(big, 'S', CB_MAX_SECRET_SIZE + 1);
    big[CB_MAX_SECRET_SIZE + 1] = '\0';
    write_file("big", big);
    free(big);
    err = NULL;
    is_int(build_secrets_add(&s, bigspec, &err), -1, "a secret too large");
    ok(err != NULL && strstr(err->msg, "SSSS") == NULL,
       "the error does not show it");
    cb_error_free(err);
  }
  build_secrets_release(&s);
  ok(s.n == 0 && s.v == NULL, "released");
}

/* ---- mounts ------------------------------------------------------------ */

static struct layer_store *store;
static int ctx_fd = -1;
static struct build_secrets secrets;
static int resolver_calls;

/* from=stage names the directory "stage" of the temp dir.  */
static int
resolve(void *data, const char *from, struct cb_error **err)
{
  int fd;

  (void)data;
  resolver_calls++;
  if (strcmp(from, "stage") != 0)
    return cb_fail(err, CB_ERR_USAGE, 0, "no stage '%s'", from);
  fd = openat(top_fd, "stage", O_PATH | O_DIRECTORY | O_CLOEXEC);
  return fd < 0 ? cb_fail_errno(err, "stage") : fd;
}

/* Prepare the --mount values SPECS (NULL-terminated) into RM.  */
static int
prepare(const char *const *specs, struct run_mounts *rm,
        struct cb_error **err)
{
  struct instr_mount m[8];
  struct run_mount_sources src = { 0 };
  size_t n = 0;
  int rc;

  memset(m, 0, sizeof(m));
  for (; specs[n] != NULL; n++)
    if (instr_parse_mount(specs[n], &m[n], err) < 0)
      bail(specs[n]);
  src.context_fd = ctx_fd;
  src.resolve_from = resolve;
  src.secrets = &secrets;
  src.workdir = "/w";
  src.file = "Dockerfile";
  src.line = 7;
  rc = run_mounts_prepare(m, n, &src, store, rm, err);
  for (size_t i = 0; i < n; i++)
    instr_mount_release(&m[i]);
  return rc;
}

static void
expect_error(const char *spec, const char *msg)
{
  const char *specs[] = { spec, NULL };
  struct run_mounts rm;
  struct cb_error *err = NULL;

  is_int(prepare(specs, &rm, &err), -1, "refuse %s", spec);
  ok(err != NULL && strstr(err->msg, msg) != NULL, "%s: %s", spec,
     err != NULL ? err->msg : "(none)");
  cb_error_free(err);
}

static void
test_bind(void)
{
  const char *specs[] = { "type=bind,source=sub,target=a/../x",
                          "type=bind,source=sub,target=/rw,rw",
                          "type=bind,source=sub/f,target=/f,rw",
                          "type=bind,from=stage,source=s,target=/s", NULL };
  struct run_mounts rm;
  struct cb_error *err = NULL;
  struct stat a, b;
  cleanup_free char *copy = NULL;

  resolver_calls = 0;
  if (!is_int(prepare(specs, &rm, &err), 0, "binds prepared")) {
    diag("%s", err->msg);
    return;
  }
  is_int((long long)rm.n_mounts, 4, "four mounts");
  is_str(rm.mounts[0].target, "/w/x", "a relative target is below WORKDIR");
  ok(rm.mounts[0].kind == SANDBOX_MOUNT_BIND && rm.mounts[0].readonly &&
         rm.mounts[0].upper_fd < 0,
     "read-only by default");
  ok(!rm.mounts[1].readonly && rm.mounts[1].upper_fd >= 0 &&
         rm.mounts[1].work_fd >= 0,
     "a writable directory gets a throwaway upper and work dir");
  fstatat(ctx_fd, "sub/f", &a, 0);
  fstat(rm.mounts[2].source_fd, &b);
  ok(!rm.mounts[2].readonly && rm.mounts[2].upper_fd < 0 &&
         a.st_ino != b.st_ino,
     "a writable file is a copy");
  copy = read_fd_text(rm.mounts[2].source_fd);
  is_str(copy, "in-sub\n", "with the same content");
  is_int(resolver_calls, 1, "from= asks the resolver");
  ok(rm.scratch != NULL && access(rm.scratch, F_OK) == 0,
     "a scratch dir exists while prepared");
  copy = (free(copy), cb_xstrdup(rm.scratch));
  run_mounts_release(&rm);
  ok(access(copy, F_OK) < 0 && errno == ENOENT, "released: scratch removed");
  expect_error("type=bind,source=nothing,target=/x",
               "Dockerfile:7: RUN --mount=type=bind,target=/x: source: open "
               "'nothing'");
  expect_error("type=bind,from=other,target=/x", "no stage 'other'");
  expect_error("type=ssh", "Dockerfile:7: RUN --mount=type=ssh is not "
                           "supported yet");
  expect_error("type=tmpfs,target=/a/..", "cannot mount over /");
}

static void
test_tmpfs_secret(void)
{
  const char *specs[] = { "type=tmpfs,target=/t,size=1m",
                          "type=secret,id=tok",
                          "type=secret,id=a/b/key,mode=0444,uid=5,gid=6",
                          "type=secret,target=/etc/tok",
                          "type=secret,id=tok,env=TOK",
                          "type=secret,id=missing", NULL };
  struct run_mounts rm;
  struct cb_error *err = NULL;

  if (!is_int(prepare(specs, &rm, &err), 0, "tmpfs and secrets prepared")) {
    diag("%s", err->msg);
    return;
  }
  is_int((long long)rm.n_mounts, 4, "env= alone and a missing one add none");
  ok(rm.mounts[0].kind == SANDBOX_MOUNT_TMPFS && rm.mounts[0].size == 1 << 20,
     "tmpfs size");
  is_str(rm.mounts[1].target, "/run/secrets/tok", "default secret target");
  ok(rm.mounts[1].kind == SANDBOX_MOUNT_FILE && rm.mounts[1].mode == 0400 &&
         rm.mounts[1].uid == 0 && rm.mounts[1].readonly &&
         rm.mounts[1].len == 9 && memcmp(rm.mounts[1].data, "the-token", 9) == 0,
     "0400, root, read-only, the secret's bytes");
  is_str(rm.mounts[2].target, "/run/secrets/key", "the id's base name");
  ok(rm.mounts[2].mode == 0444 && rm.mounts[2].uid == 5 &&
         rm.mounts[2].gid == 6,
     "mode, uid and gid");
  is_str(rm.mounts[3].target, "/etc/tok", "a target names the id too");
  ok(rm.env != NULL && rm.env[0] != NULL &&
         strcmp(rm.env[0], "TOK=the-token") == 0 && rm.env[1] == NULL,
     "env= sets the variable");
  ok(rm.scratch == NULL, "no scratch dir for tmpfs and secrets");
  run_mounts_release(&rm);
  expect_error("type=secret,id=missing,required",
               "Dockerfile:7: RUN --mount=type=secret,id=missing: secret "
               "'missing' is required but was not given");
}

/* The cache dir for ID.  */
static char *
cache_path(const char *id)
{
  char hex[65];

  run_mounts_cache_name(id, NULL, hex);
  return cb_xasprintf("cache/mounts/%s", hex);
}

static void
test_cache(void)
{
  const char *seeded[] = { "type=cache,id=seed,target=/c,from=stage,source=s,"
                           "mode=0700",
                           NULL };
  const char *plain[] = { "type=cache,target=/c", "type=cache,target=/c2,id=/c",
                          NULL };
  const char *priv[] = { "type=cache,id=p,target=/p,sharing=private", NULL };
  cleanup_free char *seed_dir = cache_path("seed");
  cleanup_free char *p_dir = cache_path("p");
  cleanup_free char *lock = NULL;
  struct run_mounts rm;
  struct cb_error *err = NULL;
  struct stat sb;
  char hex[65], link[64];
  ssize_t n;
  int root = layer_store_root_fd(store), held;

  run_mounts_cache_name(NULL, "/c", hex);
  ok(strlen(hex) == 64, "a cache name is a sha256 hex");
  if (!is_int(prepare(seeded, &rm, &err), 0, "a seeded cache prepared")) {
    diag("%s", err->msg);
    return;
  }
  ok(fstatat(root, seed_dir, &sb, 0) == 0 && S_ISDIR(sb.st_mode) &&
         (sb.st_mode & 07777) == 0700,
     "made with its mode");
  {
    cleanup_free char *f = cb_xasprintf("%s/in-s", seed_dir);
    cleanup_free char *l = cb_xasprintf("%s/d/link", seed_dir);

    ok(faccessat(root, f, F_OK, 0) == 0, "seeded from from='s source");
    n = readlinkat(root, l, link, sizeof(link) - 1);
    ok(n == 2 && memcmp(link, "..", 2) == 0, "symlinks copied as symlinks");
  }
  run_mounts_release(&rm);
  if (!is_int(prepare(plain, &rm, &err), 0, "two mounts of one cache")) {
    diag("%s", err->msg);
    return;
  }
  fstat(rm.mounts[0].source_fd, &sb);
  {
    struct stat sb2;

    fstat(rm.mounts[1].source_fd, &sb2);
    ok(sb.st_ino == sb2.st_ino, "id=/c is the cache of target /c");
  }
  run_mounts_release(&rm);

  /* A private cache held elsewhere: this run gets a fresh instance.  */
  is_int(prepare(priv, &rm, &err), 0, "private, free");
  ok(rm.scratch == NULL, "the persistent instance when nobody holds it");
  run_mounts_release(&rm);
  lock = cb_xasprintf("%s/%s.lock", layer_store_root(store), p_dir);
  held = open(lock, O_RDWR | O_CLOEXEC);
  if (held < 0 || flock(held, LOCK_SH) < 0)
    bail("hold the cache lock");
  is_int(prepare(priv, &rm, &err), 0, "private, busy");
  {
    struct stat persistent;

    ok(rm.scratch != NULL && fstat(rm.mounts[0].source_fd, &sb) == 0 &&
           fstatat(root, p_dir, &persistent, 0) == 0 &&
           sb.st_ino != persistent.st_ino,
       "a fresh instance in the scratch dir");
  }
  run_mounts_release(&rm);
  close(held);
}

/* ---- mount points left in the upper dir --------------------------------- */

/* Become uid 0 of a user namespace of our own (one id mapped).  */
static bool
enter_userns(void)
{
  char map[64];
  uid_t uid = getuid();
  gid_t gid = getgid();
  int fd;

  if (unshare(CLONE_NEWUSER) < 0)
    return false;
  fd = open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    (void)!write(fd, "deny", 4);
    close(fd);
  }
  snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
  fd = open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, map, strlen(map)) < 0)
    return false;
  close(fd);
  snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
  fd = open("/proc/self/gid_map", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, map, strlen(map)) < 0)
    return false;
  close(fd);
  return true;
}

static void
copy_busybox(const char *to)
{
  static const char *const where[] = { "/bin/busybox", "/usr/bin/busybox" };
  struct cb_error *err = NULL;
  cleanup_free char *buf = NULL;
  cleanup_close int fd = -1;
  size_t len = 0;

  for (size_t i = 0; i < CB_N_ELEMENTS(where) && buf == NULL; i++)
    if (cb_read_file_at(AT_FDCWD, where[i], 64 << 20, &buf, &len, &err) < 0) {
      cb_error_free(err);
      err = NULL;
    }
  fd = openat(top_fd, to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
  if (buf == NULL || fd < 0 || cb_write_all(fd, buf, len, &err) < 0)
    bail("copy busybox");
}

/* A sandbox run with mounts whose targets are missing (one through a
   symlink of the image, one a file): the upper dir keeps only what the
   command wrote, and the image's directory the stub went into gets its
   times back.  */
static void
test_stubs(void)
{
  static const char *const dirs[] = { "l", "l/0", "l/0/bin", "l/0/tmp",
                                      "upper", "work", "merged", "files" };
  char *argv[] = { "/bin/busybox", "sh", "-c",
                   "test -d /a/b/c && test -d /tmp/x && "
                   "test \"$(/bin/busybox cat /run/secrets/s)\" = data && "
                   "/bin/busybox touch /made",
                   NULL };
  char *envp[] = { "PATH=/bin", NULL };
  char *lowers[] = { "0", NULL };
  struct sandbox_mount mounts[3];
  struct sandbox_spec spec;
  struct cb_error *err = NULL;
  cleanup_free char *lower = cb_xasprintf("%s/l", top);
  cleanup_free char *merged = cb_xasprintf("%s/merged", top);
  cleanup_free char *files = cb_xasprintf("%s/files", top);
  const struct timespec old[2] = { { 1000, 0 }, { 2000, 0 } };
  struct stat sb;
  int status = -1;

  if (!enter_userns()) {
    skip(6, "no user namespace here: %s", strerror(errno));
    return;
  }
  for (size_t i = 0; i < CB_N_ELEMENTS(dirs); i++)
    if (mkdirat(top_fd, dirs[i], 0755) < 0)
      bail(dirs[i]);
  copy_busybox("l/0/bin/busybox");
  if (symlinkat("/tmp", top_fd, "l/0/link") < 0 ||
      utimensat(top_fd, "l/0/tmp", old, 0) < 0)
    bail("lower");
  memset(mounts, 0, sizeof(mounts));
  mounts[0].kind = mounts[1].kind = SANDBOX_MOUNT_TMPFS;
  mounts[0].target = "/a/b/c";
  mounts[1].target = "/link/x";
  mounts[2].kind = SANDBOX_MOUNT_FILE;
  mounts[2].target = "/run/secrets/s";
  mounts[2].data = "data";
  mounts[2].len = 4;
  mounts[2].mode = 0400;
  for (size_t i = 0; i < 3; i++)
    mounts[i].source_fd = mounts[i].upper_fd = mounts[i].work_fd = -1;
  memset(&spec, 0, sizeof(spec));
  spec.lower_dir = lower;
  spec.lowers = lowers;
  spec.n_lowers = 1;
  spec.upper = "../upper";
  spec.work = "../work";
  spec.merged = merged;
  spec.files_dir = files;
  spec.argv = argv;
  spec.envp = envp;
  spec.workdir = "/";
  spec.mounts = mounts;
  spec.n_mounts = 3;
  if (!is_int(sandbox_run(&spec, &status, &err), 0, "the sandbox ran")) {
    diag("%s", err->msg);
    cb_error_free(err);
    return;
  }
  is_int(status, 0, "the mounts were there, through the symlink too");
  ok(faccessat(top_fd, "upper/made", F_OK, AT_SYMLINK_NOFOLLOW) == 0,
     "what the command wrote stays");
  ok(faccessat(top_fd, "upper/a", F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
         faccessat(top_fd, "upper/run", F_OK, AT_SYMLINK_NOFOLLOW) < 0,
     "the created mount points and their parents are gone");
  ok(faccessat(top_fd, "upper/tmp/x", F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
         faccessat(top_fd, "upper/link", F_OK, AT_SYMLINK_NOFOLLOW) < 0,
     "the one through /link went to /tmp, and is gone");
  ok(fstatat(top_fd, "upper/tmp", &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
         sb.st_mtim.tv_sec == 2000,
     "/tmp (copied up) has the image's mtime again");
}

int
main(void)
{
  const char *tmpdir = getenv("TMPDIR");
  struct cb_error *err = NULL;
  cleanup_free char *store_dir = NULL;

  top = cb_xasprintf("%s/cb-mounts-XXXXXX", tmpdir ? tmpdir : "/tmp");
  if (mkdtemp(top) == NULL)
    bail("mkdtemp");
  top_fd = open(top, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (top_fd < 0 || mkdirat(top_fd, "ctx", 0755) < 0 ||
      mkdirat(top_fd, "ctx/sub", 0755) < 0 ||
      mkdirat(top_fd, "stage", 0755) < 0 ||
      mkdirat(top_fd, "stage/s", 0755) < 0 ||
      mkdirat(top_fd, "stage/s/d", 0755) < 0 ||
      symlinkat("..", top_fd, "stage/s/d/link") < 0)
    bail("set up");
  write_file("ctx/sub/f", "in-sub\n");
  write_file("stage/s/in-s", "seed\n");
  ctx_fd = openat(top_fd, "ctx", O_PATH | O_DIRECTORY | O_CLOEXEC);
  store_dir = cb_xasprintf("%s/store", top);
  store = layer_store_open(store_dir, &err);
  if (store == NULL || ctx_fd < 0)
    bail("open the store");
  setenv("CB_TEST_TOKEN", "the-token", 1);
  if (build_secrets_add(&secrets, "id=tok,env=CB_TEST_TOKEN", &err) < 0 ||
      build_secrets_add(&secrets, "id=a/b/key,env=CB_TEST_TOKEN", &err) < 0)
    bail("secrets");

  test_secrets();
  test_bind();
  test_tmpfs_secret();
  test_cache();
  test_stubs(); /* last: it enters a user namespace */

  build_secrets_release(&secrets);
  layer_store_free(store);
  cb_remove_tree_at(AT_FDCWD, top, NULL);
  free(top);
  return done_testing();
}
