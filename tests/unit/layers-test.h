/* Helpers for the layers/ unit tests: a sink into memory, a scratch
   directory, and running a real tool (gzip, zstd, tar) on bytes we made.
   Header-only, like tap.h: each test is one executable.  */
#ifndef CBUILD_TESTS_LAYERS_TEST_H
#define CBUILD_TESTS_LAYERS_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/mem.h"
#include "common/stream.h"

/* A sink that appends to a cb_buf, and fails with EIO once it holds more
   than fail_after bytes (when fail_after is not 0).  */
struct mem_sink {
  struct cb_buf buf;
  size_t fail_after;
};

static inline int
mem_sink_write(void *data, const void *p, size_t len, struct cb_error **err)
{
  struct mem_sink *m = data;

  if (m->fail_after != 0 && m->buf.len + len > m->fail_after)
    return cb_fail(err, CB_ERR_SYSTEM, EIO, "test sink full");
  cb_buf_add(&m->buf, p, len);
  return 0;
}

static inline struct cb_sink
mem_sink_of(struct mem_sink *m)
{
  struct cb_sink s = { mem_sink_write, m };

  return s;
}

/* A new scratch directory under $TMPDIR (or /tmp); the caller frees the
   string and removes the tree with rm_rf().  */
static inline char *
scratch_dir(const char *tag)
{
  const char *tmp = getenv("TMPDIR");
  char *dir = cb_xasprintf("%s/cb-%s-XXXXXX",
                           tmp != NULL && *tmp != '\0' ? tmp : "/tmp", tag);

  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    exit(1);
  }
  return dir;
}

/* Run ARGV with stdin from IN_PATH (or /dev/null) and stdout into
   OUT_PATH (or /dev/null); stderr is kept.  Returns the exit status, or
   -1 if it did not exit.  */
static inline int
run_cmd(char *const argv[], const char *in_path, const char *out_path)
{
  pid_t pid = fork();
  int status;

  if (pid < 0)
    return -1;
  if (pid == 0) {
    int in = open(in_path != NULL ? in_path : "/dev/null", O_RDONLY);
    int out = open(out_path != NULL ? out_path : "/dev/null",
                   O_WRONLY | O_CREAT | O_TRUNC, 0644);

    if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0)
      _exit(126);
    execvp(argv[0], argv);
    _exit(127);
  }
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static inline void
rm_rf(const char *path)
{
  char *const argv[] = { (char *)"rm", (char *)"-rf", (char *)path, NULL };

  run_cmd(argv, NULL, NULL);
}

static inline bool
write_file(const char *path, const void *data, size_t len)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool good = fd >= 0 && cb_write_all(fd, data, len, NULL) == 0;

  if (fd >= 0)
    close(fd);
  return good;
}

/* Read all of PATH into *OUT (a fresh buffer).  */
static inline bool
read_file(const char *path, struct cb_buf *out)
{
  char *data = NULL;
  size_t len = 0;

  if (cb_read_file_at(AT_FDCWD, path, (size_t)1 << 33, &data, &len, NULL) < 0)
    return false;
  cb_buf_release(out);
  out->data = data;
  out->len = len;
  out->alloc = len + 1;
  return true;
}

/* Pipe LEN bytes at DATA through "TOOL ARGS..." (e.g. gzip -dc) and put
   what it prints into *OUT.  Returns the exit status.  */
static inline int
filter_through(char *const argv[], const char *scratch, const void *data,
               size_t len, struct cb_buf *out)
{
  char *in = cb_xasprintf("%s/filter.in", scratch);
  char *res = cb_xasprintf("%s/filter.out", scratch);
  int rc = -1;

  if (write_file(in, data, len)) {
    rc = run_cmd(argv, in, res);
    if (!read_file(res, out))
      rc = -1;
  }
  unlink(in);
  unlink(res);
  free(in);
  free(res);
  return rc;
}

/* Bytes that compress a little (text with numbers) or not at all.  */
static inline void
fill_text(unsigned char *p, size_t len, unsigned seed)
{
  size_t i = 0;

  while (i < len) {
    char line[64];
    int n = snprintf(line, sizeof(line), "line %u of the test data %x\n", seed,
                     (seed * 2654435761u) >> 7);

    for (int j = 0; j < n && i < len; j++)
      p[i++] = (unsigned char)line[j];
    seed++;
  }
}

static inline void
fill_random(unsigned char *p, size_t len, unsigned seed)
{
  unsigned long long x = 0x9e3779b97f4a7c15ull ^ seed;

  for (size_t i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = (unsigned char)(x >> 24);
  }
}

#endif
