#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build-internal.h"
#include "builder/rootfs.h"
#include "common/cleanup.h"
#include "common/fs.h"
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
typedef int (*write_fn)(struct step *st, int root, struct cb_error **err);

static int
write_step(struct step *st, write_fn fn, struct cache_record *rec,
           struct cb_error **err)
{
  struct build *b = st->b;
  cleanup_strv char **lowers = stage_lowers(b, st->si, err);
  struct rootfs rf = { 0 };
  cleanup_close int root = -1, dir = -1;
  int rc = -1;

  if (lowers == NULL || rootfs_create(b->s, lowers, &rf, err) < 0 ||
      rootfs_mount(&rf, err) < 0)
    goto out;
  root = open(rf.merged, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (root < 0) {
    cb_fail_errno(err, "cannot open '%s'", rf.merged);
  } else if (fn(st, root, err) == 0) {
    cb_closep(&root);
    rootfs_umount(&rf);
    dir = open(rf.dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    rc = dir < 0 ? cb_fail_errno(err, "cannot open '%s'", rf.dir)
                 : commit_upper(b, dir, "upper", step_now(b), rec, err);
  }
out:
  cb_closep(&root);
  rootfs_umount(&rf);
  rootfs_remove(&rf);
  return rc;
}

static int
make_workdir(struct step *st, int root, struct cb_error **err)
{
  const char *wd = json_string_value(oci_config_get(st->si->img.config,
                                                    "WorkingDir"));

  return mkdir_in_root(root, wd != NULL ? wd : "/", err);
}

/* Run a step that writes files, through the cache: KEY from EXTRA, and
   INFO says what the step saw.  */
static int
cached_write_step(struct step *st, char *const *extra, json_t *info,
                  write_fn fn, struct cb_error **err)
{
  struct cache_record rec;
  struct cb_digest key;
  int rc;

  step_key(st, extra, &key);
  memset(&rec, 0, sizeof(rec));
  rec.info = info;
  rc = step_cache_lookup(st, &key, &rec, err);
  if (rc == 0) {
    rc = write_step(st, fn, &rec, err);
    if (rc < 0)
      return cb_wrap(err, "%s:%d: %s", st->b->file, st->in->line,
                     st->in->node->original);
    rc = layer_store_cache_put(st->b->s, &key, &rec, err);
  }
  if (rc >= 0)
    rc = step_commit(st, &key, &rec, err);
  cache_record_release(&rec);
  return rc < 0 ? -1 : 0;
}

/* WORKDIR makes the directory when the image lacks it: a layer then,
   else an empty history entry.  */
int
step_workdir(struct step *st, struct cb_error **err)
{
  json_t *info = json_pack("{s:s}", "instruction", st->in->node->original);

  return cached_write_step(st, NULL, info, make_workdir, err);
}

int
step_copy(struct step *st, struct cb_error **err)
{
  return cb_fail(err, CB_ERR_UNSUPPORTED, 0, "%s:%d: %s is not built yet",
                 st->b->file, st->in->line, instr_kind_name(st->in->kind));
}
