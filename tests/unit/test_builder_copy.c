/* The COPY/ADD engine on plain directories: every rule of builder/copy.h
   with the result Docker's reference (and BuildKit's behaviour, where the
   reference says nothing) gives, and hostile inputs that must not reach
   outside their roots.  */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "builder/copy-internal.h"
#include "builder/copy.h"
#include "common/buf.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/mem.h"
#include "parser/ignore.h"
#include "layers/layer.h"
#include "tap.h"

static char top[256];   /* the test's scratch dir */
static int case_no;
static char srcdir[512], dstdir[512];
static int src_fd = -1, dst_fd = -1;
static bool is_root;

/* --- scaffolding --- */

static void
mkpath(const char *base, const char *rel)
{
  char p[1024];

  snprintf(p, sizeof(p), "%s/%s", base, rel);
  for (char *s = p + strlen(base) + 1; *s; s++) {
    if (*s == '/') {
      *s = '\0';
      mkdir(p, 0755);
      *s = '/';
    }
  }
}

static void
put(const char *base, const char *rel, const char *data, mode_t mode)
{
  char p[1024];
  FILE *f;

  mkpath(base, rel);
  snprintf(p, sizeof(p), "%s/%s", base, rel);
  unlink(p);
  f = fopen(p, "w");
  if (f == NULL) {
    diag("cannot write %s: %s", p, strerror(errno));
    return;
  }
  fputs(data, f);
  fclose(f);
  chmod(p, mode);
}

static void
mkd(const char *base, const char *rel, mode_t mode)
{
  char p[1024];

  mkpath(base, rel);
  snprintf(p, sizeof(p), "%s/%s", base, rel);
  mkdir(p, mode);
  chmod(p, mode);
}

static void
lnk(const char *base, const char *rel, const char *target)
{
  char p[1024];

  mkpath(base, rel);
  snprintf(p, sizeof(p), "%s/%s", base, rel);
  symlink(target, p);
}

static void
set_mtime(const char *base, const char *rel, time_t t)
{
  struct timespec ts[2] = { { t, 0 }, { t, 0 } };
  char p[1024];

  snprintf(p, sizeof(p), "%s/%s", base, rel);
  utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
}

