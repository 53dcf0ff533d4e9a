#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/build.h"
#include "builder/context.h"
#include "builder/mounts.h"
#include "builder/plan.h"
#include "layers/archive.h"
#include "layers/image.h"
#include "builder/userns.h"
#include "cli/cli.h"
#include "cli/cli_publish.h"
#include "cli/cli_store.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/mem.h"
#include "parser/dockerfile.h"
#include "parser/instructions.h"
#include "parser/shell.h"
#include "registry/reference.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild build [OPTIONS] CONTEXT\n"
  "       cbuild [OPTIONS] CONTEXT\n"
  "\n"
  "Build an image from the Dockerfile in CONTEXT, rootless: RUN steps run\n"
  "in cbuild's user namespace sandbox.  The image goes into the store;\n"
  "its ID is printed on stdout.\n"
  "\n"
  "Options:\n"
  "  -t, --tag NAME[:TAG]     name the image (repeatable)\n"
  "  -f, --file FILE          the Dockerfile (default CONTEXT/Dockerfile; - "
  "for stdin)\n"
  "      --build-arg NAME[=VALUE]\n"
  "                           set a build-time variable (NAME alone takes "
  "the\n"
  "                           value from the environment)\n"
  "      --target STAGE       build up to this stage\n"
  "      --no-cache           run every step again\n"
  "      --label KEY=VALUE    add a label to the image (repeatable)\n"
  "      --annotation KEY=VALUE\n"
  "                           add an annotation to the manifest (repeatable)\n"
  "      --network MODE       host (default) or none, for every RUN\n"
  "      --platform OS/ARCH   only this host's platform for now\n"
  "      --progress MODE      auto, plain, tty or json (to stderr)\n"
  "  -q, --quiet              print only the image ID\n"
  "      --plan               print the stages and their instructions after\n"
  "                           expansion, and stop without building\n"
  "      --iidfile FILE       write the image ID (sha256:...) to FILE\n"
  "  -o, --output type=TYPE,dest=PATH  also write the image out (repeatable):\n"
  "                           oci or docker (an archive file), oci-dir (an\n"
  "                           OCI layout directory), local (the root\n"
  "                           filesystem as a new directory), tar (the root\n"
  "                           filesystem as a tar file); a bare PATH is local\n"
  "      --timestamp SECONDS  clamp file times and set every 'created' to\n"
  "                           this (default: $SOURCE_DATE_EPOCH when set)\n"
  "      --compression ALGO   gzip (default) or zstd for new layers\n"
  "      --storage-driver overlay|vfs|auto\n"
  "                           how RUN, COPY and ADD see the image so far\n"
  "                           (default auto: overlay where it works; also\n"
  "                           $CBUILD_STORAGE_DRIVER)\n"
  "      --lint off|warn|error\n"
  "                           check the Dockerfile first, as 'cbuild lint':\n"
  "                           warn logs the findings, error also refuses to\n"
  "                           build on an error-severity one (default off)\n"
  "      --secret id=ID[,src=FILE|env=VAR]\n"
  "                           a secret for RUN --mount=type=secret; it never\n"
  "                           enters a layer, the cache key or the log\n"
  "      --push               push each -t NAME to its registry after the\n"
  "                           build (and the scan) succeeded\n"
  CLI_PUBLISH_SCAN_USAGE;

enum output_type { OUT_ARCHIVE, OUT_LOCAL, OUT_TAR };

struct build_output {
  enum output_type type;
  enum archive_format format; /* OUT_ARCHIVE */
  char *dest;                 /* owned */
};

struct build_cli {
  char **tags; /* store names; owned */
  size_t ntags;
  char **labels; /* borrowed from argv */
  size_t nlabels;
  char **annotations; /* borrowed from argv */
  size_t nannotations;
  const char *file;
  const char *target;
  const char *iidfile;
  const char *platform;
  struct shell_env build_args;
  struct build_secrets secrets;
  bool plan_only;
  struct build_output *outputs;
  size_t noutputs;
  struct build_opts bo;
  struct cli_publish pub; /* --push, --scan */
};

