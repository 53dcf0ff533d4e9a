#include "config.h"

#include "builder/build.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>

#include "builder/build-internal.h"
#include "builder/copy.h"
#include "builder/pull.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/mem.h"
#include "layers/oci.h"
#include "parser/dockerfile.h"
#include "common/banned.h"

/* --- cache keys --- */

static void
hash_str(struct cb_hasher *h, const char *s)
{
  /* Length-prefixed, so that ("ab","c") and ("a","bc") differ.  */
  char len[24];
  int n = snprintf(len, sizeof(len), "%zu:", strlen(s));

  cb_hasher_update(h, len, (size_t)n);
  cb_hasher_update(h, s, strlen(s));
}

void
step_key(const struct step *st, char *const *extra, struct cb_digest *key)
{
  char prev[CB_DIGEST_STR_LEN];
  cleanup_hasher struct cb_hasher *h = cb_hasher_new();

  cb_digest_str(&st->si->key, prev);
  hash_str(h, prev);
  hash_str(h, instr_kind_name(st->in->kind));
  if (st->in->json)
    hash_str(h, "json");
  for (size_t i = 0; st->words[i] != NULL; i++)
    hash_str(h, st->words[i]);
  hash_str(h, "--");
  for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
    hash_str(h, extra[i]);
  cb_hasher_peek(h, key);
}

int64_t
step_now(const struct build *b)
{
  return b->o->timestamp >= 0 ? b->o->timestamp : (int64_t)time(NULL);
}

/* The key under which the step after the stage's last one recorded what
   it saw, so that a miss can say what changed.  The stage's number is in
   it: stages on the same base share the key before their first step.  */
static void
next_key(const struct step *st, struct cb_digest *out)
{
  char s[CB_DIGEST_STR_LEN], n[24];
  cleanup_hasher struct cb_hasher *h = cb_hasher_new();

  cb_digest_str(&st->si->key, s);
  snprintf(n, sizeof(n), "%d", st->stage_idx);
  hash_str(h, "next");
  hash_str(h, s);
  hash_str(h, n);
  cb_hasher_peek(h, out);
}

/* Which member of the input KEY changed between OLD and NOW (objects
   such as "build arg" or "source"), or just KEY.  New string.  */
static char *
what_changed(const char *key, json_t *now, json_t *old)
{
  const char *name;
  json_t *x;

  if (!json_is_object(now) || !json_is_object(old))
    return cb_xasprintf("%s changed", key);
  json_object_foreach(now, name, x)
    if (!json_equal(x, json_object_get(old, name)))
      return cb_xasprintf("%s '%s' changed", key, name);
  json_object_foreach(old, name, x)
    if (json_object_get(now, name) == NULL)
      return cb_xasprintf("%s '%s' is gone", key, name);
  return cb_xasprintf("%s changed", key);
}

/* What differs between the step's inputs INFO and those of the step that
   last followed the same previous step.  New string.  */
static char *
miss_reason(struct build *b, const struct step *st, json_t *info)
{
  struct cache_record last;
  struct cb_digest k;
  struct cb_error *e = NULL;
  const char *key;
  json_t *v;
  char *why = NULL;

  if (b->o->no_cache)
    return cb_xstrdup("--no-cache");
  if (st->uncacheable)
    return cb_xstrdup("a URL without --checksum is fetched every time");
  next_key(st, &k);
  if (layer_store_cache_get(b->s, &k, &last, &e) <= 0 || last.info == NULL) {
    cb_error_free(e);
    cache_record_release(&last);
    return cb_xstrdup(st->si->missed ? "an earlier step changed"
                                     : "not built before");
  }
  json_object_foreach(info, key, v) {
    json_t *old = json_object_get(last.info, key);

    if (json_equal(old, v))
      continue;
    if (strcmp(key, "instruction") == 0)
      why = cb_xasprintf("the instruction changed (was: %s)",
                         json_string_value(old) ? json_string_value(old)
                                                : "?");
    else
      why = what_changed(key, v, old);
    break;
  }
  cache_record_release(&last);
  return why != NULL ? why : cb_xstrdup("the result was not kept");
}

int
step_cache_lookup(struct step *st, const struct cb_digest *key,
                  struct cache_record *rec, struct cb_error **err)
{
  struct build *b = st->b;
  json_t *info = rec->info; /* the caller's description of the inputs */
  cleanup_free char *why = NULL;
  struct cache_record rec_next;
  struct cb_digest k;
  int rc = 0;

