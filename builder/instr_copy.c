#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build-internal.h"
#include "builder/copy.h"
#include "builder/rootfs.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/mem.h"
#include "layers/oci.h"
#include "common/banned.h"

/* mkdir -p of the absolute PATH inside ROOT (symlinks resolved within
   it), new directories 0755 and owned by root, as Docker's WORKDIR.  */
static int
mkdir_in_root(int root, const char *path, struct cb_error **err)
{
  cleanup_free char *p = cb_xstrdup(path);

  for (char *c = p + 1;; c++) {
    char save = *c;
    cleanup_close int fd = -1;
    struct cb_error *e = NULL;

    if (save != '/' && save != '\0')
      continue;
    *c = '\0';
    if (c[-1] != '/') {
      fd = cb_open_in_root(root, p, O_PATH | O_DIRECTORY, 0, &e);
      if (fd < 0 && e->errnum == ENOENT) {
        char *slash = strrchr(p, '/');
        cleanup_close int parent = -1;

        cb_error_free(e);
        e = NULL;
        *slash = '\0';
        parent = cb_open_in_root(root, p[0] ? p : "/", O_PATH | O_DIRECTORY,
                                 0, &e);
        *slash = '/';
        if (parent < 0 || mkdirat(parent, slash + 1, 0755) < 0) {
          if (parent >= 0)
            cb_fail_errno(&e, "mkdir '%s'", p);
          *err = e;
          return -1;
        }
      } else if (fd < 0) {
        *err = e;
        return -1;
      }
    }
    *c = save;
    if (save == '\0')
      return 0;
  }
}

/* A fresh overlay of the stage image for a step that writes files; run
   FN on its root, then turn the upper dir into *REC.  */
typedef int (*write_fn)(struct step *st, void *data, int root,
                        struct cb_error **err);

static int
write_step(struct step *st, write_fn fn, void *data, struct cache_record *rec,
           struct cb_error **err)
{
  struct build *b = st->b;
  cleanup_strv char **lowers = stage_lowers(b, st->si, err);
  struct rootfs rf = { 0 };
  cleanup_close int root = -1, dir = -1;
  int rc = -1;

  if (lowers == NULL || build_rootfs_create(b, lowers, &rf, err) < 0 ||
      (rf.driver == ROOTFS_DRIVER_OVERLAY && rootfs_mount(&rf, err) < 0))
    goto out;
  root = open(rf.merged, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (root < 0) {
    cb_fail_errno(err, "cannot open '%s'", rf.merged);
  } else if (fn(st, data, root, err) == 0) {
    static const char *const none[] = { NULL };

    cb_closep(&root);
    rootfs_umount(&rf);
    dir = open(rf.dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0)
      rc = cb_fail_errno(err, "cannot open '%s'", rf.dir);
    else if (rootfs_finish_upper(&rf, none, err) == 0)
      rc = commit_upper(b, dir, "upper", step_now(b), rec, err);
  }
out:
  cb_closep(&root);
  rootfs_umount(&rf);
  rootfs_remove(&rf);
  return rc;
}

static int
make_workdir(struct step *st, void *data, int root, struct cb_error **err)
{
  const char *wd = json_string_value(oci_config_get(st->si->img.config,
                                                    "WorkingDir"));

  return mkdir_in_root(root, wd != NULL ? wd : "/", err);
}

struct write_data {
  write_fn fn;
  void *data;
};

static int
write_through(struct step *st, void *data, struct cache_record *rec,
              struct cb_error **err)
{
  struct write_data *w = data;

  return write_step(st, w->fn, w->data, rec, err);
}

/* Run a step that writes files, through the cache.  */
static int
cached_write_step(struct step *st, char *const *extra, json_t *info,
                  bool uncacheable, write_fn fn, void *data,
                  struct cb_error **err)
{
  struct write_data w = { fn, data };