static void
build_cli_release(struct build_cli *o)
{
  for (size_t i = 0; i < o->ntags; i++)
    free(o->tags[i]);
  free(o->tags);
  free(o->labels);
  free(o->annotations);
  shell_env_release(&o->build_args);
  build_secrets_release(&o->secrets);
  for (size_t i = 0; i < o->noutputs; i++)
    free(o->outputs[i].dest);
  free(o->outputs);
  cli_publish_release(&o->pub);
}

/* The type= of -o: an archive format, local or tar.  */
static int
output_type(const char *t, struct build_output *out, struct cb_error **err)
{
  static const struct {
    const char *name;
    enum output_type type;
    enum archive_format format;
  } types[] = {
    { "oci", OUT_ARCHIVE, ARCHIVE_OCI },
    { "docker", OUT_ARCHIVE, ARCHIVE_DOCKER },
    { "oci-dir", OUT_ARCHIVE, ARCHIVE_OCI_DIR },
    { "local", OUT_LOCAL, ARCHIVE_OCI },
    { "tar", OUT_TAR, ARCHIVE_OCI },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(types); i++)
    if (strcmp(t, types[i].name) == 0) {
      out->type = types[i].type;
      out->format = types[i].format;
      return 0;
    }
  return cli_usage_error(&cli_cmd_build, err, "-o: unknown type '%s' (oci, "
                         "docker, oci-dir, local or tar)", t);
}

/* -o type=T,dest=PATH, or -o PATH (local), as docker build takes it.  */
static int
add_output(struct build_cli *o, const char *spec, struct cb_error **err)
{
  struct build_output out = { OUT_LOCAL, ARCHIVE_OCI, NULL };
  cleanup_free char *copy = cb_xstrdup(spec);
  bool typed = false;

  if (strchr(spec, '=') == NULL) {
    out.dest = cb_xstrdup(spec);
  } else {
    for (char *f = copy, *next; f != NULL; f = next) {
      next = strchr(f, ',');
      if (next != NULL)
        *next++ = '\0';
      if (strncmp(f, "type=", 5) == 0) {
        if (output_type(f + 5, &out, err) < 0)
          return free(out.dest), -1;
        typed = true;
      } else if (strncmp(f, "dest=", 5) == 0 && f[5] != '\0') {
        free(out.dest);
        out.dest = cb_xstrdup(f + 5);
      } else {
        free(out.dest);
        return cli_usage_error(&cli_cmd_build, err, "-o: unknown field '%s' "
                               "(type=, dest=)", f);
      }
    }
  }
  if (out.dest == NULL || (!typed && strchr(spec, '=') != NULL))
    return free(out.dest), cli_usage_error(&cli_cmd_build, err,
                                           "-o '%s' needs type= and dest=",
                                           spec);
  o->outputs = cb_xreallocarray(o->outputs, o->noutputs + 1,
                                sizeof(*o->outputs));
  o->outputs[o->noutputs++] = out;
  return 0;
}

/* --build-arg NAME=VALUE, or NAME alone: the value comes from the
   environment, and an unset NAME is left out (as docker build does).  */
static void
add_build_arg(struct build_cli *o, const char *arg)
{
  const char *eq = strchr(arg, '=');
  const char *env;

  if (eq != NULL) {
    shell_env_set_pair(&o->build_args, arg);
    return;
  }
  env = getenv(arg);
  if (env != NULL)
    shell_env_set(&o->build_args, arg, env);
}

static int
add_tag(struct build_cli *o, const char *spec, struct cb_error **err)
{
  struct image_ref ref;

  if (image_ref_parse(spec, &ref, err) < 0)
    return cb_wrap(err, "--tag");
  o->tags = cb_xreallocarray(o->tags, o->ntags + 1, sizeof(*o->tags));
  o->tags[o->ntags++] = image_ref_local_name(&ref);
  image_ref_release(&ref);
  return 0;
}