  rec->info = NULL;
  b->lookups++;
  if (!b->o->no_cache && !st->uncacheable) {
    rc = layer_store_cache_get(b->s, key, rec, err);
    if (rc < 0) {
      json_decref(info);
      return -1;
    }
  }
  if (rc > 0) {
    json_decref(info);
    progress_cache(b->progress, b->step, true, NULL);
    b->cached++;
    return 1;
  }
  /* The try outside the namespace stops here (step_through_cache) and
     must leave the record of what this step saw for the build proper.  */
  if (b->o->probe) {
    json_decref(info);
    return 0;
  }
  why = miss_reason(b, st, info);
  progress_cache(b->progress, b->step, false, why);
  st->si->missed = true;
  /* Remember what this step saw, for the next miss's reason.  */
  memset(&rec_next, 0, sizeof(rec_next));
  rec_next.info = info;
  next_key(st, &k);
  if (layer_store_cache_put(b->s, &k, &rec_next, err) < 0)
    rc = -1;
  json_decref(info);
  rec->info = NULL;
  return rc;
}

/* --- applying results --- */

static int
add_history(struct stage_image *si, const struct instr *in, char **words,
            int64_t created, bool empty, struct cb_error **err)
{
  cleanup_free char *by = imgconfig_created_by(in, words);
  char when[OCI_TIME_LEN];
  struct oci_history h;

  oci_format_time(created, when);
  h = (struct oci_history){ when, by, NULL, empty };
  return oci_config_add_history(si->img.config, &h, err);
}

/* The key after a step: its own key and what it produced, so that the
   steps after a rebuilt one still hit when it made the same layer (a
   stage rebuilt to the same artifact), and never hit a record made on
   top of different content.  */
static void
result_key(const struct cb_digest *key, const struct cache_record *rec,
           struct cb_digest *out)
{
  cleanup_hasher struct cb_hasher *h = cb_hasher_new();
  char s[CB_DIGEST_STR_LEN];

  cb_digest_str(key, s);
  hash_str(h, "result");
  hash_str(h, s);
  if (rec->has_layer)
    cb_digest_str(&rec->diff_id, s);
  hash_str(h, rec->has_layer ? s : "none");
  cb_hasher_peek(h, out);
}

int
step_commit(struct step *st, const struct cb_digest *key,
            const struct cache_record *rec, struct cb_error **err)
{
  struct stage_image *si = st->si;
  cleanup_free char *by = NULL;
  char when[OCI_TIME_LEN];
  struct oci_history h;

  result_key(key, rec, &si->key);
  if (rec->created > si->last_created)
    si->last_created = rec->created;
  if (!rec->has_layer)
    return add_history(si, st->in, st->words, rec->created, true, err);
  by = imgconfig_created_by(st->in, st->words);
  oci_format_time(rec->created, when);
  h = (struct oci_history){ when, by, NULL, false };
  if (oci_config_add_layer(si->img.config, &rec->diff_id, &h, err) < 0)
    return -1;
  oci_manifest_add_layer(si->img.manifest, &rec->layer);
  progress_layer(st->b->progress, st->b->step, &rec->layer.digest,
                 rec->layer.size);
  return 0;
}

int
build_probe_stop(struct build *b, const char *what, struct cb_error **err)
{
  b->probe_stopped = true;
  cb_log(CB_LOG_DEBUG, "build: %s needs the user namespace", what);
  return cb_fail(err, CB_ERR_UNSUPPORTED, 0, "%s needs the user namespace",
                 what);
}

int
step_through_cache(struct step *st, char *const *extra, json_t *info,
                   bool uncacheable, step_exec_fn fn, void *data,
                   struct cb_error **err)
{
  struct cache_record rec;
  struct cb_digest key;
  int rc;

