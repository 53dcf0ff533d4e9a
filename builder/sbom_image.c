/* Reading an image's os-release and package databases for its SBOM.

   The files come from the flattened filesystem tar of the image
   (store_image_flatten_tar: whiteouts and opaque directories applied,
   straight from the layer blobs, nothing extracted): one thread produces
   the tar into a socket pair, this one reads it with libarchive and keeps
   the few entries it wants.  Nothing touches the disk, and no symlink is
   ever followed: an entry that is not a regular file is not read.  */
#include "config.h"

#include "builder/sbom.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/mem.h"
#include "layers/oci.h"
#include "common/banned.h"

#define DPKG_STATUS "var/lib/dpkg/status"
#define DPKG_STATUS_D "var/lib/dpkg/status.d/"

/* The files wanted, in the order they are parsed; the os-release files
   in the order os-release(5) says to look.  */
enum wanted {
  W_OS_ETC,
  W_OS_USR,
  W_DPKG_STATUS,
  W_APK,
  W_APK_USR,
  W_COUNT
};

static const char *const wanted_paths[W_COUNT] = {
  [W_OS_ETC] = "etc/os-release",
  [W_OS_USR] = "usr/lib/os-release",
  [W_DPKG_STATUS] = DPKG_STATUS,
  [W_APK] = "lib/apk/db/installed",
  [W_APK_USR] = "usr/lib/apk/db/installed",
};

struct found_file {
  char *path; /* "/var/lib/...", owned */
  char *text; /* owned */
  size_t len;
};

struct found {
  struct found_file files[W_COUNT];
  struct found_file *status_d; /* in tar order: sorted by name */
  size_t n_status_d, alloc_status_d;
  uint64_t total;
};

static void
found_release(struct found *f)
{
  for (int i = 0; i < W_COUNT; i++) {
    free(f->files[i].path);
    free(f->files[i].text);
  }
  for (size_t i = 0; i < f->n_status_d; i++) {
    free(f->status_d[i].path);
    free(f->status_d[i].text);
  }
  free(f->status_d);
}

/* ---- the producer: the flattened tar into a socket ---- */

struct producer {
  struct layer_store *s;
  const struct store_image *img;
  int fd; /* the write end, closed by the thread */
  int rc;
  struct cb_error *err;
};