static int
set_mode(struct build_cli *o, int id, const char *arg, struct cb_error **err)
{
  int m;

  switch (id) {
  case 'P':
    m = progress_mode_parse(arg);
    if (m < 0 || m == PROGRESS_QUIET)
      return cli_usage_error(&cli_cmd_build, err, "--progress is auto, "
                             "plain, tty or json, not '%s'", arg);
    if (o->bo.progress != PROGRESS_QUIET)
      o->bo.progress = (enum progress_mode)m;
    return 0;
  case 'n':
    if (strcmp(arg, "none") != 0 && strcmp(arg, "host") != 0 &&
        strcmp(arg, "default") != 0)
      return cli_usage_error(&cli_cmd_build, err,
                             "--network is host or none, not '%s'", arg);
    o->bo.network_none = strcmp(arg, "none") == 0;
    return 0;
  case 'C':
    return layer_compression_parse(arg, &o->bo.compression, err);
  default:
    return cli_parse_int64(arg, "--timestamp", &o->bo.timestamp, err);
  }
}

/* KEY=VALUE for --label and --annotation.  */
static int
add_pair(char ***v, size_t *n, const char *opt, const char *arg,
         struct cb_error **err)
{
  if (strchr(arg, '=') == NULL || arg[0] == '=')
    return cli_usage_error(&cli_cmd_build, err, "%s needs KEY=VALUE, not "
                           "'%s'", opt, arg);
  *v = cb_xreallocarray(*v, *n + 1, sizeof(**v));
  (*v)[(*n)++] = (char *)arg;
  return 0;
}

static int
build_opt(void *data, int id, const char *arg, struct cb_error **err)
{
  struct build_cli *o = data;

  if (cli_publish_is_opt(id))
    return cli_publish_opt(&o->pub, &cli_cmd_build, id, arg, err);
  switch (id) {
  case 't':
    return add_tag(o, arg, err);
  case 'f':
    o->file = arg;
    return 0;
  case 'a':
    add_build_arg(o, arg);
    return 0;
  case 'T':
    o->target = arg;
    return 0;
  case 'N':
    o->bo.no_cache = true;
    return 0;
  case 'q':
    o->bo.progress = PROGRESS_QUIET;
    return 0;
  case 'i':
    o->iidfile = arg;
    return 0;
  case 'p':
    o->platform = arg;
    return 0;
  case 'S':
    return build_secrets_add(&o->secrets, arg, err);
  case 'D':
    o->plan_only = true;
    return 0;
  case 'o':
    return add_output(o, arg, err);
  case 'd':
    o->bo.storage_driver = arg;
    return 0;
  case 'L':
    return lint_mode_parse(arg, &o->bo.lint, err);
  case 'l':
    return add_pair(&o->labels, &o->nlabels, "--label", arg, err);
  case 'A':
    return add_pair(&o->annotations, &o->nannotations, "--annotation", arg,
                    err);
  default:
    return set_mode(o, id, arg, err);
  }
}

static int
check_platform(const char *platform, struct cb_error **err)
{
  cleanup_free char *host = NULL;

  if (platform == NULL)
    return 0;
  host = cb_xasprintf("%s/%s", builder_host_os(), builder_host_arch());
  if (strcmp(platform, host) != 0)
    return cb_fail(err, CB_ERR_UNSUPPORTED, 0,
                   "--platform %s: only this host's platform (%s) can be "
                   "built", platform, host);
  return 0;
}

static int
write_iidfile(const char *path, const struct cb_digest *id,
              struct cb_error **err)
{
  char s[CB_DIGEST_STR_LEN];
  cleanup_close int fd = -1;

