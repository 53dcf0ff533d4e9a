#include "config.h"

#include "registry/client-internal.h"
#include "registry/client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/banned.h"

/* Blobs larger than this go up in PATCH chunks of this size (the
   distribution spec's "chunked upload"); smaller ones in one PUT.  */
#define DEFAULT_CHUNK_SIZE (32u * 1024 * 1024)
/* The smallest chunk $CBUILD_PUSH_CHUNK_SIZE may ask for.  */
#define MIN_CHUNK_SIZE 1024u

size_t
client_on_read(char *buf, size_t size, size_t nitems, void *userdata)
{
  struct upload *u = userdata;
  size_t room = size * nitems;
  struct cb_digest got;
  ssize_t n;

  if (u->mem != NULL) {
    size_t left = u->len - u->off;

    n = (ssize_t)(room < left ? room : left);
    memcpy(buf, u->mem + u->off, (size_t)n);
    u->off += (size_t)n;
    return (size_t)n;
  }
  if (room > u->end - u->sent)
    room = (size_t)(u->end - u->sent);
  if (room == 0)
    return 0;
  do
    n = read(u->fd, buf, room);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    u->read_errno = errno;
    return CURL_READFUNC_ABORT;
  }
  if (n == 0) { /* the file is shorter than the blob */
    u->bad_content = true;
    return CURL_READFUNC_ABORT;
  }
  cb_hasher_update(u->hasher, buf, (size_t)n);
  u->sent += (uint64_t)n;
  /* Check before the last bytes leave: a blob of another digest is
     never complete on the registry's side.  */
  if (u->sent == u->size) {
    cb_hasher_peek(u->hasher, &got);
    if (!cb_digest_equal(&got, u->want)) {
      u->bad_content = true;
      return CURL_READFUNC_ABORT;
    }
  }
  return (size_t)n;
}

/* The chunk size of uploads: $CBUILD_PUSH_CHUNK_SIZE (bytes) when it is
   a number of at least MIN_CHUNK_SIZE, else DEFAULT_CHUNK_SIZE.  */
static uint64_t
chunk_size(void)
{
  const char *v = getenv("CBUILD_PUSH_CHUNK_SIZE");
  char *end = NULL;
  unsigned long long n;

  if (v == NULL || *v == '\0')
    return DEFAULT_CHUNK_SIZE;
  errno = 0;
  n = strtoull(v, &end, 10);
  if (errno != 0 || *end != '\0' || n < MIN_CHUNK_SIZE)
    return DEFAULT_CHUNK_SIZE;
  return n;
}

int
registry_blob_exists(struct registry_client *c, const char *repo,
                     const struct cb_digest *digest, bool *exists,
                     struct cb_error **err)
{
  char ds[CB_DIGEST_STR_LEN];
  cleanup_free char *url = NULL;
  cleanup_free char *what = NULL;
  struct response r = { .max = 0 };
  void *body_ctx[2];
  long status;
  int rc;

  client_choose_scheme(c);
  cb_digest_str(digest, ds);
  url = cb_xasprintf("%s/v2/%s/blobs/%s", c->base, repo, ds);
  what = cb_xasprintf("blob %.19s", ds);
  for (int attempt = 1;; attempt++) {
    client_prepare(c, "HEAD", url, NULL, &r, body_ctx);
    rc = client_perform(c, &r, NULL, what, err);
    status = client_status(c);
    if (rc == 0 && status != 200 && status != 404)
      rc = client_fail_status(c, &r, what, err);
    client_response_release(&r);
    memset(&r, 0, sizeof(r));
    if (rc == 0) {
      *exists = status == 200;
      return 0;
    }
    if (!client_retry(c, attempt, err))
      return -1;
  }
}

/* LOCATION (a Location header, maybe relative) resolved against URL,
   with QUERY ("digest=...", or NULL) added.  New string, or NULL.  */
static char *
resolve(const char *url, const char *location, const char *query)
{
  CURLU *u = curl_url();
  char *curl_out = NULL;
  char *out = NULL;

  if (u == NULL)
    abort();
  if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_URL, location, 0) == CURLUE_OK &&
      (query == NULL ||
       curl_url_set(u, CURLUPART_QUERY, query,
                    CURLU_APPENDQUERY | CURLU_URLENCODE) == CURLUE_OK) &&
      curl_url_get(u, CURLUPART_URL, &curl_out, 0) == CURLUE_OK)
    out = cb_xstrdup(curl_out);
  curl_free(curl_out);
  curl_url_cleanup(u);
  return out;
}

/* POST .../blobs/uploads/ (with QUERY, e.g. a mount request, when not
   NULL).  201 (a mount done) sets *SESSION to NULL; 202 sets it to the
   upload URL the registry gave, resolved against the request URL.  */