static int
socket_write(void *data, const void *buf, size_t len, struct cb_error **err)
{
  int fd = *(int *)data;
  const char *p = buf;

  while (len > 0) {
    /* MSG_NOSIGNAL: a reader that gave up must not kill us with
       SIGPIPE; we see EPIPE and stop.  */
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return cb_fail_errno(err, "flattened image stream");
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static void *
produce(void *arg)
{
  struct producer *p = arg;
  struct cb_sink sink = { socket_write, &p->fd };

  p->rc = store_image_flatten_tar(p->s, p->img, &sink, &p->err);
  close(p->fd);
  p->fd = -1;
  return NULL;
}

/* ---- the reader ---- */

/* Which wanted file NAME (a tar entry name) is: a wanted index, W_COUNT
   for a file of status.d/, -1 for none.  */
static int
wanted_index(const char *name)
{
  size_t n = strlen(name), sfx = strlen(".md5sums");
  const char *base;

  for (int i = 0; i < W_COUNT; i++) {
    if (strcmp(name, wanted_paths[i]) == 0)
      return i;
  }
  if (strncmp(name, DPKG_STATUS_D, strlen(DPKG_STATUS_D)) != 0)
    return -1;
  base = name + strlen(DPKG_STATUS_D);
  /* status.d/ holds one control paragraph per package and, in distroless
     images, PACKAGE.md5sums beside it: those list files, not packages. */
  if (*base == '\0' || *base == '.' || strchr(base, '/') != NULL ||
      (n > sfx && strcmp(name + n - sfx, ".md5sums") == 0))
    return -1;
  return W_COUNT;
}

/* The data of the current entry E (a regular file of SIZE bytes, within
   the limits) into F.  */
static int
read_entry(struct archive *a, const char *name, int64_t size,
           struct found *fd, struct found_file *f, struct cb_error **err)
{
  size_t got = 0;

  if (size < 0 || (uint64_t)size > CB_MAX_SBOM_FILE)
    return cb_fail(err, CB_ERR_UNSAFE, 0,
                   "image file '/%s' is larger than %u bytes", name,
                   CB_MAX_SBOM_FILE);
  if (fd->total + (uint64_t)size > CB_MAX_SBOM_TOTAL)
    return cb_fail(err, CB_ERR_UNSAFE, 0,
                   "image file '/%s': the package databases are larger "
                   "than %u bytes together", name, CB_MAX_SBOM_TOTAL);
  fd->total += (uint64_t)size;
  f->path = cb_xasprintf("/%s", name);
  f->text = cb_xmalloc((size_t)size + 1);
  while (got < (size_t)size) {
    la_ssize_t n = archive_read_data(a, f->text + got, (size_t)size - got);

    if (n < 0)
      return cb_fail(err, CB_ERR_PARSE, 0, "image file '/%s': %s", name,
                     archive_error_string(a) ? archive_error_string(a)
                                             : "broken tar");
    if (n == 0)
      break;
    got += (size_t)n;
  }
  f->text[got] = '\0';
  f->len = got;
  return 0;
}

static int
take_entry(struct archive *a, struct archive_entry *e, struct found *fd,
           struct cb_error **err)
{
  const char *name = archive_entry_pathname(e);
  int i = name != NULL ? wanted_index(name) : -1;
  struct found_file *f;

  if (i < 0)
    return 0;
  if (archive_entry_filetype(e) != AE_IFREG ||
      archive_entry_hardlink(e) != NULL) {
    cb_log(CB_LOG_DEBUG, "sbom: '/%s' is not a regular file: not read",
           name);
    return 0;
  }
  if (i == W_COUNT) {
    if (fd->n_status_d >= CB_MAX_SBOM_STATUS_D)
      return cb_fail(err, CB_ERR_UNSAFE, 0,
                     "image directory '/%s' holds more than %u files",
                     DPKG_STATUS_D, CB_MAX_SBOM_STATUS_D);
    CB_GROW(fd->status_d, fd->alloc_status_d, fd->n_status_d + 1);
    f = &fd->status_d[fd->n_status_d++];
    memset(f, 0, sizeof(*f));
  } else {
    f = &fd->files[i];
    if (f->text != NULL)
      return 0; /* the flattened tar has each path once; be sure */
  }
  return read_entry(a, name, archive_entry_size(e), fd, f, err);
}

static int
read_tar(int fd, struct found *found, struct cb_error **err)
{
  struct archive *a = archive_read_new();
  struct archive_entry *e;
  int r, rc = 0;

  archive_read_support_format_tar(a);
  if (archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK) {
    rc = cb_fail(err, CB_ERR_PARSE, 0, "flattened image: %s",
                 archive_error_string(a));
    archive_read_free(a);
    return rc;
  }
  while (rc == 0 && ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK ||
                     r == ARCHIVE_WARN))
    rc = take_entry(a, e, found, err);
  if (rc == 0 && r != ARCHIVE_EOF)
    rc = cb_fail(err, CB_ERR_PARSE, 0, "flattened image: %s",
                 archive_error_string(a) ? archive_error_string(a)
                                         : "broken tar");
  archive_read_free(a);
  return rc;
}

/* Run the producer and the reader; the producer's failure (a layer that
   does not match its digest, say) wins over what it caused the reader,
   and the reader's over the EPIPE it caused the producer.  */
static int
collect(struct layer_store *s, const struct store_image *img,
        struct found *found, struct cb_error **err)
{
  struct producer p = { s, img, -1, 0, NULL };
  cleanup_close int rd = -1;
  struct cb_error *rerr = NULL;
  pthread_t th;
  int sv[2], rc;

  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return cb_fail_errno(err, "socketpair");
  rd = sv[0];
  p.fd = sv[1];
  rc = pthread_create(&th, NULL, produce, &p);
  if (rc != 0) {
    close(p.fd);
    errno = rc;
    return cb_fail_errno(err, "cannot start a thread");
  }
  rc = read_tar(rd, found, &rerr);
  cb_closep(&rd); /* a producer still writing gets EPIPE */
  pthread_join(th, NULL);
  if (p.rc < 0 && !(rc < 0 && p.err != NULL && p.err->errnum == EPIPE)) {
    cb_error_free(rerr);
    *err = p.err;
    return -1;
  }
  cb_error_free(p.err);
  if (rc < 0) {
    *err = rerr;
    return -1;
  }
  return 0;
}

static int
parse_found(struct sbom *sb, const struct found *f, struct cb_error **err)
{
  const struct found_file *os = f->files[W_OS_ETC].text != NULL
                                  ? &f->files[W_OS_ETC]
                                  : &f->files[W_OS_USR];
  const struct found_file *apk = f->files[W_APK].text != NULL
                                   ? &f->files[W_APK]
                                   : &f->files[W_APK_USR];
  const struct found_file *st = &f->files[W_DPKG_STATUS];

  if (os->text != NULL &&
      sbom_parse_os_release(sb, os->text, os->len, os->path, err) < 0)
    return -1;
  if (st->text != NULL &&
      sbom_parse_dpkg_status(sb, st->text, st->len, st->path, err) < 0)
    return -1;
  for (size_t i = 0; i < f->n_status_d; i++) {
    const struct found_file *d = &f->status_d[i];

    if (sbom_parse_dpkg_status(sb, d->text, d->len, d->path, err) < 0)
      return -1;
  }
  if (apk->text != NULL &&
      sbom_parse_apk_installed(sb, apk->text, apk->len, apk->path, err) < 0)
    return -1;
  sbom_finish(sb);
  return 0;
}

int
sbom_read_image(struct layer_store *s, const struct store_image *img,
                struct sbom *sb, struct cb_error **err)
{
  struct found found;
  int rc;

  memset(sb, 0, sizeof(*sb));
  memset(&found, 0, sizeof(found));
  rc = collect(s, img, &found, err);
  if (rc == 0)
    rc = parse_found(sb, &found, err);
  found_release(&found);
  if (rc < 0)
    sbom_release(sb);
  return rc;
}

int
sbom_for_image(struct layer_store *s, const struct store_image *img,
               const char *name, enum sbom_format fmt, char **out,
               size_t *len, struct cb_error **err)
{
  char digest[CB_DIGEST_STR_LEN];
  struct sbom_subject sub;
  struct sbom sb;

  cb_digest_str(&img->manifest_digest, digest);
  if (name == NULL)
    name = img->names != NULL && img->names[0] != NULL ? img->names[0]
                                                       : digest;
  if (sbom_read_image(s, img, &sb, err) < 0)
    return cb_wrap(err, "image '%s'", name);
  sub.name = name;
  sub.manifest_digest = digest;
  sub.created = json_string_value(json_object_get(img->config, "created"));
  *out = sbom_render(&sb, &sub, fmt, len);
  sbom_release(&sb);
  return 0;
}