  cb_digest_str(id, s);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || cb_write_all(fd, s, strlen(s), err) < 0)
    return fd < 0 ? cb_fail_errno(err, "--iidfile '%s'", path)
                  : cb_wrap(err, "--iidfile '%s'", path);
  return 0;
}

/* Write the built image to each -o.  */
static int
write_outputs(struct layer_store *s, const struct build_cli *o,
              const struct build_result *res, struct cb_error **err)
{
  struct store_image img;
  int rc = 0;

  if (o->noutputs == 0)
    return 0;
  if (layer_store_load_image(s, &res->manifest, &img, err) < 0)
    return -1;
  for (size_t i = 0; rc == 0 && i < o->noutputs; i++) {
    const struct build_output *out = &o->outputs[i];

    if (out->type == OUT_LOCAL)
      rc = cli_export_dir(s, &img, out->dest, err);
    else if (out->type == OUT_TAR)
      rc = cli_export_tar(s, &img, out->dest, err);
    else
      rc = layer_store_save(s, &img, o->ntags > 0 ? o->tags[0] : NULL,
                            out->format, out->dest, err);
    if (rc < 0)
      cb_wrap(err, "-o %s", out->dest);
  }
  store_image_release(&img);
  return rc;
}

/* Inside the user namespace: build, then report.  With o->bo.probe, the
   try outside it: 1 when the build has work to do.  */
static int
build(struct build_cli *o, struct cb_error **err)
{
  cleanup_layer_store struct layer_store *s = NULL;
  struct build_result res;
  char hex[CB_DIGEST_HEX_LEN + 1];
  bool go = true;
  int rc;

  if (!o->bo.probe && build_private_mounts(err) < 0)
    return -1;
  s = cli_store_open(err);
  if (s == NULL || layer_store_hold(s, err) < 0)
    return -1;
  rc = build_image(s, &o->bo, &res, err);
  if (rc != 0)
    return rc;
  /* The parent scans the stored image; nothing leaves before it says so. */
  if (cli_publish_gate(&res.manifest, &res.id, &go, err) < 0)
    return -1;
  if (!go)
    return 0;
  if (write_outputs(s, o, &res, err) < 0 ||
      (o->iidfile != NULL && write_iidfile(o->iidfile, &res.id, err) < 0))
    return -1;
  cb_digest_hex(&res.id, hex);
  if (o->bo.progress != PROGRESS_QUIET && o->bo.progress != PROGRESS_JSON) {
    fprintf(stderr, "%u steps; %u of %u cacheable steps cached\n", res.steps,
            res.cached, res.cacheable);
    for (size_t i = 0; i < o->ntags; i++)
      fprintf(stderr, "tagged %s\n", o->tags[i]);
  }
  printf("%s\n", hex);
  return 0;
}

/* A build that is all cache hits needs no user namespace: entering one
   (a fork, newuidmap and newgidmap, ~20 ms) was most of a no-op
   rebuild.  So it is tried first outside, where it stops before anything
   that needs the namespace (build_opts.probe), but not where it would
   publish or export, or must miss anyway, or is inside already.  */
static bool
may_probe(const struct build_cli *o)
{
  return o->pub.scan.ncmds == 0 && !o->pub.push && !o->pub.sbom &&
         o->noutputs == 0 && !o->bo.no_cache && o->bo.lint == LINT_MODE_OFF &&
         !userns_is_inside() && getenv("CBUILD_NO_PROBE") == NULL;
}

/* The try, in a child of its own, so that what it held (the context's
   digests, the plan) is neither still held nor inherited while the build
   proper runs.  0 when the child built and reported the image (*STATUS:
   0, or 128+N when a signal N ended it), 1 when the build must go on in
   the namespace.  Whatever stopped the try, the build proper does again
   from the start, errors included, so they are not reported here.  */
