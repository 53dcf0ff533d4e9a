/* common/: errors, buffers, allocation, cleanup macros, string vectors,
   UTF-8, Unicode classes and log levels.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/unicode.h"
#include "tap.h"

#include "common/banned.h"

/* An fd number far above any open file, so close() on it fails.  */
#define NEVER_OPEN_FD (1 << 20)

static size_t
count_substr(const char *s, const char *sub)
{
  size_t n = 0;

  for (const char *p = strstr(s, sub); p != NULL; p = strstr(p + 1, sub))
    n++;
  return n;
}

/* ---- cb_error ---------------------------------------------------------- */

static void
test_fail(void)
{
  cleanup_error struct cb_error *err = NULL;

  errno = 0;
  is_int(cb_fail(&err, CB_ERR_PARSE, 0, "line %d: bad '%s'", 3, "x"), -1,
         "cb_fail returns -1");
  ok(err != NULL && err->kind == CB_ERR_PARSE && err->errnum == 0,
     "cb_fail sets kind and errnum");
  is_str(err != NULL ? err->msg : NULL, "line 3: bad 'x'",
         "cb_fail formats the message");
  is_int(cb_fail(&err, CB_ERR_SYSTEM, EIO, "second"), -1,
         "a second cb_fail returns -1");
  ok(err != NULL && err->kind == CB_ERR_PARSE && err->errnum == 0 &&
         strcmp(err->msg, "line 3: bad 'x'") == 0,
     "a second cb_fail keeps the first error");
  is_int(cb_fail(NULL, CB_ERR_USAGE, 0, "nobody listens"), -1,
         "cb_fail with no error slot returns -1");
}

static void
test_fail_errno(void)
{
  cleanup_error struct cb_error *err = NULL;
  void *p;

  errno = ENOENT;
  is_int(cb_fail_errno(&err, "open '%s'", "f"), -1, "cb_fail_errno");
  ok(err != NULL && err->kind == CB_ERR_SYSTEM && err->errnum == ENOENT,
     "cb_fail_errno takes errno");
  cb_error_freep(&err);
  ok(err == NULL, "cb_error_freep resets the pointer");
  p = cb_fail_null(&err, CB_ERR_UNSAFE, 0, "escape");
  ok(p == NULL && err != NULL && err->kind == CB_ERR_UNSAFE,
     "cb_fail_null returns NULL and sets the error");
  cb_error_free(NULL);
  ok(true, "cb_error_free(NULL) is a no-op");
}

static void
test_wrap(void)
{
  cleanup_error struct cb_error *err = NULL;
  cleanup_error struct cb_error *none = NULL;

  cb_fail(&err, CB_ERR_SYSTEM, EACCES, "create '%s'", "usr/bin/x");
  is_int(cb_wrap(&err, "layer %.12s", "3f2a9c0d11b2ffff"), -1,
         "cb_wrap returns -1");
  cb_wrap(&err, "build");
  is_str(err != NULL ? err->msg : NULL,
         "build: layer 3f2a9c0d11b2: create 'usr/bin/x'",
         "cb_wrap prefixes \"ctx: msg\", outermost first");
  ok(err != NULL && err->kind == CB_ERR_SYSTEM && err->errnum == EACCES,
     "cb_wrap keeps kind and errnum");
  is_int(cb_wrap(&none, "context %d", 7), -1, "cb_wrap on no error");
  ok(none != NULL && none->kind == CB_ERR_SYSTEM && none->errnum == 0,
     "cb_wrap on no error creates a system error without errno");
  is_str(none != NULL ? none->msg : NULL, "context 7",
         "cb_wrap on no error: the context is the message");
  is_int(cb_wrap(NULL, "x"), -1, "cb_wrap with no error slot returns -1");
  ok(cb_wrap_null(&none, "more") == NULL, "cb_wrap_null returns NULL");
  is_str(none != NULL ? none->msg : NULL, "more: context 7",
         "cb_wrap_null wraps");
}