/* A fresh source and destination for one case.  */
static void
fresh(void)
{
  if (src_fd >= 0)
    close(src_fd);
  if (dst_fd >= 0)
    close(dst_fd);
  case_no++;
  snprintf(srcdir, sizeof(srcdir), "%s/%d-src", top, case_no);
  snprintf(dstdir, sizeof(dstdir), "%s/%d-dst", top, case_no);
  mkdir(srcdir, 0755);
  mkdir(dstdir, 0755);
  src_fd = open(srcdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  dst_fd = open(dstdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static struct copy_request
req_of(const char *dest, char **srcs, size_t n)
{
  struct copy_request r = { 0 };

  r.srcs = srcs;
  r.nsrcs = n;
  r.dest = dest;
  r.unpack = -1;
  r.timestamp = -1;
  r.flags = is_root ? 0 : COPY_IGNORE_OWNER_ERRORS;
  return r;
}

static struct copy_stats stats;
static char msgbuf[1024];

/* Copy and return 0, or -1 with the message in MSG (static).  */
static int
run_req(const struct copy_request *r, const struct copy_source *s,
        const char **msg, enum cb_err_kind *kind)
{
  char *text = msgbuf;
  struct cb_error *err = NULL;
  int rc;

  memset(&stats, 0, sizeof(stats));
  rc = copy_apply(r, s, dst_fd, &stats, &err);
  text[0] = '\0';
  if (err != NULL) {
    char *t = cb_error_text(err);

    snprintf(text, sizeof(msgbuf), "%s", t);
    free(t);
    if (kind != NULL)
      *kind = err->kind;
    cb_error_free(err);
  }
  if (msg != NULL)
    *msg = text;
  return rc;
}

static int
run_copy(const char *dest, char **srcs, size_t n, const char **msg)
{
  struct copy_request r = req_of(dest, srcs, n);
  struct copy_source s = { .root_fd = src_fd };

  return run_req(&r, &s, msg, NULL);
}

#define SRCS(...) ((char *[]){ __VA_ARGS__ }), \
  (sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *))

static char *
slurp(const char *base, const char *rel)
{
  char p[1024];
  char *buf = NULL;
  size_t len;
  int fd;

  snprintf(p, sizeof(p), "%s/%s", base, rel);
  fd = open(p, O_RDONLY | O_NOFOLLOW);
  if (fd < 0)
    return NULL;
  if (cb_read_all(fd, 1 << 24, &buf, &len, NULL) < 0)
    buf = NULL;
  close(fd);
  return buf;
}

static bool
is_content(const char *rel, const char *want)
{
  char *got = slurp(dstdir, rel);
  bool same = got != NULL && strcmp(got, want) == 0;

  if (!same)
    diag("'%s' holds '%s', want '%s'", rel, got ? got : "(missing)", want);
  free(got);
  return same;
}

static bool
lst(const char *base, const char *rel, struct stat *st)
{
  char p[1024];

  snprintf(p, sizeof(p), "%s/%s", base, rel);
  return lstat(p, st) == 0;
}

static bool
exists(const char *rel)
{
  struct stat st;

  return lst(dstdir, rel, &st);
}

static mode_t
perm(const char *rel)
{
  struct stat st;

  return lst(dstdir, rel, &st) ? st.st_mode & 07777 : (mode_t)-1;
}

static char *
link_target(const char *rel)
{
  static char buf[1024];
  char p[1024];
  ssize_t n;

  snprintf(p, sizeof(p), "%s/%s", dstdir, rel);
  n = readlink(p, buf, sizeof(buf) - 1);
  if (n < 0)
    return NULL;
  buf[n] = '\0';
  return buf;
}

/* The LAYER_OWNER_XATTR of REL below dstdir ("" when none), in a static
   buffer.  */
static const char *
recorded_owner(const char *rel)
{
  static char buf[64];
  char p[1024];
  ssize_t n;

  snprintf(p, sizeof(p), "%s/%s", dstdir, rel);
  n = lgetxattr(p, LAYER_OWNER_XATTR, buf, sizeof(buf) - 1);
  buf[n > 0 ? n : 0] = '\0';
  return buf;
}

/* Owner check that holds rootless too: as root the exact ids; otherwise
   the ids are our own, or the owner is recorded for the layer writer, or
   for a symlink the chown was attempted (counted).  */
static void
owner_is(const char *rel, uid_t uid, gid_t gid, const char *what)
{
  struct stat st;

  if (!lst(dstdir, rel, &st)) {
    ok(false, "%s: '%s' exists", what, rel);
    return;
  }
  if (is_root || (uid == geteuid() && gid == getegid()))
    ok(st.st_uid == uid && st.st_gid == gid, "%s: '%s' is %u:%u (got %u:%u)",
       what, rel, (unsigned)uid, (unsigned)gid, (unsigned)st.st_uid,
       (unsigned)st.st_gid);
  else if (S_ISLNK(st.st_mode))
    ok(stats.owner_failures > 0, "%s: chown to %u:%u was attempted", what,
       (unsigned)uid, (unsigned)gid);
  else {
    char want[64];

    snprintf(want, sizeof(want), "%u:%u", (unsigned)uid, (unsigned)gid);
    is_str(recorded_owner(rel), want, "%s: '%s' has its owner %s recorded",
           what, rel, want);
  }
}

/* --- sources and destinations --- */

static void
test_files_and_dirs(void)
{
  const char *msg = msgbuf;
  struct stat a, b;

  fresh();
  put(srcdir, "f.txt", "hello", 0640);
  set_mtime(srcdir, "f.txt", 1000000);
  is_int(run_copy("/out/", SRCS("f.txt"), &msg), 0, "file into a dir: %s",
         msg);
  ok(is_content("out/f.txt", "hello"), "dest ending in / puts it inside");
  is_int(perm("out/f.txt"), 0640, "the file keeps its mode");
  ok(lst(dstdir, "out/f.txt", &a) && a.st_mtime == 1000000,
     "the file keeps its mtime");
  is_int(perm("out"), 0755, "a missing parent is made 0755");
  owner_is("out/f.txt", 0, 0, "context files are 0:0");

  is_int(run_copy("/named", SRCS("f.txt"), &msg), 0, "file to a name");
  ok(is_content("named", "hello"), "dest without / is the file name");
  is_int(run_copy("/out", SRCS("f.txt"), &msg), 0, "file to an existing dir");
  ok(is_content("out/f.txt", "hello") && !exists("out.txt"),
     "an existing directory dest takes the file inside");
  is_int(run_copy("/a/b/c/", SRCS("./f.txt/"), &msg), 0,
         "'./' and a trailing '/' on a source are dropped");
  ok(is_content("a/b/c/f.txt", "hello"), "deep missing parents are made");

  /* A directory copies its contents, merging with what is there.  */
  put(srcdir, "d/one", "1", 0644);
  put(srcdir, "d/sub/two", "2", 0600);
  mkd(srcdir, "d/sub", 0750);
  put(dstdir, "tree/old", "kept", 0644);
  is_int(run_copy("/tree", SRCS("d"), &msg), 0, "directory source: %s", msg);
  ok(is_content("tree/one", "1") && is_content("tree/sub/two", "2"),
     "a directory's contents are copied, not the directory");
  ok(!exists("tree/d"), "the directory itself is not copied");
  ok(is_content("tree/old", "kept"), "contents merge with what is there");
  is_int(perm("tree/sub"), 0750, "subdirectories keep their mode");
  is_int(run_copy("/newdir", SRCS("d"), &msg), 0, "directory to a new name");
  ok(is_content("newdir/sub/two", "2"), "a missing dest dir is made");
  is_int(perm("newdir"), 0755, "the dest dir a directory source makes is 0755");

  /* Relative dest: WORKDIR.  */
  {
    struct copy_request r = req_of("rel/", SRCS("f.txt"));
    struct copy_source s = { .root_fd = src_fd };

    r.workdir = "/work/dir";
    is_int(run_req(&r, &s, &msg, NULL), 0, "relative dest");
    ok(is_content("work/dir/rel/f.txt", "hello"),
       "a relative dest is below WORKDIR");
    r.dest = ".";
    is_int(run_req(&r, &s, &msg, NULL), 0, "dest '.'");
    ok(is_content("work/dir/f.txt", "hello"), "'.' is the WORKDIR itself");
  }

  /* Errors.  */
  is_int(run_copy("/x", SRCS("f.txt", "d"), &msg), -1,
         "two sources, dest without /");
  ok(strstr(msg, "must be a directory and end with a /") != NULL,
     "the message says why: %s", msg);
  is_int(run_copy("/two/", SRCS("f.txt", "d/one"), &msg), 0,
         "two sources, dest with /");
  ok(is_content("two/f.txt", "hello") && is_content("two/one", "1"),
     "both land inside");
  is_int(run_copy("/", SRCS("missing.txt"), &msg), -1, "a missing source");
  ok(strstr(msg, "'missing.txt'") && strstr(msg, "No such file"),
     "the error names the source: %s", msg);
  put(dstdir, "x", "a file", 0644);
  is_int(run_copy("/x", SRCS("d"), &msg), -1,
         "a directory onto an existing file");
  ok(strstr(msg, "cannot copy a directory onto the file '/x'") != NULL,
     "said: %s", msg);
  mkd(dstdir, "tree/f.txt", 0755);
  is_int(run_copy("/tree/", SRCS("f.txt"), &msg), -1,
         "a file onto an existing directory");
  ok(strstr(msg, "cannot replace the directory") != NULL, "said: %s", msg);
  is_int(run_copy("/", SRCS(), &msg), -1, "no sources at all");
  ok(strstr(msg, "no source files were specified") != NULL, "said: %s", msg);
  (void)b;
}

static void
test_wildcards(void)
{
  const char *msg = msgbuf;

  fresh();
  put(srcdir, "a.txt", "a", 0644);
  put(srcdir, "b.txt", "b", 0644);
  put(srcdir, "c.md", "c", 0644);
  put(srcdir, ".hidden.txt", "h", 0644);
  put(srcdir, "arr[0].txt", "arr", 0644);
  put(srcdir, "index.js", "js", 0644);
  put(srcdir, "index.ts", "ts", 0644);
  put(srcdir, "sub/x/deep.txt", "d", 0644);
  put(srcdir, "sub/y/deep.txt", "e", 0644);
  put(srcdir, "dir1/one", "1", 0644);
  put(srcdir, "dir2/two", "2", 0644);

  is_int(run_copy("/w/", SRCS("*.txt"), &msg), 0, "'*.txt': %s", msg);
  ok(is_content("w/a.txt", "a") && is_content("w/b.txt", "b") &&
         is_content("w/.hidden.txt", "h") && is_content("w/arr[0].txt", "arr"),
     "'*' matches any name, dot files too (filepath.Match)");
  ok(!exists("w/c.md"), "non-matching names are left");
  is_int(run_copy("/q/", SRCS("index.?s"), &msg), 0, "'?'");
  ok(is_content("q/index.js", "js") && is_content("q/index.ts", "ts"),
     "'?' matches one character");
  is_int(run_copy("/e/", SRCS("arr[[]0].txt"), &msg), 0, "escaped class");
  ok(is_content("e/arr[0].txt", "arr") && !exists("e/a.txt"),
     "'[[]' matches a literal '['");
  is_int(run_copy("/r/", SRCS("[a-b].txt"), &msg), 0, "range");
  ok(exists("r/a.txt") && exists("r/b.txt") && !exists("r/arr[0].txt"),
     "'[a-b]' is a range");
  is_int(run_copy("/n/", SRCS("[^a].txt"), &msg), 0, "negated class");
  ok(!exists("n/a.txt") && exists("n/b.txt"), "'[^a]' negates");
  is_int(run_copy("/s/", SRCS("sub/*/deep.txt"), &msg), 0,
         "wildcard in a middle part");
  ok(is_content("s/deep.txt", "e"), "each match lands by its name");
  is_int(run_copy("/none/", SRCS("*.nomatch", "a.txt"), &msg), 0,
         "a wildcard that matches nothing is not an error (BuildKit)");
  ok(!exists("none/*.nomatch") && exists("none/a.txt"), "nothing is made");
  is_int(run_copy("/x", SRCS("*.txt"), &msg), -1,
         "a wildcard of several files, dest without /");
  ok(strstr(msg, "wildcard") != NULL, "said: %s", msg);
  is_int(run_copy("/merged", SRCS("dir*"), &msg), 0,
         "a wildcard of directories merges them (ADD dir* /5)");
  ok(is_content("merged/one", "1") && is_content("merged/two", "2"),
     "their contents merge");
  is_int(run_copy("/one", SRCS("a.*"), &msg), 0, "one match, no /");
  ok(is_content("one", "a"), "a single match takes the dest name");
  is_int(run_copy("/", SRCS("nodir/*.txt"), &msg), -1,
         "a missing directory above a wildcard");
  ok(strstr(msg, "nodir/*.txt") != NULL, "is an error naming it: %s", msg);
  is_int(run_copy("/", SRCS("[a.txt"), &msg), -1, "a bad pattern");
  ok(strstr(msg, "bad pattern") != NULL, "said: %s", msg);
}

static void
test_match_table(void)
{
  static const struct {
    const char *pat, *name;
    bool want;
  } t[] = {
    { "abc", "abc", true },      { "*", "abc", true },
    { "*c", "abc", true },       { "a*", "a", true },
    { "a*/b", "abc/b", true },
    { "a*/b", "a/c/b", false },  { "a*b*c*d*e*", "axbxcxdxe", true },
    { "a*b?c*x", "abxbbxdbxebxczzx", true },
    { "a*b?c*x", "abxbbxdbxebxczzy", false },
    { "ab[c]", "abc", true },    { "ab[b-d]", "abc", true },
    { "ab[e-g]", "abc", false }, { "ab[^c]", "abc", false },
    { "ab[^b-d]", "abc", false }, { "ab[^e-g]", "abc", true },
    { "a\\*b", "a*b", true },    { "a\\*b", "ab", false },
    { "a?b", "a\xe2\x98\xba" "b", true }, /* one UTF-8 character */
    { "a[^a]b", "a\xe2\x98\xba" "b", true },
    { "[\\]a]", "]", true },     { "[\\-]", "-", true },
    { "[x\\-]", "z", false },    { "*x", "xxx", true },
  };
  static const char *const bad[] = { "[]a]", "[-]", "[x-]", "\\", "[^",
                                     "a[", "[a-" };

  for (size_t i = 0; i < CB_N_ELEMENTS(t); i++)
    is_int(copy_match(t[i].pat, strlen(t[i].pat), t[i].name), t[i].want,
           "filepath.Match('%s', '%s')", t[i].pat, t[i].name);
  for (size_t i = 0; i < CB_N_ELEMENTS(bad); i++) {
    struct cb_error *err = NULL;

    is_int(copy_pattern_check(bad[i], strlen(bad[i]), &err), -1,
           "'%s' is a bad pattern", bad[i]);
    cb_error_free(err);
  }
}

static void
test_symlinks_and_links(void)
{
  const char *msg = msgbuf;
  struct stat a, b;
  char outside[600];
  int fd;

  fresh();
  put(srcdir, "real/file", "real", 0644);
  lnk(srcdir, "toplink", "real/file");
  lnk(srcdir, "dirlink", "real");
  lnk(srcdir, "real/rel", "file");
  lnk(srcdir, "real/abs", "/etc/passwd");
  lnk(srcdir, "dangling", "nowhere");
  is_int(run_copy("/t", SRCS("toplink"), &msg), 0, "a top-level symlink");
  ok(is_content("t", "real") && lst(dstdir, "t", &a) && S_ISREG(a.st_mode),
     "a source that is a symlink is followed");
  is_int(run_copy("/dl/", SRCS("dirlink"), &msg), 0, "a symlink to a dir");
  ok(is_content("dl/file", "real"), "its target's contents are copied");
  is_str(link_target("dl/rel"), "file", "symlinks below stay symlinks");
  is_str(link_target("dl/abs"), "/etc/passwd",
         "even ones that point out: copied as links, never followed");
  is_int(run_copy("/", SRCS("dangling"), &msg), -1, "a dangling symlink");
  ok(strstr(msg, "'dangling'") != NULL, "is an error naming it: %s", msg);

  /* Hard links inside one copy stay hard links.  */
  put(srcdir, "h/one", "same", 0644);
  {
    char p1[1024], p2[1024];

    snprintf(p1, sizeof(p1), "%s/h/one", srcdir);
    snprintf(p2, sizeof(p2), "%s/h/two", srcdir);
    link(p1, p2);
  }
  is_int(run_copy("/h/", SRCS("h"), &msg), 0, "hard links");
  ok(lst(dstdir, "h/one", &a) && lst(dstdir, "h/two", &b) &&
         a.st_ino == b.st_ino && a.st_nlink == 2,
     "two names of one file are one file in the dest");
  is_int(stats.hardlinks, 1, "counted as a hard link");

  /* Hostile sources: they stay inside the source root.  */
  put(srcdir, "etc/passwd", "inside", 0644);
  is_int(run_copy("/p1", SRCS("../../etc/passwd"), &msg), 0, "'../../etc'");
  ok(is_content("p1", "inside"), "'..' is clamped at the source root");
  is_int(run_copy("/p2", SRCS("/etc/passwd"), &msg), 0, "absolute source");
  ok(is_content("p2", "inside"), "an absolute source is below the root");
  lnk(srcdir, "root", "/");
  is_int(run_copy("/p3", SRCS("root/etc/passwd"), &msg), 0,
         "through a symlink to /");
  ok(is_content("p3", "inside"), "a link to / is the source root");
  lnk(srcdir, "up", "../../../../../../etc/passwd");
  is_int(run_copy("/p4", SRCS("up"), &msg), 0, "a symlink climbing out");
  ok(is_content("p4", "inside"), "is resolved inside the source root");

  /* Hostile destinations: symlinks in the dest stay in the dest root.  */
  snprintf(outside, sizeof(outside), "%s/%d-outside", top, case_no);
  mkdir(outside, 0755);
  lnk(dstdir, "escape", outside);
  lnk(dstdir, "escape2", "../../../../../..");
  is_int(run_copy("/escape/", SRCS("real/file"), &msg), 0,
         "dest through an absolute symlink");
  is_int(run_copy("/escape2/x/", SRCS("real/file"), &msg), 0,
         "dest through a '..' symlink");
  fd = open(outside, O_RDONLY | O_DIRECTORY);
  {
    char **names = cb_list_dir(fd, NULL);

    ok(names != NULL && names[0] == NULL,
       "nothing was written outside the dest root");
    cb_strv_free(names);
  }
  close(fd);
  {
    char rel[700];

    snprintf(rel, sizeof(rel), "%s/file", outside + 1);
    ok(is_content(rel, "real"), "it went to the link's target inside the "
       "dest root");
  }
  ok(is_content("x/file", "real"), "'..' links stop at the dest root");
  /* A symlink at the target is replaced, not written through.  */
  put(dstdir, "victim", "untouched", 0644);
  lnk(dstdir, "leaf", "victim");
  is_int(run_copy("/leaf", SRCS("real/file"), &msg), 0, "onto a symlink");
  ok(is_content("victim", "untouched") && is_content("leaf", "real"),
     "the symlink is replaced, its target untouched");
}

static void
test_owner_and_mode(void)
{
  char passwd[256];
  const char *msg = msgbuf;
  uid_t me = geteuid();
  gid_t mygid = getegid();

  fresh();
  put(srcdir, "f", "f", 0644);
  put(srcdir, "x", "x", 0755);
  put(srcdir, "d/g", "g", 0640);
  mkd(srcdir, "d/sub", 0700);
  snprintf(passwd, sizeof(passwd), "root:x:0:0::/root:/bin/sh\n"
                                   "me:x:%u:%u::/home/me:/bin/sh\n",
           (unsigned)me, (unsigned)mygid);
  put(dstdir, "etc/passwd", passwd, 0644);
  snprintf(passwd, sizeof(passwd), "root:x:0:\nmygrp:x:%u:\n", (unsigned)mygid);
  put(dstdir, "etc/group", passwd, 0644);

  {
    struct copy_request r = req_of("/o1/deep/", SRCS("f"));
    struct copy_source s = { .root_fd = src_fd };

    r.chown = "me";
    is_int(run_req(&r, &s, &msg, NULL), 0, "--chown=NAME: %s", msg);
    owner_is("o1/deep/f", me, mygid, "a name gives uid and primary gid");
    owner_is("o1/deep", me, mygid, "made parents take the --chown owner");
    r.dest = "/o2/";
    r.chown = "me:mygrp";
    is_int(run_req(&r, &s, &msg, NULL), 0, "--chown=NAME:GROUP");
    owner_is("o2/f", me, mygid, "names resolved in the dest image");
    {
      char num[32];

      snprintf(num, sizeof(num), "%u", (unsigned)me);
      r.dest = "/o3/";
      r.chown = num;
      is_int(run_req(&r, &s, &msg, NULL), 0, "--chown=UID");
      owner_is("o3/f", me, me, "a numeric uid alone gives gid = uid");
    }
    r.chown = "nobody-here";
    is_int(run_req(&r, &s, &msg, NULL), -1, "--chown with an unknown user");
    ok(strstr(msg, "nobody-here") && strstr(msg, "passwd"), "said: %s", msg);
    r.chown = "me:nogroup";
    is_int(run_req(&r, &s, &msg, NULL), -1, "--chown with an unknown group");
    ok(strstr(msg, "nogroup") != NULL, "said: %s", msg);
    r.chown = ":x";
    is_int(run_req(&r, &s, &msg, NULL), -1, "--chown with no user");
    r.chown = NULL;

    r.chmod = "600";
    r.dest = "/m1/new/";
    is_int(run_req(&r, &s, &msg, NULL), 0, "--chmod=600");
    is_int(perm("m1/new/f"), 0600, "octal --chmod sets the file's mode");
    is_int(perm("m1/new"), 0755, "made parents stay 0755 under --chmod");
  }
  {
    struct copy_request r = req_of("/m2", SRCS("d"));
    struct copy_source s = { .root_fd = src_fd };

    r.chmod = "u=rwX,go=rX";
    is_int(run_req(&r, &s, &msg, NULL), 0, "symbolic --chmod: %s", msg);
    is_int(perm("m2/g"), 0644, "u=rwX,go=rX: a file gets 644");
    is_int(perm("m2/sub"), 0755, "a directory gets 755");
    is_int(perm("m2"), 0755, "so does the dest dir it makes");
    r.chmod = "750";
    r.dest = "/m3";
    is_int(run_req(&r, &s, &msg, NULL), 0, "octal --chmod on a directory");
    is_int(perm("m3/sub"), 0750, "applies to directories copied");
    is_int(perm("m3"), 0750, "and to the dest dir made for them");
  }
  {
    struct copy_request r = req_of("/m4/", SRCS("f", "x"));
    struct copy_source s = { .root_fd = src_fd };

    r.chmod = "+x";
    is_int(run_req(&r, &s, &msg, NULL), 0, "--chmod=+x");
    is_int(perm("m4/f"), 0755, "'+x' adds x for all");
    r.chmod = "go-rx,u+s";
    r.dest = "/m5/";
    is_int(run_req(&r, &s, &msg, NULL), 0, "--chmod=go-rx,u+s");
    is_int(perm("m5/x"), 04700, "clauses apply in order");
    r.chmod = "g=u";
    r.dest = "/m6/";
    is_int(run_req(&r, &s, &msg, NULL), 0, "--chmod=g=u");
    is_int(perm("m6/x"), 0775, "'g=u' copies the user's bits");
    r.chmod = "u+q";
    is_int(run_req(&r, &s, &msg, NULL), -1, "a bad --chmod");
    ok(strstr(msg, "--chmod") != NULL, "said: %s", msg);
  }
  /* Other sources keep their owners.  */
  {
    struct copy_request r = req_of("/k/", SRCS("f"));
    struct copy_source s = { .root_fd = src_fd, .keep_owners = true };

    is_int(run_req(&r, &s, &msg, NULL), 0, "a stage's files");
    owner_is("k/f", me, mygid, "keep their owners (COPY --from)");
  }
}

static struct ignore_matcher *
matcher(char **patterns)
{
  return ignore_matcher_new(patterns, NULL);
}

static void
test_excludes(void)
{
  const char *msg = msgbuf;
  char *pats[] = { "*.log", "secret", "keepdir/*", "!keepdir/keep.md", NULL };
  char *excl[] = { "*/*.png", "*.txt", NULL };
  struct ignore_matcher *m = NULL;

  fresh();
  put(srcdir, "a.log", "l", 0644);
  put(srcdir, "b.txt", "t", 0644);
  put(srcdir, "secret", "s", 0644);
  put(srcdir, "keepdir/x", "x", 0644);
  put(srcdir, "keepdir/keep.md", "k", 0644);
  put(srcdir, "pics/p.png", "p", 0644);
  put(srcdir, "pics/q.jpg", "q", 0644);
  lnk(srcdir, "alias", "secret");

  m = matcher(pats);
  {
    struct copy_request r = req_of("/c/", SRCS("."));
    struct copy_source s = { .root_fd = src_fd, .ignore = m };

    is_int(run_req(&r, &s, &msg, NULL), 0, ".dockerignore: %s", msg);
    ok(!exists("c/a.log") && !exists("c/secret") && exists("c/b.txt"),
       "what .dockerignore excludes is not copied");
    ok(exists("c/keepdir/keep.md") && !exists("c/keepdir/x"),
       "an exception keeps a file below an excluded path");
    r.srcs = (char *[]){ "secret" };
    r.nsrcs = 1;
    is_int(run_req(&r, &s, &msg, NULL), -1, "naming an ignored file");
    ok(strstr(msg, "excluded by .dockerignore") != NULL, "said: %s", msg);
    r.srcs = (char *[]){ "*.log" };
    is_int(run_req(&r, &s, &msg, NULL), 0, "a wildcard of ignored files");
    ok(!exists("c/a.log"), "matches nothing");
    r.srcs = (char *[]){ "alias" };
    is_int(run_req(&r, &s, &msg, NULL), -1,
           "a symlink to an ignored file");
    ok(strstr(msg, "excluded") != NULL,
       "is ignored by its real path: %s", msg);
  }
  ignore_matcher_free(m);
  {
    struct copy_request r = req_of("/e", SRCS("."));
    struct copy_source s = { .root_fd = src_fd };

    r.excludes = excl;
    is_int(run_req(&r, &s, &msg, NULL), 0, "--exclude: %s", msg);
    ok(!exists("e/pics/p.png") && exists("e/pics/q.jpg"),
       "'*/*.png' excludes below the source (BuildKit's test)");
    ok(!exists("e/b.txt") && exists("e/a.log"), "'*.txt' at the top");
    r.srcs = (char *[]){ "b.txt", "a.log" };
    r.nsrcs = 2;
    r.dest = "/e2/";
    is_int(run_req(&r, &s, &msg, NULL), 0, "--exclude on named files");
    ok(!exists("e2/b.txt") && exists("e2/a.log"),
       "a top-level file is excluded by its name");
    r.srcs = (char *[]){ "pics" };
    r.nsrcs = 1;
    r.dest = "/e3";
    {
      char *all[] = { "*", NULL };

      r.excludes = all;
      is_int(run_req(&r, &s, &msg, NULL), 0, "--exclude=* on a directory");
      ok(exists("e3") && !exists("e3/q.jpg"),
         "the dest dir is made, empty (BuildKit's builder6)");
    }
  }
}

static void
test_parents(void)
{
  const char *msg = msgbuf;
  struct copy_source s;

  fresh();
  s = (struct copy_source){ .root_fd = src_fd };
  put(srcdir, "x/a.txt", "xa", 0644);
  put(srcdir, "y/a.txt", "ya", 0644);
  put(srcdir, "x/y/a.txt", "xya", 0644);
  put(srcdir, "x/y/b.txt", "xyb", 0644);
  put(srcdir, "src/a.txt", "1", 0644);
  put(srcdir, "src/x/b.txt", "2", 0644);
  put(srcdir, "src/x/y/c.txt", "3", 0644);
  put(srcdir, "src/x/y/c.md", "4", 0644);
  mkd(srcdir, "x", 0711);
  {
    struct copy_request r = req_of("/no_parents/", SRCS("./x/a.txt",
                                                        "./y/a.txt"));

    is_int(run_req(&r, &s, &msg, NULL), 0, "without --parents");
    ok(is_content("no_parents/a.txt", "ya"), "the last one wins");
    r.parents = true;
    r.dest = "/parents/";
    is_int(run_req(&r, &s, &msg, NULL), 0, "--parents: %s", msg);
    ok(is_content("parents/x/a.txt", "xa") &&
           is_content("parents/y/a.txt", "ya"),
       "--parents keeps the source paths");
    is_int(perm("parents/x"), 0711, "made parents copy their source dir");
  }
  {
    struct copy_request r = req_of("/pv/", SRCS("./x/./y/*.txt"));

    r.parents = true;
    is_int(run_req(&r, &s, &msg, NULL), 0, "a '/./' pivot: %s", msg);
    ok(is_content("pv/y/a.txt", "xya") && is_content("pv/y/b.txt", "xyb") &&
           !exists("pv/x"),
       "only the parts after the pivot are kept");
  }
  {
    struct copy_request r = req_of("/gs/", SRCS("./src/**/*.txt"));

    r.parents = true;
    is_int(run_req(&r, &s, &msg, NULL), 0, "'**': %s", msg);
    ok(is_content("gs/src/a.txt", "1") && is_content("gs/src/x/b.txt", "2") &&
           is_content("gs/src/x/y/c.txt", "3") && !exists("gs/src/x/y/c.md"),
       "'**' matches any number of directories, none too");
  }
}

static void
test_heredocs(void)
{
  const char *msg = msgbuf;
  struct df_heredoc h[2] = {
    { .name = "EOF", .content = "hello\nworld\n" },
    { .name = "two", .content = "2\n" },
  };

  fresh();
  {
    struct copy_request r = req_of("/etc/conf", SRCS("<<EOF"));
    struct copy_source s = { .root_fd = src_fd };

    r.heredocs = h;
    r.nheredocs = 1;
    is_int(run_req(&r, &s, &msg, NULL), 0, "COPY <<EOF /etc/conf: %s", msg);
    ok(is_content("etc/conf", "hello\nworld\n"), "the body is the file");
    is_int(perm("etc/conf"), 0644, "heredoc files are 0644");
    r.srcs = (char *[]){ "<<EOF", "<<-'two'" };
    r.nsrcs = 2;
    r.nheredocs = 2;
    r.dest = "/dir/";
    is_int(run_req(&r, &s, &msg, NULL), 0, "two heredocs into a dir");
    ok(is_content("dir/EOF", "hello\nworld\n") && is_content("dir/two", "2\n"),
       "each is named by its delimiter");
    r.chmod = "755";
    r.dest = "/x/";
    is_int(run_req(&r, &s, &msg, NULL), 0, "heredoc with --chmod");
    is_int(perm("x/two"), 0755, "--chmod applies");
    /* The build asks about each source alone, with all the heredocs.  */
    r.chmod = NULL;
    r.srcs = (char *[]){ "<<-'two'" };
    r.nsrcs = 1;
    r.dest = "/second/";
    is_int(run_req(&r, &s, &msg, NULL), 0,
           "the second heredoc's word alone: %s", msg);
    ok(is_content("second/two", "2\n"), "finds its own body");
  }
}

/* --- ADD: archives --- */

struct tar_ent {
  const char *name;
  mode_t type;
  const char *data;
  const char *link;
  bool hard;
};

static char *
make_tar(const struct tar_ent *e, size_t n, int filter, size_t *len)
{
  struct archive *a = archive_write_new();
  struct cb_buf out = CB_BUF_INIT;
  size_t used = 0;
  char *buf = cb_xmalloc(1 << 20);

  archive_write_set_format_pax_restricted(a);
  if (filter != ARCHIVE_FILTER_NONE)
    archive_write_add_filter(a, filter);
  archive_write_open_memory(a, buf, 1 << 20, &used);
  for (size_t i = 0; i < n; i++) {
    struct archive_entry *ae = archive_entry_new();
    size_t size = e[i].data ? strlen(e[i].data) : 0;

    archive_entry_set_pathname(ae, e[i].name);
    archive_entry_set_filetype(ae, e[i].type ? e[i].type : AE_IFREG);
    archive_entry_set_perm(ae, e[i].type == AE_IFDIR ? 0750 : 0640);
    archive_entry_set_uid(ae, geteuid());
    archive_entry_set_gid(ae, getegid());
    archive_entry_set_mtime(ae, 1234567, 0);
    if (e[i].link != NULL && e[i].hard)
      archive_entry_set_hardlink(ae, e[i].link);
    else if (e[i].link != NULL)
      archive_entry_set_symlink(ae, e[i].link);
    archive_entry_set_size(ae, e[i].hard ? 0 : size);
    archive_write_header(a, ae);
    if (size > 0 && !e[i].hard)
      archive_write_data(a, e[i].data, size);
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
  cb_buf_add(&out, buf, used);
  free(buf);
  return cb_buf_detach(&out, len);
}

static void
put_bytes(const char *base, const char *rel, const char *data, size_t len)
{
  char p[1024];
  int fd;

  snprintf(p, sizeof(p), "%s/%s", base, rel);
  fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  cb_write_all(fd, data, len, NULL);
  close(fd);
}

static int
run_add(const char *dest, char **srcs, size_t n, int unpack, const char **msg,
        enum cb_err_kind *kind)
{
  struct copy_request r = req_of(dest, srcs, n);
  struct copy_source s = { .root_fd = src_fd };

  r.add = true;
  r.unpack = unpack;
  return run_req(&r, &s, msg, kind);
}

static void
test_add_archives(void)
{
  static const struct {
    const char *name;
    int filter;
  } kinds[] = {
    { "plain", ARCHIVE_FILTER_NONE }, { "gzip", ARCHIVE_FILTER_GZIP },
    { "bzip2", ARCHIVE_FILTER_BZIP2 }, { "xz", ARCHIVE_FILTER_XZ },
    { "zstd", ARCHIVE_FILTER_ZSTD },
  };
  static const struct tar_ent good[] = {
    { "top/", AE_IFDIR, NULL, NULL, false },
    { "top/file", 0, "content", NULL, false },
    { "top/link", AE_IFLNK, NULL, "file", false },
    { "top/hard", 0, NULL, "top/file", true },
    { "/abs/file", 0, "abs", NULL, false },
  };
  const char *msg = msgbuf;
  enum cb_err_kind kind = 0;
  struct stat a, b;

  fresh();
  for (size_t i = 0; i < CB_N_ELEMENTS(kinds); i++) {
    size_t len;
    char *tar = make_tar(good, CB_N_ELEMENTS(good), kinds[i].filter, &len);
    char dest[64];

    put_bytes(srcdir, "archive.bin", tar, len);
    free(tar);
    snprintf(dest, sizeof(dest), "/x-%s", kinds[i].name);
    is_int(run_add(dest, SRCS("archive.bin"), -1, &msg, NULL), 0,
           "ADD of a %s tar: %s", kinds[i].name, msg);
    snprintf(dest, sizeof(dest), "x-%s/top/file", kinds[i].name);
    ok(is_content(dest, "content"), "%s: extracted into the dest, known by "
       "content, not name", kinds[i].name);
    is_int(stats.archives, 1, "%s: counted", kinds[i].name);
  }
  ok(is_content("x-gzip/abs/file", "abs"),
     "a leading '/' in an entry is dropped");
  is_str(link_target("x-plain/top/link"), "file", "symlinks extracted");
  ok(lst(dstdir, "x-plain/top/file", &a) && lst(dstdir, "x-plain/top/hard", &b)
         && a.st_ino == b.st_ino, "hard links extracted");
  is_int(perm("x-plain/top"), 0750, "directory modes from the archive");
  is_int(perm("x-plain/top/file"), 0640, "file modes from the archive");
  ok(lst(dstdir, "x-plain/top/file", &a) && a.st_mtime == 1234567,
     "times from the archive");

  is_int(run_add("/kept/", SRCS("archive.bin"), 0, &msg, NULL), 0,
         "--unpack=0");
  ok(exists("kept/archive.bin") && !exists("kept/top"),
     "with --unpack=0 the archive is copied as a file");
  {
    struct copy_request r = req_of("/cp/", SRCS("archive.bin"));
    struct copy_source s = { .root_fd = src_fd };

    is_int(run_req(&r, &s, &msg, NULL), 0, "COPY of an archive");
    ok(exists("cp/archive.bin"), "COPY never unpacks");
  }
  put(srcdir, "empty.tar.gz", "", 0644);
  put(srcdir, "text.tar", "just some text, not a tar header at all\n", 0644);
  is_int(run_add("/f/", SRCS("empty.tar.gz", "text.tar"), -1, &msg, NULL), 0,
         "ADD of files named like archives");
  ok(exists("f/empty.tar.gz") && is_content("f/text.tar",
     "just some text, not a tar header at all\n"),
     "they are copied as files (detected by content)");

  /* Hostile archives.  */
  {
    static const struct tar_ent dotdot[] = {
      { "../escape", 0, "bad", NULL, false },
    };
    static const struct tar_ent via_link[] = {
      { "x", AE_IFLNK, NULL, "/", false },
      { "x/escaped", 0, "in", NULL, false },
      { "up", AE_IFLNK, NULL, "../../../../..", false },
      { "up/escaped2", 0, "in2", NULL, false },
    };
    static const struct tar_ent hard_out[] = {
      { "h", 0, NULL, "../../../etc/passwd", true },
    };
    static const struct tar_ent hard_abs[] = {
      { "h", 0, NULL, "/etc/passwd", true },
    };
    char outside[600];
    size_t len;
    char *tar;

    snprintf(outside, sizeof(outside), "%s/escape", top);
    unlink(outside);
    tar = make_tar(dotdot, 1, ARCHIVE_FILTER_NONE, &len);
    put_bytes(srcdir, "evil.tar", tar, len);
    free(tar);
    is_int(run_add("/ev/", SRCS("evil.tar"), -1, &msg, &kind), -1,
           "an entry with '..'");
    ok(kind == CB_ERR_UNSAFE && strstr(msg, "'..'") != NULL,
       "is refused as unsafe: %s", msg);
    ok(access(outside, F_OK) != 0, "nothing was written outside");

    tar = make_tar(via_link, CB_N_ELEMENTS(via_link), ARCHIVE_FILTER_NONE,
                   &len);
    put_bytes(srcdir, "links.tar", tar, len);
    free(tar);
    is_int(run_add("/lk", SRCS("links.tar"), -1, &msg, NULL), 0,
           "entries through symlinks to / and ..: %s", msg);
    ok(is_content("lk/escaped", "in") && is_content("lk/escaped2", "in2"),
       "they stay inside the extraction dir");

    tar = make_tar(hard_out, 1, ARCHIVE_FILTER_NONE, &len);
    put_bytes(srcdir, "hard.tar", tar, len);
    free(tar);
    is_int(run_add("/hd/", SRCS("hard.tar"), -1, &msg, &kind), -1,
           "a hard link out with '..'");
    ok(kind == CB_ERR_UNSAFE, "is unsafe: %s", msg);
    put(dstdir, "etc/passwd", "dest root", 0644);
    tar = make_tar(hard_abs, 1, ARCHIVE_FILTER_NONE, &len);
    put_bytes(srcdir, "hard2.tar", tar, len);
    free(tar);
    is_int(run_add("/hd2/", SRCS("hard2.tar"), -1, &msg, &kind), -1,
           "a hard link to an absolute path");
    ok(kind == CB_ERR_UNSAFE && !exists("hd2/h"),
       "must name a file of the archive: %s", msg);
  }
}

/* --- ADD: URLs, from a one-shot HTTP server on 127.0.0.1 --- */

struct server {
  int fd;
  int port;
  const char *response;
};

static void *
serve(void *arg)
{
  struct server *s = arg;
  char req[4096];
  int c = accept(s->fd, NULL, NULL);

  if (c < 0)
    return NULL;
  (void)!read(c, req, sizeof(req));
  cb_write_all(c, s->response, strlen(s->response), NULL);
  close(c);
  return NULL;
}

static int
fetch_with(const char *response, struct copy_request *r, const char *path,
           const char **msg, enum cb_err_kind *kind)
{
  struct server s = { .response = response };
  struct sockaddr_in sin = { .sin_family = AF_INET };
  socklen_t sl = sizeof(sin);
  struct copy_source src = { .root_fd = src_fd };
  char url[128];
  char *srcs[1] = { url };
  pthread_t t;
  int rc;

  s.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s.fd, (struct sockaddr *)&sin, sizeof(sin));
  listen(s.fd, 1);
  getsockname(s.fd, (struct sockaddr *)&sin, &sl);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", ntohs(sin.sin_port),
           path);
  pthread_create(&t, NULL, serve, &s);
  r->srcs = srcs;
  r->nsrcs = 1;
  rc = run_req(r, &src, msg, kind);
  shutdown(s.fd, SHUT_RDWR);
  close(s.fd);
  pthread_join(t, NULL);
  return rc;
}

static void
test_add_urls(void)
{
  static const char ok_resp[] =
      "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n"
      "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
      "Connection: close\r\n\r\nfetch\n";
  static const char missing[] =
      "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
      "Connection: close\r\n\r\n";
  const char *msg = msgbuf;
  enum cb_err_kind kind = 0;
  struct cb_digest d;
  char sum[CB_DIGEST_STR_LEN];
  struct stat st;
  struct copy_request r;

  unsetenv("http_proxy");
  unsetenv("HTTP_PROXY");
  unsetenv("ALL_PROXY");
  unsetenv("all_proxy");
  fresh();
  r = req_of("/dl/", NULL, 0);
  r.add = true;
  is_int(fetch_with(ok_resp, &r, "/files/a%20b.txt?x=1", &msg, NULL), 0,
         "ADD <url> /dl/: %s", msg);
  ok(is_content("dl/a b.txt", "fetch\n"),
     "the file is named by the URL path, %%-decoded");
  is_int(perm("dl/a b.txt"), 0600, "a fetched file is 0600");
  ok(lst(dstdir, "dl/a b.txt", &st) && st.st_mtime == 784111777,
     "its mtime is the Last-Modified time");
  r.dest = "/named";
  cb_digest_of("fetch\n", 6, &d);
  cb_digest_str(&d, sum);
  r.checksum = sum;
  is_int(fetch_with(ok_resp, &r, "/f", &msg, NULL), 0, "--checksum right");
  ok(is_content("named", "fetch\n"), "a dest without / is the file name");
  r.checksum = "sha256:0000000000000000000000000000000000000000000000000000"
               "000000000000";
  r.dest = "/bad";
  is_int(fetch_with(ok_resp, &r, "/f", &msg, &kind), -1, "--checksum wrong");
  ok(kind == CB_ERR_DIGEST && strstr(msg, "http://127.0.0.1") &&
         strstr(msg, "checksum mismatch"), "names the URL: %s", msg);
  ok(!exists("bad"), "nothing is left behind");
  r.checksum = NULL;
  is_int(fetch_with(missing, &r, "/gone", &msg, NULL), -1, "HTTP 404");
  ok(strstr(msg, "404") != NULL, "said: %s", msg);
  {
    char *git[] = { "https://github.com/moby/buildkit.git#v0.10.1" };
    char *url[] = { "http://example.com/x" };
    struct copy_source s = { .root_fd = src_fd };

    r = req_of("/g/", git, 1);
    r.add = true;
    is_int(run_req(&r, &s, &msg, &kind), -1, "ADD of a git URL");
    ok(kind == CB_ERR_UNSUPPORTED && strstr(msg, "not supported"),
       "says it is not supported: %s", msg);
    r = req_of("/g/", url, 1);
    is_int(run_req(&r, &s, &msg, &kind), -1, "COPY of a URL");
    ok(kind == CB_ERR_USAGE, "is a usage error: %s", msg);
  }
}

/* --- specials, xattrs, times --- */

static void
test_specials(void)
{
  const char *msg = msgbuf;
  struct stat st;
  char p[1024];

  fresh();
  snprintf(p, sizeof(p), "%s/d/fifo", srcdir);
  mkd(srcdir, "d", 0755);
  mkfifo(p, 0640);
  put(srcdir, "d/x", "x", 0644);
  is_int(run_copy("/s/", SRCS("d"), &msg), 0, "a FIFO in a dir: %s", msg);
  ok(lst(dstdir, "s/fifo", &st) && S_ISFIFO(st.st_mode) &&
         (st.st_mode & 07777) == 0640,
     "FIFOs are copied");
  snprintf(p, sizeof(p), "%s/d/null", srcdir);
  if (mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0) {
    is_int(run_copy("/dev/", SRCS("d"), &msg), 0, "a device: %s", msg);
    ok((lst(dstdir, "dev/null", &st) && S_ISCHR(st.st_mode)) ||
           stats.devices_skipped == 1,
       "devices are made, or counted as skipped");
  } else {
    skip(2, "cannot make a device node here");
  }

  put(srcdir, "cap", "c", 0755);
  snprintf(p, sizeof(p), "%s/cap", srcdir);
  if (setxattr(p, "user.test", "v", 1, 0) == 0) {
    char v[8] = "";

    setxattr(p, "user.overlay.opaque", "y", 1, 0);
    is_int(run_copy("/xa", SRCS("cap"), &msg), 0, "xattrs: %s", msg);
    snprintf(p, sizeof(p), "%s/xa", dstdir);
    ok(getxattr(p, "user.test", v, sizeof(v)) == 1 && v[0] == 'v',
       "user.* xattrs are copied");
    ok(getxattr(p, "user.overlay.opaque", v, sizeof(v)) < 0,
       "user.overlay.* is not (it would steer overlayfs)");
  } else {
    skip(3, "no user xattrs on this file system");
  }
  {
    struct copy_request r = req_of("/ts/new/", SRCS("cap"));
    struct copy_source s = { .root_fd = src_fd };

    r.timestamp = 1000;
    is_int(run_req(&r, &s, &msg, NULL), 0, "SOURCE_DATE_EPOCH: %s", msg);
    ok(lst(dstdir, "ts/new/cap", &st) && st.st_mtime == 1000,
       "a newer mtime is clamped to it");
    ok(lst(dstdir, "ts/new", &st) && st.st_mtime == 1000 &&
           lst(dstdir, "ts", &st) && st.st_mtime == 1000,
       "made parents get it");
  }
}

/* --- the digest and the hash cache --- */

static int
digest_of(struct copy_request *r, struct copy_source *s,
          struct copy_hash_cache *hc, struct cb_digest *d)
{
  struct cb_error *err = NULL;
  int rc = copy_sources_digest(r, s, hc, d, &err);

  if (err != NULL) {
    char *t = cb_error_text(err);

    diag("digest: %s", t);
    free(t);
    cb_error_free(err);
  }
  return rc;
}

static void
test_digest(void)
{
  struct copy_hash_cache *hc = copy_hash_cache_new();
  struct copy_hash_cache *hc2 = NULL;
  struct cb_digest d0, d1, d2;
  struct copy_request r;
  struct copy_source s;
  struct cb_error *err = NULL;
  uint64_t hits, misses;
  int fd;

  fresh();
  put(srcdir, "app/a", "aaa", 0644);
  put(srcdir, "app/b", "bbb", 0644);
  put(srcdir, "app/sub/c", "ccc", 0600);
  lnk(srcdir, "app/l", "a");
  r = req_of("/", SRCS("app"));
  s = (struct copy_source){ .root_fd = src_fd };
  copy_hash_racy_ns = 0;
  is_int(digest_of(&r, &s, hc, &d0), 0, "digest of a directory");
  set_mtime(srcdir, "app/a", 42);
  set_mtime(srcdir, "app/sub", 43);
  is_int(digest_of(&r, &s, NULL, &d1), 0, "again after touching");
  ok(cb_digest_equal(&d0, &d1), "mtimes do not change the digest");
  put(srcdir, "app/a", "aab", 0644);
  digest_of(&r, &s, hc, &d2);
  ok(!cb_digest_equal(&d0, &d2), "content does");
  put(srcdir, "app/a", "aaa", 0644);
  digest_of(&r, &s, hc, &d2);
  ok(cb_digest_equal(&d0, &d2), "and back");
  {
    char p[1024];

    snprintf(p, sizeof(p), "%s/app/b", srcdir);
    chmod(p, 0755);
    digest_of(&r, &s, hc, &d2);
    ok(!cb_digest_equal(&d0, &d2), "a mode change does");
    chmod(p, 0644);
    unlink(p);
    symlink("a", p);
    digest_of(&r, &s, hc, &d2);
    ok(!cb_digest_equal(&d0, &d2), "a type change does");
    unlink(p);
    put(srcdir, "app/b", "bbb", 0644);
  }
  {
    char *excl[] = { "sub", NULL };

    r.excludes = excl;
    digest_of(&r, &s, hc, &d2);
    ok(!cb_digest_equal(&d0, &d2), "--exclude changes what is digested");
    r.excludes = NULL;
  }
  {
    struct copy_source ks = { .root_fd = src_fd, .keep_owners = true };

    digest_of(&r, &ks, hc, &d2);
    ok(!cb_digest_equal(&d0, &d2), "kept owners are part of it");
  }
  /* The cache: a second pass reads nothing.  */
  copy_hash_cache_free(hc);
  hc = copy_hash_cache_new();
  digest_of(&r, &s, hc, &d1);
  copy_hash_cache_counts(hc, &hits, &misses);
  is_int((long long)misses, 3, "a first pass reads each file");
  digest_of(&r, &s, hc, &d2);
  copy_hash_cache_counts(hc, &hits, &misses);
  is_int((long long)hits, 3, "a second pass reads none");
  ok(cb_digest_equal(&d1, &d2) && cb_digest_equal(&d0, &d1),
     "and gives the same digest");
  fd = memfd_create("hc", MFD_CLOEXEC);
  is_int(copy_hash_cache_save(hc, fd, &err), 0, "save the cache");
  lseek(fd, 0, SEEK_SET);
  hc2 = copy_hash_cache_new();
  is_int(copy_hash_cache_load(hc2, fd, &err), 0, "load it again");
  digest_of(&r, &s, hc2, &d2);
  copy_hash_cache_counts(hc2, &hits, &misses);
  ok(hits == 3 && misses == 0 && cb_digest_equal(&d1, &d2),
     "a loaded cache answers a rebuild without reading");
  /* A changed file is read again even when its size and mtime stay.  */
  put(srcdir, "app/a", "zzz", 0644);
  set_mtime(srcdir, "app/a", 42);
  digest_of(&r, &s, hc2, &d2);
  ok(!cb_digest_equal(&d1, &d2), "a rewrite with the same size and mtime "
     "is seen (ctime)");
  /* A damaged cache file adds nothing.  */
  {
    unsigned char byte = 0x55;
    struct copy_hash_cache *hc3 = copy_hash_cache_new();

    pwrite(fd, &byte, 1, 30);
    lseek(fd, 0, SEEK_SET);
    is_int(copy_hash_cache_load(hc3, fd, &err), -1, "a damaged cache file");
    ok(err != NULL && err->kind == CB_ERR_PARSE, "is a parse error");
    cb_error_free(err);
    err = NULL;
    copy_hash_cache_free(hc3);
  }
  close(fd);
  {
    struct df_heredoc h = { .name = "EOF", .content = "x" };
    char *url[] = { "https://example.com/f" };

    r = req_of("/f", SRCS("<<EOF"));
    r.heredocs = &h;
    r.nheredocs = 1;
    digest_of(&r, &s, NULL, &d1);
    h.content = "y";
    digest_of(&r, &s, NULL, &d2);
    ok(!cb_digest_equal(&d1, &d2), "heredoc content is part of it");
    r = req_of("/f", url, 1);
    r.add = true;
    is_int(digest_of(&r, &s, NULL, &d1), 1,
           "a URL without --checksum is flagged as not content-known");
    r.checksum = "sha256:00";
    is_int(digest_of(&r, &s, NULL, &d1), 0, "with --checksum it is not");
  }
  copy_hash_cache_free(hc);
  copy_hash_cache_free(hc2);
}

/* --- many files --- */

static void
test_many(void)
{
  int n = getenv("CB_COPY_FILES") ? atoi(getenv("CB_COPY_FILES")) : 2000;
  struct timespec t0, t1;
  const char *msg = msgbuf;
  char name[64];

  fresh();
  for (int i = 0; i < n; i++) {
    snprintf(name, sizeof(name), "many/d%02d/f%05d", i % 50, i);
    put(srcdir, name, name, 0644);
  }
  clock_gettime(CLOCK_MONOTONIC, &t0);
  is_int(run_copy("/m/", SRCS("many"), &msg), 0, "%d files: %s", n, msg);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  is_int((long long)stats.files, n, "all of them copied");
  snprintf(name, sizeof(name), "m/d%02d/f%05d", (n - 1) % 50, n - 1);
  {
    char want[64];

    snprintf(want, sizeof(want), "many/d%02d/f%05d", (n - 1) % 50, n - 1);
    ok(is_content(name, want), "the last one is right");
  }
  diag("copied %d files in %.3f s", n,
       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
}

int
main(void)
{
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

  is_root = geteuid() == 0;
  snprintf(top, sizeof(top), "%s/cb-copy-XXXXXX", tmp);
  if (mkdtemp(top) == NULL) {
    printf("Bail out! mkdtemp: %s\n", strerror(errno));
    return 1;
  }
  test_match_table();
  test_files_and_dirs();
  test_wildcards();
  test_symlinks_and_links();
  test_owner_and_mode();
  test_excludes();
  test_parents();
  test_heredocs();
  test_add_archives();
  test_add_urls();
  test_specials();
  test_digest();
  test_many();
  if (src_fd >= 0)
    close(src_fd);
  if (dst_fd >= 0)
    close(dst_fd);
  if (getenv("CB_COPY_KEEP") != NULL) /* for a look after a failure */
    diag("kept %s", top);
  else {
    int fd = open(tmp, O_PATH | O_DIRECTORY);

    cb_remove_tree_at(fd, top + strlen(tmp) + 1, NULL);
    close(fd);
  }
  return done_testing();
}
