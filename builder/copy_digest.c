#include "config.h"

#include "builder/copy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "builder/copy-internal.h"
#include "common/fs.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/banned.h"

/* --- the hash cache --- */

struct hc_ent {
  uint64_t dev, ino, size; /* ino 0: empty slot */
  int64_t mtime_ns, ctime_ns;
  struct cb_digest d;
  bool used;
};

struct copy_hash_cache {
  struct hc_ent *ents;
  size_t n, alloc;
  uint64_t hits, misses;
};

/* The file: magic, version, count, records, then the sha256 of all that
   comes before it.  Native byte order: the file never leaves the host. */
static const char hc_magic[8] = { 'c', 'b', 'h', 'c', 'a', 'c', 'h', 'e' };
#define HC_VERSION 1u
#define HC_HEADER 24 /* magic, u64 version, u64 count */
#define HC_RECORD (5 * 8 + CB_DIGEST_SIZE)

struct copy_hash_cache *
copy_hash_cache_new(void)
{
  return cb_xcalloc(1, sizeof(struct copy_hash_cache));
}

void
copy_hash_cache_free(struct copy_hash_cache *hc)
{
  if (hc == NULL)
    return;
  free(hc->ents);
  free(hc);
}

void
copy_hash_cache_freep(struct copy_hash_cache **hc)
{
  copy_hash_cache_free(*hc);
  *hc = NULL;
}

void
copy_hash_cache_counts(const struct copy_hash_cache *hc, uint64_t *hits,
                       uint64_t *misses)
{
  *hits = hc->hits;
  *misses = hc->misses;
}

int64_t copy_hash_racy_ns = 2000000000;

