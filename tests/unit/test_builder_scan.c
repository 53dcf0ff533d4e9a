/* The scanner hook without an image: its configuration file, durations,
   media types, "{}", the scanner's environment, and running a command
   with a timeout that kills its process group.  */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/scan-internal.h"
#include "builder/scan.h"
#include "common/mem.h"
#include "tap.h"

static void
test_duration(void)
{
  static const struct {
    const char *s;
    long long ms;
  } good[] = { { "10", 10000 },
               { "2s", 2000 },
               { "10m", 600000 },
               { "1h", 3600000 },
               { "24h", 86400000 } };
  static const char *const bad[] = {
    "", "0", "s", "5x", "5 m", "-1", "1.5m", "25h", "86401", "99999999999"
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(good); i++) {
    struct cb_error *err = NULL;
    int64_t ms = -1;

    is_int(scan_parse_duration(good[i].s, &ms, &err), 0, "'%s' parses",
           good[i].s);
    is_int(ms, good[i].ms, "'%s' is %lld ms", good[i].s, good[i].ms);
    cb_error_free(err);
  }
  for (size_t i = 0; i < CB_N_ELEMENTS(bad); i++) {
    struct cb_error *err = NULL;
    int64_t ms = -1;

    is_int(scan_parse_duration(bad[i], &ms, &err), -1, "'%s' is refused",
           bad[i]);
    ok(err != NULL && err->kind == CB_ERR_USAGE && ms == -1,
       "'%s': a usage error, nothing written", bad[i]);
    cb_error_free(err);
  }
}

static void
test_media_type(void)
{
  static const char *const good[] = { SCAN_REPORT_TYPE, "application/json",
                                      "text/plain", "application/sarif+json" };
  static const char *const bad[] = { "",
                                     "json",
                                     "/json",
                                     "application/",
                                     "a/b/c",
                                     "app lication/json",
                                     "application/json; charset=utf-8",
                                     "application/\xc3\xa9" };

  for (size_t i = 0; i < CB_N_ELEMENTS(good); i++) {
    struct cb_error *err = NULL;

    is_int(scan_check_media_type(good[i], &err), 0, "'%s' is a media type",
           good[i]);
    cb_error_free(err);
  }
  for (size_t i = 0; i < CB_N_ELEMENTS(bad); i++) {
    struct cb_error *err = NULL;

    is_int(scan_check_media_type(bad[i], &err), -1, "'%s' is not", bad[i]);
    cb_error_free(err);
  }
}

static void
test_config_file(void)
{
  static const char text[] = "# the gate\n"
                             "\n"
                             "scan = trivy image --input {}\n"
                             "  scan-timeout=90s  \r\n"
                             "scan =grype oci-archive:{} --fail-on high\n"
                             "scan-report-type = application/json\n"
                             "scan-env = TRIVY_TOKEN\n";
  static const struct {
    const char *text;
    const char *msg;
  } bad[] = {
    { "scan = true\nnonsense\n", "f.conf:2: expected KEY = VALUE" },
    { "scan = true\n = x\n", "f.conf:2: expected KEY = VALUE" },
    { "\n\nscan =   \n", "f.conf:3: scan: empty command" },
    { "scan-timeout = 0\n", "f.conf:1: scan-timeout: bad duration '0' (a "
                            "positive number, with s, m or h)" },
    { "scan-env = 1X\n", "f.conf:1: scan-env: '1X' is not a variable name" },
    { "scna = true\n", "f.conf:1: unknown key 'scna' (scan, scan-timeout, "
                       "scan-report-type, scan-env)" },
  };
  struct scan_config c;
  struct cb_error *err = NULL;

  scan_config_init(&c);
  is_int(c.timeout_ms, SCAN_DEFAULT_TIMEOUT_MS, "the default timeout is 10m");
  is_int(scan_config_parse(&c, text, strlen(text), "f.conf", &err), 0,
         "a good file parses");
  is_int((long long)c.ncmds, 2, "two scanners");
  is_str(c.cmds[0], "trivy image --input {}", "the first, as written");
  is_str(c.cmds[1], "grype oci-archive:{} --fail-on high",
         "blanks after '=' dropped");
  ok(c.cmds[2] == NULL, "the list ends in NULL");
  is_int(c.timeout_ms, 90000, "scan-timeout, with blanks and CR around");
  is_str(c.report_type, "application/json", "scan-report-type");
  is_str(c.keep_env[0], "TRIVY_TOKEN", "scan-env");
  scan_config_release(&c);
  cb_error_free(err);

  for (size_t i = 0; i < CB_N_ELEMENTS(bad); i++) {
    err = NULL;
    scan_config_init(&c);
    is_int(
        scan_config_parse(&c, bad[i].text, strlen(bad[i].text), "f.conf", &err),
        -1, "bad file %zu is refused", i);
    is_str(err != NULL ? err->msg : NULL, bad[i].msg, "and says where");
    ok(err != NULL && err->kind == CB_ERR_PARSE, "as a parse error");
    cb_error_free(err);
    scan_config_release(&c);
  }
  err = NULL;
  scan_config_init(&c);
  is_int(scan_config_parse(&c, "scan = a\0b\n", 11, "f.conf", &err), -1,
         "a NUL byte is refused");
  cb_error_free(err);
  scan_config_release(&c);
}

