#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/probe.h"
#include "builder/rootfs.h"
#include "common/cleanup.h"
#include "common/mem.h"
#include "common/banned.h"

#define DRIVER_ENV "CBUILD_STORAGE_DRIVER"

static const char *const driver_names[] = { "auto", "overlay", "vfs" };

const char *
rootfs_driver_name(enum rootfs_driver d)
{
  return (size_t)d < CB_N_ELEMENTS(driver_names) ? driver_names[d] : "?";
}

int
rootfs_driver_parse(const char *name, const char *source,
                    enum rootfs_driver *out, struct cb_error **err)
{
  for (size_t i = 0; i < CB_N_ELEMENTS(driver_names); i++)
    if (strcmp(name, driver_names[i]) == 0) {
      *out = (enum rootfs_driver)i;
      return 0;
    }
  return cb_fail(err, CB_ERR_USAGE, 0,
                 "%s: unknown storage driver '%s' (overlay, vfs, auto)", source,
                 name);
}

int
rootfs_driver_requested(const char *name, const char *option,
                        enum rootfs_driver *out, const char **source,
                        struct cb_error **err)
{
  const char *env = getenv(DRIVER_ENV);

  *source = NULL;
  if (name != NULL) {
    *source = option;
  } else if (env != NULL && env[0] != '\0') {
    name = env;
    *source = DRIVER_ENV;
  } else {
    *out = ROOTFS_DRIVER_AUTO;
    return 0;
  }
  if (rootfs_driver_parse(name, *source, out, err) < 0)
    return -1;
  if (*out == ROOTFS_DRIVER_AUTO)
    *source = NULL;
  return 0;
}

enum rootfs_driver
rootfs_driver_decide(enum rootfs_driver requested, const char *source,
                     bool overlay_ok, const char *detail, char **why)
{
  if (requested != ROOTFS_DRIVER_AUTO) {
    *why = cb_xasprintf("set by %s", source != NULL ? source : "the caller");
    return requested;
  }
  if (overlay_ok) {
    *why = cb_xstrdup("overlay works in a user namespace here");
    return ROOTFS_DRIVER_OVERLAY;
  }
  *why = cb_xasprintf("overlay does not work in a user namespace here: %s",
                      detail != NULL ? detail : "(no detail)");
  return ROOTFS_DRIVER_VFS;
}

int
rootfs_driver_choose(struct layer_store *s, const char *name,
                     const char *option, enum rootfs_driver *out, char **why,
                     struct cb_error **err)
{
  struct probe_result r = { NULL, false, NULL };
  cleanup_free char *dir = NULL;
  enum rootfs_driver req;
  const char *source;

  if (rootfs_driver_requested(name, option, &req, &source, err) < 0)
    return -1;
  if (req == ROOTFS_DRIVER_AUTO) {
    /* Where the run dirs go: the file system that matters.  */
    if (mkdirat(layer_store_root_fd(s), "run", 0700) < 0 && errno != EEXIST)
      return cb_fail_errno(err, "store '%s': cannot create 'run'",
                           layer_store_root(s));
    dir = cb_xasprintf("%s/run", layer_store_root(s));
    probe_overlay_here(&r, dir);
  }
  *out = rootfs_driver_decide(req, source, r.ok, r.detail, why);
  probe_result_release(&r);
  return req == ROOTFS_DRIVER_AUTO;
}