static void
test_error_text(void)
{
  cleanup_error struct cb_error *err = NULL;
  cleanup_error struct cb_error *plain = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *plain_text = NULL;
  cleanup_free char *null_text = cb_error_text(NULL);
  cleanup_free char *want =
      cb_xasprintf("outer: inner: open 'f': %s", strerror(ENOENT));

  cb_fail(&err, CB_ERR_SYSTEM, ENOENT, "open 'f'");
  cb_wrap(&err, "inner");
  cb_wrap(&err, "outer");
  text = cb_error_text(err);
  is_str(text, want, "cb_error_text appends strerror at the end");
  is_int((long long)count_substr(text, strerror(ENOENT)), 1,
         "strerror appears once after two wraps");
  cb_fail(&plain, CB_ERR_PARSE, 0, "Dockerfile:2: unknown instruction");
  plain_text = cb_error_text(plain);
  is_str(plain_text, "Dockerfile:2: unknown instruction",
         "no errnum: the message alone");
  is_str(null_text, "unknown error", "cb_error_text(NULL)");
}

static void
test_exit_codes(void)
{
  static const struct {
    enum cb_err_kind kind;
    int code;
  } codes[] = {
    { CB_ERR_SYSTEM, 1 }, { CB_ERR_USAGE, 2 },       { CB_ERR_PARSE, 2 },
    { CB_ERR_UNSAFE, 1 }, { CB_ERR_DIGEST, 1 },      { CB_ERR_REGISTRY, 1 },
    { CB_ERR_STEP, 1 },   { CB_ERR_UNSUPPORTED, 1 },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(codes); i++) {
    struct cb_error e = { codes[i].kind, 0, (char *)"m" };

    is_int(cb_error_exit_code(&e), codes[i].code, "kind %d exits %d",
           (int)codes[i].kind, codes[i].code);
  }
  is_int(cb_error_exit_code(NULL), 1, "no error object exits 1");
}

/* ---- cb_buf ------------------------------------------------------------ */

static void
test_buf_basics(void)
{
  struct cb_buf b = CB_BUF_INIT;
  cleanup_buf struct cb_buf r = CB_BUF_INIT;

  is_str(cb_buf_str(&b), "", "an unused buffer reads as \"\"");
  cb_buf_add(&b, "a\0b", 3);
  ok(b.len == 3 && memcmp(b.data, "a\0b", 4) == 0,
     "cb_buf_add keeps embedded NULs and terminates");
  cb_buf_addc(&b, 'c');
  cb_buf_adds(&b, "de");
  ok(b.len == 6 && memcmp(b.data, "a\0bcde", 7) == 0, "addc and adds");
  cb_buf_add(&b, NULL, 0);
  is_int((long long)b.len, 6, "adding nothing changes nothing");
  cb_buf_truncate(&b, 100);
  is_int((long long)b.len, 6, "truncate beyond the length is a no-op");
  cb_buf_truncate(&b, 2);
  ok(b.len == 2 && b.data[2] == '\0', "truncate shortens and terminates");
  cb_buf_truncate(&b, 0);
  is_str(cb_buf_str(&b), "", "truncate to 0");
  cb_buf_release(&b);
  ok(b.data == NULL && b.len == 0 && b.alloc == 0, "release resets");
  cb_buf_reserve(&r, 10);
  is_str(cb_buf_str(&r), "", "a reserved but empty buffer reads as \"\"");
  ok(r.alloc >= 11 && r.len == 0, "reserve makes room for N and the NUL");
}

/* addf at every length around the first reserve, so that both the
   fits-at-once and the print-again paths run, at their boundary too.  */