static int
probe(struct build_cli *o, int *status)
{
  pid_t pid;
  int st;

  fflush(NULL);
  pid = fork();
  if (pid < 0)
    return 1;
  if (pid == 0) {
    struct cb_error *err = NULL;
    int rc;

    o->bo.probe = true;
    rc = build(o, &err);
    if (rc < 0)
      cb_log(CB_LOG_DEBUG, "build outside the user namespace: %s", err->msg);
    cb_error_free(err);
    fflush(NULL);
    _exit(rc == 0 ? 0 : 1);
  }
  while (waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR)
      return 1;
  }
  if (WIFSIGNALED(st)) {
    *status = 128 + WTERMSIG(st);
    return 0;
  }
  return WEXITSTATUS(st) == 0 ? 0 : 1;
}

static int
start(struct build_cli *o, const char *dir, struct cb_error **err)
{
  int status = 0, rc;

  if (check_platform(o->platform, err) < 0 ||
      cli_pick_timestamp(&o->bo.timestamp, err) < 0)
    return -1;
  o->bo.context = dir;
  o->bo.dockerfile = o->file;
  o->bo.target = o->target;
  o->bo.build_args = &o->build_args;
  o->bo.tags = o->tags;
  o->bo.ntags = o->ntags;
  o->bo.labels = o->labels;
  o->bo.nlabels = o->nlabels;
  o->bo.annotations = o->annotations;
  o->bo.nannotations = o->nannotations;
  o->bo.secrets = &o->secrets;
  if (o->plan_only)
    return build_print_plan(&o->bo, stdout, err);
  if (may_probe(o) && probe(o, &status) == 0)
    return status;
  rc = cli_publish_build(&o->pub, cli_main_argv, o->tags, o->ntags,
                         &o->secrets, &status, err);
  if (rc != 0)
    return rc < 0 ? -1 : status;
  return build(o, err);
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  static const struct cli_opt opts[] = {
    { "tag", 't', true, 't' },
    { "file", 'f', true, 'f' },
    { "build-arg", 0, true, 'a' },
    { "target", 0, true, 'T' },
    { "no-cache", 0, false, 'N' },
    { "quiet", 'q', false, 'q' },
    { "iidfile", 0, true, 'i' },
    { "platform", 0, true, 'p' },
    { "label", 0, true, 'l' },
    { "annotation", 0, true, 'A' },
    { "progress", 0, true, 'P' },
    { "network", 0, true, 'n' },
    { "compression", 0, true, 'C' },
    { "timestamp", 0, true, 's' },
    { "secret", 0, true, 'S' },
    { "plan", 0, false, 'D' },
    { "output", 'o', true, 'o' },
    { "storage-driver", 0, true, 'd' },
    { "lint", 0, true, 'L' },
    { "push", 0, false, CLI_PUBLISH_OPT_PUSH },
    CLI_PUBLISH_SCAN_OPTS,
    { NULL, 0, false, 0 },
  };
  struct build_cli o;
  int first = 0, rc;

  memset(&o, 0, sizeof(o));
  o.build_args = (struct shell_env)SHELL_ENV_INIT;
  o.bo.timestamp = -1;
  o.bo.compression = LAYER_COMPRESS_GZIP;
  o.bo.progress = PROGRESS_AUTO;
  if (cli_publish_init(&o.pub, err) < 0) {
    build_cli_release(&o);
    return -1;
  }
  rc = cli_parse(&cli_cmd_build, argc, argv, opts, true, build_opt, &o,
                 &first, err);
  if (rc == 1) /* --help printed the usage */
    rc = 0;
  else if (rc == 0 && argc - first != 1)
    rc = cli_usage_error(&cli_cmd_build, err,
                         "expected exactly one CONTEXT directory");
  else if (rc == 0)
    rc = start(&o, argv[first], err);
  build_cli_release(&o);
  return rc;
}

const struct cli_command cli_cmd_build = {
  .name = "build",
  .summary = "build an image from a Dockerfile (the default command)",
  .usage = usage,
  .run = run,
};
