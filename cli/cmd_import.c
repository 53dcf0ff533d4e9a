#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/imgconfig.h"
#include "builder/plan.h"
#include "builder/scope.h"
#include "builder/userns.h"
#include "cli/cli.h"
#include "cli/cli_store.h"
#include "common/cleanup.h"
#include "common/mem.h"
#include "layers/layer.h"
#include "layers/oci.h"
#include "layers/retar.h"
#include "layers/writer.h"
#include "parser/dockerfile.h"
#include "parser/instructions.h"
#include "registry/reference.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild import [OPTIONS] SOURCE [NAME[:TAG]]\n"
  "\n"
  "Make a one-layer image from a root filesystem: SOURCE is a tar file\n"
  "(plain or compressed), - for a tar on stdin, or a directory.\n"
  "\n"
  "Options:\n"
  "  -t, --tag NAME[:TAG]     name the image (repeatable)\n"
  "  -c, --change INSTR       apply a Dockerfile instruction to the config\n"
  "                           (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, ...)\n"
  "  -m, --message TEXT       the history comment\n"
  "  --compression ALGO       gzip (default), zstd or none\n"
  "  --compression-level N    the compression level\n"
  "  --timestamp SECONDS      the creation time and the newest mtime in the\n"
  "                           layer (default: $SOURCE_DATE_EPOCH, else now\n"
  "                           without clamping)\n"
  "  --root DIR               the store\n";

struct import_opts {
  const char *source;
  char **names; /* store names, owned */
  size_t nnames;
  char **changes; /* borrowed from argv */
  size_t nchanges;
  const char *message;
  struct layer_write_opts lw;
  int64_t created;
};

static void
import_opts_release(struct import_opts *o)
{
  for (size_t i = 0; i < o->nnames; i++)
    free(o->names[i]);
  free(o->names);
  free(o->changes);
}

static int
add_name(struct import_opts *o, const char *spec, struct cb_error **err)
{
  struct image_ref ref;

  if (image_ref_parse(spec, &ref, err) < 0)
    return -1;
  o->names = cb_xreallocarray(o->names, o->nnames + 1, sizeof(*o->names));
  o->names[o->nnames++] = image_ref_local_name(&ref);
  image_ref_release(&ref);
  return 0;
}

static int
import_opt(void *data, int id, const char *arg, struct cb_error **err)
{
  struct import_opts *o = data;
  int64_t v;

  switch (id) {
  case 't':
    return add_name(o, arg, err);
  case 'c':
    o->changes = cb_xreallocarray(o->changes, o->nchanges + 1,
                                  sizeof(*o->changes));
    o->changes[o->nchanges++] = (char *)arg;
    return 0;
  case 'm':
    o->message = arg;
    return 0;
  case 'C':
    return layer_compression_parse(arg, &o->lw.compression, err);
  case 'L':
    if (cli_parse_int64(arg, "compression level", &v, err) < 0)
      return -1;
    o->lw.level = (int)(v > 100 ? 100 : v);
    return 0;
  default:
    return cli_parse_int64(arg, "timestamp", &o->lw.timestamp, err);
  }
}

static int
parse_options(int argc, char **argv, struct import_opts *o,
              struct cb_error **err)
{
  static const struct cli_opt opts[] = {
    { "tag", 't', true, 't' },
    { "change", 'c', true, 'c' },
    { "message", 'm', true, 'm' },
    { "compression", 0, true, 'C' },
    { "compression-level", 0, true, 'L' },
    { "timestamp", 0, true, 'T' },
    { NULL, 0, false, 0 },
  };
  int first = 0;
  int rc = cli_parse(&cli_cmd_import, argc, argv, opts, true, import_opt, o,
                     &first, err);

  if (rc != 0)
    return rc;
  if (argc - first < 1 || argc - first > 2)
    return cli_usage_error(&cli_cmd_import, err,
                           "expected SOURCE and at most one NAME");
  o->source = argv[first];
  if (argc - first == 2 && add_name(o, argv[first + 1], err) < 0)
    return -1;
  return 0;
}

/* The creation time and the mtime clamp: --timestamp, else
   SOURCE_DATE_EPOCH (both clamp), else now (no clamp).  */
static int
pick_time(struct import_opts *o, struct cb_error **err)
{
  if (cli_pick_timestamp(&o->lw.timestamp, err) < 0)
    return -1;
  o->created = o->lw.timestamp >= 0 ? o->lw.timestamp : (int64_t)time(NULL);
  return 0;
}

