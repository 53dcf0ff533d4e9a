#include "config.h"

#include "layers/image.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/mem.h"
#include "layers/decompress.h"
#include "layers/retar.h"
#include "common/banned.h"

/* The flattened filesystem as one tar, straight from the layer tars, so
   owners, modes and device nodes come out as the layers hold them, with
   nothing extracted.  Pass 1 reads the layers top first and decides, for
   each path, which layer's entry wins (OCI image-spec "Applying
   Changesets": whiteouts delete lower paths, an opaque marker hides a
   directory's lower contents, a non-directory hides a lower subtree).
   Pass 2 writes the winners, base layer first, so that a hard link's
   target is written before the link.  */

#define FLAT_BUF (1u << 20)

enum claim_kind { CLAIM_DIR, CLAIM_OTHER, CLAIM_WHITEOUT };

struct claim {
  char *path;  /* owned */
  int layer;   /* the layer whose entry wins */
  int kind;    /* enum claim_kind */
  int opaque;  /* lower layers than this see nothing below; -1 none */
  struct claim *next;
};

struct claims {
  struct claim **slots;
  size_t nslots, n;
};

static size_t
hash(const char *s)
{
  size_t h = 1469598103934665603u;

  for (; *s != '\0'; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211u;
  return h;
}

static struct claim *
claim_get(const struct claims *c, const char *path)
{
  struct claim *e;

  if (c->nslots == 0)
    return NULL;
  for (e = c->slots[hash(path) % c->nslots]; e != NULL; e = e->next) {
    if (strcmp(e->path, path) == 0)
      return e;
  }
  return NULL;
}

static void
claims_grow(struct claims *c)
{
  size_t n = c->nslots ? c->nslots * 2 : 1024;
  struct claim **slots = cb_xcalloc(n, sizeof(*slots));

  for (size_t i = 0; i < c->nslots; i++) {
    struct claim *e = c->slots[i], *next;

    for (; e != NULL; e = next) {
      next = e->next;
      e->next = slots[hash(e->path) % n];
      slots[hash(e->path) % n] = e;
    }
  }
  free(c->slots);
  c->slots = slots;
  c->nslots = n;
}

/* The claim for PATH, created (layer -1) when missing.  */
static struct claim *
claim_at(struct claims *c, const char *path)
{
  struct claim *e = claim_get(c, path);

  if (e != NULL)
    return e;
  if (c->n + 1 > c->nslots)
    claims_grow(c);
  e = cb_xcalloc(1, sizeof(*e));
  e->path = cb_xstrdup(path);
  e->layer = -1;
  e->opaque = -1;
  e->next = c->slots[hash(path) % c->nslots];
  c->slots[hash(path) % c->nslots] = e;
  c->n++;
  return e;
}

static void
claims_release(struct claims *c)
{
  for (size_t i = 0; i < c->nslots; i++) {
    struct claim *e = c->slots[i], *next;

    for (; e != NULL; e = next) {
      next = e->next;
      free(e->path);
      free(e);
    }
  }
  free(c->slots);
}

/* Whether something above LAYER hides PATH through one of its parent
   directories.  */
static bool
hidden_below(const struct claims *c, const char *path, int layer)
{
  cleanup_free char *p = cb_xstrdup(path);

  for (char *slash = strchr(p, '/'); slash != NULL;
       slash = strchr(slash + 1, '/')) {
    const struct claim *e;

    *slash = '\0';
    e = claim_get(c, p);
    *slash = '/';
    if (e == NULL)
      continue;
    if (e->opaque > layer ||
        (e->layer > layer && e->kind != CLAIM_DIR))
      return true;
  }
  return false;
}

/* One entry of LAYER in pass 1.  */
static void
decide(struct claims *c, const char *name, bool is_dir, int layer)
{
  const char *base = strrchr(name, '/');
  size_t dirlen = base != NULL ? (size_t)(base - name) : 0;
  struct claim *e;

  base = base != NULL ? base + 1 : name;
  if (hidden_below(c, name, layer))
    return;
  if (strcmp(base, ".wh..wh..opq") == 0) {
    cleanup_free char *dir = cb_xstrndup(name, dirlen);

    e = claim_at(c, dir);
    if (e->opaque < layer)
      e->opaque = layer;
    return;
  }
  if (strncmp(base, ".wh.", 4) == 0) {
    cleanup_free char *target = dirlen > 0 ? cb_xasprintf("%.*s/%s",
                                                         (int)dirlen, name,
                                                         base + 4)
                                           : cb_xstrdup(base + 4);

    e = claim_at(c, target);
    if (e->layer < 0) {
      e->layer = layer;
      e->kind = CLAIM_WHITEOUT;
    } else if (e->kind == CLAIM_DIR && e->opaque < layer) {
      e->opaque = layer; /* a deleted dir under a newer one: lower gone */
    }
    return;
  }
  e = claim_at(c, name);
  if (e->layer < 0) {
    e->layer = layer;
    e->kind = is_dir ? CLAIM_DIR : CLAIM_OTHER;
  } else if (e->kind == CLAIM_DIR && !is_dir && e->opaque < layer) {
    e->opaque = layer; /* replaced here by a non-dir: lower gone too */
  }
}

struct pass1 {
  struct layer_reader *reader;
  unsigned char *buf;
  struct cb_error *read_err;
};

static la_ssize_t
read_cb(struct archive *a, void *data, const void **buffer)
{
  struct pass1 *p = data;
  ssize_t n = layer_reader_read(p->reader, p->buf, FLAT_BUF, &p->read_err);

  if (n < 0) {
    archive_set_error(a, EIO, "layer stream failed");
    return -1;
  }
  *buffer = p->buf;
  return n;
}

static int
scan_entries(struct archive *a, struct claims *c, int layer,
             struct cb_error **err)
{
  struct archive_entry *e;
  int r;

  while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK ||
         r == ARCHIVE_WARN) {
    cleanup_free char *name = retar_clean_name(archive_entry_pathname(e)
                                                 ? archive_entry_pathname(e)
                                                 : "");

    if (name == NULL)
      return cb_fail(err, CB_ERR_UNSAFE, 0, "'%s': a name with '..' in it",
                     archive_entry_pathname(e));
    if (name[0] != '\0')
      decide(c, name, archive_entry_filetype(e) == AE_IFDIR, layer);
  }
  if (r != ARCHIVE_EOF)
    return cb_fail(err, CB_ERR_PARSE, 0, "%s",
                   archive_error_string(a) ? archive_error_string(a)
                                           : "broken tar");
  return 0;
}

