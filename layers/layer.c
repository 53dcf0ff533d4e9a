#include "config.h"

#include "layers/layer.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

#include "common/num.h"
#include "common/banned.h"

int
layer_compression_parse(const char *name, enum layer_compression *c,
                        struct cb_error **err)
{
  if (strcmp(name, "none") == 0)
    *c = LAYER_COMPRESS_NONE;
  else if (strcmp(name, "gzip") == 0)
    *c = LAYER_COMPRESS_GZIP;
  else if (strcmp(name, "zstd") == 0)
    *c = LAYER_COMPRESS_ZSTD;
  else
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "unknown compression '%s' (use none, gzip or zstd)", name);
  return 0;
}

const char *
layer_compression_name(enum layer_compression c)
{
  switch (c) {
  case LAYER_COMPRESS_NONE:
    return "none";
  case LAYER_COMPRESS_GZIP:
    return "gzip";
  case LAYER_COMPRESS_ZSTD:
    return "zstd";
  }
  return "unknown";
}

const char *
layer_media_type(enum layer_compression c)
{
  switch (c) {
  case LAYER_COMPRESS_NONE:
    return OCI_MEDIA_LAYER;
  case LAYER_COMPRESS_GZIP:
    return OCI_MEDIA_LAYER_GZIP;
  case LAYER_COMPRESS_ZSTD:
    return OCI_MEDIA_LAYER_ZSTD;
  }
  return OCI_MEDIA_LAYER;
}

int
layer_owner_record(int fd, int dir_fd, const char *name, unsigned uid,
                   unsigned gid)
{
  char v[32];
  char path[64 + NAME_MAX];
  int n = snprintf(v, sizeof(v), "%u:%u", uid, gid);

  if (fd >= 0)
    return fsetxattr(fd, LAYER_OWNER_XATTR, v, (size_t)n, 0);
  /* No fd: the *at() forms do not exist for xattrs, so the magic link of
     the directory fd, with lsetxattr so that NAME is not followed.  */
  if (strlen(name) > NAME_MAX) {
    errno = ENAMETOOLONG;
    return -1;
  }
  snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dir_fd, name);
  return lsetxattr(path, LAYER_OWNER_XATTR, v, (size_t)n, 0);
}

bool
layer_owner_parse(const char *value, size_t len, unsigned *uid, unsigned *gid)
{
  const char *colon = memchr(value, ':', len);
  uint32_t u, g;

  if (colon == NULL ||
      !cb_parse_id(value, (size_t)(colon - value), &u) ||
      !cb_parse_id(colon + 1, len - (size_t)(colon - value) - 1, &g))
    return false;
  *uid = u;
  *gid = g;
  return true;
}
