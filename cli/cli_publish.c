#include "config.h"

#include "cli/cli_publish.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "builder/push.h"
#include "builder/userns.h"
#include "cli/cli_store.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/num.h"
#include "common/banned.h"

/* The variable that hands build's namespace child its end of the gate.  */
#define PUBLISH_FD_ENV "CBUILD_PUBLISH_FD"

/* In the namespace child: the gate's socket, or -1.  */
static int gate_fd = -1;

/* Take the socket the parent passed down, before anything else can
   start a process that would inherit it.  */
static void
take_gate_fd(void)
{
  const char *v = getenv(PUBLISH_FD_ENV);
  uint32_t fd;

  if (v == NULL)
    return;
  if (userns_is_inside() &&
      cb_parse_u32(v, strlen(v), 65535, &fd) && fd > 2 &&
      fcntl((int)fd, F_SETFD, FD_CLOEXEC) == 0)
    gate_fd = (int)fd;
  unsetenv(PUBLISH_FD_ENV);
}

int
cli_publish_init(struct cli_publish *p, struct cb_error **err)
{
  memset(p, 0, sizeof(*p));
  scan_config_init(&p->scan);
  take_gate_fd();
  return scan_config_load(&p->scan, err);
}

void
cli_publish_release(struct cli_publish *p)
{
  scan_config_release(&p->scan);
}

bool
cli_publish_is_opt(int id)
{
  return id >= CLI_PUBLISH_OPT_SCAN && id <= CLI_PUBLISH_OPT_SBOM_FORMAT;
}

int
cli_publish_opt(struct cli_publish *p, const struct cli_command *cmd, int id,
                const char *arg, struct cb_error **err)
{
  static const char *const keys[] = { "scan", "scan-timeout",
                                      "scan-report-type", "scan-env" };
  struct cb_error *inner = NULL;
  int rc;

  if (id == CLI_PUBLISH_OPT_PUSH) {
    p->push = true;
    return 0;
  }
  if (id == CLI_PUBLISH_OPT_SBOM) {
    p->sbom = true;
    return 0;
  }
  if (id == CLI_PUBLISH_OPT_SBOM_FORMAT) {
    p->sbom = true;
    if (sbom_format_parse(arg, &p->sbom_format, &inner) == 0)
      return 0;
    rc = cli_usage_error(cmd, err, "--sbom-format: %s", inner->msg);
    cb_error_free(inner);
    return rc;
  }
  if (scan_config_set(&p->scan, keys[id - CLI_PUBLISH_OPT_SCAN], arg, &inner) ==
      0)
    return 0;
  rc = cli_usage_error(cmd, err, "--%s", inner->msg);
  cb_error_free(inner);
  return rc;
}

static const char *
report_type(const struct cli_publish *p)
{
  return p->scan.report_type != NULL ? p->scan.report_type : SCAN_REPORT_TYPE;
}

/* The SBOM of IMG (builder/sbom.h) pushed as a referrer of it at DEST,
   through a private file.  */
static int
push_sbom(const struct cli_publish *p, struct layer_store *s,
          const struct store_image *img, const struct image_ref *dest,
          const struct registry_client_config *cfg, const char *name,
          struct cb_error **err)
{
  cleanup_free char *doc = NULL;
  char path[] = "/tmp/cbuild-sbom-XXXXXX";
  char ds[CB_DIGEST_STR_LEN];
  struct cb_digest d;
  size_t len = 0;
  int fd, rc;

  if (sbom_for_image(s, img, name, p->sbom_format, &doc, &len, err) < 0)
    return cb_wrap(err, "SBOM of '%s'", name);
  fd = mkstemp(path);
  if (fd < 0)
    return cb_fail_errno(err, "cannot write the SBOM");
  rc = cb_write_all(fd, doc, len, err);
  close(fd);
  if (rc == 0)
    rc = image_push_artifact(img, dest, cfg, path,
                             sbom_media_type(p->sbom_format), &d, err);
  unlink(path);
  if (rc < 0)
    return cb_wrap(err, "pushing the SBOM to '%s'", name);
  cb_digest_str(&d, ds);
  cb_log(CB_LOG_INFO, "SBOM: pushed to %s as %s", name, ds);
  return 0;
}

