#include "config.h"

#include "parser/dockerfile.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/limits.h"
#include "common/mem.h"
#include "tests/unit/tap.h"

#include "common/banned.h"

/* The golden corpus: tests/corpus/dockerfile/CASE.Dockerfile parses to
   the dump in CASE.dump, or fails with the message in CASE.error (one
   line).  The file is parsed under the name "Dockerfile", so messages do
   not depend on where the tree is.  With CB_UPDATE_GOLDEN=1 the golden
   files are rewritten from what the parser does now, for review with git
   diff.  */

#define CORPUS_DIR "tests/corpus/dockerfile"
#define SUFFIX ".Dockerfile"

static bool update_golden;

static int
cmp_names(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The case names (file names without SUFFIX), sorted.  */
static char **
list_cases(const char *dir, size_t *n)
{
  DIR *d = opendir(dir);
  char **v = NULL;
  size_t alloc = 0;
  struct dirent *de;

  *n = 0;
  if (d == NULL)
    return NULL;
  while ((de = readdir(d)) != NULL) {
    size_t len = strlen(de->d_name);

    if (len <= strlen(SUFFIX) ||
        strcmp(de->d_name + len - strlen(SUFFIX), SUFFIX) != 0)
      continue;
    CB_GROW(v, alloc, *n + 2);
    v[(*n)++] = cb_xstrndup(de->d_name, len - strlen(SUFFIX));
    v[*n] = NULL;
  }
  closedir(d);
  if (v != NULL)
    qsort(v, *n, sizeof(*v), cmp_names);
  return v;
}

/* The contents of PATH, or NULL when it cannot be read.  */
static char *
read_text(const char *path, size_t *len)
{
  cleanup_error struct cb_error *err = NULL;
  char *text = NULL;

  if (cb_read_file_at(AT_FDCWD, path, CB_MAX_DOCKERFILE_SIZE, &text, len,
                      &err) < 0)
    return NULL;
  return text;
}

static bool
write_text(const char *path, const char *text)
{
  cleanup_error struct cb_error *err = NULL;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool done;

  if (fd < 0)
    return false;
  done = cb_write_all(fd, text, strlen(text), &err) == 0;
  return close(fd) == 0 && done;
}

/* Print the line starting at *P as a TAP comment with MARK, and move *P
   past it.  */
static void
diag_line(const char **p, char mark)
{
  const char *nl = strchr(*p, '\n');
  size_t n = nl != NULL ? (size_t)(nl - *p) : strlen(*p);

  printf("# %c %.*s\n", mark, (int)n, *p);
  *p += n + (nl != NULL);
}

/* A line-by-line diff of WANT and GOT as TAP comments: ' ' same, '-'
   expected only, '+' produced only.  Lines are paired by position, which
   is what a dump (one line per instruction) needs.  */
static void
diag_diff(const char *name, const char *want, const char *got)
{
  printf("# --- %s (expected)\n# +++ %s (got)\n", name, name);
  while (*want != '\0' || *got != '\0') {
    const char *wn = strchr(want, '\n');
    const char *gn = strchr(got, '\n');
    size_t wl = wn != NULL ? (size_t)(wn - want + 1) : strlen(want);
    size_t gl = gn != NULL ? (size_t)(gn - got + 1) : strlen(got);

    if (wl == gl && memcmp(want, got, wl) == 0) {
      diag_line(&want, ' ');
      got += gl;
      continue;
    }
    if (*want != '\0')
      diag_line(&want, '-');
    if (*got != '\0')
      diag_line(&got, '+');
  }
}

/* What the parser makes of TEXT: the dump, or the error message and a
   newline.  *FAILED says which.  */
static char *
parse_result(const char *text, size_t len, bool *failed)
{
  cleanup_error struct cb_error *err = NULL;
  cleanup_dockerfile struct dockerfile *df = NULL;
  struct cb_buf out = CB_BUF_INIT;

  *failed = dockerfile_parse("Dockerfile", text, len, &df, &err) < 0;
  if (*failed)
    cb_buf_addf(&out, "%s\n", err->msg);
  else
    dockerfile_dump(df, &out);
  return cb_buf_detach(&out, NULL);
}

static void
run_case(const char *dir, const char *name)
{
  cleanup_free char *src = cb_xasprintf("%s/%s%s", dir, name, SUFFIX);
  cleanup_free char *dump_path = cb_xasprintf("%s/%s.dump", dir, name);
  cleanup_free char *error_path = cb_xasprintf("%s/%s.error", dir, name);
  cleanup_free char *text = NULL;
  cleanup_free char *got = NULL;
  cleanup_free char *want = NULL;
  size_t len = 0, wlen = 0;
  bool failed;
  const char *golden;

  text = read_text(src, &len);
  if (!ok(text != NULL, "%s: read %s", name, src))
    return;
  got = parse_result(text, len, &failed);
  golden = failed ? error_path : dump_path;
  if (update_golden) {
    unlink(failed ? dump_path : error_path);
    ok(write_text(golden, got), "%s: wrote %s", name, golden);
    return;
  }
  want = read_text(golden, &wlen);
  if (!ok(want != NULL, "%s: %s as expected", name,
          failed ? "fails" : "parses")) {
    diag("no %s; the parser says:", golden);
    diag_diff(name, "", got);
    return;
  }
  if (!ok(strcmp(got, want) == 0 && strlen(want) == wlen, "%s: matches %s",
          name, golden))
    diag_diff(name, want, got);
}

int
main(void)
{
  const char *srcdir = getenv("CB_SRCDIR");
  const char *update = getenv("CB_UPDATE_GOLDEN");
  cleanup_free char *dir = NULL;
  cleanup_strv char **cases = NULL;
  size_t n = 0;

  update_golden = update != NULL && strcmp(update, "1") == 0;
  dir = cb_xasprintf("%s/%s", srcdir != NULL ? srcdir : CBUILD_SRCDIR,
                     CORPUS_DIR);
  cases = list_cases(dir, &n);
  if (!ok(n > 0, "cases found in %s", dir))
    return done_testing();
  for (size_t i = 0; i < n; i++)
    run_case(dir, cases[i]);
  return done_testing();
}