static void
test_buf_addf_lengths(void)
{
  cleanup_free char *arg = cb_xmalloc(301);
  bool all = true;

  memset(arg, 'x', 300);
  for (size_t k = 0; k <= 300 && all; k++) {
    struct cb_buf b = CB_BUF_INIT;
    char want[320];

    arg[k] = '\0';
    cb_buf_adds(&b, "p:");
    cb_buf_addf(&b, "%s|%zu", arg, k);
    snprintf(want, sizeof(want), "p:%s|%zu", arg, k);
    all = b.len == strlen(want) && strcmp(b.data, want) == 0;
    if (!all)
      diag("addf of %zu bytes gave '%s'", k, b.data);
    cb_buf_release(&b);
    arg[k] = 'x';
  }
  ok(all, "addf of 0..300 bytes after a prefix");
}

static void
test_buf_addf_long(void)
{
  cleanup_buf struct cb_buf b = CB_BUF_INIT;
  cleanup_free char *big = cb_xmalloc(100001);

  memset(big, 'y', 100000);
  big[100000] = '\0';
  cb_buf_addf(&b, "[%s]", big);
  cb_buf_addf(&b, "%d-%s", 42, "z");
  ok(b.len == 100006 && b.data[0] == '[' && b.data[100001] == ']' &&
         strcmp(b.data + 100002, "42-z") == 0,
     "addf far over the initial reserve, twice");
  cb_buf_addf(&b, "%s", "");
  is_int((long long)b.len, 100006, "addf of an empty string");
}

static void
test_buf_detach(void)
{
  struct cb_buf b = CB_BUF_INIT;
  cleanup_free char *empty = NULL;
  cleanup_free char *full = NULL;
  size_t len = 99;

  empty = cb_buf_detach(&b, &len);
  ok(empty != NULL && empty[0] == '\0' && len == 0,
     "detach of an unused buffer gives \"\", not NULL");
  cb_buf_reserve(&b, 100);
  free(cb_buf_detach(&b, &len));
  ok(len == 0, "detach of a reserved, empty buffer");
  cb_buf_adds(&b, "hello");
  full = cb_buf_detach(&b, &len);
  ok(full != NULL && strcmp(full, "hello") == 0 && len == 5,
     "detach hands over the contents");
  ok(b.data == NULL && b.len == 0 && b.alloc == 0, "detach resets");
  cb_buf_adds(&b, "again");
  is_str(cb_buf_str(&b), "again", "a detached buffer can be reused");
  cb_buf_release(&b);
}

/* ---- allocation -------------------------------------------------------- */

static void
test_grow(void)
{
  int *a = NULL;
  size_t alloc = 0;
  int *before;

  CB_GROW(a, alloc, 1);
  ok(a != NULL && alloc == 8, "first growth gives 8");
  before = a;
  CB_GROW(a, alloc, 8);
  ok(a == before && alloc == 8, "growing to what fits does nothing");
  CB_GROW(a, alloc, 9);
  is_int((long long)alloc, 16, "9 doubles to 16");
  CB_GROW(a, alloc, 1000);
  is_int((long long)alloc, 1024, "1000 doubles to 1024");
  for (int i = 0; i < 1000; i++)
    a[i] = i;
  ok(a[999] == 999 && a[0] == 0, "all of it is usable");
  free(a);
}

static void
test_xalloc(void)
{
  cleanup_free char *m = cb_xmalloc(0);
  cleanup_free int *z = cb_xcalloc(4, sizeof(int));
  cleanup_free char *d = cb_xstrndup("abcdef", 3);
  cleanup_free char *f = cb_xasprintf("%s=%d", "n", 5);
  cleanup_free short *r = cb_xreallocarray(NULL, 3, sizeof(short));

  ok(m != NULL, "cb_xmalloc(0) gives a pointer");
  ok(z[0] == 0 && z[3] == 0, "cb_xcalloc zeroes");
  is_str(d, "abc", "cb_xstrndup");
  is_str(f, "n=5", "cb_xasprintf");
  r[2] = 7;
  r = cb_xreallocarray(r, 1000, sizeof(short));
  ok(r[2] == 7, "cb_xreallocarray keeps the contents");
}

/* Run FN in a child whose stderr goes to a pipe; true if the child aborted
   saying "out of memory".  */