/* Pass 1 over one layer, checking its blob digest and diff_id.  */
static int
scan_layer(struct layer_store *s, const struct oci_descriptor *d,
           const struct cb_digest *diff_id, struct claims *c, int layer,
           struct cb_error **err)
{
  cleanup_close int fd = layer_store_blob_open(s, &d->digest, err);
  struct pass1 p = { NULL, NULL, NULL };
  struct archive *a = NULL;
  struct cb_digest blob, tar;
  char hex[CB_DIGEST_HEX_LEN + 1];
  int rc = -1;

  cb_digest_hex(&d->digest, hex);
  if (fd < 0 || (p.reader = layer_reader_open(fd, err)) == NULL)
    return cb_wrap(err, "layer %.12s", hex);
  p.buf = cb_xmalloc(FLAT_BUF);
  a = archive_read_new();
  archive_read_support_format_tar(a);
  if (archive_read_open(a, &p, NULL, read_cb, NULL) == ARCHIVE_OK &&
      scan_entries(a, c, layer, err) == 0 &&
      layer_reader_drain(p.reader, err) == 0)
    rc = 0;
  if (rc < 0 && p.read_err != NULL && err != NULL && *err == NULL)
    *err = steal_ptr(&p.read_err);
  if (rc == 0) {
    layer_reader_digests(p.reader, &blob, &tar);
    if (!cb_digest_equal(&blob, &d->digest) ||
        !cb_digest_equal(&tar, diff_id))
      rc = cb_fail(err, CB_ERR_DIGEST, 0, "content does not match its "
                                          "digest or diff_id");
  }
  archive_read_free(a);
  layer_reader_free(p.reader);
  cb_error_free(p.read_err);
  free(p.buf);
  return rc < 0 ? cb_wrap(err, "layer %.12s", hex) : 0;
}

struct pass2 {
  const struct claims *c;
};

static bool
keep_winner(void *data, size_t input, const char *name,
            struct archive_entry *entry)
{
  const struct claim *e = claim_get(((struct pass2 *)data)->c, name);
  const char *base = strrchr(name, '/');

  base = base != NULL ? base + 1 : name;
  return strncmp(base, ".wh.", 4) != 0 && e != NULL &&
         e->layer == (int)input && e->kind != CLAIM_WHITEOUT;
}

int
store_image_flatten_tar(struct layer_store *s, const struct store_image *img,
                        const struct cb_sink *out, struct cb_error **err)
{
  const struct oci_manifest *m = img->manifest;
  struct claims c = { NULL, 0, 0 };
  cleanup_free struct cb_digest *ids = NULL;
  cleanup_free int *fds = cb_xcalloc(m->n_layers + 1, sizeof(int));
  struct retar_opts ro = { -1, NULL };
  struct pass2 p2 = { &c };
  size_t n = 0;
  int rc = 0;

  if (oci_config_diff_ids(img->config, &ids, &n, err) < 0)
    return -1;
  if (n != m->n_layers)
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "the config lists %zu layers, the manifest %zu", n,
                   m->n_layers);
  for (size_t i = m->n_layers; rc == 0 && i-- > 0;)
    rc = scan_layer(s, &m->layers[i], &ids[i], &c, (int)i, err);
  for (size_t i = 0; i < m->n_layers; i++)
    fds[i] = -1;
  for (size_t i = 0; rc == 0 && i < m->n_layers; i++) {
    fds[i] = layer_store_blob_open(s, &m->layers[i].digest, err);
    rc = fds[i] < 0 ? -1 : 0;
  }
  if (rc == 0)
    rc = retar_streams(fds, m->n_layers, &ro, keep_winner, &p2, out, err);
  for (size_t i = 0; i < m->n_layers; i++) {
    if (fds[i] >= 0)
      close(fds[i]);
  }
  claims_release(&c);
  return rc;
}
