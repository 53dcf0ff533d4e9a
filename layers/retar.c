#include "config.h"

#include "layers/retar.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/mem.h"
#include "common/banned.h"

#define RETAR_CHUNK (1u << 20)

struct retar {
  struct archive *in; /* the input being read, one after the other */
  struct archive *out;
  const struct retar_opts *opts;
  const struct cb_sink *tar;
  struct cb_error *sink_err; /* what the sink said, passed up */
  retar_keep_fn keep;        /* NULL keeps everything */
  void *keep_data;
  size_t input; /* index of the input being read */
};

static la_ssize_t
out_cb(struct archive *a, void *data, const void *buf, size_t len)
{
  struct retar *r = data;

  if (r->sink_err != NULL ||
      cb_sink_write(r->tar, buf, len, &r->sink_err) < 0) {
    archive_set_error(a, EIO, "output failed");
    return -1;
  }
  return (la_ssize_t)len;
}

/* "LABEL: 'ENTRY': ", either part left out when NULL.  */
static char *
where(const struct retar *r, const char *entry)
{
  const char *label = r->opts->label;

  return cb_xasprintf("%s%s%s%s%s", label ? label : "", label ? ": " : "",
                      entry ? "'" : "", entry ? entry : "", entry ? "': " : "");
}

static int
fail_archive(struct retar *r, struct archive *a, const char *entry,
             struct cb_error **err)
{
  cleanup_free char *at = NULL;

  if (r->sink_err != NULL) {
    *err = steal_ptr(&r->sink_err);
    return -1;
  }
  at = where(r, entry);
  return cb_fail(err, CB_ERR_PARSE, 0, "%s%s", at,
                 archive_error_string(a) ? archive_error_string(a)
                                         : "archive error");
}

/* "./a/b" and "/a/b" -> "a/b"; "" for the root itself; NULL when a
   component is "..".  */
char *
retar_clean_name(const char *name)
{
  const char *p = name;
  struct cb_buf b = CB_BUF_INIT;

  while (*p != '\0') {
    size_t n;

    while (*p == '/')
      p++;
    n = strcspn(p, "/");
    if (n == 2 && p[0] == '.' && p[1] == '.') {
      cb_buf_release(&b);
      return NULL;
    }
    if (n > 0 && !(n == 1 && p[0] == '.')) {
      if (b.len > 0)
        cb_buf_addc(&b, '/');
      cb_buf_add(&b, p, n);
    }
    p += n;
  }
  return cb_buf_detach(&b, NULL);
}

static bool
drop_xattr(const char *name)
{
  return strncmp(name, "trusted.overlay.", 16) == 0 ||
         strncmp(name, "user.overlay.", 13) == 0 ||
         strcmp(name, "security.selinux") == 0;
}

/* A fresh entry with only what the layer keeps.  */
static struct archive_entry *
normalized(struct retar *r, struct archive_entry *in, const char *name,
           const char *link)
{
  struct archive_entry *e = archive_entry_new();
  int64_t mtime = archive_entry_mtime(in);
  const char *xname;
  const void *xval;
  size_t xlen;

  if (r->opts->clamp_mtime >= 0 && mtime > r->opts->clamp_mtime)
    mtime = r->opts->clamp_mtime;
  archive_entry_copy_pathname(e, name);
  archive_entry_set_mode(e, archive_entry_mode(in));
  archive_entry_set_uid(e, archive_entry_uid(in));
  archive_entry_set_gid(e, archive_entry_gid(in));
  archive_entry_set_mtime(e, (time_t)mtime, 0);
  archive_entry_set_size(e, archive_entry_size(in));
  if (archive_entry_filetype(in) == AE_IFCHR ||
      archive_entry_filetype(in) == AE_IFBLK)
    archive_entry_set_rdev(e, archive_entry_rdev(in));
  if (archive_entry_symlink(in) != NULL)
    archive_entry_copy_symlink(e, archive_entry_symlink(in));
  if (link != NULL) {
    archive_entry_copy_hardlink(e, link);
    archive_entry_set_size(e, 0);
  }
  archive_entry_xattr_reset(in);
  while (archive_entry_xattr_next(in, &xname, &xval, &xlen) == ARCHIVE_OK) {
    if (!drop_xattr(xname))
      archive_entry_xattr_add_entry(e, xname, xval, xlen);
  }
  return e;
}