static bool
aborts_out_of_memory(void (*fn)(void))
{
  char msg[256] = "";
  int p[2], status;
  ssize_t n;
  pid_t pid;

  if (pipe2(p, O_CLOEXEC) < 0)
    return false;
  pid = fork();
  if (pid == 0) {
    dup2(p[1], STDERR_FILENO);
    fn();
    _exit(0);
  }
  close(p[1]);
  n = read(p[0], msg, sizeof(msg) - 1);
  close(p[0]);
  if (pid < 0 || waitpid(pid, &status, 0) != pid)
    return false;
  msg[n > 0 ? n : 0] = '\0';
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT &&
         strstr(msg, "out of memory") != NULL;
}

static void
overflowing_reallocarray(void)
{
  free(cb_xreallocarray(NULL, SIZE_MAX / 2 + 1, 2));
}

static void
overflowing_grow(void)
{
  char *a = NULL;
  size_t alloc = 0;

  CB_GROW(a, alloc, SIZE_MAX);
  free(a);
}

static void
test_overflow_aborts(void)
{
  ok(aborts_out_of_memory(overflowing_reallocarray),
     "cb_xreallocarray aborts when NMEMB * SIZE overflows");
  ok(aborts_out_of_memory(overflowing_grow),
     "cb_grow aborts when doubling would overflow");
}

/* ---- cleanup ----------------------------------------------------------- */

static void
test_cleanup_close(void)
{
  int seen = -1;
  int kept;
  int e;

  {
    cleanup_close int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    seen = fd;
    errno = EBADMSG;
  }
  e = errno;
  is_int(e, EBADMSG, "cleanup_close keeps errno");
  ok(seen >= 0 && fcntl(seen, F_GETFD) < 0 && errno == EBADF,
     "cleanup_close closes at scope end");
  {
    cleanup_close int fd = NEVER_OPEN_FD;

    ok(fcntl(fd, F_GETFD) < 0, "fd %d is not open", fd);
    errno = EBADMSG;
  }
  is_int(errno, EBADMSG, "a close that fails keeps errno too");
  {
    cleanup_close int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    kept = steal_fd(&fd);
    is_int(fd, -1, "steal_fd leaves -1 behind");
  }
  ok(kept >= 0 && fcntl(kept, F_GETFD) >= 0, "a stolen fd stays open");
  close(kept);
  {
    int fd = -1;

    errno = EINTR;
    cb_closep(&fd);
    ok(fd == -1 && errno == EINTR, "cb_closep on -1 does nothing");
  }
}

static void
test_cleanup_ptrs(void)
{
  char *kept;
  char *p = cb_xstrdup("gone");
  char **v = cb_xcalloc(2, sizeof(*v));
  FILE *f = fopen("/dev/null", "r");

  {
    cleanup_free char *s = cb_xstrdup("kept");

    kept = steal_ptr(&s);
    ok(s == NULL, "steal_ptr leaves NULL behind");
  }
  is_str(kept, "kept", "a stolen pointer outlives the scope");
  free(kept);
  cb_freep(&p);
  ok(p == NULL, "cb_freep frees and resets");
  v[0] = cb_xstrdup("x");
  cb_strv_freep(&v);
  ok(v == NULL, "cb_strv_freep frees and resets");
  cb_fclosep(&f);
  ok(f == NULL, "cb_fclosep closes and resets");
  cb_fclosep(&f);
  ok(f == NULL, "cb_fclosep on NULL does nothing");
}

static void
test_strv(void)
{
  cleanup_strv char **v = cb_xcalloc(4, sizeof(*v));
  char *const empty[] = { NULL };

  v[0] = cb_xstrdup("a");
  v[1] = cb_xstrdup("b");
  v[2] = cb_xstrdup("c");
  is_int((long long)cb_strv_len(v), 3, "cb_strv_len");
  is_int((long long)cb_strv_len(empty), 0, "cb_strv_len of {NULL}");
  is_int((long long)cb_strv_len(NULL), 0, "cb_strv_len of NULL");
  cb_strv_free(NULL);
  ok(true, "cb_strv_free(NULL) is a no-op");
}

