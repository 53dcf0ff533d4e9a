/* The /etc/subuid parser and the user-namespace helpers that need no
   namespace.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/userns.h"
#include "common/fs.h"
#include "common/mem.h"
#include "tap.h"

/* Parse TEXT for user "alice" (uid 1000) and print the ranges as
   "start:count,start:count", or "error: KIND" on failure.  */
static char *
ranges_of(const char *text, const char *name, uint32_t id)
{
  struct userns_range *r = NULL;
  struct cb_error *err = NULL;
  size_t n = 0;
  char *out = cb_xstrdup("");

  if (userns_parse_subid(text, strlen(text), name, id, &r, &n, &err) < 0) {
    free(out);
    out = cb_xasprintf("error: %d", (int)err->kind);
    cb_error_free(err);
    return out;
  }
  for (size_t i = 0; i < n; i++) {
    char *next = cb_xasprintf("%s%s%u:%u", out, i > 0 ? "," : "", r[i].start,
                              r[i].count);

    free(out);
    out = next;
  }
  free(r);
  return out;
}

static void
check(const char *text, const char *name, uint32_t id, const char *want,
      const char *what)
{
  char *got = ranges_of(text, name, id);

  is_str(got, want, "%s", what);
  free(got);
}

static void
test_parse(void)
{
  static const struct {
    const char *text, *want, *what;
  } cases[] = {
    { "alice:100000:65536\n", "100000:65536", "one line by name" },
    { "1000:100000:65536\n", "100000:65536", "one line by uid" },
    { "alice:100000:65536", "100000:65536", "no final newline" },
    { "bob:1:2\nalice:300000:10\n", "300000:10", "other users skipped" },
    { "# alice:1:2\nalice:5:6\n", "5:6", "comment line" },
    { "\n\nalice:5:6\n\n", "5:6", "blank lines" },
    { "alice:5:6\r\n", "5:6", "CRLF" },
    { "alice:5:6  \n", "5:6", "trailing spaces" },
    { "alice:1:2\nbob:3:4\n1000:5:6\nalice:7:8\n", "1:2,5:6,7:8",
      "several ranges, names and numbers, in file order" },
    { "alice:100000\n", "", "two fields" },
    { "alice:1:2:3\n", "", "four fields" },
    { "alice::2\n", "", "empty start" },
    { "alice:1:\n", "", "empty count" },
    { "alice:-1:2\n", "", "negative start" },
    { "alice:+1:2\n", "", "signed start" },
    { "alice:0x10:2\n", "", "hex start" },
    { "alice: 1:2\n", "", "space in a number" },
    { "alice:1:0\n", "", "zero count" },
    { "alice:4294967296:1\n", "", "start above 2^32 - 1" },
    { "alice:99999999999:1\n", "", "start with 11 digits" },
    { "alice:4294967295:2\n", "", "start + count past 2^32" },
    { "alice:4294967295:1\n", "4294967295:1", "last id exactly" },
    { ":1:2\n", "", "empty owner" },
    { "Alice:1:2\nalic:1:2\nalicex:1:2\n", "", "names match exactly" },
    { "01000:1:2\n", "1:2", "uid with a leading zero" },
    { "1001:1:2\n", "", "another uid" },
    { "alice:1:2\nbroken\nalice:3:4\n", "1:2,3:4",
      "a malformed line does not hide the next" },
    { "alice:0:4294967295\n", "error: 4",
      "ranges past container uid 2^32 - 2" },
    { "alice:0:2147483647\nalice:0:2147483647\n", "0:2147483647,0:2147483647",
      "ranges adding up to 2^32 - 2" },
    { "alice:0:2147483647\nalice:0:2147483648\n", "error: 4",
      "ranges adding up past 2^32 - 2" },
    { "", "", "empty file" },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(cases); i++)
    check(cases[i].text, "alice", 1000, cases[i].want, cases[i].what);
  check("alice:1:2\n1000:3:4\n", NULL, 1000, "3:4", "no name: numbers only");
}

static void
test_too_many(void)
{
  char *text = cb_xstrdup("");
  char *got;

  for (int i = 0; i <= USERNS_MAX_RANGES; i++) {
    char *next = cb_xasprintf("%salice:%d:1\n", text, 1000 + i);

    free(text);
    text = next;
  }
  got = ranges_of(text, "alice", 1000);
  is_str(got, "error: 4", "more than %d ranges is refused", USERNS_MAX_RANGES);
  free(got);
  free(text);
}