static int
copy_data(struct retar *r, const char *name, struct cb_error **err)
{
  cleanup_free char *buf = cb_xmalloc(RETAR_CHUNK);

  for (;;) {
    la_ssize_t n = archive_read_data(r->in, buf, RETAR_CHUNK);

    if (n < 0)
      return fail_archive(r, r->in, name, err);
    if (n == 0)
      return 0;
    if (archive_write_data(r->out, buf, (size_t)n) != n)
      return fail_archive(r, r->out, name, err);
  }
}

static int
copy_entry(struct retar *r, struct archive_entry *in, struct cb_error **err)
{
  const char *raw = archive_entry_pathname(in);
  const char *rawlink = archive_entry_hardlink(in);
  cleanup_free char *name = retar_clean_name(raw ? raw : "");
  cleanup_free char *link = rawlink ? retar_clean_name(rawlink) : NULL;
  struct archive_entry *e;
  int rc;

  if (name == NULL || (rawlink != NULL && link == NULL)) {
    cleanup_free char *at = where(r, raw);

    return cb_fail(err, CB_ERR_UNSAFE, 0, "%sa name with '..' in it", at);
  }
  if (name[0] == '\0') /* the root: its owner and mode are the image's */
    return 0;
  if (r->keep != NULL && !r->keep(r->keep_data, r->input, name, in))
    return 0;
  if (archive_entry_filetype(in) == AE_IFDIR) {
    char *dir = cb_xasprintf("%s/", name);

    free(name);
    name = dir;
  }
  e = normalized(r, in, name, link);
  rc = archive_write_header(r->out, e);
  archive_entry_free(e);
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
    return fail_archive(r, r->out, name, err);
  if (link == NULL && archive_entry_filetype(in) == AE_IFREG)
    return copy_data(r, name, err);
  return 0;
}

static int
open_in(struct retar *r, int in_fd, struct cb_error **err)
{
  r->in = archive_read_new();
  archive_read_support_format_tar(r->in);
  archive_read_support_format_gnutar(r->in);
  archive_read_support_filter_all(r->in);
  if (archive_read_open_fd(r->in, in_fd, RETAR_CHUNK) != ARCHIVE_OK)
    return fail_archive(r, r->in, NULL, err);
  return 0;
}

static int
open_out(struct retar *r, struct cb_error **err)
{
  if (archive_write_set_format_pax_restricted(r->out) != ARCHIVE_OK ||
      archive_write_set_format_option(r->out, "pax", "xattrheader",
                                      "SCHILY") != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(r->out, 0) != ARCHIVE_OK ||
      archive_write_open2(r->out, r, NULL, out_cb, NULL, NULL) != ARCHIVE_OK)
    return fail_archive(r, r->out, NULL, err);
  return 0;
}

/* Copy every entry of the current input.  */
static int
copy_input(struct retar *r, struct cb_error **err)
{
  struct archive_entry *e;

  for (;;) {
    int ar = archive_read_next_header(r->in, &e);

    if (ar == ARCHIVE_EOF)
      return 0;
    if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
      return fail_archive(r, r->in, NULL, err);
    if (copy_entry(r, e, err) < 0)
      return -1;
  }
}

int
retar_streams(const int *in_fds, size_t n, const struct retar_opts *opts,
              retar_keep_fn keep, void *keep_data, const struct cb_sink *tar,
              struct cb_error **err)
{
  struct retar r = { NULL, archive_write_new(), opts, tar, NULL, keep,
                     keep_data, 0 };
  int rc = open_out(&r, err);

  for (r.input = 0; rc == 0 && r.input < n; r.input++) {
    rc = open_in(&r, in_fds[r.input], err);
    if (rc == 0)
      rc = copy_input(&r, err);
    archive_read_free(r.in);
    r.in = NULL;
  }
  if (rc == 0 && archive_write_close(r.out) != ARCHIVE_OK)
    rc = fail_archive(&r, r.out, NULL, err);
  archive_write_free(r.out);
  cb_error_free(r.sink_err);
  return rc;
}

int
retar_stream(int in_fd, const struct retar_opts *opts,
             const struct cb_sink *tar, struct cb_error **err)
{
  return retar_streams(&in_fd, 1, opts, NULL, NULL, tar, err);
}
