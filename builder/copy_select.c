#include "config.h"

#include "builder/copy-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/mem.h"
#include "common/banned.h"

/* --- source words --- */

bool
copy_is_url(const char *s)
{
  return strncasecmp(s, "http://", 7) == 0 ||
         strncasecmp(s, "https://", 8) == 0;
}

bool
copy_is_git_url(const char *s)
{
  size_t len;

  if (strncmp(s, "git://", 6) == 0 || strncmp(s, "git@", 4) == 0 ||
      strncmp(s, "ssh://", 6) == 0)
    return true;
  if (!copy_is_url(s))
    return false;
  len = strcspn(s, "?#");
  return len > 4 && strncmp(s + len - 4, ".git", 4) == 0;
}

/* Whether WORD opens a heredoc named NAME: "[N]<<[-]NAME", NAME possibly
   in single or double quotes.  */
static bool
heredoc_word(const char *word, const char *name)
{
  const char *p = word + strspn(word, "0123456789");
  size_t len;

  if (strncmp(p, "<<", 2) != 0)
    return false;
  p += 2;
  if (*p == '-')
    p++;
  len = strlen(p);
  if (len >= 2 && (p[0] == '\'' || p[0] == '"') && p[len - 1] == p[0]) {
    p++;
    len -= 2;
  }
  return len == strlen(name) && strncmp(p, name, len) == 0;
}

/* S made relative to "/" and cleaned lexically: "." and empty parts
   dropped, ".." pops a part and stops at the root (as BuildKit's
   NormalizePath does), no leading or trailing '/'.  "" is the root.  */
static char *
clean_rel(const char *s, size_t n)
{
  struct cb_buf b = CB_BUF_INIT;
  const char *p = s, *end = s + n;

  while (p < end) {
    const char *slash = memchr(p, '/', (size_t)(end - p));
    size_t len = slash != NULL ? (size_t)(slash - p) : (size_t)(end - p);

    if (len == 2 && p[0] == '.' && p[1] == '.') {
      char *last = b.len > 0 ? memrchr(b.data, '/', b.len) : NULL;

      cb_buf_truncate(&b, last != NULL ? (size_t)(last - b.data) : 0);
    } else if (len > 0 && !(len == 1 && p[0] == '.')) {
      if (b.len > 0)
        cb_buf_addc(&b, '/');
      cb_buf_add(&b, p, len);
    }
    p += len + (slash != NULL);
  }
  return cb_buf_detach(&b, NULL);
}

char *
copy_clean_path(const char *s)
{
  return clean_rel(s, strlen(s));
}

static size_t
count_parts(const char *path)
{
  size_t n = *path != '\0';

  for (const char *p = path; *p != '\0'; p++)
    n += *p == '/';
  return n;
}

/* PATH after its first N parts ("" when it has no more).  */
static const char *
skip_parts(const char *path, size_t n)
{
  const char *p = path;

  for (size_t i = 0; i < n && *p != '\0'; i++) {
    const char *slash = strchr(p, '/');

    p = slash != NULL ? slash + 1 : p + strlen(p);
  }
  return p;
}

/* --- the real path of an open entry, for .dockerignore --- */

static int
fd_path(int fd, char out[PATH_MAX], struct cb_error **err)
{
  char link[64];
  ssize_t n;

  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  n = readlink(link, out, PATH_MAX - 1);
  if (n < 0)
    return cb_fail_errno(err, "cannot read '%s' (is /proc mounted?)", link);
  out[n] = '\0';
  return 0;
}

/* The path of FD relative to ROOT_FD, both open: symlinks resolved, as
   the kernel has walked them.  */
static int
real_rel(int root_fd, int fd, char **out, struct cb_error **err)
{
  char root[PATH_MAX], path[PATH_MAX];
  size_t rlen;

  if (fd_path(root_fd, root, err) < 0 || fd_path(fd, path, err) < 0)
    return -1;
  rlen = strcmp(root, "/") == 0 ? 0 : strlen(root);
  if (strncmp(path, root, rlen) != 0 ||
      (path[rlen] != '/' && path[rlen] != '\0'))
    return cb_fail(err, CB_ERR_UNSAFE, 0, "'%s' is outside the source root",
                   path);
  *out = cb_xstrdup(path[rlen] == '/' ? path + rlen + 1 : path + rlen);
  return 0;
}

/* --- the plan --- */