  return step_through_cache(st, extra, info, uncacheable, write_through, &w,
                            err);
}

/* WORKDIR makes the directory when the image lacks it: a layer then,
   else an empty history entry.  */
int
step_workdir(struct step *st, struct cb_error **err)
{
  json_t *info = json_pack("{s:s}", "instruction", st->in->node->original);

  return cached_write_step(st, NULL, info, false, make_workdir, NULL, err);
}

/* One COPY or ADD: the request, where it reads from, and what it did.  */
struct copy_job {
  struct copy_request req;
  struct copy_source src;
  struct copy_stats stats;
  struct df_heredoc *heredocs; /* expanded copies; owned */
  size_t nheredocs;
  char **flags;                /* expanded --chown, --chmod, --from */
  struct from_roots fr;
  int from_fd;
};

static void
copy_job_release(struct copy_job *j)
{
  for (size_t i = 0; i < j->nheredocs; i++) {
    free(j->heredocs[i].name);
    free(j->heredocs[i].content);
  }
  free(j->heredocs);
  cb_strv_free(j->flags);
  if (j->from_fd >= 0)
    close(j->from_fd);
  from_roots_release(&j->fr);
}

/* A flag value after expansion, kept in J; NULL stays NULL.  */
static int
expand_flag(struct step *st, struct copy_job *j, const char *v,
            const char **out, struct cb_error **err)
{
  size_t n = cb_strv_len(j->flags);
  char *x;

  *out = NULL;
  if (v == NULL)
    return 0;
  x = stage_scope_expand_word(st->scope, v, err);
  if (x == NULL)
    return -1;
  j->flags = cb_xreallocarray(j->flags, n + 2, sizeof(char *));
  j->flags[n] = x;
  j->flags[n + 1] = NULL;
  *out = x;
  return 0;
}

/* BODY without the tabs that start its lines, as the shell reads a
   "<<-" heredoc.  New string.  */
static char *
strip_leading_tabs(const char *body)
{
  struct cb_buf b = CB_BUF_INIT;
  bool line_start = true;

  for (const char *p = body; *p != '\0'; p++) {
    if (line_start && *p == '\t')
      continue;
    cb_buf_add(&b, p, 1);
    line_start = *p == '\n';
  }
  return cb_buf_detach(&b, NULL);
}

/* Heredoc bodies as the shell would give them (Dockerfile reference,
   "Here-Documents"): "<<-" strips leading tabs, and the variables are
   expanded when no part of the delimiter was quoted.  */
static int
expand_heredocs(struct step *st, struct copy_job *j, struct cb_error **err)
{
  const struct df_node *node = st->in->node;

  j->heredocs = cb_xcalloc(node->nheredocs + 1, sizeof(*j->heredocs));
  for (size_t i = 0; i < node->nheredocs; i++, j->nheredocs++) {
    const struct df_heredoc *h = &node->heredocs[i];
    cleanup_free char *body =
        h->chomp ? strip_leading_tabs(h->content) : cb_xstrdup(h->content);

    j->heredocs[i] = *h;
    j->heredocs[i].name = cb_xstrdup(h->name);
    j->heredocs[i].content = h->expand
        ? stage_scope_expand_text(st->scope, body, err)
        : steal_ptr(&body);
    if (j->heredocs[i].content == NULL)
      return -1;
  }
  return 0;
}

static int
copy_job_init(struct step *st, struct copy_job *j, struct cb_error **err)
{
  const struct instr *in = st->in;
  struct build *b = st->b;
  size_t n = cb_strv_len(st->words);
  const char *from = NULL;

  memset(j, 0, sizeof(*j));
  j->from_fd = -1;
  if (n < 2)
    return cb_fail(err, CB_ERR_PARSE, 0, "needs a source and a destination");
  j->req.add = in->kind == INSTR_ADD;
  j->req.srcs = st->words;
  j->req.nsrcs = n - 1;
  j->req.dest = st->words[n - 1];
  j->req.workdir = json_string_value(oci_config_get(st->si->img.config,
                                                    "WorkingDir"));
  j->req.excludes = in->excludes;
  j->req.parents = in->parents;
  j->req.link = in->link;
  j->req.unpack = in->unpack;
  j->req.keep_git_dir = in->keep_git_dir;
  j->req.timestamp = b->o->timestamp;
  j->req.flags = COPY_IGNORE_OWNER_ERRORS;
  if (expand_flag(st, j, in->chown, &j->req.chown, err) < 0 ||
      expand_flag(st, j, in->chmod, &j->req.chmod, err) < 0 ||
      expand_flag(st, j, in->checksum, &j->req.checksum, err) < 0 ||
      expand_flag(st, j, in->from, &from, err) < 0 ||
      expand_heredocs(st, j, err) < 0)
    return -1;
  j->req.heredocs = j->heredocs;
  j->req.nheredocs = j->nheredocs;
  if (from == NULL) {
    j->src = (struct copy_source){ b->ctx->root_fd, b->ctx->ignore, false };
    return 0;
  }
  j->from_fd = from_root_open(st, &j->fr, from, err);
  if (j->from_fd < 0)
    return -1;
  j->src = (struct copy_source){ j->from_fd, NULL, true };
  return 0;
}

static int
do_copy(struct step *st, void *data, int root, struct cb_error **err)
{
  struct copy_job *j = data;

  return copy_apply(&j->req, &j->src, root, &j->stats, err);
}

/* The cache key's extra inputs: each source's own digest (kept in INFO,
   for saying which one changed) and, in order, all of them.  Returns 1
   when the content cannot be known without fetching (a URL without
   --checksum).  */
static int
copy_inputs(struct step *st, struct copy_job *j, char ***extra,
            json_t **info, struct cb_error **err)
{
  struct copy_hash_cache *hc = st->b->hash_cache;
  const struct df_node *node = st->in->node;
  json_t *per = json_object(), *f = json_array();
  cleanup_hasher struct cb_hasher *h = cb_hasher_new();
  char hex[CB_DIGEST_STR_LEN];
  struct cb_digest all;
  size_t nx;
  int rc = 0;

  *info = NULL;
  for (size_t i = 0; i < j->req.nsrcs; i++) {
    struct copy_request one = j->req;
    struct cb_digest d;
    int r;

    one.srcs = &j->req.srcs[i];
    one.nsrcs = 1;
    r = copy_sources_digest(&one, &j->src, hc, &d, err);
    if (r < 0) {
      rc = -1;
      break;
    }
    rc |= r;
    cb_digest_str(&d, hex);
    cb_hasher_update(h, hex, strlen(hex));
    json_object_set_new(per, j->req.srcs[i], json_string(hex));
  }
  cb_hasher_peek(h, &all);
  if (rc < 0) {
    json_decref(per);
    json_decref(f);
    return cb_wrap(err, "%s:%d: %s", st->b->file, st->in->line,
                   node->original);
  }
  nx = cb_strv_len(j->flags);
  *extra = cb_xcalloc(node->nflags + nx + 3, sizeof(char *));
  cb_digest_str(&all, hex);
  (*extra)[0] = cb_xasprintf("sources %s", hex);
  (*extra)[1] = cb_xasprintf("workdir %s", j->req.workdir ? j->req.workdir
                                                          : "/");
  for (size_t i = 0; i < node->nflags; i++) {
    (*extra)[2 + i] = cb_xasprintf("flag %s", node->flags[i]);
    json_array_append_new(f, json_string(node->flags[i]));
  }
  /* The flags as expanded: "--chown=$OWNER" is another COPY when the
     build arg changes.  */
  for (size_t i = 0; i < nx; i++) {
    (*extra)[2 + node->nflags + i] = cb_xasprintf("value %s", j->flags[i]);
    json_array_append_new(f, json_string(j->flags[i]));
  }
  *info = json_pack("{s:s, s:o, s:o}", "instruction", node->original,
                    "source", per, "flags", f);
  return rc;
}

int
step_copy(struct step *st, struct cb_error **err)
{
  cleanup_strv char **extra = NULL;
  struct copy_job j;
  json_t *info = NULL;
  int rc;

  rc = copy_job_init(st, &j, err);
  if (rc < 0) {
    copy_job_release(&j);
    return cb_wrap(err, "%s:%d: %s", st->b->file, st->in->line,
                   st->in->node->original);
  }
  rc = copy_inputs(st, &j, &extra, &info, err);
  if (rc >= 0)
    rc = cached_write_step(st, extra, info, rc == 1, do_copy, &j, err);
  if (j.stats.owner_failures > 0)
    cb_log(CB_LOG_WARN, "%s:%d: %llu owners could not be set (no "
           "subordinate id range?)", st->b->file, st->in->line,
           (unsigned long long)j.stats.owner_failures);
  copy_job_release(&j);
  return rc < 0 ? -1 : 0;
}