static int64_t
ns(const struct timespec *t)
{
  return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static struct hc_ent *
hc_slot(struct hc_ent *ents, size_t alloc, uint64_t dev, uint64_t ino)
{
  uint64_t h = ino * 0x9e3779b97f4a7c15ull;
  size_t i;

  h ^= dev + (h >> 29);
  i = (size_t)(h ^ (h >> 32)) & (alloc - 1);
  while (ents[i].ino != 0 && (ents[i].ino != ino || ents[i].dev != dev))
    i = (i + 1) & (alloc - 1);
  return &ents[i];
}

static void
hc_put(struct copy_hash_cache *hc, const struct hc_ent *e)
{
  struct hc_ent *slot;

  if (e->ino == 0)
    return;
  if (2 * (hc->n + 1) > hc->alloc) {
    size_t alloc = hc->alloc ? hc->alloc * 2 : 1024;
    struct hc_ent *ents = cb_xcalloc(alloc, sizeof(*ents));

    for (size_t i = 0; i < hc->alloc; i++)
      if (hc->ents[i].ino != 0)
        *hc_slot(ents, alloc, hc->ents[i].dev, hc->ents[i].ino) = hc->ents[i];
    free(hc->ents);
    hc->ents = ents;
    hc->alloc = alloc;
  }
  slot = hc_slot(hc->ents, hc->alloc, e->dev, e->ino);
  if (slot->ino == 0)
    hc->n++;
  *slot = *e;
}

int
copy_hash_cache_lookup(struct copy_hash_cache *hc, const struct stat *st,
                       struct cb_digest *d)
{
  struct hc_ent *e;

  if (hc->n > 0) {
    e = hc_slot(hc->ents, hc->alloc, st->st_dev, st->st_ino);
    if (e->ino != 0 && e->size == (uint64_t)st->st_size &&
        e->mtime_ns == ns(&st->st_mtim) && e->ctime_ns == ns(&st->st_ctim)) {
      e->used = true;
      *d = e->d;
      hc->hits++;
      return 1;
    }
  }
  hc->misses++;
  return 0;
}

void
copy_hash_cache_store(struct copy_hash_cache *hc, const struct stat *st,
                      const struct cb_digest *d)
{
  struct hc_ent e = { .dev = st->st_dev, .ino = st->st_ino,
                      .size = (uint64_t)st->st_size,
                      .mtime_ns = ns(&st->st_mtim),
                      .ctime_ns = ns(&st->st_ctim), .d = *d, .used = true };
  struct timespec now;

  /* A file changed within the last two seconds may change again without
     its times moving (coarse timestamps): hash it again next time, as
     git does with "racily clean" entries.  */
  clock_gettime(CLOCK_REALTIME, &now);
  if (ns(&now) - e.ctime_ns < copy_hash_racy_ns ||
      ns(&now) - e.mtime_ns < copy_hash_racy_ns)
    return;
  hc_put(hc, &e);
}

static void
put_u64(unsigned char *p, uint64_t v)
{
  memcpy(p, &v, 8);
}

static uint64_t
get_u64(const unsigned char *p)
{
  uint64_t v;

  memcpy(&v, p, 8);
  return v;
}

int
copy_hash_cache_save(const struct copy_hash_cache *hc, int fd,
                     struct cb_error **err)
{
  cleanup_hasher struct cb_hasher *h = cb_hasher_new();
  struct cb_buf b = CB_BUF_INIT;
  unsigned char rec[HC_RECORD];
  struct cb_digest sum;
  uint64_t count = 0;
  int rc;

  cb_buf_add(&b, hc_magic, sizeof(hc_magic));
  put_u64(rec, HC_VERSION);
  cb_buf_add(&b, rec, 8);
  cb_buf_add(&b, rec, 8); /* count, written below */
  for (size_t i = 0; i < hc->alloc; i++) {
    const struct hc_ent *e = &hc->ents[i];

    if (e->ino == 0 || !e->used)
      continue;
    put_u64(rec, e->dev);
    put_u64(rec + 8, e->ino);
    put_u64(rec + 16, e->size);
    put_u64(rec + 24, (uint64_t)e->mtime_ns);
    put_u64(rec + 32, (uint64_t)e->ctime_ns);
    memcpy(rec + 40, e->d.raw, CB_DIGEST_SIZE);
    cb_buf_add(&b, rec, sizeof(rec));
    count++;
  }
  put_u64((unsigned char *)b.data + 16, count);
  cb_hasher_update(h, b.data, b.len);
  cb_hasher_peek(h, &sum);
  cb_buf_add(&b, sum.raw, sizeof(sum.raw));
  rc = cb_write_all(fd, b.data, b.len, err);
  cb_buf_release(&b);
  return rc < 0 ? cb_wrap(err, "cannot write the hash cache") : 0;
}

int
copy_hash_cache_load(struct copy_hash_cache *hc, int fd,
                     struct cb_error **err)
{
  cleanup_free char *buf = NULL;
  const unsigned char *p;
  struct cb_digest sum;
  uint64_t count;
  size_t len = 0;

  if (cb_read_all(fd, CB_MAX_HASH_CACHE_FILE, &buf, &len, err) < 0)
    return cb_wrap(err, "cannot read the hash cache");
  p = (const unsigned char *)buf;
  if (len < HC_HEADER + CB_DIGEST_SIZE ||
      memcmp(p, hc_magic, sizeof(hc_magic)) != 0 ||
      get_u64(p + 8) != HC_VERSION)
    return cb_fail(err, CB_ERR_PARSE, 0, "not a hash cache of this version");
  count = get_u64(p + 16);
  if (count > (len - HC_HEADER - CB_DIGEST_SIZE) / HC_RECORD ||
      HC_HEADER + count * HC_RECORD + CB_DIGEST_SIZE != len)
    return cb_fail(err, CB_ERR_PARSE, 0, "hash cache has a bad length");
  cb_digest_of(p, len - CB_DIGEST_SIZE, &sum);
  if (memcmp(sum.raw, p + len - CB_DIGEST_SIZE, CB_DIGEST_SIZE) != 0)
    return cb_fail(err, CB_ERR_PARSE, 0, "hash cache checksum mismatch");
  for (uint64_t i = 0; i < count; i++) {
    const unsigned char *r = p + HC_HEADER + i * HC_RECORD;
    struct hc_ent e = { .dev = get_u64(r), .ino = get_u64(r + 8),
                        .size = get_u64(r + 16),
                        .mtime_ns = (int64_t)get_u64(r + 24),
                        .ctime_ns = (int64_t)get_u64(r + 32) };

    memcpy(e.d.raw, r + 40, CB_DIGEST_SIZE);
    hc_put(hc, &e);
  }
  return 0;
}

/* --- the digest of a step's sources --- */

struct digest_ctx {
  const struct copy_request *req;
  const struct copy_source *src;
  struct copy_hash_cache *hc;
  struct cb_hasher *h;
  struct copy_filter filter;
  bool owners;
  char *buf; /* COPY_IO_BUF bytes; owned */
};

static void
put_field(struct cb_hasher *h, const void *data, size_t len)
{
  unsigned char n[8];

  put_u64(n, len);
  cb_hasher_update(h, n, sizeof(n));
  cb_hasher_update(h, data, len);
}

static void
put_str(struct cb_hasher *h, const char *s)
{
  put_field(h, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

static void
put_num(struct cb_hasher *h, uint64_t v)
{
  put_field(h, &v, sizeof(v));
}

/* The content digest of regular file FD (stat ST).  A file that fits in
   the buffer is hashed in one piece, without a hasher of its own and
   without a read that only finds the end.  */
static int
file_digest(struct digest_ctx *dc, int fd, const struct stat *st,
            struct cb_digest *d, struct cb_error **err)
{
  cleanup_hasher struct cb_hasher *h = NULL;
  uint64_t total = 0;
  size_t fill = 0;

  for (;;) {
    ssize_t n;

    if (h == NULL && total == (uint64_t)st->st_size)
      break;
    if (fill == COPY_IO_BUF) {
      if (h == NULL)
        h = cb_hasher_new();
      cb_hasher_update(h, dc->buf, fill);
      fill = 0;
    }
    n = read(fd, dc->buf + fill, COPY_IO_BUF - fill);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return cb_fail_errno(err, "read '%s'", cb_buf_str(&dc->filter.rel));
    if (n == 0)
      break;
    fill += (size_t)n;
    total += (uint64_t)n;
  }
  if (h != NULL) {
    cb_hasher_update(h, dc->buf, fill);
    cb_hasher_peek(h, d);
  } else {
    cb_digest_of(dc->buf, fill, d);
  }
  if (total != (uint64_t)st->st_size)
    return cb_fail(err, CB_ERR_SYSTEM, 0, "'%s' changed while it was read",
                   cb_buf_str(&dc->filter.rel));
  return 0;
}

static int
cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of FD's wanted xattrs, sorted, pointing into LIST.  */
static int
xattr_names(struct digest_ctx *dc, int fd, char list[4096],
            const char *names[256], size_t *n, struct cb_error **err)
{
  ssize_t len = flistxattr(fd, list, 4096);

  *n = 0;
  if (len < 0)
    return errno == ENOTSUP || errno == ERANGE
               ? 0
               : cb_fail_errno(err, "list xattrs of '%s'",
                               cb_buf_str(&dc->filter.rel));
  for (const char *p = list; p < list + len && *n < 256; p += strlen(p) + 1)
    if (copy_xattr_wanted(p))
      names[(*n)++] = p;
  qsort(names, *n, sizeof(names[0]), cmp_str);
  return 0;
}

/* Feed the wanted xattrs of FD (open for reading) to H, sorted by name;
   *ANY says whether there were some.  */
static int
put_xattrs(struct digest_ctx *dc, struct cb_hasher *h, int fd, bool *any,
           struct cb_error **err)
{
  char list[4096];
  const char *names[256];
  size_t n;

  if (xattr_names(dc, fd, list, names, &n, err) < 0)
    return -1;
  *any = n > 0;
  for (size_t i = 0; i < n; i++) {
    ssize_t vlen = fgetxattr(fd, names[i], dc->buf, COPY_IO_BUF);

    if (vlen < 0)
      return cb_fail_errno(err, "read xattr of '%s'",
                           cb_buf_str(&dc->filter.rel));
    put_str(h, names[i]);
    put_field(h, dc->buf, (size_t)vlen);
  }
  return 0;
}

/* What a regular file holds: its content digest, or, when it has xattrs we
   copy, the digest of that and of them.  Remembered in the hash cache:
   an xattr change moves the ctime, so a cache hit needs no open at all. */
static int
file_record(struct digest_ctx *dc, int fd, const struct stat *st,
            struct cb_digest *d, struct cb_error **err)
{
  cleanup_hasher struct cb_hasher *xh = NULL;
  char list[4096];
  const char *names[256];
  size_t n;
  bool any;

  if (file_digest(dc, fd, st, d, err) < 0 ||
      xattr_names(dc, fd, list, names, &n, err) < 0)
    return -1;
  if (n > 0) {
    xh = cb_hasher_new();
    put_field(xh, d->raw, sizeof(d->raw));
    if (put_xattrs(dc, xh, fd, &any, err) < 0)
      return -1;
    cb_hasher_peek(xh, d);
  }
  if (dc->hc != NULL)
    copy_hash_cache_store(dc->hc, st, d);
  return 0;
}

/* The record of one entry: path, type, mode, owner, then what it holds. */
static void
put_entry(struct digest_ctx *dc, const struct stat *st)
{
  put_str(dc->h, cb_buf_str(&dc->filter.rel));
  put_num(dc->h, st->st_mode & S_IFMT);
  put_num(dc->h, st->st_mode & 07777);
  if (dc->owners) {
    put_num(dc->h, st->st_uid);
    put_num(dc->h, st->st_gid);
  }
}

static int digest_dir(struct digest_ctx *dc, int fd, struct cb_error **err);

/* Entry NAME of directory DIR_FD (or the open FD when NAME is NULL).  */
static int
digest_entry(struct digest_ctx *dc, int dir_fd, const char *name, int fd,
             const struct stat *st, struct cb_error **err)
{
  cleanup_close int own = -1;
  char target[PATH_MAX];
  struct cb_digest d;

  put_entry(dc, st);
  if (S_ISLNK(st->st_mode)) {
    ssize_t n = readlinkat(dir_fd, name, target, sizeof(target) - 1);

    if (n < 0)
      return cb_fail_errno(err, "read link '%s'", cb_buf_str(&dc->filter.rel));
    put_field(dc->h, target, (size_t)n);
    return 0;
  }
  if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
    put_num(dc->h, st->st_rdev);
    return 0;
  }
  if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
    return 0;
  if (S_ISREG(st->st_mode)) {
    put_num(dc->h, (uint64_t)st->st_size);
    if (dc->hc != NULL && copy_hash_cache_lookup(dc->hc, st, &d)) {
      put_field(dc->h, d.raw, sizeof(d.raw));
      return 0;
    }
  }
  if (fd < 0) {
    own = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC |
                 (S_ISDIR(st->st_mode) ? O_DIRECTORY : 0));
    if (own < 0)
      return cb_fail_errno(err, "open '%s'", cb_buf_str(&dc->filter.rel));
    fd = own;
  }
  if (S_ISDIR(st->st_mode)) {
    bool any;

    if (put_xattrs(dc, dc->h, fd, &any, err) < 0)
      return -1;
    return digest_dir(dc, fd, err);
  }
  if (file_record(dc, fd, st, &d, err) < 0)
    return -1;
  put_field(dc->h, d.raw, sizeof(d.raw));
  return 0;
}

static int
digest_dir(struct digest_ctx *dc, int fd, struct cb_error **err)
{
  cleanup_copy_dirlist struct copy_dirlist dl = { 0 };

  if (copy_dirlist_read(fd, &dl, err) < 0)
    return cb_wrap(err, "'%s'", cb_buf_str(&dc->filter.rel));
  for (size_t i = 0; i < dl.n; i++) {
    const char *name = dl.names + dl.offs[i];
    size_t mark[2];
    struct stat st;
    int rc = 0;

    if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      return cb_fail_errno(err, "stat '%s'", name);
    copy_filter_push(&dc->filter, name, mark);
    if (copy_filter_check(&dc->filter, S_ISDIR(st.st_mode)) != COPY_SKIP)
      rc = digest_entry(dc, fd, name, -1, &st, err);
    copy_filter_pop(&dc->filter, mark);
    if (rc < 0)
      return -1;
  }
  return 0;
}

static int
digest_item(struct digest_ctx *dc, const struct copy_item *it,
            struct cb_error **err)
{
  cleanup_close int fd = -1;
  bool excluded = false;

  put_num(dc->h, it->kind);
  put_str(dc->h, it->keep != NULL ? it->keep : it->name);
  if (it->kind == COPY_ITEM_HEREDOC) {
    put_str(dc->h, it->heredoc->content);
    return 0;
  }
  if (it->kind == COPY_ITEM_URL) {
    put_str(dc->h, it->url);
    put_str(dc->h, dc->req->checksum);
    return dc->req->checksum == NULL ? 1 : 0;
  }
  /* As copy_apply: --exclude takes a top-level file by its name.  */
  if (dc->filter.excludes != NULL && !S_ISDIR(it->st.st_mode))
    ignore_matcher_matches_clean(dc->filter.excludes,
                                 it->keep != NULL ? it->keep : it->name,
                                 &excluded, NULL);
  put_num(dc->h, excluded);
  if (excluded)
    return 0;
  copy_filter_start(&dc->filter, it);
  if (!S_ISREG(it->st.st_mode) && !S_ISDIR(it->st.st_mode))
    return digest_entry(dc, -1, NULL, -1, &it->st, err) < 0 ? -1 : 0;
  fd = copy_item_open(dc->src, it,
                      O_RDONLY | O_NOCTTY |
                          (S_ISDIR(it->st.st_mode) ? O_DIRECTORY : 0),
                      err);
  if (fd < 0)
    return -1;
  return digest_entry(dc, -1, NULL, fd, &it->st, err) < 0 ? -1 : 0;
}

int
copy_sources_digest(const struct copy_request *req,
                    const struct copy_source *src, struct copy_hash_cache *hc,
                    struct cb_digest *out, struct cb_error **err)
{
  cleanup_copy_plan struct copy_plan plan = { 0 };
  struct digest_ctx dc = { .req = req, .src = src, .hc = hc };
  int rc = 0, volatile_ = 0;

  dc.owners = req->chown == NULL && src->keep_owners;
  if (copy_filter_init(&dc.filter, req, src, err) < 0)
    return -1;
  if (copy_plan_build(req, src, &plan, err) < 0) {
    copy_filter_release(&dc.filter);
    return -1;
  }
  dc.h = cb_hasher_new();
  dc.buf = cb_xmalloc(COPY_IO_BUF);
  put_str(dc.h, "cbuild copy sources v1");
  for (size_t i = 0; rc >= 0 && i < plan.n; i++) {
    rc = digest_item(&dc, &plan.items[i], err);
    if (rc > 0)
      volatile_ = 1;
  }
  if (rc >= 0)
    cb_hasher_peek(dc.h, out);
  cb_hasher_free(dc.h);
  free(dc.buf);
  copy_filter_release(&dc.filter);
  return rc < 0 ? -1 : volatile_;
}