struct select_state {
  const struct copy_request *req;
  const struct copy_source *src;
  struct copy_plan *plan;
  const char *word;   /* the source as written, for messages */
  char **parts;       /* the wildcard parts of the path */
  size_t nparts, parts_alloc;
  size_t pivot_parts; /* --parents: parts not kept */
  struct cb_buf path; /* below the source root, as matched */
  struct cb_buf real; /* the same, symlinks resolved (with an ignore) */
};

static struct copy_item *
plan_add(struct copy_plan *plan, enum copy_item_kind kind)
{
  struct copy_item *it;

  CB_GROW(plan->items, plan->alloc, plan->n + 1);
  it = &plan->items[plan->n++];
  memset(it, 0, sizeof(*it));
  it->kind = kind;
  return it;
}

static bool
ignored(const struct copy_source *src, const char *real, bool is_dir,
        bool *descend)
{
  bool excluded = false;

  *descend = false;
  if (src->ignore == NULL || *real == '\0')
    return false;
  ignore_matcher_matches(src->ignore, real, &excluded, NULL);
  if (excluded && is_dir)
    *descend = ignore_matcher_may_include_below(src->ignore, real);
  return excluded;
}

/* Take the entry at PATH (open as FD, O_PATH, the last symlink followed)
   as an item.  */
static int
take_entry(struct select_state *s, const char *path, int fd, bool pattern,
           struct cb_error **err)
{
  cleanup_free char *real = NULL;
  struct copy_item *it;
  struct stat st;
  bool descend;

  if (fstat(fd, &st) < 0)
    return cb_fail_errno(err, "source '%s'", s->word);
  if (s->src->ignore != NULL) {
    if (real_rel(s->src->root_fd, fd, &real, err) < 0)
      return cb_wrap(err, "source '%s'", s->word);
    /* An excluded entry is not in the context; an excluded directory that
       an exception reaches into is, with only what is kept.  */
    if (ignored(s->src, real, S_ISDIR(st.st_mode), &descend) && !descend) {
      if (pattern)
        return 0;
      return cb_fail(err, CB_ERR_USAGE, 0,
                     "source '%s' is excluded by .dockerignore", s->word);
    }
  }
  it = plan_add(s->plan, COPY_ITEM_PATH);
  it->path = cb_xstrdup(path);
  it->name = cb_xstrdup(strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
  it->real = steal_ptr(&real);
  it->st = st;
  it->from_pattern = pattern;
  if (s->req->parents)
    it->keep = cb_xstrdup(skip_parts(path, s->pivot_parts));
  if (pattern) {
    s->plan->pattern_hits++;
    if (!S_ISDIR(st.st_mode))
      s->plan->pattern_non_dir = true;
  }
  return 0;
}

static int
open_source(struct select_state *s, const char *path, struct cb_error **err)
{
  struct cb_error *e = NULL;
  int fd = cb_open_in_root(s->src->root_fd, *path ? path : ".", O_PATH, 0, &e);

  if (fd >= 0)
    return fd;
  cb_fail(err, CB_ERR_SYSTEM, e->errnum, "source '%s'", s->word);
  cb_error_free(e);
  return -1;
}

static int expand(struct select_state *s, int dir_fd, size_t idx,
                  struct cb_error **err);

/* Go on with part IDX below the entry NAME of DIR_FD, a directory that is
   not a symlink (a walk does not follow them, as filepath.Walk).  */
static int
expand_below(struct select_state *s, int dir_fd, const char *name,
             size_t idx, struct cb_error **err)
{
  cleanup_close int fd = -1;
  size_t plen = s->path.len, rlen = s->real.len;
  bool descend;
  int rc;

  if (s->path.len > 0)
    cb_buf_addc(&s->path, '/');
  cb_buf_adds(&s->path, name);
  if (s->src->ignore != NULL) {
    if (s->real.len > 0)
      cb_buf_addc(&s->real, '/');
    cb_buf_adds(&s->real, name);
  }
  rc = 0;
  if (!ignored(s->src, cb_buf_str(&s->real), true, &descend) || descend) {
    fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                O_CLOEXEC);
    if (fd < 0 && errno != ENOTDIR && errno != ELOOP && errno != ENOENT)
      rc = cb_fail_errno(err, "source '%s': cannot open '%s'", s->word,
                         cb_buf_str(&s->path));
    else if (fd >= 0)
      rc = expand(s, fd, idx, err);
  }
  cb_buf_truncate(&s->path, plen);
  cb_buf_truncate(&s->real, rlen);
  return rc;
}