static void
test_load(void)
{
  char dir[] = "/tmp/cb-scan-XXXXXX";
  char *conf_dir, *conf;
  struct scan_config c;
  struct cb_error *err = NULL;
  FILE *f;

  if (mkdtemp(dir) == NULL) {
    skip(5, "mkdtemp: %s", strerror(errno));
    return;
  }
  conf_dir = cb_xasprintf("%s/cbuild", dir);
  conf = cb_xasprintf("%s/cbuild.conf", conf_dir);
  mkdir(conf_dir, 0700);
  f = fopen(conf, "w");
  fputs("scan = from-file\n", f);
  fclose(f);
  setenv("XDG_CONFIG_HOME", dir, 1);
  setenv("CBUILD_SCAN", "first-env\n\n  second-env  \n", 1);
  scan_config_init(&c);
  is_int(scan_config_load(&c, &err), 0, "the file and CBUILD_SCAN load");
  is_int((long long)c.ncmds, 3, "three scanners");
  is_str(c.cmds[0], "from-file", "the file's first");
  is_str(c.cmds[1], "first-env", "then CBUILD_SCAN's lines");
  is_str(c.cmds[2], "second-env", "trimmed, blank lines skipped");
  scan_config_release(&c);
  cb_error_free(err);
  unsetenv("CBUILD_SCAN");
  unlink(conf);
  rmdir(conf_dir);
  rmdir(dir);
  free(conf);
  free(conf_dir);
}

static void
test_expand(void)
{
  char *s = scan_expand("trivy image --input {} && cp {} x{}y", "/t/a.tar");

  is_str(s, "trivy image --input /t/a.tar && cp /t/a.tar x/t/a.tary",
         "every {} is the archive");
  free(s);
  s = scan_expand("no braces { } }{", "/t/a.tar");
  is_str(s, "no braces { } }{", "nothing else changes");
  free(s);
}

static bool
has(char **env, const char *s)
{
  for (; *env != NULL; env++)
    if (strcmp(*env, s) == 0)
      return true;
  return false;
}

