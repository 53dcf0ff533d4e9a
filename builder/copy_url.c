#include "config.h"

#include "builder/copy-internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/banned.h"

static int
hex_value(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Go's path.Base(url.Path): the last part of the path, %-decoded.  A name
   that would not be one file name ("", ".", "..", with '/' or NUL once
   decoded) gives NULL.  */
char *
copy_url_name(const char *url)
{
  const char *p = strstr(url, "://");
  const char *path, *end, *last;
  struct cb_buf b = CB_BUF_INIT;
  bool bad = false;
  char *name;

  if (p == NULL)
    return NULL;
  path = strchr(p + 3, '/');
  if (path == NULL)
    return NULL;
  end = path + strcspn(path, "?#");
  while (end > path && end[-1] == '/')
    end--;
  last = end;
  while (last > path && last[-1] != '/')
    last--;
  for (const char *q = last; q < end; q++) {
    if (*q == '%' && end - q >= 3 && hex_value(q[1]) >= 0 &&
        hex_value(q[2]) >= 0) {
      char c = (char)(hex_value(q[1]) * 16 + hex_value(q[2]));

      bad |= c == '\0' || c == '/';
      cb_buf_addc(&b, c);
      q += 2;
    } else {
      cb_buf_addc(&b, *q);
    }
  }
  name = cb_buf_detach(&b, NULL);
  if (bad || *name == '\0' || strcmp(name, ".") == 0 ||
      strcmp(name, "..") == 0) {
    free(name);
    return NULL;
  }
  return name;
}

struct fetch {
  int fd;
  struct cb_hasher *h;
  uint64_t size;
  struct cb_error *err;
};

static size_t
on_body(char *data, size_t size, size_t n, void *user)
{
  struct fetch *f = user;
  size_t len = size * n;

  if (f->size + len > CB_MAX_LAYER_ENTRY_SIZE) {
    cb_fail(&f->err, CB_ERR_UNSAFE, 0, "larger than %llu bytes",
            (unsigned long long)CB_MAX_LAYER_ENTRY_SIZE);
    return 0;
  }
  if (cb_write_all(f->fd, data, len, &f->err) < 0)
    return 0;
  cb_hasher_update(f->h, data, len);
  f->size += len;
  return len;
}

/* A new file ".cbuild-add-XXXXXXXX" in DIR_FD; its name in NAME.  */
static int
temp_file(int dir_fd, char name[32], struct cb_error **err)
{
  for (int tries = 0; tries < 100; tries++) {
    uint32_t r = 0;
    int fd;

    if (getrandom(&r, sizeof(r), 0) != sizeof(r))
      r = (uint32_t)getpid() * 2654435761u + (uint32_t)tries;
    snprintf(name, 32, ".cbuild-add-%08x", r);
    fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
                O_CLOEXEC, 0600);
    if (fd >= 0 || errno != EEXIST)
      return fd >= 0 ? fd : cb_fail_errno(err, "create a temporary file");
  }
  return cb_fail(err, CB_ERR_SYSTEM, EEXIST, "create a temporary file");
}

/* GET URL into FD; *MTIME gets Last-Modified, or -1.  */
static int
download(const char *url, int fd, struct cb_digest *d, int64_t *mtime,
         struct cb_error **err)
{
  cleanup_hasher struct cb_hasher *h = cb_hasher_new();
  struct fetch f = { .fd = fd, .h = h };
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_off_t filetime = -1;
  long status = 0;
  CURLcode rc;
  CURL *c;

  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return cb_fail(err, CB_ERR_SYSTEM, 0, "cannot initialise libcurl");
  c = curl_easy_init();
  if (c == NULL) {
    curl_global_cleanup();
    return cb_fail(err, CB_ERR_SYSTEM, 0, "cannot initialise libcurl");
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "cbuild/" CBUILD_VERSION);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  /* A transfer stalled below 1 byte/s for a minute is given up.  */
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &f);
  rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(c, CURLINFO_FILETIME_T, &filetime);
  curl_easy_cleanup(c);
  curl_global_cleanup();
  if (f.err != NULL) {
    *err = f.err;
    return cb_wrap(err, "'%s'", url);
  }
  if (rc != CURLE_OK)
    return cb_fail(err, CB_ERR_SYSTEM, 0, "'%s': %s", url,
                   errbuf[0] ? errbuf : curl_easy_strerror(rc));
  if (status >= 400)
    return cb_fail(err, CB_ERR_SYSTEM, 0, "'%s': HTTP status %ld", url,
                   status);
  cb_hasher_peek(h, d);
  *mtime = filetime;
  return 0;
}