/* ---- UTF-8 ------------------------------------------------------------- */

struct utf8_case {
  const char *bytes;
  size_t n;    /* bytes available to the decoder */
  uint32_t cp; /* CB_UTF8_INVALID for invalid input */
  size_t width;
  const char *what;
};

static const struct utf8_case utf8_cases[] = {
  { "A", 1, 'A', 1, "ASCII" },
  { "\x7F", 1, 0x7F, 1, "U+007F" },
  { "", 1, 0, 1, "NUL" },
  { "\xC2\x80", 2, 0x80, 2, "U+0080" },
  { "\xC3\xA9", 2, 0xE9, 2, "e acute" },
  { "\xDF\xBF", 2, 0x7FF, 2, "U+07FF" },
  { "\xE0\xA0\x80", 3, 0x800, 3, "U+0800" },
  { "\xE2\x98\x83", 3, 0x2603, 3, "snowman" },
  { "\xED\x9F\xBF", 3, 0xD7FF, 3, "U+D7FF, below the surrogates" },
  { "\xEE\x80\x80", 3, 0xE000, 3, "U+E000, above the surrogates" },
  { "\xEF\xBF\xBF", 3, 0xFFFF, 3, "U+FFFF" },
  { "\xF0\x90\x80\x80", 4, 0x10000, 4, "U+10000" },
  { "\xF0\x9F\x98\x80", 4, 0x1F600, 4, "emoji" },
  { "\xF4\x8F\xBF\xBF", 4, 0x10FFFF, 4, "U+10FFFF" },
  { "\xC3\xA9x", 3, 0xE9, 2, "a sequence followed by more" },
  /* Overlong forms.  */
  { "\xC0\x80", 2, CB_UTF8_INVALID, 1, "overlong NUL" },
  { "\xC1\xBF", 2, CB_UTF8_INVALID, 1, "overlong U+007F" },
  { "\xE0\x80\x80", 3, CB_UTF8_INVALID, 1, "3-byte overlong NUL" },
  { "\xE0\x9F\xBF", 3, CB_UTF8_INVALID, 1, "3-byte overlong U+07FF" },
  { "\xF0\x80\x80\x80", 4, CB_UTF8_INVALID, 1, "4-byte overlong NUL" },
  { "\xF0\x8F\xBF\xBF", 4, CB_UTF8_INVALID, 1, "4-byte overlong U+FFFF" },
  /* Surrogates are not scalar values.  */
  { "\xED\xA0\x80", 3, CB_UTF8_INVALID, 1, "U+D800" },
  { "\xED\xBF\xBF", 3, CB_UTF8_INVALID, 1, "U+DFFF" },
  { "\xED\xA0\xBD\xED\xB8\x80", 6, CB_UTF8_INVALID, 1, "a CESU-8 pair" },
  /* Above U+10FFFF.  */
  { "\xF4\x90\x80\x80", 4, CB_UTF8_INVALID, 1, "U+110000" },
  { "\xF5\x80\x80\x80", 4, CB_UTF8_INVALID, 1, "lead byte F5" },
  { "\xF7\xBF\xBF\xBF", 4, CB_UTF8_INVALID, 1, "U+1FFFFF" },
  { "\xF8\x88\x80\x80\x80", 5, CB_UTF8_INVALID, 1, "5-byte form" },
  { "\xFC\x84\x80\x80\x80\x80", 6, CB_UTF8_INVALID, 1, "6-byte form" },
  { "\xFE", 1, CB_UTF8_INVALID, 1, "byte FE" },
  { "\xFF", 1, CB_UTF8_INVALID, 1, "byte FF" },
  /* Truncated: the bytes run out (N), or a non-continuation byte comes. */
  { "\xC3", 1, CB_UTF8_INVALID, 1, "2-byte lead alone" },
  { "\xC3\xA9", 1, CB_UTF8_INVALID, 1, "2-byte form cut by N" },
  { "\xE2\x98", 2, CB_UTF8_INVALID, 1, "3-byte form, 2 bytes" },
  { "\xE2\x98\x83", 2, CB_UTF8_INVALID, 1, "3-byte form cut by N" },
  { "\xF0\x9F\x98", 3, CB_UTF8_INVALID, 1, "4-byte form, 3 bytes" },
  { "\xC3\x41", 2, CB_UTF8_INVALID, 1, "2-byte lead then ASCII" },
  { "\xE2\x28\xA1", 3, CB_UTF8_INVALID, 1, "bad second byte" },
  { "\xE2\x82\x28", 3, CB_UTF8_INVALID, 1, "bad third byte" },
  { "\xF0\x9F\x98\x41", 4, CB_UTF8_INVALID, 1, "bad fourth byte" },
  { "\xF0\x9F\x98\xC3\xA9", 5, CB_UTF8_INVALID, 1, "a lead as fourth" },
  /* Stray continuation bytes.  */
  { "\x80", 1, CB_UTF8_INVALID, 1, "continuation 80" },
  { "\xBF", 1, CB_UTF8_INVALID, 1, "continuation BF" },
  { "\x80\x80\x80", 3, CB_UTF8_INVALID, 1, "three continuations" },
};

