#include "config.h"

#include "layers/compress.h"

#include <errno.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "common/mem.h"

#include "common/banned.h"

/* gzip is compressed in independent 1 MiB chunks, each written as its own
   gzip member (RFC 1952 section 2.2: "a gzip file consists of a series of
   members").  We chose members over pigz's single member of raw deflate
   blocks joined by sync flushes because:
   - libdeflate, two to three times faster than zlib at the same level,
     compresses only whole buffers and always ends with a final block, so
     its output cannot be joined into one deflate stream; zlib could, but
     it would cost most of the speed that two cores buy;
   - members need no shared state between chunks (no dictionary hand-off,
     no crc32_combine), so a worker never waits for another;
   - every gzip reader that matters reads all members: gzip -d, pigz,
     Go's compress/gzip (multistream by default, used by containerd,
     Docker, skopeo and umoci), zlib's gzread, libarchive.
   The cost is 18 header and trailer bytes per MiB and the 32 KiB of history
   lost at each chunk start, a fraction of a percent of the output.  Chunk
   boundaries fall at fixed offsets of the input and members are written in
   input order, so the output depends on the bytes alone.  */
#define GZ_CHUNK (1u << 20)

/* zstd jobs of 1 MiB instead of the default 4x window (8 MiB at level 3)
   keep two workers, their buffers and the input ring near 16 MiB, for
   0.3% more output than 2 MiB jobs.  The output of streaming multithreaded
   zstd depends on the parameters, never on the number of workers, so this
   must stay fixed.  */
#define ZSTD_JOB_SIZE (1u << 20)

enum slot_state {
  SLOT_FREE,   /* owned by the writer: being filled */
  SLOT_QUEUED, /* waiting for a worker */
  SLOT_BUSY,   /* a worker compresses it */
  SLOT_DONE,   /* compressed, waiting to be written out in order */
};

struct gz_slot {
  unsigned char *in; /* owned, GZ_CHUNK bytes */
  size_t in_len;
  unsigned char *out; /* owned, gz_out_cap bytes */
  size_t out_len;     /* 0: did not fit (cannot happen within the bound) */
  enum slot_state state;
};

/* A chunk whose bytes look random (already compressed data, encrypted
   or random files) is written as stored deflate blocks: deflate at any
   level spends as long on it as on text (~90 MB/s a core here) to save
   nothing, while storing runs at memory speed.  Two checks, both on
   integers and libdeflate's own output, so the choice depends on the
   bytes alone and the output stays reproducible:
   - the byte histogram is flat, of a GZ_SAMPLE prefix and of the whole
     chunk: Pearson's chi-square against the uniform distribution below
     GZ_FLAT_CHI2 (random bytes average 255 with a standard deviation of
     23 at any length; text and binaries are in the thousands);
   - a GZ_SAMPLE prefix does not shrink by 1/GZ_SAMPLE_GAIN at level 1,
     which catches short repeats that a flat histogram does not show.  */
#define GZ_FLAT_CHI2 512
#define GZ_SAMPLE (64u << 10)
#define GZ_SAMPLE_GAIN 64

struct gz_worker {
  struct compressor *z;
  struct libdeflate_compressor *ld;    /* owned */
  struct libdeflate_compressor *store; /* owned, level 0 */
  struct libdeflate_compressor *probe; /* owned, level 1 */
  unsigned char *probe_out;            /* owned, probe_cap bytes */
  size_t probe_cap;
  pthread_t thread;
  bool started;
};

struct compressor {
  enum layer_compression kind;
  struct cb_sink out; /* borrowed */
  bool failed;
  bool finished;

  /* gzip: a ring of slots; sequence number S lives in slots[S % nslots].
     emitted <= taken <= queued <= fill, and fill - emitted < nslots.  */
  struct gz_slot *slots;
  size_t nslots;
  size_t gz_out_cap;
  uint64_t fill;    /* the slot the writer fills */
  uint64_t queued;  /* slots below this are handed to workers */
  uint64_t taken;   /* slots below this were taken by a worker */
  uint64_t emitted; /* slots below this are written out and free again */
  struct gz_worker *workers;
  size_t nworkers;
  pthread_mutex_t lock;
  pthread_cond_t work_cond; /* workers: taken < queued, or stop */
  pthread_cond_t done_cond; /* writer: a slot became SLOT_DONE */
  bool stop;
  bool sync_ready;