/* One --change: parsed and checked like a Dockerfile line, then applied
   to the config as the builder would.  */
static int
apply_change(json_t *cfg, struct imgconfig_state *st, struct stage_scope *sc,
             const char *text, struct cb_error **err)
{
  cleanup_dockerfile struct dockerfile *df = NULL;
  cleanup_strv char **words = NULL;
  struct instr in;
  int rc;

  if (dockerfile_parse("--change", text, strlen(text), &df, err) < 0)
    return -1;
  if (df->nnodes != 1)
    return cb_fail(err, CB_ERR_USAGE, 0, "--change '%s': one instruction",
                   text);
  if (instr_check(&in, &df->nodes[0], "--change", err) < 0)
    return -1;
  if (!imgconfig_is_metadata(&in)) {
    rc = cb_fail(err, CB_ERR_USAGE, 0,
                 "--change '%s': %s cannot be applied by import", text,
                 instr_kind_name(in.kind));
  } else {
    words = stage_scope_expand(sc, &in, "--change", err);
    rc = words == NULL ? -1
                       : imgconfig_apply(cfg, st, &in, words, "--change", err);
    if (rc == 0)
      rc = stage_scope_apply(sc, &in, "--change", err);
  }
  instr_release(&in);
  return rc;
}

static int
apply_changes(json_t *cfg, const struct import_opts *o, struct cb_error **err)
{
  struct shell_env none = SHELL_ENV_INIT;
  struct imgconfig_state st = { false };
  struct stage_scope sc;
  int rc = 0;

  stage_scope_init(&sc, &none, &none, '\\');
  for (size_t i = 0; i < o->nchanges && rc == 0; i++)
    rc = apply_change(cfg, &st, &sc, o->changes[i], err);
  stage_scope_release(&sc);
  return rc;
}

struct tar_source {
  int fd;
  struct retar_opts ro;
};

static int
produce_retar(void *data, const struct cb_sink *tar, struct cb_error **err)
{
  struct tar_source *t = data;

  return retar_stream(t->fd, &t->ro, tar, err);
}

/* The layer from SOURCE, streamed into a new blob.  */
static int
write_layer(struct layer_store *s, struct import_opts *o,
            struct layer_write_result *res, struct cb_error **err)
{
  cleanup_close int fd = -1;
  struct blob_writer *w;
  struct cb_sink sink;
  struct stat st;
  int rc;

  fd = strcmp(o->source, "-") == 0 ? dup(STDIN_FILENO)
                                   : open(o->source, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &st) < 0)
    return cb_fail_errno(err, "cannot open '%s'", o->source);
  w = layer_store_blob_begin(s, err);
  if (w == NULL)
    return -1;
  sink = blob_writer_sink(w);
  if (S_ISDIR(st.st_mode)) {
    /* An ordinary user's files stand for root's in the image.  */
    o->lw.root_uid = (uint32_t)geteuid();
    o->lw.root_gid = (uint32_t)getegid();
    rc = layer_write(fd, &o->lw, &sink, res, err);
  } else {
    /* The error is wrapped with the source below.  */
    struct tar_source t = { fd, { o->lw.timestamp, NULL } };

    rc = layer_write_stream(produce_retar, &t, &o->lw, &sink, res, err);
  }
  if (rc < 0) {
    blob_writer_abort(w);
    return cb_wrap(err, "cannot import '%s'", o->source);
  }
  return blob_writer_commit(w, &res->digest, NULL, NULL, err);
}

/* The history's created_by: "cbuild import NAME" with the last component
   of SOURCE only, so that the same rootfs gives the same image wherever
   its file lies.  */
static char *
source_name(const char *source)
{
  size_t n = strlen(source);
  const char *base;

  while (n > 1 && source[n - 1] == '/')
    n--;
  base = n > 1 ? memrchr(source, '/', n - 1) : NULL;
  base = base != NULL ? base + 1 : source;
  return cb_xasprintf("cbuild import %.*s", (int)(n - (size_t)(base - source)),
                      base);
}

static json_t *
image_config(const struct import_opts *o, const struct layer_write_result *l,
             struct cb_error **err)
{
  cleanup_json json_t *cfg = NULL;
  cleanup_free char *by = NULL;
  char created[OCI_TIME_LEN];
  struct oci_history h;

