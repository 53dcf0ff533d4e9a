#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/mem.h"
#include "layers/layer.h"
#include "layers/oci.h"
#include "layers/store-internal.h"
#include "layers/store.h"

#include "common/banned.h"

/* A set of digests: open addressing on the digest's first bytes, which
   are as good as random.  */
struct digest_set {
  struct cb_digest *slots;
  bool *used;
  size_t cap; /* a power of two */
  size_t n;
};

static size_t
slot_of(const struct cb_digest *d, size_t cap)
{
  size_t h = 0;

  memcpy(&h, d->raw, sizeof(h));
  return h & (cap - 1);
}

static bool
set_has(const struct digest_set *set, const struct cb_digest *d)
{
  if (set->cap == 0)
    return false;
  for (size_t i = slot_of(d, set->cap);; i = (i + 1) & (set->cap - 1)) {
    if (!set->used[i])
      return false;
    if (cb_digest_equal(&set->slots[i], d))
      return true;
  }
}

/* Put D in a free slot; the caller made room and knows D is absent.  */
static void
set_insert(struct digest_set *set, const struct cb_digest *d)
{
  size_t i = slot_of(d, set->cap);

  while (set->used[i])
    i = (i + 1) & (set->cap - 1);
  set->used[i] = true;
  set->slots[i] = *d;
  set->n++;
}

static void
set_grow(struct digest_set *set)
{
  struct digest_set bigger = { NULL, NULL, set->cap ? set->cap * 2 : 64, 0 };

  bigger.slots = cb_xcalloc(bigger.cap, sizeof(*bigger.slots));
  bigger.used = cb_xcalloc(bigger.cap, sizeof(*bigger.used));
  for (size_t i = 0; i < set->cap; i++)
    if (set->used[i])
      set_insert(&bigger, &set->slots[i]);
  free(set->slots);
  free(set->used);
  *set = bigger;
}

/* Add D; false if it was there already.  */
static bool
set_add_new(struct digest_set *set, const struct cb_digest *d)
{
  if (set_has(set, d))
    return false;
  /* At most half full, so probes stay short and always end.  */
  if (2 * (set->n + 1) > set->cap)
    set_grow(set);
  set_insert(set, d);
  return true;
}

static void
set_add(struct digest_set *set, const struct cb_digest *d)
{
  set_add_new(set, d);
}

static void
set_release(struct digest_set *set)
{
  free(set->slots);
  free(set->used);
}

/* The mark phase: blobs to keep, the diff_ids of kept configs, and a
   work list of descriptors still to look into.  */
struct mark {
  struct layer_store *s;
  struct digest_set blobs;
  struct digest_set diff_ids;
  struct oci_descriptor *todo;
  size_t n_todo, alloc_todo;
};

static void
mark_push(struct mark *m, const struct oci_descriptor *d)
{
  CB_GROW(m->todo, m->alloc_todo, m->n_todo + 1);
  oci_descriptor_copy(&m->todo[m->n_todo++], d);
}

/* Keep the unpacked dirs of CONFIG's layers.  Unpacked dirs are a cache,
   so a config we cannot read costs only a re-extraction.  */
static void
mark_config(struct mark *m, const struct oci_descriptor *config)
{
  struct cb_error *err = NULL;
  cleanup_free char *buf = NULL;
  cleanup_free struct cb_digest *ids = NULL;
  cleanup_json json_t *cfg = NULL;
  size_t len, n = 0;

  if (!layer_store_has_blob(m->s, &config->digest))
    return;
  if (layer_store_blob_read(m->s, &config->digest, OCI_MAX_CONFIG_SIZE, &buf,
                            &len, &err) == 0)
    cfg = oci_config_parse(buf, len, &err);
  if (cfg != NULL && oci_config_diff_ids(cfg, &ids, &n, &err) == 0)
    for (size_t i = 0; i < n; i++)
      set_add(&m->diff_ids, &ids[i]);
  if (err != NULL) {
    cb_log(CB_LOG_WARN, "gc: config: %s", err->msg);
    cb_error_free(err);
  }
}

static int
mark_manifest(struct mark *m, const char *buf, size_t len,
              struct cb_error **err)
{
  cleanup_oci_manifest struct oci_manifest *man = NULL;

  man = oci_manifest_parse(buf, len, err);
  if (man == NULL)
    return -1;
  set_add(&m->blobs, &man->config.digest);
  for (size_t i = 0; i < man->n_layers; i++)
    set_add(&m->blobs, &man->layers[i].digest);
  mark_config(m, &man->config);
  return 0;
}

static int
mark_index(struct mark *m, const char *buf, size_t len, struct cb_error **err)
{
  cleanup_oci_index struct oci_index *idx = NULL;

  idx = oci_index_parse(buf, len, OCI_MAX_MANIFEST_SIZE, err);
  if (idx == NULL)
    return -1;
  for (size_t i = 0; i < idx->n_manifests; i++)
    mark_push(m, &idx->manifests[i]);
  return 0;
}

static bool
is_type(const char *mt, const char *a, const char *b)
{
  return strcmp(mt, a) == 0 || strcmp(mt, b) == 0;
}

/* Keep D and, for a manifest or an index, what it refers to.  A blob
   that is not there (an image pulled without some layer) is no error.  */
