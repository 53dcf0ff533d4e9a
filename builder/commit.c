#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/build-internal.h"
#include "builder/rootfs.h"
#include "common/cleanup.h"
#include "common/mem.h"
#include "layers/oci.h"
#include "layers/writer.h"
#include "common/banned.h"

char **
stage_lowers(struct build *b, struct stage_image *si, struct cb_error **err)
{
  return rootfs_unpack_image(b->s, &si->img, err);
}

/* Whether the directory FD (O_PATH is fine) has no entries.  */
static int
dir_is_empty(int fd, bool *empty, struct cb_error **err)
{
  int rfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = rfd >= 0 ? fdopendir(rfd) : NULL;
  struct dirent *e;

  if (d == NULL) {
    if (rfd >= 0)
      close(rfd);
    return cb_fail_errno(err, "cannot read the step's changes");
  }
  *empty = true;
  errno = 0;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      *empty = false;
      break;
    }
  closedir(d);
  return 0;
}

static int
write_layer_blob(struct build *b, int upper, struct layer_write_result *res,
                 struct cb_error **err)
{
  struct layer_write_opts lw = LAYER_WRITE_OPTS_INIT;
  struct blob_writer *w;
  struct cb_sink sink;

  lw.compression = b->o->compression;
  lw.mode = TARWRITE_OVERLAY;
  lw.timestamp = b->o->timestamp;
  w = layer_store_blob_begin(b->s, err);
  if (w == NULL)
    return -1;
  sink = blob_writer_sink(w);
  if (layer_write(upper, &lw, &sink, res, err) < 0) {
    blob_writer_abort(w);
    return -1;
  }
  return blob_writer_commit(w, &res->digest, NULL, NULL, err);
}

int
commit_upper(struct build *b, int dir_fd, const char *name, int64_t created,
             struct cache_record *rec, struct cb_error **err)
{
  cleanup_close int upper = -1;
  struct layer_write_result res;
  bool empty = false;

  memset(rec, 0, sizeof(*rec));
  rec->created = created;
  upper = openat(dir_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (upper < 0)
    return cb_fail_errno(err, "cannot open the step's changes");
  /* A step that changed nothing adds no layer (BuildKit drops empty
     layers too).  */
  if (dir_is_empty(upper, &empty, err) < 0)
    return -1;
  if (empty)
    return 0;
  if (write_layer_blob(b, upper, &res, err) < 0 ||
      oci_descriptor_init(&rec->layer, res.media_type, &res.digest, res.size,
                          err) < 0)
    return -1;
  rec->has_layer = true;
  rec->diff_id = res.diff_id;
  return layer_store_unpacked_adopt(b->s, dir_fd, name, &res.diff_id, err);
}

static int
apply_labels(struct build *b, json_t *cfg, struct cb_error **err)
{
  json_t *labels;

  if (b->o->nlabels == 0)
    return 0;
  labels = json_deep_copy(oci_config_get(cfg, "Labels"));
  if (!json_is_object(labels)) {
    json_decref(labels);
    labels = json_object();
  }
  for (size_t i = 0; i < b->o->nlabels; i++) {
    const char *kv = b->o->labels[i];
    size_t klen = strcspn(kv, "=");
    cleanup_free char *k = cb_xstrndup(kv, klen);

    json_object_set_new(labels, k, json_string(kv[klen] ? kv + klen + 1 : ""));
  }
  return oci_config_set(cfg, "Labels", labels, err);
}

/* --annotation KEY=VALUE on the manifest (the OCI place for them; docker
   build puts them there too).  */
static void
apply_annotations(struct build *b, struct oci_manifest *m)
{
  if (b->o->nannotations == 0)
    return;
  if (m->annotations == NULL)
    m->annotations = json_object();
  for (size_t i = 0; i < b->o->nannotations; i++) {
    const char *kv = b->o->annotations[i];
    size_t klen = strcspn(kv, "=");
    cleanup_free char *k = cb_xstrndup(kv, klen);

    json_object_set_new(m->annotations, k,
                        json_string(kv[klen] ? kv + klen + 1 : ""));
  }
}

static int
put_image(struct build *b, struct stage_image *si, struct build_result *res,
          struct cb_error **err)
{
  cleanup_free char *ctext = NULL, *mtext = NULL;
  struct oci_descriptor cd;
  size_t clen = 0, mlen = 0;

  ctext = oci_json_dump(si->img.config, &clen);
  if (layer_store_put_blob(b->s, ctext, clen, &res->id, err) < 0 ||
      oci_descriptor_init(&cd, OCI_MEDIA_CONFIG, &res->id, clen, err) < 0)
    return -1;
  oci_manifest_set_config(si->img.manifest, &cd);
  oci_descriptor_release(&cd);
  apply_annotations(b, si->img.manifest);
  mtext = oci_manifest_serialize(si->img.manifest, &mlen);
  res->manifest_size = mlen;
  return layer_store_put_blob(b->s, mtext, mlen, &res->manifest, err);
}

int
commit_image(struct build *b, struct stage_image *si,
             struct build_result *res, struct cb_error **err)
{
  json_t *cfg = si->img.config;
  int64_t created = b->o->timestamp >= 0 ? b->o->timestamp : si->last_created;
  int rc = 0;

  if (apply_labels(b, cfg, err) < 0 ||
      oci_config_set_created(cfg, created, err) < 0)
    return -1;
  /* Blobs and tags as one step: no GC in between.  */
  if (layer_store_lock(b->s, err) < 0)
    return -1;
  rc = put_image(b, si, res, err);
  for (size_t i = 0; rc == 0 && i < b->o->ntags; i++)
    rc = layer_store_tag(b->s, b->o->tags[i], &res->manifest,
                         res->manifest_size, OCI_MEDIA_MANIFEST, err);
  layer_store_unlock(b->s);
  return rc;
}
