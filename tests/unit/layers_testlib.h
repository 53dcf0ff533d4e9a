/* Building layer blobs for the layers/ unit tests: tar archives through
   libarchive's write API, hand-made ustar headers for what that API will
   not write, and gzip (zlib) or zstd compression in several members or
   frames, as cbuild's own writer produces.  */
#ifndef CBUILD_TESTS_LAYERS_TESTLIB_H
#define CBUILD_TESTS_LAYERS_TESTLIB_H

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "common/buf.h"
#include "tap.h"

/* --- building tar archives --- */

#define ID_ROOT (-1LL)

struct ent {
  const char *name;
  mode_t type; /* AE_IFREG when 0 */
  mode_t perm; /* 0644 / 0755 when 0 */
  const char *data;
  size_t size; /* of DATA; strlen when 0 */
  const char *symlink;
  const char *hardlink;
  long long uid, gid; /* 0: the ids the tests run with; or ID_ROOT */
  long long mtime;
  unsigned dev_major, dev_minor;
  const char *xattr_name, *xattr_value;
};

struct tarb {
  struct archive *a;
  struct cb_buf out;
};

static inline la_ssize_t
tar_write_cb(struct archive *a, void *data, const void *buf, size_t len)
{
  cb_buf_add(data, buf, len);
  return (la_ssize_t)len;
}

static inline void
tar_begin(struct tarb *t)
{
  memset(t, 0, sizeof(*t));
  t->a = archive_write_new();
  archive_write_set_format_pax_restricted(t->a);
  archive_write_open(t->a, &t->out, NULL, tar_write_cb, NULL);
}

/* Owned by whoever runs the tests unless a case says otherwise, so the
   suite also passes unprivileged.  */
static inline long long
ent_id(long long id, unsigned own)
{
  if (id == ID_ROOT)
    return 0;
  return id != 0 ? id : (long long)own;
}

static inline void
tar_add(struct tarb *t, const struct ent *e)
{
  struct archive_entry *ae = archive_entry_new();
  mode_t type = e->type ? e->type : AE_IFREG;
  size_t size = e->data ? (e->size ? e->size : strlen(e->data)) : 0;

  archive_entry_set_pathname(ae, e->name);
  archive_entry_set_filetype(ae, type);
  archive_entry_set_perm(ae,
                         e->perm ? e->perm : (type == AE_IFDIR ? 0755 : 0644));
  archive_entry_set_uid(ae, ent_id(e->uid, geteuid()));
  archive_entry_set_gid(ae, ent_id(e->gid, getegid()));
  archive_entry_set_mtime(ae, e->mtime ? e->mtime : 1700000000, 0);
  archive_entry_set_size(ae, type == AE_IFREG && !e->hardlink ? size : 0);
  if (e->symlink)
    archive_entry_set_symlink(ae, e->symlink);
  if (e->hardlink)
    archive_entry_set_hardlink(ae, e->hardlink);
  if (type == AE_IFCHR || type == AE_IFBLK) {
    archive_entry_set_rdevmajor(ae, e->dev_major);
    archive_entry_set_rdevminor(ae, e->dev_minor);
  }
  if (e->xattr_name)
    archive_entry_xattr_add_entry(ae, e->xattr_name, e->xattr_value,
                                  strlen(e->xattr_value));
  if (archive_write_header(t->a, ae) < ARCHIVE_WARN)
    diag("tar_add '%.60s': %s", e->name, archive_error_string(t->a));
  if (size > 0 && type == AE_IFREG && !e->hardlink)
    archive_write_data(t->a, e->data, size);
  archive_entry_free(ae);
}

static inline void
tar_file(struct tarb *t, const char *name, const char *data)
{
  tar_add(t, &(struct ent){ .name = name, .data = data });
}

static inline void
tar_dir(struct tarb *t, const char *name)
{
  tar_add(t, &(struct ent){ .name = name, .type = AE_IFDIR });
}

static inline void
tar_symlink(struct tarb *t, const char *name, const char *target)
{
  tar_add(
      t, &(struct ent){
             .name = name, .type = AE_IFLNK, .perm = 0777, .symlink = target });
}

static inline void
tar_hardlink(struct tarb *t, const char *name, const char *target)
{
  tar_add(t, &(struct ent){ .name = name, .hardlink = target });
}

/* Finish and hand over the archive bytes.  */
static inline void
tar_end(struct tarb *t, struct cb_buf *out)
{
  archive_write_close(t->a);
  archive_write_free(t->a);
  *out = t->out;
}

/* A ustar header written by hand, for what libarchive's writer refuses
   to produce: sizes it would pad out, empty names.  Sizes past the octal
   field use the base-256 form (GNU).  */
static inline void
raw_header(struct cb_buf *b, const char *name, char type,
           unsigned long long size)
{
  unsigned char h[512];
  unsigned sum = 0;

  memset(h, 0, sizeof(h));
  memcpy(h, name, strlen(name));
  memcpy(h + 100, "0000644", 7);
  memcpy(h + 108, "0000000", 7);
  memcpy(h + 116, "0000000", 7);
  if (size < 077777777777ull) {
    snprintf((char *)h + 124, 12, "%011llo", size);
  } else {
    h[124] = 0x80;
    for (int i = 0; i < 8; i++)
      h[135 - i] = (unsigned char)(size >> (8 * i));
  }
  memcpy(h + 136, "14657275200", 11);
  memset(h + 148, ' ', 8);
  h[156] = (unsigned char)type;
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  for (size_t i = 0; i < sizeof(h); i++)
    sum += h[i];
  snprintf((char *)h + 148, 8, "%06o", sum);
  cb_buf_add(b, h, sizeof(h));
}

/* --- compression --- */

static inline void
gzip_members(const void *data, size_t len, int members, struct cb_buf *out)
{
  size_t chunk = len / (size_t)members + 1;
  const unsigned char *p = data;

  for (int m = 0; m < members; m++) {
    size_t n = m == members - 1 ? len : (chunk < len ? chunk : len);
    z_stream z;
    unsigned char buf[16384];
    int rc;

    memset(&z, 0, sizeof(z));
    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (unsigned char *)p;
    z.avail_in = (uInt)n;
    do {
      z.next_out = buf;
      z.avail_out = sizeof(buf);
      rc = deflate(&z, Z_FINISH);
      cb_buf_add(out, buf, sizeof(buf) - z.avail_out);
    } while (rc == Z_OK);
    deflateEnd(&z);
    p += n;
    len -= n;
  }
}

static inline void
zstd_frames(const void *data, size_t len, int frames, struct cb_buf *out)
{
  size_t chunk = len / (size_t)frames + 1;
  const unsigned char *p = data;

  for (int f = 0; f < frames; f++) {
    size_t n = f == frames - 1 ? len : (chunk < len ? chunk : len);
    size_t cap = ZSTD_compressBound(n);

    cb_buf_reserve(out, cap);
    out->len += ZSTD_compress(out->data + out->len, cap, p, n, 3);
    p += n;
    len -= n;
  }
}

#endif
