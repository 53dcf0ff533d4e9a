#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/build-internal.h"
#include "builder/rootfs.h"
#include "common/cleanup.h"
#include "common/mem.h"
#include "common/banned.h"

/* The lowers of FROM: an earlier, built stage of this build (by name or
   number), else an image in the store.  */
static char **
from_lowers(struct step *st, const char *from, struct cb_error **err)
{
  struct build *b = st->b;
  int k = build_plan_find_stage(b->ep->plan, from);
  struct store_image img;
  char **lowers;

  if (k >= 0 && k < st->stage_idx && b->stages[k].built)
    return stage_lowers(b, &b->stages[k], err);
  if (k >= 0)
    return cb_fail(err, CB_ERR_USAGE, 0, "stage '%s' is not an earlier "
                   "stage", from), NULL;
  if (build_find_image(b, from, &img, err) < 0)
    return cb_wrap(err, "--from=%s", from), NULL;
  lowers = rootfs_unpack_image(b->s, &img, err);
  store_image_release(&img);
  return lowers;
}

int
from_root_open(struct step *st, struct from_roots *fr, const char *from,
               struct cb_error **err)
{
  cleanup_strv char **lowers = from_lowers(st, from, err);
  struct rootfs *rf;
  int fd;

  if (lowers == NULL)
    return -1;
  fr->v = cb_xreallocarray(fr->v, fr->n + 1, sizeof(*fr->v));
  rf = &fr->v[fr->n];
  /* Writes to it (a bind mount with rw) go to a throwaway upper dir.  */
  if (rootfs_create(st->b->s, lowers, st->b->driver, rf, err) < 0) {
    rootfs_remove(rf);
    return -1;
  }
  fr->n++;
  if (rf->driver == ROOTFS_DRIVER_OVERLAY && rootfs_mount(rf, err) < 0)
    return -1;
  fd = open(rf->merged, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return cb_fail_errno(err, "cannot open '%s'", rf->merged);
  return fd;
}

void
from_roots_release(struct from_roots *fr)
{
  for (size_t i = 0; i < fr->n; i++) {
    rootfs_umount(&fr->v[i]);
    rootfs_remove(&fr->v[i]);
  }
  free(fr->v);
  fr->v = NULL;
  fr->n = 0;
}