static void
test_read_file(void)
{
  char dir[] = "/tmp/cbuild-userns-XXXXXX";
  struct userns_range *r = NULL;
  struct cb_error *err = NULL;
  size_t n = 99;
  char *path;
  FILE *f;

  if (mkdtemp(dir) == NULL) {
    skip(4, "mkdtemp: %s", strerror(errno));
    return;
  }
  path = cb_xasprintf("%s/subuid", dir);
  is_int(userns_read_subid(path, "alice", 1000, &r, &n, &err), 0,
         "a missing file is no ranges");
  is_int((long long)n, 0, "no ranges");
  f = fopen(path, "w");
  fputs("alice:10:20\n", f);
  fclose(f);
  n = 0;
  userns_read_subid(path, "alice", 1000, &r, &n, &err);
  ok(n == 1 && r[0].start == 10 && r[0].count == 20, "range read");
  free(r);
  f = fopen(path, "w");
  for (int i = 0; i < 300000; i++)
    fputs("bob:1000000:65536\n", f);
  fclose(f);
  ok(userns_read_subid(path, "alice", 1000, &r, &n, &err) < 0 &&
         err->kind == CB_ERR_UNSAFE,
     "a file over the size bound is refused");
  cb_error_free(err);
  unlink(path);
  rmdir(dir);
  free(path);
}

static void
test_wait_status(void)
{
  pid_t pid = fork();

  if (pid == 0)
    _exit(7);
  is_int(userns_wait(pid, NULL), 7, "exit status");
  pid = fork();
  if (pid == 0) {
    pause();
    _exit(0);
  }
  kill(pid, SIGKILL);
  is_int(userns_wait(pid, NULL), 128 + SIGKILL, "killed by a signal");
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
  FILE *f = fopen(path, "w");

  fputs(text, f);
  fclose(f);
  chmod(path, mode);
}

/* The plan from CBUILD_SUBUID_FILE/CBUILD_SUBGID_FILE and PATH: helpers
   only with a range and a helper, else single (or identity for root). */
static void
test_plan(void)
{
  char dir[] = "/tmp/cbuild-userns-XXXXXX";
  char *sub, *empty, *bin, *line, *helper, *desc;
  struct userns_plan plan;
  struct cb_error *err = NULL;
  const char *single_desc;

  if (mkdtemp(dir) == NULL) {
    skip(8, "mkdtemp: %s", strerror(errno));
    return;
  }
  sub = cb_xasprintf("%s/sub", dir);
  empty = cb_xasprintf("%s/empty", dir);
  bin = cb_xasprintf("%s/bin", dir);
  line = cb_xasprintf("# test\n%u:5:6\n", (unsigned)getuid());
  write_file(sub, line, 0644);
  write_file(empty, "", 0644);
  mkdir(bin, 0755);
  helper = cb_xasprintf("%s/newuidmap", bin);
  write_file(helper, "#!/bin/sh\nexit 1\n", 0755);
  free(helper);
  helper = cb_xasprintf("%s/newgidmap", bin);
  write_file(helper, "#!/bin/sh\nexit 1\n", 0755);
  free(helper);

  setenv("CBUILD_SUBUID_FILE", sub, 1);
  setenv("CBUILD_SUBGID_FILE", sub, 1);
  setenv("PATH", bin, 1);
  is_int(userns_plan_init(&plan, &err), 0, "plan with ranges and helpers");
  ok(plan.uid.mode == USERNS_MAP_HELPER && plan.gid.mode == USERNS_MAP_HELPER,
     "both kinds use the helpers");
  desc = userns_plan_describe(&plan);
  is_str(desc, "subuid range 5:6 via newuidmap, subgid range 5:6 via newgidmap",
         "described");
  free(desc);
  ok(!userns_plan_is_single(&plan), "not single");
  userns_plan_release(&plan);

  setenv("CBUILD_SUBGID_FILE", empty, 1);
  userns_plan_init(&plan, &err);
  single_desc = getuid() == 0 ? "identity mapping (root, no range)"
                              : "single mapping (no range)";
  desc = userns_plan_describe(&plan);
  ok(strstr(desc, "uids: subuid range 5:6 via newuidmap, gids: ") == desc &&
         strstr(desc, single_desc) != NULL,
     "no gid range: '%s'", desc);
  free(desc);
  userns_plan_release(&plan);

  setenv("CBUILD_SUBUID_FILE", empty, 1);
  userns_plan_init(&plan, &err);
  desc = userns_plan_describe(&plan);
  is_str(desc, single_desc, "no range at all");
  free(desc);
  is_int(userns_plan_is_single(&plan), getuid() != 0, "single unless root");
  userns_plan_release(&plan);

  setenv("CBUILD_SUBUID_FILE", sub, 1);
  setenv("CBUILD_SUBGID_FILE", sub, 1);
  setenv("PATH", dir, 1);
  userns_plan_init(&plan, &err);
  desc = userns_plan_describe(&plan);
  ok(strstr(desc, "newuidmap not found)") != NULL &&
         strstr(desc, "newgidmap not found)") != NULL,
     "a range without helpers: '%s'", desc);
  free(desc);
  userns_plan_release(&plan);

  unlink(sub);
  unlink(empty);
  helper = cb_xasprintf("%s/newuidmap", bin);
  unlink(helper);
  free(helper);
  helper = cb_xasprintf("%s/newgidmap", bin);
  unlink(helper);
  free(helper);
  rmdir(bin);
  rmdir(dir);
  free(sub);
  free(empty);
  free(bin);
  free(line);
}

