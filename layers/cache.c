#include "config.h"

#include "layers/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/mem.h"
#include "layers/store-internal.h"
#include "common/banned.h"

/* Records are small; a bigger file is not ours.  */
#define CACHE_MAX_RECORD (4u * 1024 * 1024)

void
cache_record_release(struct cache_record *r)
{
  if (r->has_layer)
    oci_descriptor_release(&r->layer);
  json_decref(r->info);
  memset(r, 0, sizeof(*r));
}

/* ROOT/cache/steps, created when CREATE.  -1 with *err unset when it does
   not exist and CREATE is false.  */
static int
open_steps(struct layer_store *s, bool create, struct cb_error **err)
{
  int root = layer_store_root_fd(s);
  cleanup_close int cache = -1;
  int fd;

  if (create && mkdirat(root, "cache", 0700) < 0 && errno != EEXIST)
    return cb_fail_errno(err, "store '%s': cannot create 'cache'",
                         layer_store_root(s));
  cache = openat(root, "cache", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (cache < 0 && errno == ENOENT && !create)
    return -1;
  if (cache < 0)
    return cb_fail_errno(err, "store '%s': cannot open 'cache'",
                         layer_store_root(s));
  if (create && mkdirat(cache, "steps", 0700) < 0 && errno != EEXIST)
    return cb_fail_errno(err, "store '%s': cannot create 'cache/steps'",
                         layer_store_root(s));
  fd = openat(cache, "steps", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && !create)
    return -1;
  if (fd < 0)
    return cb_fail_errno(err, "store '%s': cannot open 'cache/steps'",
                         layer_store_root(s));
  return fd;
}

static bool
parse_record(json_t *j, struct cache_record *rec)
{
  json_t *layer = json_object_get(j, "layer");
  json_t *created = json_object_get(j, "created");
  const char *media, *digest, *diff_id;
  json_t *size;

  memset(rec, 0, sizeof(*rec));
  if (!json_is_integer(created))
    return false;
  rec->created = json_integer_value(created);
  rec->info = json_incref(json_object_get(j, "info"));
  if (layer == NULL || json_is_null(layer))
    return true;
  media = json_string_value(json_object_get(layer, "mediaType"));
  digest = json_string_value(json_object_get(layer, "digest"));
  diff_id = json_string_value(json_object_get(layer, "diffID"));
  size = json_object_get(layer, "size");
  if (media == NULL || digest == NULL || diff_id == NULL ||
      !json_is_integer(size) || json_integer_value(size) < 0)
    return false;
  {
    struct cb_error *e = NULL;
    struct cb_digest d;

    if (cb_digest_parse(digest, &d, &e) < 0 ||
        cb_digest_parse(diff_id, &rec->diff_id, &e) < 0 ||
        oci_descriptor_init(&rec->layer, media, &d,
                            (uint64_t)json_integer_value(size), &e) < 0) {
      cb_error_free(e);
      return false;
    }
  }
  rec->has_layer = true;
  return true;
}

int
layer_store_cache_get(struct layer_store *s, const struct cb_digest *key,
                      struct cache_record *rec, struct cb_error **err)
{
  char hex[CB_DIGEST_HEX_LEN + 1];
  cleanup_close int dir = -1, fd = -1;
  cleanup_free char *buf = NULL;
  cleanup_json json_t *j = NULL;
  struct cb_error *e = NULL;
  size_t len = 0;

  memset(rec, 0, sizeof(*rec));
  dir = open_steps(s, false, err);
  if (dir < 0)
    return *err != NULL ? -1 : 0;
  cb_digest_hex(key, hex);
  fd = openat(dir, hex, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return 0;
  if (fd < 0 || cb_read_all(fd, CACHE_MAX_RECORD, &buf, &len, &e) < 0 ||
      (j = oci_json_parse_object(buf, len, CACHE_MAX_RECORD, "cache record",
                                 &e)) == NULL ||
      !parse_record(j, rec)) {
    /* A damaged record only costs a rebuild of the step.  */
    cb_log(CB_LOG_DEBUG, "cache record %s unusable: %s", hex,
           e != NULL ? e->msg : "bad fields");
    cb_error_free(e);
    cache_record_release(rec);
    return 0;
  }
  if (rec->has_layer && !layer_store_has_blob(s, &rec->layer.digest)) {
    cache_record_release(rec);
    return 0;
  }
  return 1;
}

static json_t *
record_json(const struct cache_record *rec)
{
  json_t *j = json_object();
  json_t *layer = json_null();

  if (rec->has_layer) {
    char d[CB_DIGEST_STR_LEN + 1], id[CB_DIGEST_STR_LEN + 1];

    cb_digest_str(&rec->layer.digest, d);
    cb_digest_str(&rec->diff_id, id);
    layer = json_pack("{s:s, s:s, s:s, s:I}", "mediaType",
                      rec->layer.media_type, "digest", d, "diffID", id,
                      "size", (json_int_t)rec->layer.size);
  }
  json_object_set_new(j, "layer", layer);
  json_object_set_new(j, "created", json_integer(rec->created));
  if (rec->info != NULL)
    json_object_set(j, "info", rec->info);
  return j;
}

int
layer_store_cache_put(struct layer_store *s, const struct cb_digest *key,
                      const struct cache_record *rec, struct cb_error **err)
{
  char hex[CB_DIGEST_HEX_LEN + 1];
  cleanup_json json_t *j = record_json(rec);
  cleanup_free char *text = NULL;
  cleanup_close int dir = -1;
  size_t len = 0;
  int rc;

  cb_digest_hex(key, hex);
  text = oci_json_dump(j, &len);
  if (layer_store_lock(s, err) < 0)
    return -1;
  dir = open_steps(s, true, err);
  /* No fsync: a record lost or torn in a crash reads as a miss (see
     layer_store_cache_get), and the blob and unpacked tree it names were
     made durable before it was written.  A cold build writes two records
     per step.  */
  rc = dir < 0 ? -1 : store_write_nosync(s, dir, hex, text, len, err);
  layer_store_unlock(s);
  return rc;
}

int
layer_store_unpacked_adopt(struct layer_store *s, int dir_fd,
                           const char *name, const struct cb_digest *diff_id,
                           struct cb_error **err)
{
  char hex[CB_DIGEST_HEX_LEN + 1];
  cleanup_close int unpacked = -1, tree = -1;
  int rc = 0;

  cb_digest_hex(diff_id, hex);
  if (layer_store_lock(s, err) < 0)
    return -1;
  unpacked = openat(s->root_fd, "unpacked",
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  tree = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  /* The files must be on disk before the name makes them a lower dir.  */
  if (unpacked < 0 || tree < 0 || syncfs(tree) < 0)
    rc = cb_fail_errno(err, "store '%s': cannot adopt '%s' as a layer",
                       s->root, name);
  else if (renameat(dir_fd, name, unpacked, hex) < 0 && errno != EEXIST &&
           errno != ENOTEMPTY)
    rc = cb_fail_errno(err, "store '%s': cannot store 'unpacked/%s'", s->root,
                       hex);
  else
    rc = store_fsync_dir(unpacked, err);
  layer_store_unlock(s);
  return rc;
}