/* Push IMG to DEST, then each report of O as its referrer.  */
static int
push_with_reports(const struct cli_publish *p, struct layer_store *s,
                  const struct store_image *img, const struct image_ref *dest,
                  const struct registry_client_config *cfg,
                  const struct scan_outcome *o, struct cb_error **err)
{
  cleanup_free char *name = image_ref_string(dest);

  if (image_push(s, img, dest, cfg, err) < 0)
    return cb_wrap(err, "pushing '%s'", name);
  if (p->sbom && push_sbom(p, s, img, dest, cfg, name, err) < 0)
    return -1;
  for (size_t i = 0; i < o->nreports; i++) {
    char ds[CB_DIGEST_STR_LEN];
    struct cb_digest d;

    if (image_push_artifact(img, dest, cfg, o->reports[i], report_type(p), &d,
                            err) < 0)
      return cb_wrap(err, "pushing the scan report '%s' to '%s'", o->reports[i],
                     name);
    cb_digest_str(&d, ds);
    cb_log(CB_LOG_INFO, "scan report %s: pushed to %s as %s", o->reports[i],
           name, ds);
  }
  return 0;
}

/* Reports that were not pushed stay where they are; say where.  */
static void
finish_reports(struct scan_outcome *o, bool pushed)
{
  for (size_t i = 0; !pushed && i < o->nreports; i++)
    fprintf(stderr, "scan report: %s\n", o->reports[i]);
  scan_outcome_release(o, !pushed && o->nreports > 0);
}

int
cli_publish_push(struct cli_publish *p, struct layer_store *s,
                 const struct store_image *img, const struct image_ref *dest,
                 const struct registry_client_config *cfg,
                 struct cb_error **err)
{
  cleanup_free char *name = image_ref_string(dest);
  struct scan_outcome o;
  int rc;

  if (scan_run(&p->scan, s, img, name, NULL, &o, err) < 0)
    return -1;
  rc = push_with_reports(p, s, img, dest, cfg, &o, err);
  finish_reports(&o, rc == 0);
  return rc;
}

/* ---- build: the parent side ------------------------------------------ */

struct gate {
  struct cli_publish *p;
  int fd;       /* our end of the socket pair */
  int child_fd; /* the child's, closed once it runs */
  char **tags;
  size_t ntags;
  const struct build_secrets *secrets;
  struct layer_store *s; /* owned, once the child sent its result */
  struct store_image img;
  bool have_image;
  struct scan_outcome outcome;
};

/* The child's "sha256:<manifest> sha256:<id>\n", or *GOT false when it
   closed its end without one (the build failed: its status says why).  */
static int
read_result(int fd, struct cb_digest *manifest, bool *got,
            struct cb_error **err)
{
  char line[2 * CB_DIGEST_STR_LEN + 2];
  size_t len = 0;
  char *sp, *nl;