static int
exit_with_3(void *data, const char **step)
{
  return 3;
}

static int
fail_in_child(void *data, const char **step)
{
  *step = "the test's child step";
  errno = ENOTSUP;
  return -1;
}

/* Several ranges become one helper call with consecutive container ids.
   Fake helpers record their arguments (and map nothing).  */
static void
test_helper_args(void)
{
  char dir[] = "/tmp/cbuild-userns-XXXXXX";
  char *sub, *script, *helper, *log, *got = NULL, *want;
  struct userns_plan plan;
  struct cb_error *err = NULL;
  size_t len = 0;
  pid_t pid;

  if (mkdtemp(dir) == NULL) {
    skip(7, "mkdtemp: %s", strerror(errno));
    return;
  }
  sub = cb_xasprintf("%s/sub", dir);
  log = cb_xasprintf("%s/log", dir);
  /* A log of each helper's own: they run side by side.  */
  script = cb_xasprintf("#!/bin/sh\necho \"${0##*/} $*\" >>'%s'.\"${0##*/}\"\n",
                        log);
  want = cb_xasprintf("%u:5:6\nnobody:1:1\n%u:100:2\n", (unsigned)getuid(),
                      (unsigned)getuid());
  write_file(sub, want, 0644);
  free(want);
  helper = cb_xasprintf("%s/newuidmap", dir);
  write_file(helper, script, 0755);
  free(helper);
  helper = cb_xasprintf("%s/newgidmap", dir);
  write_file(helper, script, 0755);
  free(helper);
  setenv("CBUILD_SUBUID_FILE", sub, 1);
  setenv("CBUILD_SUBGID_FILE", sub, 1);
  setenv("PATH", dir, 1);
  userns_plan_init(&plan, &err);
  pid = userns_spawn(&plan, 0, exit_with_3, NULL, &err);
  if (pid < 0) {
    skip(7, "no user namespace: %s", err->msg);
    cb_error_free(err);
    userns_plan_release(&plan);
    return;
  }
  is_int(userns_wait(pid, NULL), 3, "the child's status");
  for (int i = 0; i < 2; i++) {
    const char *helper_name = i == 0 ? "newuidmap" : "newgidmap";
    char *path = cb_xasprintf("%s.%s", log, helper_name);

    got = NULL;
    cb_read_file_at(AT_FDCWD, path, 4096, &got, &len, NULL);
    want = cb_xasprintf("%s %d 0 %u 1 1 5 6 7 100 2\n", helper_name, (int)pid,
                        i == 0 ? (unsigned)getuid() : (unsigned)getgid());
    is_str(got, want, "%s: ranges follow each other inside", helper_name);
    free(want);
    free(got);
    free(path);
  }

  is_int(userns_spawn(&plan, 0, fail_in_child, NULL, &err), -1,
         "a failing child step fails the spawn");
  ok(err != NULL && err->errnum == ENOTSUP &&
         strcmp(err->msg, "the test's child step") == 0,
     "the error is the child's {step, errno}");
  cb_error_free(err);
  err = NULL;

  helper = cb_xasprintf("%s/newgidmap", dir);
  write_file(helper, "#!/bin/sh\necho 'no way' >&2\nexit 4\n", 0755);
  is_int(userns_spawn(&plan, 0, exit_with_3, NULL, &err), -1,
         "a failing helper fails the spawn");
  is_str(err != NULL ? err->msg : NULL, "newgidmap: exit 4: no way",
         "the error names the helper, its status and its message");
  cb_error_free(err);
  userns_plan_release(&plan);
  unlink(helper);
  free(helper);
  helper = cb_xasprintf("%s/newuidmap", dir);
  unlink(helper);
  free(helper);
  unlink(sub);
  unlink(log);
  rmdir(dir);
  free(sub);
  free(log);
  free(script);
}

int
main(void)
{
  test_parse();
  test_too_many();
  test_read_file();
  test_wait_status();
  test_plan();
  test_helper_args();
  return done_testing();
}