  /* zstd */
  ZSTD_CCtx *zc;
  unsigned char *zbuf; /* owned, zbuf_cap bytes */
  size_t zbuf_cap;
};

int
compress_level_resolve(enum layer_compression c, int level,
                       struct cb_error **err)
{
  int max = 0, def = 0;

  switch (c) {
  case LAYER_COMPRESS_NONE:
    break;
  case LAYER_COMPRESS_GZIP:
    max = COMPRESS_GZIP_LEVEL_MAX;
    def = COMPRESS_GZIP_LEVEL_DEFAULT;
    break;
  case LAYER_COMPRESS_ZSTD:
    max = COMPRESS_ZSTD_LEVEL_MAX;
    def = COMPRESS_ZSTD_LEVEL_DEFAULT;
    break;
  default:
    return cb_fail(err, CB_ERR_USAGE, 0, "unknown compression %d", (int)c);
  }
  if (level == 0)
    return def;
  if (level < 1 || level > max) {
    if (max == 0)
      return cb_fail(err, CB_ERR_USAGE, 0,
                     "compression level %d: no level applies to 'none'", level);
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "compression level %d is out of range 1-%d for '%s'", level,
                   max, layer_compression_name(c));
  }
  return level;
}

static int
zstd_fail(struct cb_error **err, size_t r, const char *what)
{
  return cb_fail(err, CB_ERR_SYSTEM, 0, "zstd: %s: %s", what,
                 ZSTD_getErrorName(r));
}

/* --- gzip --- */

/* True when the N bytes at P have a flat histogram (see GZ_FLAT_CHI2).
   N is at most GZ_CHUNK, so no sum below can overflow 64 bits.  */
static bool
histogram_is_flat(const unsigned char *p, size_t n)
{
  /* Four tables, so that runs of one byte value do not make each
     increment wait for the one before.  */
  uint32_t count[4][256] = { { 0 } };
  uint64_t sum = 0;
  size_t i = 0;

  for (; i + 4 <= n; i += 4) {
    count[0][p[i]]++;
    count[1][p[i + 1]]++;
    count[2][p[i + 2]]++;
    count[3][p[i + 3]]++;
  }
  for (; i < n; i++)
    count[0][p[i]]++;
  /* chi2 = sum((c - n/256)^2 / (n/256)) = sum((256c - n)^2) / (256 n)  */
  for (size_t b = 0; b < 256; b++) {
    uint32_t c = count[0][b] + count[1][b] + count[2][b] + count[3][b];
    int64_t d = (int64_t)c * 256 - (int64_t)n;

    sum += (uint64_t)(d * d);
  }
  return sum < (uint64_t)GZ_FLAT_CHI2 * 256 * n;
}

static bool
chunk_is_incompressible(struct gz_worker *w, const unsigned char *p, size_t n)
{
  size_t out;

  /* The prefix first: most chunks are text or code, and it tells.  */
  if (n < GZ_SAMPLE || !histogram_is_flat(p, GZ_SAMPLE) ||
      !histogram_is_flat(p, n))
    return false;
  out = libdeflate_deflate_compress(w->probe, p, GZ_SAMPLE, w->probe_out,
                                    w->probe_cap);
  return out == 0 || out > GZ_SAMPLE - GZ_SAMPLE / GZ_SAMPLE_GAIN;
}