  step_key(st, extra, &key);
  memset(&rec, 0, sizeof(rec));
  rec.info = info;
  st->uncacheable = uncacheable;
  rc = step_cache_lookup(st, &key, &rec, err);
  if (rc == 0 && st->b->o->probe) {
    cache_record_release(&rec);
    return build_probe_stop(st->b, "a cache miss", err);
  }
  if (rc == 0) {
    rc = fn(st, data, &rec, err);
    if (rc < 0) {
      cache_record_release(&rec);
      return cb_wrap(err, "%s:%d: %s", st->b->file, st->in->line,
                     st->in->node->original);
    }
    rc = layer_store_cache_put(st->b->s, &key, &rec, err);
  }
  if (rc >= 0)
    rc = step_commit(st, &key, &rec, err);
  cache_record_release(&rec);
  return rc < 0 ? -1 : 0;
}

/* --- the base image --- */

static void
key_of(const char *kind, const char *what, struct cb_digest *out)
{
  cleanup_hasher struct cb_hasher *h = cb_hasher_new();

  hash_str(h, kind);
  hash_str(h, what);
  cb_hasher_peek(h, out);
}

static int
base_scratch(struct stage_image *si, struct cb_error **err)
{
  si->img.config = oci_config_new(builder_host_os(), builder_host_arch(), err);
  if (si->img.config == NULL)
    return -1;
  si->img.manifest = oci_manifest_new();
  key_of("scratch", "", &si->key);
  return 0;
}

static void
base_stage(struct stage_image *si, struct stage_scope *sc,
           const struct stage_image *from)
{
  for (size_t i = 0; i < from->args.n; i++)
    shell_env_set(&sc->args, from->args.names[i], from->args.values[i]);
  si->img.config = json_deep_copy(from->img.config);
  si->img.manifest = oci_manifest_new();
  for (size_t i = 0; i < from->img.manifest->n_layers; i++)
    oci_manifest_add_layer(si->img.manifest, &from->img.manifest->layers[i]);
  si->key = from->key;
  si->last_created = from->last_created;
  si->missed = from->missed;
}