static int
match_last(struct select_state *s, const char *name, struct cb_error **err)
{
  cleanup_close int fd = -1;
  size_t plen = s->path.len;
  int rc;

  if (s->path.len > 0)
    cb_buf_addc(&s->path, '/');
  cb_buf_adds(&s->path, name);
  fd = open_source(s, cb_buf_str(&s->path), err);
  rc = fd < 0 ? -1 : take_entry(s, cb_buf_str(&s->path), fd, true, err);
  cb_buf_truncate(&s->path, plen);
  return rc;
}

/* Match part IDX of the pattern in directory DIR_FD (open for reading). */
static int
expand(struct select_state *s, int dir_fd, size_t idx, struct cb_error **err)
{
  cleanup_copy_dirlist struct copy_dirlist dl = { 0 };
  const char *part = s->parts[idx];
  bool last = idx + 1 == s->nparts;
  bool globstar = s->req->parents && strcmp(part, "**") == 0;

  /* "**" (--parents) stands for no directory at all, too.  */
  if (globstar && !last && expand(s, dir_fd, idx + 1, err) < 0)
    return -1;
  if (copy_dirlist_read(dir_fd, &dl, err) < 0)
    return cb_wrap(err, "source '%s'", s->word);
  for (size_t i = 0; i < dl.n; i++) {
    const char *name = dl.names + dl.offs[i];
    struct stat st;

    if (!globstar && !copy_match(part, strlen(part), name))
      continue;
    if (last) {
      if (match_last(s, name, err) < 0)
        return -1;
      continue;
    }
    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
        !S_ISDIR(st.st_mode))
      continue;
    if (expand_below(s, dir_fd, name, globstar ? idx : idx + 1, err) < 0)
      return -1;
  }
  return 0;
}

/* Split PATH at its first part with a wildcard: *PREFIX gets the parts
   before it, S->parts the rest.  Returns whether there is a wildcard.  */
static int
split_pattern(struct select_state *s, const char *path, char **prefix,
              struct cb_error **err)
{
  const char *p = path;

  while (*p != '\0') {
    size_t len = strcspn(p, "/");

    if (copy_has_wildcard(p, len))
      break;
    p += len + (p[len] == '/');
  }
  *prefix = cb_xstrndup(path, (size_t)(p - path));
  if ((*prefix)[0] != '\0' && (*prefix)[strlen(*prefix) - 1] == '/')
    (*prefix)[strlen(*prefix) - 1] = '\0';
  while (*p != '\0') {
    size_t len = strcspn(p, "/");

    if (copy_pattern_check(p, len, err) < 0)
      return cb_wrap(err, "source '%s'", s->word);
    CB_GROW(s->parts, s->parts_alloc, s->nparts + 1);
    s->parts[s->nparts++] = cb_xstrndup(p, len);
    p += len + (p[len] == '/');
  }
  return s->nparts > 0;
}

static int
select_pattern(struct select_state *s, const char *prefix,
               struct cb_error **err)
{
  cleanup_close int fd = -1, dir = -1;
  cleanup_free char *real = NULL;
  struct stat st;

  fd = open_source(s, prefix, err);
  if (fd < 0)
    return -1;
  if (fstat(fd, &st) < 0)
    return cb_fail_errno(err, "source '%s'", s->word);
  if (!S_ISDIR(st.st_mode))
    return cb_fail(err, CB_ERR_SYSTEM, ENOTDIR, "source '%s'", s->word);
  if (s->src->ignore != NULL) {
    if (real_rel(s->src->root_fd, fd, &real, err) < 0)
      return cb_wrap(err, "source '%s'", s->word);
    cb_buf_adds(&s->real, real);
  }
  dir = cb_open_in_root(s->src->root_fd, *prefix ? prefix : ".",
                        O_RDONLY | O_DIRECTORY, 0, err);
  if (dir < 0)
    return cb_wrap(err, "source '%s'", s->word);
  cb_buf_adds(&s->path, prefix);
  return expand(s, dir, 0, err);
}