static void *
gz_worker_main(void *arg)
{
  struct gz_worker *w = arg;
  struct compressor *z = w->z;

  pthread_mutex_lock(&z->lock);
  for (;;) {
    struct gz_slot *s;

    while (!z->stop && z->taken == z->queued)
      pthread_cond_wait(&z->work_cond, &z->lock);
    if (z->stop)
      break;
    s = &z->slots[z->taken++ % z->nslots];
    s->state = SLOT_BUSY;
    pthread_mutex_unlock(&z->lock);

    s->out_len = libdeflate_gzip_compress(
        chunk_is_incompressible(w, s->in, s->in_len) ? w->store : w->ld, s->in,
        s->in_len, s->out, z->gz_out_cap);

    pthread_mutex_lock(&z->lock);
    s->state = SLOT_DONE;
    pthread_cond_broadcast(&z->done_cond);
  }
  pthread_mutex_unlock(&z->lock);
  return NULL;
}

static void
gz_stop_workers(struct compressor *z)
{
  if (z->workers == NULL)
    return;
  pthread_mutex_lock(&z->lock);
  z->stop = true;
  pthread_cond_broadcast(&z->work_cond);
  pthread_mutex_unlock(&z->lock);
  for (size_t i = 0; i < z->nworkers; i++) {
    if (z->workers[i].started)
      pthread_join(z->workers[i].thread, NULL);
    z->workers[i].started = false;
  }
}

static int
gz_init(struct compressor *z, int level, int threads, struct cb_error **err)
{
  int e;

  z->nworkers = (size_t)threads;
  /* One slot per worker, one being filled, one compressed and waiting to
     be written: enough to keep every worker busy, and no more.  */
  z->nslots = z->nworkers + 2;
  z->gz_out_cap = libdeflate_gzip_compress_bound(NULL, GZ_CHUNK);
  z->slots = cb_xcalloc(z->nslots, sizeof(*z->slots));
  for (size_t i = 0; i < z->nslots; i++) {
    z->slots[i].in = cb_xmalloc(GZ_CHUNK);
    z->slots[i].out = cb_xmalloc(z->gz_out_cap);
  }
  pthread_mutex_init(&z->lock, NULL);
  pthread_cond_init(&z->work_cond, NULL);
  pthread_cond_init(&z->done_cond, NULL);
  z->sync_ready = true;
  z->workers = cb_xcalloc(z->nworkers, sizeof(*z->workers));
  for (size_t i = 0; i < z->nworkers; i++) {
    struct gz_worker *w = &z->workers[i];

    w->z = z;
    w->ld = libdeflate_alloc_compressor(level);
    w->store = libdeflate_alloc_compressor(0);
    w->probe = libdeflate_alloc_compressor(1);
    if (w->ld == NULL || w->store == NULL || w->probe == NULL)
      return cb_fail(err, CB_ERR_SYSTEM, ENOMEM,
                     "gzip: cannot create a level %d compressor", level);
    w->probe_cap = libdeflate_deflate_compress_bound(NULL, GZ_SAMPLE);
    w->probe_out = cb_xmalloc(w->probe_cap);
    e = pthread_create(&w->thread, NULL, gz_worker_main, w);
    if (e != 0)
      return cb_fail(err, CB_ERR_SYSTEM, e, "gzip: cannot start a thread");
    w->started = true;
  }
  return 0;
}

/* Write out the oldest slot in flight, waiting for it if BLOCK; with
   !BLOCK, return 0 at once when it is not compressed yet.  Returns 1 when
   a slot was written.  */
static int
gz_emit_one(struct compressor *z, bool block, struct cb_error **err)
{
  struct gz_slot *s = &z->slots[z->emitted % z->nslots];
  int r;

  if (z->emitted == z->queued)
    return 0;
  pthread_mutex_lock(&z->lock);
  while (block && s->state != SLOT_DONE)
    pthread_cond_wait(&z->done_cond, &z->lock);
  r = s->state == SLOT_DONE;
  pthread_mutex_unlock(&z->lock);
  if (!r)
    return 0;
  if (s->out_len == 0)
    return cb_fail(err, CB_ERR_SYSTEM, 0,
                   "gzip: compressed chunk exceeds its bound");
  if (cb_sink_write(&z->out, s->out, s->out_len, err) < 0)
    return -1;
  /* Only the writer touches a DONE slot, so no lock is needed to free it:
     workers take QUEUED slots only.  */
  s->state = SLOT_FREE;
  s->in_len = 0;
  z->emitted++;
  return 1;
}