static int
check_sum(const char *expected, const char *url, const struct cb_digest *d,
          struct cb_error **err)
{
  struct cb_digest want;
  char got[CB_DIGEST_STR_LEN];

  if (expected == NULL)
    return 0;
  if (cb_digest_parse(expected, &want, err) < 0) {
    (*err)->kind = CB_ERR_USAGE;
    return cb_wrap(err, "--checksum");
  }
  if (cb_digest_equal(&want, d))
    return 0;
  cb_digest_str(d, got);
  return cb_fail(err, CB_ERR_DIGEST, 0,
                 "'%s': checksum mismatch: expected %s, got %s", url,
                 expected, got);
}

static int
place(struct copy_ctx *ctx, int fd, int dir_fd, const char *tmp,
      const char *name, int64_t mtime, struct cb_error **err)
{
  struct timespec ts[2];
  mode_t mode = 0600; /* reference: "the destination will have
                         permissions of 600" */

  copy_now(ctx, ts);
  if (mtime >= 0 && (ctx->req->timestamp < 0 || mtime < ctx->req->timestamp)) {
    ts[0].tv_sec = ts[1].tv_sec = (time_t)mtime;
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
  }
  if (ctx->has_chmod)
    mode = copy_chmod_apply(&ctx->chmod, S_IFREG | mode, false);
  if (copy_set_meta(ctx, fd, -1, NULL, true, ctx->chown ? ctx->uid : 0,
                    ctx->chown ? ctx->gid : 0, mode, ts, err) < 0 ||
      copy_clear_target(dir_fd, name, cb_buf_str(&ctx->dpath), err) < 0)
    return -1;
  if (renameat(dir_fd, tmp, dir_fd, name) < 0)
    return cb_fail_errno(err, "rename to '/%s'", cb_buf_str(&ctx->dpath));
  ctx->st->files++;
  return 0;
}

int
copy_url_fetch(struct copy_ctx *ctx, const char *url, int dir_fd,
               const char *name, bool unpack, struct cb_error **err)
{
  cleanup_free char *own_name = NULL;
  cleanup_close int fd = -1;
  char tmp[32];
  struct cb_digest d;
  struct stat st;
  int64_t mtime = -1;
  bool is_tar = false;
  int rc;

  fd = temp_file(dir_fd, tmp, err);
  if (fd < 0)
    return cb_wrap(err, "'/%s'", cb_buf_str(&ctx->dpath));
  rc = download(url, fd, &d, &mtime, err);
  if (rc == 0)
    rc = check_sum(ctx->req->checksum, url, &d, err);
  if (rc == 0 && fstat(fd, &st) == 0)
    ctx->st->bytes += (uint64_t)st.st_size;
  if (rc == 0 && unpack)
    rc = copy_archive_probe(fd, &is_tar, err);
  if (rc == 0 && is_tar) {
    ctx->st->archives++;
    rc = copy_archive_extract(ctx, fd, dir_fd, url, err);
  } else if (rc == 0) {
    if (name == NULL)
      name = own_name = copy_url_name(url);
    if (name == NULL)
      rc = cb_fail(err, CB_ERR_USAGE, 0,
                   "cannot tell a file name for '%s'; give the destination "
                   "a file name", url);
    else
      rc = place(ctx, fd, dir_fd, tmp, name, mtime, err);
    if (rc == 0)
      return 0;
  }
  unlinkat(dir_fd, tmp, 0);
  return rc;
}