static void
test_env(void)
{
  char *env[] = { "PATH=/usr/bin",
                  "HOME=/home/u",
                  "REGISTRY_AUTH_FILE=/run/user/1/auth.json",
                  "DOCKER_CONFIG=/home/u/.docker",
                  "GITHUB_TOKEN=ghp_x",
                  "CI_REGISTRY_PASSWORD=pw",
                  "db_passwd=pw2",
                  "AWS_SECRET_ACCESS_KEY=k",
                  "MY_API_KEY=k2",
                  "NPM_AUTH=a",
                  "DOCKER_AUTH_CONFIG={}",
                  "TRIVY_TOKEN=keep-me",
                  "INNOCENT=hunter2",
                  "ALSO=hunter2x",
                  "CBUILD_IMAGE_REF=stale",
                  "CBUILD_IN_USERNS=1",
                  "NOEQUALS",
                  NULL };
  char *add[] = { "CBUILD_IMAGE_REF=app:1", NULL };
  struct build_secret sec = { (char *)"s", (char *)"hunter2", 7 };
  struct build_secrets secrets = { &sec, 1 };
  struct scan_config c;
  struct cb_error *err = NULL;
  char **out;

  scan_config_init(&c);
  scan_config_set(&c, "scan-env", "TRIVY_TOKEN", &err);
  out = scan_env_new(env, &c, &secrets, add);
  ok(has(out, "PATH=/usr/bin") && has(out, "HOME=/home/u"), "PATH, HOME");
  ok(has(out, "REGISTRY_AUTH_FILE=/run/user/1/auth.json") &&
         has(out, "DOCKER_CONFIG=/home/u/.docker"),
     "paths of credential files pass");
  ok(!has(out, "GITHUB_TOKEN=ghp_x") && !has(out, "CI_REGISTRY_PASSWORD=pw") &&
         !has(out, "db_passwd=pw2") && !has(out, "AWS_SECRET_ACCESS_KEY=k") &&
         !has(out, "MY_API_KEY=k2") && !has(out, "NPM_AUTH=a") &&
         !has(out, "DOCKER_AUTH_CONFIG={}"),
     "credential-like names are left out");
  ok(has(out, "TRIVY_TOKEN=keep-me"), "unless scan-env names them");
  ok(!has(out, "INNOCENT=hunter2"), "a secret's value is left out");
  ok(has(out, "ALSO=hunter2x"), "only the exact value");
  ok(!has(out, "CBUILD_IMAGE_REF=stale") && has(out, "CBUILD_IMAGE_REF=app:1"),
     "cbuild's own variables are replaced");
  ok(!has(out, "CBUILD_IN_USERNS=1"), "the namespace marker is dropped");
  is_int((long long)cb_strv_len(out), 7, "and nothing else");
  cb_strv_free(out);
  scan_config_release(&c);
  cb_error_free(err);
}

static double
seconds_since(const struct timespec *t0)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t0->tv_sec) +
         (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Whether PID has ended: gone, or a zombie (the reaper of orphans in a
   container may not reap them).  */
static bool
ended(int pid)
{
  char *path = cb_xasprintf("/proc/%d/stat", pid);
  char buf[512];
  FILE *f = fopen(path, "r");
  char *paren;
  bool gone = true;

  if (f != NULL && fgets(buf, sizeof(buf), f) != NULL) {
    paren = strrchr(buf, ')');
    gone = paren != NULL && paren[1] == ' ' && paren[2] == 'Z';
  }
  if (f != NULL)
    fclose(f);
  free(path);
  return gone;
}

static void
test_exec(void)
{
  char *envp[] = { "PATH=/usr/bin:/bin", "X=42", NULL };
  char pidfile[] = "/tmp/cb-scan-pid-XXXXXX";
  struct cb_error *err = NULL;
  struct scan_exit ex;
  struct timespec t0;
  char *cmd;
  int fd = mkstemp(pidfile);
  FILE *f;
  int pid = 0;

  is_int(scan_exec("exit 7", envp, 5000, &ex, &err), 0, "exit 7 runs");
  ok(ex.code == 7 && ex.signal == 0 && !ex.timed_out, "its status is 7");
  is_int(scan_exec("test \"$X\" = 42", envp, 5000, &ex, &err), 0,
         "the environment is given");
  is_int(ex.code, 0, "X is 42 in it");
  is_int(scan_exec("kill -TERM $$", envp, 5000, &ex, &err), 0,
         "a shell that kills itself");
  is_int(ex.signal, SIGTERM, "is reported killed by SIGTERM");
  is_int(scan_exec("read x", envp, 5000, &ex, &err), 0, "stdin is /dev/null");
  is_int(ex.code, 1, "so read gets EOF at once");

  close(fd);
  cmd = cb_xasprintf("sleep 60 & echo $! >%s; sleep 60", pidfile);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  is_int(scan_exec(cmd, envp, 300, &ex, &err), 0, "a hanging command");
  ok(ex.timed_out, "times out");
  ok(seconds_since(&t0) < 5, "at the timeout, not at its end");
  f = fopen(pidfile, "r");
  if (f != NULL && fscanf(f, "%d", &pid) == 1 && pid > 0) {
    for (int i = 0; i < 50 && !ended(pid); i++)
      usleep(20000);
    ok(ended(pid), "what it started in the background is killed too");
  } else {
    ok(false, "the background pid was written");
  }
  if (f != NULL)
    fclose(f);
  unlink(pidfile);
  free(cmd);
  cb_error_free(err);
}

int
main(void)
{
  test_duration();
  test_media_type();
  test_config_file();
  test_load();
  test_expand();
  test_env();
  test_exec();
  return done_testing();
}