static void
test_utf8_decode(void)
{
  for (size_t i = 0; i < CB_N_ELEMENTS(utf8_cases); i++) {
    const struct utf8_case *c = &utf8_cases[i];
    uint32_t cp = 0x12345;
    size_t w = cb_utf8_decode(c->bytes, c->n, &cp);

    ok(cp == c->cp && w == c->width, "decode %s: U+%04X width %zu", c->what,
       (unsigned)c->cp, c->width);
    if (cp != c->cp || w != c->width)
      diag("got %#x width %zu", (unsigned)cp, w);
  }
}

static void
test_utf8_encode(void)
{
  static const uint32_t bad[] = { 0xD800, 0xDFFF, 0x110000, 0xFFFFFFFE };
  static const uint32_t widths[][2] = {
    { 0x7F, 1 },   { 0x80, 2 },    { 0x7FF, 2 },    { 0x800, 3 },
    { 0xFFFF, 3 }, { 0x10000, 4 }, { 0x10FFFF, 4 },
  };
  uint32_t first_bad = CB_UTF8_INVALID;
  char out[4];

  for (uint32_t cp = 0; cp <= 0x10FFFF && first_bad == CB_UTF8_INVALID; cp++) {
    uint32_t back = CB_UTF8_INVALID;
    size_t w;

    if (cp >= 0xD800 && cp <= 0xDFFF)
      continue;
    w = cb_utf8_encode(cp, out);
    if (cb_utf8_decode(out, w, &back) != w || back != cp)
      first_bad = cp;
  }
  is_int(first_bad, CB_UTF8_INVALID,
         "every scalar value encodes and decodes back");
  for (size_t i = 0; i < CB_N_ELEMENTS(widths); i++)
    is_int((long long)cb_utf8_encode(widths[i][0], out), widths[i][1],
           "U+%04X encodes in %u bytes", (unsigned)widths[i][0],
           (unsigned)widths[i][1]);
  for (size_t i = 0; i < CB_N_ELEMENTS(bad); i++) {
    size_t w = cb_utf8_encode(bad[i], out);

    ok(w == 3 && memcmp(out, "\xEF\xBF\xBD", 3) == 0, "%#x encodes as U+FFFD",
       (unsigned)bad[i]);
  }
}

/* ---- Unicode classes --------------------------------------------------- */

struct class_case {
  uint32_t cp;
  bool want;
  const char *what;
};

static void
check_class(bool (*fn)(uint32_t), const char *fname,
            const struct class_case *cases, size_t n)
{
  for (size_t i = 0; i < n; i++)
    ok(fn(cases[i].cp) == cases[i].want, "%s(U+%04X %s) is %s", fname,
       (unsigned)cases[i].cp, cases[i].what, cases[i].want ? "yes" : "no");
}