  *got = false;
  while (len < sizeof(line) - 1) {
    ssize_t n = read(fd, line + len, sizeof(line) - 1 - len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return cb_fail_errno(err, "read the build's result");
    if (n == 0)
      break;
    len += (size_t)n;
    if (memchr(line, '\n', len) != NULL)
      break;
  }
  line[len] = '\0';
  if (len == 0)
    return 0;
  sp = strchr(line, ' ');
  nl = strchr(line, '\n');
  if (sp == NULL || nl == NULL)
    return cb_fail(err, CB_ERR_SYSTEM, EPROTO, "the build sent no result");
  *sp = '\0';
  if (cb_digest_parse(line, manifest, err) < 0)
    return cb_wrap(err, "the build's result");
  *got = true;
  return 0;
}

static void
answer(int fd, char c)
{
  /* A child that died meanwhile must not kill us with SIGPIPE.  */
  while (send(fd, &c, 1, MSG_NOSIGNAL) < 0 && errno == EINTR)
    ;
}

static int
serve(void *data, pid_t child, struct cb_error **err)
{
  struct gate *g = data;
  struct cb_digest manifest;
  bool got = false;

  cb_closep(&g->child_fd);
  if (read_result(g->fd, &manifest, &got, err) < 0)
    return -1;
  if (!got)
    return 0;
  g->s = cli_store_open(err);
  if (g->s == NULL ||
      layer_store_load_image(g->s, &manifest, &g->img, err) < 0) {
    answer(g->fd, 'n');
    return -1;
  }
  g->have_image = true;
  if (scan_run(&g->p->scan, g->s, &g->img, g->ntags > 0 ? g->tags[0] : NULL,
               g->secrets, &g->outcome, err) < 0) {
    answer(g->fd, 'n');
    return -1;
  }
  answer(g->fd, 'y');
  return 0;
}

static int
push_tags(struct gate *g, struct cb_error **err)
{
  struct registry_client_config cfg = { .tls_verify = true };

  for (size_t i = 0; i < g->ntags; i++) {
    struct image_ref dest;
    char ds[CB_DIGEST_STR_LEN];
    int rc;

    if (image_ref_parse(g->tags[i], &dest, err) < 0)
      return -1;
    image_ref_normalize(&dest);
    rc = push_with_reports(g->p, g->s, &g->img, &dest, &cfg, &g->outcome, err);
    image_ref_release(&dest);
    if (rc < 0)
      return -1;
    cb_digest_str(&g->img.manifest_digest, ds);
    fprintf(stderr, "pushed %s@%s\n", g->tags[i], ds);
  }
  return 0;
}

static int
publish_build(struct gate *g, char **argv, int *status, struct cb_error **err)
{
  cleanup_free char *var = NULL;
  char *extra[2] = { NULL, NULL };
  int fds[2];
  int rc;

  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
    return cb_fail_errno(err, "socketpair");
  g->fd = fds[0];
  g->child_fd = fds[1];
  /* The child end crosses the exec into the namespace (when there is
     one); the child makes it close-on-exec again first thing
     (take_gate_fd).  */
  if (fcntl(g->child_fd, F_SETFD, 0) < 0)
    return cb_fail_errno(err, "fcntl");
  var = cb_xasprintf(PUBLISH_FD_ENV "=%d", g->child_fd);
  extra[0] = var;
  rc = userns_reexec_serve(argv, extra, serve, g, status, err);
  if (rc == 0) {
    /* The child, forked rather than re-executed: it takes its end as
       after an exec; ours is closed by the caller.  */
    take_gate_fd();
    if (gate_fd != g->child_fd)
      return cb_fail(err, CB_ERR_SYSTEM, EBADF, "the publish gate's socket");
    g->child_fd = -1;
    return 0;
  }
  if (rc < 0 || *status != 0 || !g->have_image)
    return rc;
  if (g->p->push && push_tags(g, err) < 0)
    return -1;
  return 1;
}

int
cli_publish_build(struct cli_publish *p, char **argv, char **tags, size_t ntags,
                  const struct build_secrets *secrets, int *status,
                  struct cb_error **err)
{
  struct gate g;
  int rc;

  if (p->sbom && !p->push)
    return cli_usage_error(&cli_cmd_build, err, "--sbom needs --push (the "
                           "SBOM goes to the registry beside the image; "
                           "'cbuild sbom' prints it)");
  if (!p->push && p->scan.ncmds == 0)
    return userns_reexec(argv, status, err);
  if (p->push && ntags == 0)
    return cli_usage_error(&cli_cmd_build, err, "--push needs a -t NAME");
  if (userns_is_inside())
    return 0; /* the child: it builds */
  memset(&g, 0, sizeof(g));
  g.p = p;
  g.fd = g.child_fd = -1;
  g.tags = tags;
  g.ntags = ntags;
  g.secrets = secrets;
  rc = publish_build(&g, argv, status, err);
  cb_closep(&g.fd);
  cb_closep(&g.child_fd);
  finish_reports(&g.outcome, rc == 1 && p->push);
  if (g.have_image)
    store_image_release(&g.img);
  layer_store_free(g.s);
  return rc;
}

/* ---- build: the child side ------------------------------------------- */

int
cli_publish_gate(const struct cb_digest *manifest, const struct cb_digest *id,
                 bool *go, struct cb_error **err)
{
  char m[CB_DIGEST_STR_LEN], i[CB_DIGEST_STR_LEN];
  cleanup_free char *line = NULL;
  cleanup_close int fd = gate_fd;
  char c = 'n';
  ssize_t n;

  gate_fd = -1;
  if (fd < 0) {
    *go = true;
    return 0;
  }
  cb_digest_str(manifest, m);
  cb_digest_str(id, i);
  line = cb_xasprintf("%s %s\n", m, i);
  if (cb_write_all(fd, line, strlen(line), err) < 0)
    return cb_wrap(err, "hand the image to the publish gate");
  do
    n = read(fd, &c, 1);
  while (n < 0 && errno == EINTR);
  *go = n == 1 && c == 'y';
  return 0;
}