  cfg = oci_config_new(builder_host_os(), builder_host_arch(), err);
  if (cfg == NULL || oci_config_set_created(cfg, o->created, err) < 0 ||
      apply_changes(cfg, o, err) < 0)
    return NULL;
  oci_format_time(o->created, created);
  by = source_name(o->source);
  h = (struct oci_history){ created, by, o->message, false };
  if (oci_config_add_layer(cfg, &l->diff_id, &h, err) < 0)
    return NULL;
  return steal_ptr(&cfg);
}

/* Config and manifest into the store; the manifest's digest and size.  */
static int
write_image(struct layer_store *s, json_t *cfg,
            const struct layer_write_result *l, struct cb_digest *id,
            struct cb_digest *manifest, size_t *msize, struct cb_error **err)
{
  cleanup_oci_manifest struct oci_manifest *m = oci_manifest_new();
  cleanup_free char *ctext = NULL;
  cleanup_free char *mtext = NULL;
  struct oci_descriptor cd, ld;
  struct cb_digest cdig;
  size_t clen = 0;
  int rc;

  ctext = oci_json_dump(cfg, &clen);
  if (layer_store_put_blob(s, ctext, clen, &cdig, err) < 0 ||
      oci_descriptor_init(&cd, OCI_MEDIA_CONFIG, &cdig, clen, err) < 0)
    return -1;
  oci_manifest_set_config(m, &cd);
  oci_descriptor_release(&cd);
  *id = cdig;
  if (oci_descriptor_init(&ld, l->media_type, &l->digest, l->size, err) < 0)
    return -1;
  oci_manifest_add_layer(m, &ld);
  oci_descriptor_release(&ld);
  mtext = oci_manifest_serialize(m, msize);
  rc = layer_store_put_blob(s, mtext, *msize, manifest, err);
  return rc;
}

/* An ordinary user's directory is read from inside the user namespace,
   where the caller is root: files it owns but cannot read (mode 000) are
   readable there, and they come out owned by 0 without any mapping.
   Returns 1 when the namespace ran the import (*STATUS is its exit
   status), 0 to import here.  */
static int
import_in_userns(const struct import_opts *o, int *status,
                 struct cb_error **err)
{
  struct stat st;

  if (geteuid() == 0 || strcmp(o->source, "-") == 0 ||
      stat(o->source, &st) < 0 || !S_ISDIR(st.st_mode))
    return 0;
  return userns_reexec(cli_main_argv, status, err);
}

static int
import(struct import_opts *o, struct cb_error **err)
{
  cleanup_layer_store struct layer_store *s = NULL;
  cleanup_json json_t *cfg = NULL;
  struct layer_write_result l;
  struct cb_digest manifest, id;
  char hex[CB_DIGEST_HEX_LEN + 1];
  size_t msize = 0;
  int status = 0;
  int rc;

  if (pick_time(o, err) < 0)
    return -1;
  rc = import_in_userns(o, &status, err);
  if (rc != 0)
    return rc < 0 ? -1 : status;
  s = cli_store_open(err);
  if (s == NULL || layer_store_lock(s, err) < 0)
    return -1;
  rc = 0;
  if (write_layer(s, o, &l, err) < 0 ||
      (cfg = image_config(o, &l, err)) == NULL ||
      write_image(s, cfg, &l, &id, &manifest, &msize, err) < 0)
    rc = -1;
  for (size_t i = 0; rc == 0 && i < o->nnames; i++)
    rc = layer_store_tag(s, o->names[i], &manifest, msize, OCI_MEDIA_MANIFEST,
                         err);
  layer_store_unlock(s);
  if (rc < 0)
    return -1;
  cb_digest_hex(&id, hex);
  printf("%s\n", hex);
  return 0;
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  struct import_opts o;
  int rc;

  memset(&o, 0, sizeof(o));
  o.lw = (struct layer_write_opts)LAYER_WRITE_OPTS_INIT;
  rc = parse_options(argc, argv, &o, err);
  if (rc == 0)
    rc = import(&o, err);
  else if (rc == 1) /* --help printed the usage */
    rc = 0;
  import_opts_release(&o);
  return rc;
}

const struct cli_command cli_cmd_import = {
  .name = "import",
  .summary = "make a one-layer image from a root filesystem tar or directory",
  .usage = usage,
  .run = run,
};