static const struct class_case print_cases[] = {
  { 0x20, true, "space" },
  { 'a', true, "a" },
  { '~', true, "tilde" },
  { 0x1F, false, "unit separator" },
  { 0x7F, false, "DEL" },
  { 0x85, false, "NEL" },
  { 0x09, false, "tab" },
  { 0xA0, false, "no-break space" },
  { 0xAD, false, "soft hyphen" },
  { 0x200B, false, "zero width space" },
  { 0xFEFF, false, "BOM" },
  { 0x2028, false, "line separator" },
  { 0x3000, false, "ideographic space" },
  { 0xE9, true, "e acute" },
  { 0x301, true, "combining acute" },
  { 0x2603, true, "snowman" },
  { 0x20AC, true, "euro sign" },
  { 0x1F600, true, "emoji" },
  { 0xE000, false, "private use" },
  { 0x10FFFD, false, "plane 16 private use" },
  { 0x378, false, "unassigned" },
  { 0xD800, false, "surrogate" },
  { 0x110000, false, "beyond Unicode" },
};

static const struct class_case letter_cases[] = {
  { 'A', true, "A" },
  { 'z', true, "z" },
  { '@', false, "@" },
  { '[', false, "[" },
  { '`', false, "`" },
  { '{', false, "{" },
  { '0', false, "0" },
  { '_', false, "underscore" },
  { 0xE9, true, "e acute" },
  { 0x3B1, true, "alpha" },
  { 0x4E2D, true, "CJK" },
  { 0x2160, false, "roman numeral (Nl)" },
  { 0x301, false, "combining acute (Mn)" },
  { 0xAA, true, "feminine ordinal (Lo)" },
};

static const struct class_case digit_cases[] = {
  { '0', true, "0" },
  { '9', true, "9" },
  { 'a', false, "a" },
  { '/', false, "/" },
  { ':', false, ":" },
  { 0x663, true, "arabic-indic three" },
  { 0xFF19, true, "fullwidth nine" },
  { 0x1D7CE, true, "mathematical bold zero" },
  { 0xB2, false, "superscript two (No)" },
  { 0xBD, false, "one half (No)" },
  { 0x2160, false, "roman numeral (Nl)" },
};

static const struct class_case space_cases[] = {
  { ' ', true, "space" },
  { '\t', true, "tab" },
  { '\n', true, "newline" },
  { '\v', true, "vertical tab" },
  { '\f', true, "form feed" },
  { '\r', true, "carriage return" },
  { 0x85, true, "NEL" },
  { 0xA0, true, "no-break space" },
  { 0x1680, true, "ogham space" },
  { 0x2000, true, "en quad" },
  { 0x200A, true, "hair space" },
  { 0x2028, true, "line separator" },
  { 0x2029, true, "paragraph separator" },
  { 0x202F, true, "narrow no-break space" },
  { 0x205F, true, "medium mathematical space" },
  { 0x3000, true, "ideographic space" },
  { 0x200B, false, "zero width space" },
  { 0xFEFF, false, "BOM" },
  { 0x180E, false, "mongolian vowel separator" },
  { 0x1C, false, "file separator" },
  { 'x', false, "x" },
  { 0, false, "NUL" },
};

static void
test_unicode_classes(void)
{
  check_class(cb_unicode_is_print, "is_print", print_cases,
              CB_N_ELEMENTS(print_cases));
  check_class(cb_unicode_is_letter, "is_letter", letter_cases,
              CB_N_ELEMENTS(letter_cases));
  check_class(cb_unicode_is_digit, "is_digit", digit_cases,
              CB_N_ELEMENTS(digit_cases));
  check_class(cb_unicode_is_space, "is_space", space_cases,
              CB_N_ELEMENTS(space_cases));
}

/* ---- logging ----------------------------------------------------------- */