static int
select_path(const struct copy_request *req, const struct copy_source *src,
            const char *word, struct copy_plan *plan, struct cb_error **err)
{
  struct select_state s = { .req = req, .src = src, .plan = plan,
                            .word = word, .path = CB_BUF_INIT,
                            .real = CB_BUF_INIT };
  cleanup_free char *path = NULL, *prefix = NULL;
  cleanup_close int fd = -1;
  const char *pivot = req->parents ? strstr(word, "/./") : NULL;
  int rc;

  if (pivot != NULL) {
    cleanup_free char *top = clean_rel(word, (size_t)(pivot - word));
    cleanup_free char *rest = clean_rel(pivot + 3, strlen(pivot + 3));

    s.pivot_parts = count_parts(top);
    path = cb_xasprintf("%s%s%s", top, *top && *rest ? "/" : "", rest);
  } else {
    path = clean_rel(word, strlen(word));
  }
  rc = split_pattern(&s, path, &prefix, err);
  if (rc == 0) {
    fd = open_source(&s, path, err);
    rc = fd < 0 ? -1 : take_entry(&s, path, fd, false, err);
  } else if (rc > 0) {
    rc = select_pattern(&s, prefix, err);
  }
  for (size_t i = 0; i < s.nparts; i++)
    free(s.parts[i]);
  free(s.parts);
  cb_buf_release(&s.path);
  cb_buf_release(&s.real);
  return rc;
}

static int
select_word(const struct copy_request *req, const struct copy_source *src,
            const char *word, struct copy_plan *plan, struct cb_error **err)
{
  struct copy_item *it;

  if (copy_is_url(word) || copy_is_git_url(word)) {
    if (!req->add)
      return cb_fail(err, CB_ERR_USAGE, 0,
                     "source '%s': COPY does not take URLs (ADD does)", word);
    if (copy_is_git_url(word))
      return cb_fail(err, CB_ERR_UNSUPPORTED, 0,
                     "source '%s': ADD from a git repository is not "
                     "supported", word);
    it = plan_add(plan, COPY_ITEM_URL);
    it->url = word;
    it->name = copy_url_name(word);
    return 0;
  }
  if (req->checksum != NULL)
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "source '%s': --checksum applies to http(s) sources "
                   "only", word);
  return select_path(req, src, word, plan, err);
}

/* The heredoc WORD opens, searched from *NEXT on, which then moves past
   it.  A search, not the next in line: a request for one source of
   several (which source changed, for a cache miss) has them all.  */
static const struct df_heredoc *
find_heredoc(const struct copy_request *req, const char *word, size_t *next)
{
  for (size_t i = *next; i < req->nheredocs; i++) {
    if (heredoc_word(word, req->heredocs[i].name)) {
      *next = i + 1;
      return &req->heredocs[i];
    }
  }
  return NULL;
}

int
copy_plan_build(const struct copy_request *req, const struct copy_source *src,
                struct copy_plan *plan, struct cb_error **err)
{
  size_t hd = 0;

  memset(plan, 0, sizeof(*plan));
  for (size_t i = 0; i < req->nsrcs; i++) {
    const char *word = req->srcs[i];
    const struct df_heredoc *h = find_heredoc(req, word, &hd);

    plan->nargs++;
    if (h != NULL) {
      struct copy_item *it = plan_add(plan, COPY_ITEM_HEREDOC);

      it->heredoc = h;
      it->name = cb_xstrdup(it->heredoc->name);
      if (req->parents)
        it->keep = cb_xstrdup(it->heredoc->name);
      continue;
    }
    if (select_word(req, src, word, plan, err) < 0) {
      copy_plan_release(plan);
      return -1;
    }
  }
  if (plan->nargs == 0)
    return cb_fail(err, CB_ERR_USAGE, 0, "no source files were specified");
  return 0;
}

void
copy_plan_release(struct copy_plan *plan)
{
  for (size_t i = 0; i < plan->n; i++) {
    free(plan->items[i].path);
    free(plan->items[i].name);
    free(plan->items[i].keep);
    free(plan->items[i].real);
  }
  free(plan->items);
  memset(plan, 0, sizeof(*plan));
}

int
copy_item_open(const struct copy_source *src, const struct copy_item *it,
               int flags, struct cb_error **err)
{
  cleanup_close int fd = -1;
  struct stat st;

  fd = cb_open_in_root(src->root_fd, *it->path ? it->path : ".", flags, 0,
                       err);
  if (fd < 0)
    return cb_wrap(err, "source '%s'", it->path);
  if (fstat(fd, &st) < 0)
    return cb_fail_errno(err, "source '%s'", it->path);
  if (st.st_dev != it->st.st_dev || st.st_ino != it->st.st_ino)
    return cb_fail(err, CB_ERR_UNSAFE, 0,
                   "source '%s' changed while it was copied", it->path);
  return steal_fd(&fd);
}