/* Hand the slot being filled to the workers and make the next one
   writable, writing out what is done first.  */
static int
gz_queue(struct compressor *z, struct cb_error **err)
{
  int r;

  pthread_mutex_lock(&z->lock);
  z->slots[z->fill % z->nslots].state = SLOT_QUEUED;
  z->queued = ++z->fill;
  pthread_cond_signal(&z->work_cond);
  pthread_mutex_unlock(&z->lock);

  while ((r = gz_emit_one(z, false, err)) > 0)
    ;
  if (r < 0)
    return -1;
  if (z->fill - z->emitted == z->nslots && gz_emit_one(z, true, err) < 0)
    return -1;
  return 0;
}

static int
gz_write(struct compressor *z, const unsigned char *p, size_t len,
         struct cb_error **err)
{
  while (len > 0) {
    struct gz_slot *s = &z->slots[z->fill % z->nslots];
    size_t n = GZ_CHUNK - s->in_len;

    if (n > len)
      n = len;
    memcpy(s->in + s->in_len, p, n);
    s->in_len += n;
    p += n;
    len -= n;
    if (s->in_len == GZ_CHUNK && gz_queue(z, err) < 0)
      return -1;
  }
  return 0;
}

static int
gz_finish(struct compressor *z, struct cb_error **err)
{
  /* An empty stream still needs one (empty) member to be valid gzip.  */
  if (z->slots[z->fill % z->nslots].in_len > 0 || z->fill == 0) {
    if (gz_queue(z, err) < 0)
      return -1;
  }
  while (z->emitted < z->queued) {
    if (gz_emit_one(z, true, err) < 0)
      return -1;
  }
  gz_stop_workers(z);
  return 0;
}

static void
gz_release(struct compressor *z)
{
  gz_stop_workers(z);
  for (size_t i = 0; z->workers != NULL && i < z->nworkers; i++) {
    libdeflate_free_compressor(z->workers[i].ld);
    libdeflate_free_compressor(z->workers[i].store);
    libdeflate_free_compressor(z->workers[i].probe);
    free(z->workers[i].probe_out);
  }
  free(z->workers);
  for (size_t i = 0; z->slots != NULL && i < z->nslots; i++) {
    free(z->slots[i].in);
    free(z->slots[i].out);
  }
  free(z->slots);
  if (z->sync_ready) {
    pthread_mutex_destroy(&z->lock);
    pthread_cond_destroy(&z->work_cond);
    pthread_cond_destroy(&z->done_cond);
  }
}

/* --- zstd --- */

static int
zstd_set(struct compressor *z, ZSTD_cParameter p, int value, const char *what,
         struct cb_error **err)
{
  size_t r = ZSTD_CCtx_setParameter(z->zc, p, value);

  if (ZSTD_isError(r))
    return zstd_fail(err, r, what);
  return 0;
}

static int
zstd_init(struct compressor *z, int level, int threads, struct cb_error **err)
{
  z->zc = ZSTD_createCCtx();
  if (z->zc == NULL)
    return cb_fail(err, CB_ERR_SYSTEM, ENOMEM, "zstd: cannot create context");
  if (zstd_set(z, ZSTD_c_compressionLevel, level, "set level", err) < 0 ||
      zstd_set(z, ZSTD_c_checksumFlag, 1, "set checksum", err) < 0 ||
      zstd_set(z, ZSTD_c_nbWorkers, threads, "set workers", err) < 0 ||
      zstd_set(z, ZSTD_c_jobSize, (int)ZSTD_JOB_SIZE, "set job size", err) < 0)
    return -1;
  z->zbuf_cap = ZSTD_CStreamOutSize();
  z->zbuf = cb_xmalloc(z->zbuf_cap);
  return 0;
}

/* Feed IN to zstd with MODE until it is consumed (ZSTD_e_continue) or the
   frame is complete (ZSTD_e_end), writing out what comes back.  */