static int
post_upload(struct registry_client *c, const char *repo, const char *query,
            const char *what, char **session, struct cb_error **err)
{
  cleanup_free char *url =
      cb_xasprintf("%s/v2/%s/blobs/uploads/%s%s", c->base, repo,
                   query ? "?" : "", query ? query : "");
  struct response r = { .max = 0 };
  void *body_ctx[2];
  long status;
  int rc;

  client_prepare(c, "POST", url, NULL, &r, body_ctx);
  rc = client_perform(c, &r, NULL, what, err);
  status = client_status(c);
  if (rc == 0 && status == 201 && query != NULL) {
    *session = NULL;
  } else if (rc == 0 && status != 202) {
    rc = client_fail_status(c, &r, what, err);
  } else if (rc == 0 && r.location == NULL) {
    rc = cb_fail(err, CB_ERR_REGISTRY, 0,
                 "%s: the registry started an upload without a Location", what);
  } else if (rc == 0) {
    *session = resolve(url, r.location, NULL);
    if (*session == NULL)
      rc = cb_fail(err, CB_ERR_REGISTRY, 0,
                   "%s: the registry gave an invalid upload location", what);
  }
  client_response_release(&r);
  return rc;
}

/* Send BODY (from its SENT to its END) to URL with METHOD ("PUT",
   "PATCH") and the extra header EXTRA (or NULL); the registry must
   answer WANT.  *NEXT, when not NULL, is set to the Location of the
   answer resolved against URL.  */
static int
send_body(struct registry_client *c, const char *method, const char *url,
          const char *content_type, const char *extra, struct upload *body,
          uint64_t len, long want, char **next, const char *what,
          struct cb_error **err)
{
  cleanup_free char *ct = cb_xasprintf("Content-Type: %s", content_type);
  struct curl_slist *headers = NULL;
  struct response r = { .max = 0 };
  void *body_ctx[2];
  int rc;

  headers = curl_slist_append(headers, ct);
  /* No "Expect: 100-continue" wait before the body.  */
  headers = curl_slist_append(headers, "Expect:");
  if (extra != NULL)
    headers = curl_slist_append(headers, extra);
  if (headers == NULL)
    abort();
  client_prepare(c, method, url, headers, &r, body_ctx);
  curl_easy_setopt(c->curl, CURLOPT_UPLOAD, 1L);
  if (strcmp(method, "PUT") != 0)
    curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
  curl_easy_setopt(c->curl, CURLOPT_READFUNCTION, client_on_read);
  curl_easy_setopt(c->curl, CURLOPT_READDATA, body);
  rc = client_perform(c, &r, body, what, err);
  if (rc == 0 && client_status(c) != want)
    rc = client_fail_status(c, &r, what, err);
  if (rc == 0 && next != NULL) {
    *next = r.location != NULL ? resolve(url, r.location, NULL) : NULL;
    if (*next == NULL)
      rc = cb_fail(err, CB_ERR_REGISTRY, 0,
                   "%s: the registry answered a chunk without a valid "
                   "Location",
                   what);
  }
  curl_slist_free_all(headers);
  client_response_release(&r);
  return rc;
}

/* The upload of BODY into the session at URL: PATCH chunks of CHUNK
   bytes (distribution spec "Pushing a blob in chunks": Content-Range
   "start-end", inclusive, no unit), then PUT "?digest=" with no body.  */
static int
put_chunked(struct registry_client *c, const char *url, struct upload *body,
            uint64_t chunk, const char *ds, const char *what,
            struct cb_error **err)
{
  cleanup_free char *loc = cb_xstrdup(url);
  cleanup_free char *query = cb_xasprintf("digest=%s", ds);
  cleanup_free char *final = NULL;
  struct upload empty = { .mem = "", .fd = -1 };

  while (body->sent < body->size) {
    uint64_t start = body->sent;
    uint64_t len = body->size - start < chunk ? body->size - start : chunk;
    cleanup_free char *range = NULL;
    char *next = NULL;

    body->end = start + len;
    range = cb_xasprintf("Content-Range: %llu-%llu", (unsigned long long)start,
                         (unsigned long long)(start + len - 1));
    if (send_body(c, "PATCH", loc, "application/octet-stream", range, body, len,
                  202, &next, what, err) < 0)
      return -1;
    free(loc);
    loc = next;
  }
  final = resolve(loc, loc, query);
  if (final == NULL)
    return cb_fail(err, CB_ERR_REGISTRY, 0,
                   "%s: the registry gave an invalid upload location", what);
  return send_body(c, "PUT", final, "application/octet-stream", NULL, &empty, 0,
                   201, NULL, what, err);
}