static void
test_log_parse(void)
{
  static const struct {
    const char *name;
    enum cb_log_level level;
  } good[] = {
    { "error", CB_LOG_ERROR },  { "warn", CB_LOG_WARN },
    { "warning", CB_LOG_WARN }, { "info", CB_LOG_INFO },
    { "debug", CB_LOG_DEBUG },
  };
  static const char *const bad[] = { "", "WARN", "trace", "debug ", "5" };

  for (size_t i = 0; i < CB_N_ELEMENTS(good); i++) {
    struct cb_error *err = NULL;
    enum cb_log_level l = CB_LOG_ERROR + 99;

    ok(cb_log_parse_level(good[i].name, &l, &err) == 0 && l == good[i].level &&
           err == NULL,
       "log level '%s'", good[i].name);
  }
  for (size_t i = 0; i < CB_N_ELEMENTS(bad); i++) {
    cleanup_error struct cb_error *err = NULL;
    cleanup_free char *quoted = cb_xasprintf("'%s'", bad[i]);
    enum cb_log_level l = CB_LOG_INFO;

    ok(cb_log_parse_level(bad[i], &l, &err) == -1 && l == CB_LOG_INFO &&
           err != NULL && err->kind == CB_ERR_USAGE &&
           strstr(err->msg, quoted) != NULL,
       "log level '%s' is a usage error naming it", bad[i]);
  }
}

/* Run cb_log with stderr sent to a memfd; return what it wrote.  */
static char *
capture_log(enum cb_log_level level, const char *text, int *evaluated)
{
  cleanup_close int mem = memfd_create("log", MFD_CLOEXEC);
  cleanup_close int saved = dup(STDERR_FILENO);
  struct cb_error *err = NULL;
  char *out = NULL;
  size_t len;

  if (mem < 0 || saved < 0)
    return cb_xstrdup("(no memfd)");
  fflush(stderr);
  dup2(mem, STDERR_FILENO);
  cb_log(level, "%s %d", text, ++*evaluated);
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  if (lseek(mem, 0, SEEK_SET) < 0 ||
      cb_read_all(mem, 1 << 20, &out, &len, &err) < 0) {
    cb_error_free(err);
    return cb_xstrdup("(unreadable)");
  }
  return out;
}

static void
test_log_output(void)
{
  enum cb_log_level old = cb_log_threshold;
  cleanup_free char *long_text = cb_xmalloc(6001);
  cleanup_free char *warn = NULL;
  cleanup_free char *quiet = NULL;
  cleanup_free char *cut = NULL;
  int evaluated = 0;

  cb_log_set_level(CB_LOG_WARN);
  warn = capture_log(CB_LOG_WARN, "careful", &evaluated);
  is_str(warn, "cbuild: warning: careful 1\n", "a warning line on stderr");
  quiet = capture_log(CB_LOG_DEBUG, "hidden", &evaluated);
  is_str(quiet, "", "debug is silent at level warn");
  is_int(evaluated, 1, "arguments of a disabled level are not evaluated");
  ok(cb_log_enabled(CB_LOG_ERROR) && !cb_log_enabled(CB_LOG_INFO),
     "warn enables error, not info");
  memset(long_text, 'L', 6000);
  long_text[6000] = '\0';
  cut = capture_log(CB_LOG_ERROR, long_text, &evaluated);
  ok(strlen(cut) < 4096 && strncmp(cut, "cbuild: error: LLL", 18) == 0 &&
         cut[strlen(cut) - 1] == '\n' && count_substr(cut, "\n") == 1,
     "a long message is cut to one line");
  cb_log_set_level(old);
}

int
main(void)
{
  test_fail();
  test_fail_errno();
  test_wrap();
  test_error_text();
  test_exit_codes();
  test_buf_basics();
  test_buf_addf_lengths();
  test_buf_addf_long();
  test_buf_detach();
  test_grow();
  test_xalloc();
  test_overflow_aborts();
  test_cleanup_close();
  test_cleanup_ptrs();
  test_strv();
  test_utf8_decode();
  test_utf8_encode();
  test_unicode_classes();
  test_log_parse();
  test_log_output();
  return done_testing();
}