static int
mark_one(struct mark *m, const struct oci_descriptor *d, struct cb_error **err)
{
  char digest[CB_DIGEST_STR_LEN];
  cleanup_free char *buf = NULL;
  bool manifest, index;
  size_t len;
  int r;

  manifest = is_type(d->media_type, OCI_MEDIA_MANIFEST, DOCKER_MEDIA_MANIFEST);
  index = is_type(d->media_type, OCI_MEDIA_INDEX, DOCKER_MEDIA_MANIFEST_LIST);
  if (!set_add_new(&m->blobs, &d->digest) || !(manifest || index) ||
      !layer_store_has_blob(m->s, &d->digest))
    return 0;
  if (layer_store_blob_read(m->s, &d->digest, OCI_MAX_MANIFEST_SIZE, &buf, &len,
                            err) < 0)
    return -1;
  r = manifest ? mark_manifest(m, buf, len, err) : mark_index(m, buf, len, err);
  if (r < 0) {
    cb_digest_str(&d->digest, digest);
    return cb_wrap(err, "'%s'", digest);
  }
  return 0;
}

static int
mark_all(struct mark *m, struct cb_error **err)
{
  cleanup_oci_index struct oci_index *idx = store_read_index(m->s, err);

  if (idx == NULL)
    return -1;
  for (size_t i = 0; i < idx->n_manifests; i++)
    mark_push(m, &idx->manifests[i]);
  while (m->n_todo > 0) {
    struct oci_descriptor d = m->todo[--m->n_todo];
    int r = mark_one(m, &d, err);

    oci_descriptor_release(&d);
    if (r < 0)
      return -1;
  }
  return 0;
}

static void
mark_release(struct mark *m)
{
  set_release(&m->blobs);
  set_release(&m->diff_ids);
  for (size_t i = 0; i < m->n_todo; i++)
    oci_descriptor_release(&m->todo[i]);
  free(m->todo);
}

/* --- sweep --- */

static int
sweep_blobs(struct mark *m, struct store_gc_stats *st, struct cb_error **err)
{
  struct layer_store *s = m->s;
  cleanup_strv char **names = cb_list_dir(s->blobs_fd, err);

  if (names == NULL)
    return cb_wrap(err, "blobs");
  for (size_t i = 0; names[i] != NULL; i++) {
    struct cb_digest d;
    struct stat sb;

    /* Not ours to judge: only sha256 blob names are swept.  */
    if (cb_digest_parse_hex(names[i], &d, NULL) < 0 || set_has(&m->blobs, &d))
      continue;
    if (fstatat(s->blobs_fd, names[i], &sb, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    if (unlinkat(s->blobs_fd, names[i], 0) < 0 && errno != ENOENT)
      return cb_fail_errno(err, "cannot remove blob 'sha256:%s'", names[i]);
    st->blobs_removed++;
    st->blob_bytes += (uint64_t)sb.st_size;
  }
  return 0;
}

static int
sweep_unpacked(struct mark *m, struct store_gc_stats *st, struct cb_error **err)
{
  cleanup_close int dir = -1;
  cleanup_strv char **names = NULL;

  dir = openat(m->s->root_fd, "unpacked",
               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0)
    return cb_fail_errno(err, "cannot open 'unpacked'");
  names = cb_list_dir(dir, err);
  if (names == NULL)
    return cb_wrap(err, "unpacked");
  for (size_t i = 0; names[i] != NULL; i++) {
    struct cb_digest d;

    if (cb_digest_parse_hex(names[i], &d, NULL) == 0 &&
        set_has(&m->diff_ids, &d))
      continue;
    if (cb_remove_tree_at(dir, names[i], err) < 0)
      return cb_wrap(err, "unpacked");
    st->unpacked_removed++;
  }
  return 0;
}

static int
gc_locked(struct layer_store *s, struct store_gc_stats *st,
          struct cb_error **err)
{
  struct mark m = { .s = s };
  uint64_t tmp_removed = 0;
  int r = -1;

  /* Mark everything before removing anything: a manifest we cannot read
     might refer to any blob.  */
  if (mark_all(&m, err) < 0)
    cb_wrap(err, "cannot collect garbage");
  else if (sweep_blobs(&m, st, err) < 0 || sweep_unpacked(&m, st, err) < 0 ||
           store_tmp_clear(s, &tmp_removed, err) < 0)
    cb_wrap(err, "store '%s'", s->root);
  else
    r = 0;
  st->tmp_removed += tmp_removed + s->tmp_cleared;
  s->tmp_cleared = 0;
  mark_release(&m);
  return r;
}

int
layer_store_gc(struct layer_store *s, struct store_gc_stats *stats,
               struct cb_error **err)
{
  struct store_gc_stats st = { 0 };
  cleanup_close int use = store_open_use_lock(s, err);
  int r;

  if (use < 0)
    return -1;
  /* Builds and runs hold it shared: their layers are not garbage yet.  */
  if (flock(use, LOCK_EX | LOCK_NB) < 0) {
    if (errno != EWOULDBLOCK)
      return cb_fail_errno(err, "store '%s': cannot lock 'use.lock'",
                           s->root);
    cb_log(CB_LOG_WARN, "store '%s' is in use by a build or run: waiting",
           s->root);
    while (flock(use, LOCK_EX) < 0)
      if (errno != EINTR)
        return cb_fail_errno(err, "store '%s': cannot lock 'use.lock'",
                             s->root);
  }
  if (layer_store_lock(s, err) < 0)
    return -1;
  r = gc_locked(s, &st, err);
  layer_store_unlock(s);
  if (r == 0 && stats != NULL)
    *stats = st;
  return r;
}