/* Ask the registry to mount blob DS into REPO from each repository of
   FROM in turn (distribution spec "Mounting a blob from another
   repository").  *MOUNTED says whether one did; when none did, *SESSION
   is the upload session the last refusal (202) started, or NULL.  */
static int
try_mounts(struct registry_client *c, const char *repo, const char *ds,
           const char *const *from, const char *what, bool *mounted,
           char **session, struct cb_error **err)
{
  *mounted = false;
  *session = NULL;
  for (size_t i = 0; from != NULL && from[i] != NULL; i++) {
    cleanup_free char *query = NULL;
    char *s = NULL;
    CURL *esc = c->curl;
    char *e1 = curl_easy_escape(esc, ds, 0);
    char *e2 = curl_easy_escape(esc, from[i], 0);

    if (e1 == NULL || e2 == NULL)
      abort();
    query = cb_xasprintf("mount=%s&from=%s", e1, e2);
    curl_free(e1);
    curl_free(e2);
    for (int attempt = 1;; attempt++) {
      if (post_upload(c, repo, query, what, &s, err) == 0)
        break;
      if (!client_retry(c, attempt, err))
        return -1;
    }
    free(*session);
    *session = s;
    if (s == NULL) {
      cb_log(CB_LOG_INFO, "%s: mounted from '%s'", what, from[i]);
      *mounted = true;
      return 0;
    }
  }
  return 0;
}

/* One try of an upload of SIZE bytes from FD at START: into SESSION when
   there is one (it is used up), else a new session.  */
static int
upload_once(struct registry_client *c, const char *repo, const char *ds,
            const struct cb_digest *digest, uint64_t size, int fd, off_t start,
            char **session, const char *what, struct cb_error **err)
{
  cleanup_hasher struct cb_hasher *hasher = cb_hasher_new();
  struct upload body = {
    .fd = fd, .size = size, .end = size, .hasher = hasher, .want = digest
  };
  cleanup_free char *url = steal_ptr(session);
  cleanup_free char *query = cb_xasprintf("digest=%s", ds);
  cleanup_free char *put_url = NULL;
  uint64_t chunk = chunk_size();

  if (lseek(fd, start, SEEK_SET) < 0)
    return cb_fail_errno(err, "%s: seek", what);
  if (url == NULL && post_upload(c, repo, NULL, what, &url, err) < 0)
    return -1;
  if (size > chunk)
    return put_chunked(c, url, &body, chunk, ds, what, err);
  put_url = resolve(url, url, query);
  if (put_url == NULL)
    return cb_fail(err, CB_ERR_REGISTRY, 0,
                   "%s: the registry gave an invalid upload location", what);
  return send_body(c, "PUT", put_url, "application/octet-stream", NULL, &body,
                   size, 201, NULL, what, err);
}

int
registry_put_blob(struct registry_client *c, const char *repo,
                  const struct cb_digest *digest, uint64_t size, int fd,
                  const char *const *mount_from, struct cb_error **err)
{
  char ds[CB_DIGEST_STR_LEN];
  cleanup_free char *what = NULL;
  cleanup_free char *session = NULL;
  off_t start = lseek(fd, 0, SEEK_CUR);
  bool mounted = false;

  if (size > INT64_MAX)
    return cb_fail(err, CB_ERR_UNSAFE, 0, "blob too large");
  client_choose_scheme(c);
  cb_digest_str(digest, ds);
  what = cb_xasprintf("blob %.19s", ds);
  if (start < 0)
    return cb_fail_errno(err, "%s: seek", what);
  if (try_mounts(c, repo, ds, mount_from, what, &mounted, &session, err) < 0)
    return -1;
  if (mounted)
    return 0;
  if (size > chunk_size())
    cb_log(CB_LOG_DEBUG, "%s: uploading in chunks of %llu bytes", what,
           (unsigned long long)chunk_size());
  for (int attempt = 1;; attempt++) {
    if (upload_once(c, repo, ds, digest, size, fd, start, &session, what,
                    err) == 0)
      return 0;
    if (!client_retry(c, attempt, err))
      return -1;
  }
}

int
registry_put_manifest(struct registry_client *c, const char *repo,
                      const char *reference, const char *media_type,
                      const char *buf, size_t len, struct cb_error **err)
{
  cleanup_free char *url = NULL;
  cleanup_free char *what = cb_xasprintf("manifest '%s'", reference);

  client_choose_scheme(c);
  url = cb_xasprintf("%s/v2/%s/manifests/%s", c->base, repo, reference);

  for (int attempt = 1;; attempt++) {
    struct upload body = { .mem = buf, .len = len, .fd = -1 };

    if (send_body(c, "PUT", url, media_type, NULL, &body, len, 201, NULL, what,
                  err) == 0)
      return 0;
    if (!client_retry(c, attempt, err))
      return -1;
  }
}