static int64_t
config_created(const json_t *cfg)
{
  const char *c = json_string_value(json_object_get(cfg, "created"));
  struct tm tm;

  memset(&tm, 0, sizeof(tm));
  if (c == NULL || strptime(c, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
    return 0;
  return (int64_t)timegm(&tm);
}

/* NAME from its registry, named there by its full reference, unless the
   store has it by that reference already.  */
static int
pull_base(struct build *b, const char *name, struct store_image *img,
          struct cb_error **err)
{
  const struct registry_client_config cfg = { .tls_verify = true };
  const struct registry_platform platform = { builder_host_os(),
                                              builder_host_arch(), NULL };
  cleanup_free char *full = NULL;
  struct image_ref ref;
  struct cb_digest d;
  struct cb_error *e = NULL;
  int rc;

  if (b->o->probe)
    return build_probe_stop(b, "a pull", err);
  if (image_ref_parse(name, &ref, err) < 0)
    return -1;
  image_ref_normalize(&ref);
  full = image_ref_string(&ref);
  if (layer_store_resolve(b->s, full, img, &e) == 0) {
    image_ref_release(&ref);
    return 0;
  }
  cb_error_free(e);
  progress_note(b->progress, "pulling %s", full);
  rc = image_pull(b->s, &ref, &cfg, &platform, full, &d, err);
  image_ref_release(&ref);
  if (rc < 0)
    return cb_wrap(err, "pulling '%s'", full);
  return layer_store_resolve(b->s, full, img, err);
}

int
build_find_image(struct build *b, const char *name, struct store_image *img,
                 struct cb_error **err)
{
  struct cb_error *e = NULL;

  if (layer_store_resolve(b->s, name, img, &e) == 0)
    return 0;
  if (e->kind != CB_ERR_USAGE) {
    *err = e;
    return -1;
  }
  cb_error_free(e);
  return pull_base(b, name, img, err);
}

static int
base_image(struct build *b, struct stage_image *si, const char *name,
           struct cb_error **err)
{
  struct store_image img;
  char d[CB_DIGEST_STR_LEN];

  if (build_find_image(b, name, &img, err) < 0)
    return cb_wrap(err, "FROM %s", name);
  si->img.config = json_deep_copy(img.config);
  si->img.manifest = oci_manifest_new();
  for (size_t i = 0; i < img.manifest->n_layers; i++)
    oci_manifest_add_layer(si->img.manifest, &img.manifest->layers[i]);
  cb_digest_str(&img.manifest_digest, d);
  key_of("image", d, &si->key);
  si->last_created = config_created(img.config);
  store_image_release(&img);
  return 0;
}

/* FROM --platform sees the global ARGs, the automatic platform ARGs among
   them ("FROM --platform=$BUILDPLATFORM"), as the FROM image name does.  */
static int
check_platform(struct build *b, const struct instr *in, struct cb_error **err)
{
  const struct shell_opts opts = { b->ep->plan->df->escape, 0 };
  cleanup_free char *want = NULL, *host = NULL;

  if (in->platform == NULL)
    return 0;
  want = shell_expand_word(in->platform, &b->ep->global_args, &opts, err);
  if (want == NULL)
    return cb_wrap(err, "%s:%d", b->file, in->line);
  host = cb_xasprintf("%s/%s", builder_host_os(), builder_host_arch());
  if (strcmp(want, host) != 0)
    return cb_fail(err, CB_ERR_UNSUPPORTED, 0,
                   "%s:%d: FROM --platform=%s: only this host's platform "
                   "(%s) can be built", b->file, in->line, want, host);
  return 0;
}

/* The base of stage SP into SI, and its Env into the scope.  */
static int
stage_base(struct build *b, const struct stage_plan *sp, struct stage_image *si,
           struct stage_scope *sc, struct cb_error **err)
{
  json_t *env, *v;
  size_t i;

  if (check_platform(b, sp->stage->from, err) < 0)
    return -1;
  if (sp->base_stage >= 0)
    base_stage(si, sc, &b->stages[sp->base_stage]);
  else if (strcmp(sp->base, "scratch") == 0) {
    if (base_scratch(si, err) < 0)
      return -1;
  } else if (base_image(b, si, sp->base, err) < 0) {
    return cb_wrap(err, "%s:%d", b->file, sp->stage->from->line);
  }
  env = oci_config_get(si->img.config, "Env");
  json_array_foreach(env, i, v)
    if (json_is_string(v))
      shell_env_set_pair(&sc->env, json_string_value(v));
  return 0;
}

/* --- instructions --- */

static int
step_metadata(struct step *st, struct imgconfig_state *cs,
              struct cb_error **err)
{
  struct build *b = st->b;

  if (imgconfig_apply(st->si->img.config, cs, st->in, st->words, b->file,
                      err) < 0 ||
      stage_scope_apply(st->scope, st->in, b->file, err) < 0)
    return -1;
  if (st->in->kind == INSTR_WORKDIR)
    return step_workdir(st, err);
  step_key(st, NULL, &st->si->key);
  return add_history(st->si, st->in, st->words, st->si->last_created, true,
                     err);
}

/* The key takes the ARG as written (defaults expanded), not the value a
   --build-arg gives it: as in Docker, a new value misses at its first
   use (a RUN, which keys on the ARGs it sees, or an instruction whose
   expansion changes), not at the ARG, and the miss names the arg.  */
static int
step_arg(struct step *st, struct cb_error **err)
{
  if (stage_scope_apply(st->scope, st->in, st->b->file, err) < 0)
    return -1;
  step_key(st, NULL, &st->si->key);
  /* BuildKit records ARG in the history too, as an empty layer.  */
  return add_history(st->si, st->in, st->words, st->si->last_created, true,
                     err);
}

static int
run_instr(struct step *st, struct imgconfig_state *cs, struct cb_error **err)
{
  switch (st->in->kind) {
  case INSTR_ARG:
    return step_arg(st, err);
  case INSTR_RUN:
    return step_run(st, err);
  case INSTR_COPY:
  case INSTR_ADD:
    return step_copy(st, err);
  default:
    if (imgconfig_is_metadata(st->in))
      return step_metadata(st, cs, err);
    return cb_fail(err, CB_ERR_UNSUPPORTED, 0, "%s:%d: %s is not supported",
                   st->b->file, st->in->line, instr_kind_name(st->in->kind));
  }
}

static int
do_step(struct build *b, struct stage_image *si, struct stage_scope *sc,
        struct imgconfig_state *cs, const struct instr *in, const char *stage,
        struct cb_error **err)
{
  struct step st = { b, si, sc, (int)(si - b->stages), in, NULL, false,
                     NULL };
  const char *text = in->node->original;
  int rc;

  while (*text == ' ' || *text == '\t')
    text++;
  b->step++;
  st.where = cb_xasprintf("%s%s%d/%d", stage ? stage : "",
                          stage ? " " : "", b->step, b->nsteps);
  st.words = stage_scope_expand(sc, in, b->file, err);
  progress_step_start(b->progress, b->step, st.where, text);
  rc = st.words == NULL ? -1 : run_instr(&st, cs, err);
  progress_step_end(b->progress, b->step, rc == 0);
  b->ran++;
  cb_strv_free(st.words);
  free(st.where);
  return rc;
}

/* ONBUILD triggers of the base image run first (Docker), and are not
   passed on.  */
static int
run_triggers(struct build *b, struct stage_image *si, struct stage_scope *sc,
             struct imgconfig_state *cs, const char *stage,
             struct cb_error **err)
{
  cleanup_json json_t *triggers =
      json_incref(oci_config_get(si->img.config, "OnBuild"));
  json_t *t;
  size_t i;

  if (!json_is_array(triggers) || json_array_size(triggers) == 0)
    return 0;
  if (oci_config_set(si->img.config, "OnBuild", NULL, err) < 0)
    return -1;
  json_array_foreach(triggers, i, t) {
    const char *text = json_string_value(t);
    cleanup_dockerfile struct dockerfile *df = NULL;
    struct instr in;
    int rc;

    if (text == NULL)
      continue;
    if (dockerfile_parse("ONBUILD", text, strlen(text), &df, err) < 0 ||
        df->nnodes != 1)
      return cb_fail(err, CB_ERR_PARSE, 0, "base image ONBUILD '%s' is not "
                     "one instruction", text);
    if (instr_check(&in, &df->nodes[0], "ONBUILD", err) < 0)
      return -1;
    b->nsteps++;
    rc = do_step(b, si, sc, cs, &in, stage, err);
    instr_release(&in);
    if (rc < 0)
      return cb_wrap(err, "base image trigger 'ONBUILD %s'", text);
  }
  return 0;
}

static int
build_stage(struct build *b, int idx, struct cb_error **err)
{
  const struct stage_plan *sp = &b->ep->stages[idx];
  const struct stage *stage = sp->stage;
  struct stage_image *si = &b->stages[idx];
  struct imgconfig_state cs = { false };
  struct stage_scope sc;
  const char *text = stage->from->node->original;
  cleanup_free char *where = NULL;
  int rc;

  stage_scope_init(&sc, b->o->build_args, &b->ep->global_args,
                   b->ep->plan->df->escape);
  while (*text == ' ' || *text == '\t')
    text++;
  b->step++;
  where = cb_xasprintf("%s%s%d/%d", stage->name ? stage->name : "",
                       stage->name ? " " : "", b->step, b->nsteps);
  progress_step_start(b->progress, b->step, where, text);
  rc = stage_base(b, sp, si, &sc, err);
  progress_step_end(b->progress, b->step, rc == 0);
  if (rc == 0)
    rc = run_triggers(b, si, &sc, &cs, stage->name, err);
  for (size_t i = 1; rc == 0 && i < stage->ninstrs; i++)
    rc = do_step(b, si, &sc, &cs, &stage->instrs[i], stage->name, err);
  for (size_t i = 0; i < sc.args.n; i++)
    shell_env_set(&si->args, sc.args.names[i], sc.args.values[i]);
  stage_scope_release(&sc);
  si->built = rc == 0;
  return rc;
}

int
build_private_mounts(struct cb_error **err)
{
  if (unshare(CLONE_NEWNS) < 0)
    return cb_fail_errno(err, "build: cannot make a mount namespace");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return cb_fail_errno(err, "build: cannot make mounts private");
  return 0;
}

/* Context file digests from earlier builds: <store>/cache/file-digests.
   A damaged file only means files are read again.  */
#define HASH_CACHE_NAME "cache/file-digests"

static struct copy_hash_cache *
hash_cache_load(struct layer_store *s)
{
  struct copy_hash_cache *hc = copy_hash_cache_new();
  cleanup_close int fd = openat(layer_store_root_fd(s), HASH_CACHE_NAME,
                                O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct cb_error *e = NULL;

  if (fd >= 0 && copy_hash_cache_load(hc, fd, &e) < 0) {
    cb_log(CB_LOG_DEBUG, "%s: %s (starting empty)", HASH_CACHE_NAME, e->msg);
    cb_error_free(e);
    copy_hash_cache_free(hc);
    hc = copy_hash_cache_new();
  }
  return hc;
}

static void
hash_cache_save(struct layer_store *s, struct copy_hash_cache *hc)
{
  int root = layer_store_root_fd(s);
  char tmp[64];
  cleanup_close int fd = -1;
  struct cb_error *e = NULL;
  uint64_t hits, misses;

  /* Nothing learned, nothing to write (a no-op rebuild of a large
     context would rewrite the whole file).  */
  copy_hash_cache_counts(hc, &hits, &misses);
  if (misses == 0)
    return;

  snprintf(tmp, sizeof(tmp), "%s.%ld", HASH_CACHE_NAME, (long)getpid());
  if (mkdirat(root, "cache", 0700) < 0 && errno != EEXIST)
    return;
  fd = openat(root, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
              O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  /* Rename: a concurrent build reads a whole file, old or new.  */
  if (copy_hash_cache_save(hc, fd, &e) < 0 ||
      renameat(root, tmp, root, HASH_CACHE_NAME) < 0) {
    cb_log(CB_LOG_DEBUG, "%s: not saved", HASH_CACHE_NAME);
    cb_error_free(e);
    unlinkat(root, tmp, 0);
  }
}

static void
build_release(struct build *b)
{
  if (b->hash_cache != NULL) {
    hash_cache_save(b->s, b->hash_cache);
    copy_hash_cache_free(b->hash_cache);
  }
  for (size_t i = 0; b->stages != NULL && i < b->ep->nstages; i++) {
    store_image_release(&b->stages[i].img);
    shell_env_release(&b->stages[i].args);
  }
  free(b->stages);
  exec_plan_free(b->ep);
  progress_free(b->progress);
}

/* The storage driver for every step: --storage-driver, the variable,
   or the probe (a fork and a mount), made when a step first needs a root
   filesystem so that a fully cached build does not pay for it; a note
   when the probe picked vfs.  */
static int
pick_driver(struct build *b, struct cb_error **err)
{
  cleanup_free char *why = NULL;
  int rc;

  if (b->driver_known)
    return 0;
  rc = rootfs_driver_choose(b->s, b->o->storage_driver, "--storage-driver",
                            &b->driver, &why, err);
  if (rc > 0 && b->driver == ROOTFS_DRIVER_VFS)
    progress_note(b->progress, "using the vfs storage driver (slower: "
                  "every step copies the image): %s", why);
  b->driver_known = rc >= 0;
  return rc < 0 ? -1 : 0;
}

int
build_driver(struct build *b, enum rootfs_driver *out, struct cb_error **err)
{
  if (pick_driver(b, err) < 0)
    return -1;
  *out = b->driver;
  return 0;
}

int
build_rootfs_create(struct build *b, char *const *lowers, struct rootfs *rf,
                    struct cb_error **err)
{
  enum rootfs_driver d;

  memset(rf, 0, sizeof(*rf));
  if (b->o->probe)
    return build_probe_stop(b, "a root filesystem", err);
  if (build_driver(b, &d, err) < 0)
    return -1;
  return rootfs_create(b->s, lowers, d, rf, err);
}

static int
build_all(struct build *b, struct build_result *res, struct cb_error **err)
{
  const char *source = NULL;

  for (size_t i = 0; i < b->ep->norder; i++)
    b->nsteps += (int)b->ep->stages[b->ep->order[i]].stage->ninstrs;
  b->stages = cb_xcalloc(b->ep->nstages, sizeof(*b->stages));
  /* Stale run dirs may hold files of subordinate ids: only from inside.  */
  if (!b->o->probe)
    rootfs_clean_stale(b->s);
  /* A bad --storage-driver is an error at once, cached build or not.  */
  if (rootfs_driver_requested(b->o->storage_driver, "--storage-driver",
                              &b->driver, &source, err) < 0)
    return -1;
  for (size_t i = 0; i < b->ep->norder; i++)
    if (build_stage(b, b->ep->order[i], err) < 0)
      return -1;
  if (commit_image(b, &b->stages[b->ep->target], res, err) < 0)
    return -1;
  res->steps = b->ran;
  res->cached = b->cached;
  res->cacheable = b->lookups;
  return 0;
}

/* What a build reads before anything runs: the context, the Dockerfile
   parsed and checked, and the plan.  */
struct loaded {
  struct build_context *ctx;
  char *text;
  struct dockerfile *df;
  struct build_plan *plan;
  struct exec_plan *ep;
};

static void
loaded_release(struct loaded *l)
{
  exec_plan_free(l->ep);
  build_plan_free(l->plan);
  dockerfile_free(l->df);
  free(l->text);
  build_context_free(l->ctx);
}

/* --lint: the Dockerfile as read, checked before anything runs.  */
static int
lint_before_build(const struct build_opts *o, const struct loaded *l,
                  size_t len, struct cb_error **err)
{
  struct lint_opts lo = { l->text, len, l->ctx->ignore_name != NULL,
                          o->target, NULL, 0 };

  return lint_gate(l->plan, &lo, l->ctx->dockerfile_name, o->lint, err);
}

/* --progress auto for a stream that is not stderr itself.  */
static enum progress_mode
progress_resolve(enum progress_mode m)
{
  if (m != PROGRESS_AUTO)
    return m;
  return isatty(STDERR_FILENO) ? PROGRESS_TTY : PROGRESS_PLAIN;
}

static void
print_warnings(const struct loaded *l)
{
  for (char **w = l->df->warnings; w != NULL && *w != NULL; w++)
    cb_log(CB_LOG_WARN, "%s:%s", l->ctx->dockerfile_name, *w);
}

static int
load(const struct build_opts *o, struct loaded *l, struct cb_error **err)
{
  size_t len = 0;

  memset(l, 0, sizeof(*l));
  l->ctx = build_context_open(o->context, o->dockerfile, &l->text, &len, err);
  if (l->ctx == NULL ||
      dockerfile_parse(l->ctx->dockerfile_name, l->text, len, &l->df, err) < 0)
    return -1;
  if (!o->probe)
    print_warnings(l);
  if (build_plan_new(l->df, &l->plan, err) < 0 ||
      exec_plan_new(l->plan, o->build_args, o->target, &l->ep, err) < 0 ||
      lint_before_build(o, l, len, err) < 0)
    return -1;
  return 0;
}

int
build_print_plan(const struct build_opts *o, FILE *out, struct cb_error **err)
{
  struct loaded l;
  const struct build_context *ctx;
  size_t n;
  int rc = load(o, &l, err);

  if (rc == 0) {
    ctx = l.ctx;
    n = ignore_matcher_count(ctx->ignore);
    fprintf(out, "context: %s\ndockerfile: %s\n", ctx->dir,
            ctx->dockerfile_name);
    fprintf(out, "dockerignore: %s (%zu pattern%s)\n",
            ctx->ignore_name ? ctx->ignore_name : "none", n,
            n == 1 ? "" : "s");
    for (size_t i = 0; i < o->ntags; i++)
      fprintf(out, "tag: %s\n", o->tags[i]);
    exec_plan_print(l.ep, out);
  }
  loaded_release(&l);
  return rc;
}

int
build_image(struct layer_store *s, const struct build_opts *o,
            struct build_result *res, struct cb_error **err)
{
  struct loaded l;
  struct build b;
  FILE *held = NULL; /* the probe's progress, until it succeeds */
  char *held_text = NULL;
  size_t held_len = 0;
  int rc;

  memset(&b, 0, sizeof(b));
  memset(res, 0, sizeof(*res));
  if (load(o, &l, err) < 0) {
    loaded_release(&l);
    return -1;
  }
  b.s = s;
  b.o = o;
  b.ctx = l.ctx;
  b.file = l.ctx->dockerfile_name;
  b.ep = l.ep;
  l.ep = NULL; /* build_release frees it */
  if (o->probe)
    held = open_memstream(&held_text, &held_len);
  b.progress = progress_new(progress_resolve(o->progress),
                            held != NULL ? held : stderr);
  b.hash_cache = hash_cache_load(s);
  rc = build_all(&b, res, err);
  build_release(&b);
  if (held != NULL && fclose(held) == 0 && rc == 0) {
    print_warnings(&l);
    fwrite(held_text, 1, held_len, stderr);
  }
  free(held_text);
  loaded_release(&l);
  if (rc < 0 && b.probe_stopped) {
    cb_error_free(*err);
    *err = NULL;
    return 1;
  }
  return rc;
}