static int
zstd_pump(struct compressor *z, ZSTD_inBuffer *in, ZSTD_EndDirective mode,
          struct cb_error **err)
{
  for (;;) {
    ZSTD_outBuffer o = { z->zbuf, z->zbuf_cap, 0 };
    size_t left = ZSTD_compressStream2(z->zc, &o, in, mode);

    if (ZSTD_isError(left))
      return zstd_fail(err, left, "compress");
    if (o.pos > 0 && cb_sink_write(&z->out, z->zbuf, o.pos, err) < 0)
      return -1;
    if (mode == ZSTD_e_end ? left == 0 : in->pos == in->size)
      return 0;
  }
}

static int
zstd_write(struct compressor *z, const void *buf, size_t len,
           struct cb_error **err)
{
  ZSTD_inBuffer in = { buf, len, 0 };

  return zstd_pump(z, &in, ZSTD_e_continue, err);
}

static int
zstd_finish(struct compressor *z, struct cb_error **err)
{
  ZSTD_inBuffer in = { NULL, 0, 0 };

  return zstd_pump(z, &in, ZSTD_e_end, err);
}

/* --- the interface --- */

struct compressor *
compressor_new(enum layer_compression c, int level, int threads,
               const struct cb_sink *out, struct cb_error **err)
{
  struct compressor *z;
  int r = 0;

  level = compress_level_resolve(c, level, err);
  if (level < 0)
    return NULL;
  if (threads == 0)
    threads = COMPRESS_THREADS_DEFAULT;
  if (threads < 1 || threads > COMPRESS_THREADS_MAX)
    return cb_fail_null(err, CB_ERR_USAGE, 0,
                        "compression threads %d is out of range 1-%d", threads,
                        COMPRESS_THREADS_MAX);
  z = cb_xcalloc(1, sizeof(*z));
  z->kind = c;
  z->out = *out;
  if (c == LAYER_COMPRESS_GZIP)
    r = gz_init(z, level, threads, err);
  else if (c == LAYER_COMPRESS_ZSTD)
    r = zstd_init(z, level, threads, err);
  if (r < 0) {
    compressor_free(z);
    return NULL;
  }
  return z;
}

int
compressor_write(struct compressor *z, const void *buf, size_t len,
                 struct cb_error **err)
{
  int r;

  if (z->failed || z->finished)
    return cb_fail(err, CB_ERR_USAGE, 0, "compressor: write after %s",
                   z->failed ? "an error" : "finish");
  if (len == 0)
    return 0;
  switch (z->kind) {
  case LAYER_COMPRESS_GZIP:
    r = gz_write(z, buf, len, err);
    break;
  case LAYER_COMPRESS_ZSTD:
    r = zstd_write(z, buf, len, err);
    break;
  default:
    r = cb_sink_write(&z->out, buf, len, err);
    break;
  }
  if (r < 0)
    z->failed = true;
  return r;
}

int
compressor_finish(struct compressor *z, struct cb_error **err)
{
  int r = 0;

  if (z->failed || z->finished)
    return cb_fail(err, CB_ERR_USAGE, 0, "compressor: finish after %s",
                   z->failed ? "an error" : "finish");
  if (z->kind == LAYER_COMPRESS_GZIP)
    r = gz_finish(z, err);
  else if (z->kind == LAYER_COMPRESS_ZSTD)
    r = zstd_finish(z, err);
  if (r < 0)
    z->failed = true;
  else
    z->finished = true;
  return r;
}

static int
compressor_sink_write(void *data, const void *buf, size_t len,
                      struct cb_error **err)
{
  return compressor_write(data, buf, len, err);
}

struct cb_sink
compressor_sink(struct compressor *z)
{
  struct cb_sink s = { compressor_sink_write, z };

  return s;
}

void
compressor_free(struct compressor *z)
{
  if (z == NULL)
    return;
  if (z->kind == LAYER_COMPRESS_GZIP)
    gz_release(z);
  ZSTD_freeCCtx(z->zc);
  free(z->zbuf);
  free(z);
}

void
compressor_freep(struct compressor **z)
{
  compressor_free(*z);
  *z = NULL;
}
