#include "config.h"

#include "builder/copy-internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/banned.h"
#include "common/mem.h"
#include "layers/layer.h"

/* --- directory listings --- */

static int
cmp_names(const void *a, const void *b, void *names)
{
  return strcmp((const char *)names + *(const size_t *)a,
                (const char *)names + *(const size_t *)b);
}

int
copy_dirlist_read(int fd, struct copy_dirlist *dl, struct cb_error **err)
{
  struct cb_buf names = CB_BUF_INIT;
  size_t alloc = 0;
  struct dirent *de;
  int dfd;
  DIR *d;

  memset(dl, 0, sizeof(*dl));
  dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return cb_fail_errno(err, "open directory");
  d = fdopendir(dfd);
  if (d == NULL) {
    close(dfd);
    return cb_fail_errno(err, "open directory");
  }
  for (;;) {
    errno = 0;
    de = readdir(d);
    if (de == NULL)
      break;
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    CB_GROW(dl->offs, alloc, dl->n + 1);
    dl->offs[dl->n++] = names.len;
    cb_buf_add(&names, de->d_name, strlen(de->d_name) + 1);
  }
  if (errno != 0) {
    int e = errno;

    closedir(d);
    cb_buf_release(&names);
    copy_dirlist_release(dl);
    return cb_fail(err, CB_ERR_SYSTEM, e, "read directory");
  }
  closedir(d);
  dl->names = cb_buf_detach(&names, NULL);
  if (dl->n > 1)
    qsort_r(dl->offs, dl->n, sizeof(*dl->offs), cmp_names, dl->names);
  return 0;
}

void
copy_dirlist_release(struct copy_dirlist *dl)
{
  free(dl->names);
  free(dl->offs);
  memset(dl, 0, sizeof(*dl));
}

/* --- filters --- */

int
copy_filter_init(struct copy_filter *f, const struct copy_request *req,
                 const struct copy_source *src, struct cb_error **err)
{
  memset(f, 0, sizeof(*f));
  f->ignore = src->ignore;
  if (req->excludes != NULL && req->excludes[0] != NULL) {
    f->excludes = ignore_matcher_new(req->excludes, err);
    if (f->excludes == NULL) {
      (*err)->kind = CB_ERR_USAGE;
      return cb_wrap(err, "--exclude");
    }
  }
  return 0;
}

void
copy_filter_release(struct copy_filter *f)
{
  ignore_matcher_free(f->excludes);
  cb_buf_release(&f->real);
  cb_buf_release(&f->rel);
  memset(f, 0, sizeof(*f));
}

static void
push_one(struct cb_buf *b, const char *name)
{
  if (b->len > 0)
    cb_buf_addc(b, '/');
  cb_buf_adds(b, name);
}

void
copy_filter_push(struct copy_filter *f, const char *name, size_t mark[2])
{
  mark[0] = f->rel.len;
  mark[1] = f->real.len;
  push_one(&f->rel, name);
  if (f->ignore != NULL)
    push_one(&f->real, name);
}

void
copy_filter_pop(struct copy_filter *f, const size_t mark[2])
{
  cb_buf_truncate(&f->rel, mark[0]);
  cb_buf_truncate(&f->real, mark[1]);
}

void
copy_filter_start(struct copy_filter *f, const struct copy_item *it)
{
  cb_buf_truncate(&f->rel, 0);
  cb_buf_truncate(&f->real, 0);
  if (it->keep != NULL)
    cb_buf_adds(&f->rel, it->keep);
  if (f->ignore != NULL && it->real != NULL)
    cb_buf_adds(&f->real, it->real);
}

/* The verdict of matcher M on PATH.  */
static enum copy_verdict
verdict(const struct ignore_matcher *m, const char *path, bool is_dir)
{
  bool excluded = false;

  if (m == NULL || *path == '\0')
    return COPY_TAKE;
  ignore_matcher_matches(m, path, &excluded, NULL);
  if (!excluded)
    return COPY_TAKE;
  if (is_dir && ignore_matcher_may_include_below(m, path))
    return COPY_DESCEND;
  return COPY_SKIP;
}

enum copy_verdict
copy_filter_check(const struct copy_filter *f, bool is_dir)
{
  enum copy_verdict a = verdict(f->excludes, cb_buf_str(&f->rel), is_dir);
  enum copy_verdict b = verdict(f->ignore, cb_buf_str(&f->real), is_dir);

  if (a == COPY_SKIP || b == COPY_SKIP)
    return COPY_SKIP;
  return a == COPY_DESCEND || b == COPY_DESCEND ? COPY_DESCEND : COPY_TAKE;
}

bool
copy_xattr_wanted(const char *name)
{
  /* A recorded owner is ours to set (copy_set_meta), never a source's.  */
  if (strcmp(name, LAYER_OWNER_XATTR) == 0)
    return false;
  if (strncmp(name, "user.", 5) == 0)
    return strncmp(name, "user.overlay.", 13) != 0;
  return strcmp(name, "security.capability") == 0;
}
