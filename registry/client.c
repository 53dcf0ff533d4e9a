#include "config.h"

#include "registry/client.h"
#include "registry/client-internal.h"
#include "registry/credentials.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/banned.h"

/* Tries of one request when it fails in a way that may pass (a refused
   or dropped connection, 429, 502, ...), and the pauses between them.  */
#define MAX_ATTEMPTS 3
static const unsigned retry_delay_ms[MAX_ATTEMPTS - 1] = { 250, 1000 };
/* The largest certificate or key file read from a certs.d directory.  */
#define MAX_CERT_FILE (1024u * 1024)

void
client_response_release(struct response *r)
{
  free(r->status_line);
  free(r->content_type);
  free(r->location);
  free(r->content_digest);
  free(r->www_authenticate);
  free(r->content_range);
  cb_buf_release(&r->body);
  cb_buf_release(&r->errbody);
  cb_error_free(r->sink_err);
}

bool
registry_domain_is_insecure(const char *domain)
{
  static const char *const loopback[] = { "localhost", "127.0.0.1", "[::1]" };
  size_t n;

  if (domain[0] == '[') {
    const char *end = strchr(domain, ']');

    n = end == NULL ? strlen(domain) : (size_t)(end - domain) + 1;
  } else {
    n = strcspn(domain, ":");
  }
  for (size_t i = 0; i < CB_N_ELEMENTS(loopback); i++) {
    if (strlen(loopback[i]) == n && strncasecmp(domain, loopback[i], n) == 0)
      return true;
  }
  return false;
}

static bool
valid_domain(const char *d)
{
  if (*d == '\0')
    return false;
  for (; *d != '\0'; d++) {
    if (!((*d >= 'a' && *d <= 'z') || (*d >= 'A' && *d <= 'Z') ||
          (*d >= '0' && *d <= '9') || strchr(".-:[]", *d) != NULL))
      return false;
  }
  return true;
}

struct registry_client *
registry_client_new(const char *domain, struct cb_error **err)
{
  struct registry_client *c;
  const char *host = domain;

  if (!valid_domain(domain))
    return cb_fail_null(err, CB_ERR_USAGE, 0, "invalid registry '%s'", domain);
  if (strcmp(domain, "docker.io") == 0)
    host = "registry-1.docker.io";
  /* Thread-safe and counted since libcurl 7.84.  */
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return cb_fail_null(err, CB_ERR_SYSTEM, 0, "cannot initialise libcurl");
  c = cb_xcalloc(1, sizeof(*c));
  c->curl = curl_easy_init();
  if (c->curl == NULL) {
    free(c);
    curl_global_cleanup();
    return cb_fail_null(err, CB_ERR_SYSTEM, 0, "cannot initialise libcurl");
  }
  c->base = cb_xasprintf("https://%s", host);
  c->tokens = client_tokens_new();
  c->domain = cb_xstrdup(domain);
  c->tls_verify = true;
  c->may_downgrade = registry_domain_is_insecure(domain);
  c->scheme_known = !c->may_downgrade;
  return c;
}

static void
buf_copy(struct cb_buf *to, const struct cb_buf *from)
{
  if (from->len > 0)
    cb_buf_add(to, from->data, from->len);
}

struct registry_client *
client_clone(const struct registry_client *c)
{
  struct registry_client *n = cb_xcalloc(1, sizeof(*n));

  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    abort();
  n->curl = curl_easy_init();
  if (n->curl == NULL)
    abort();
  n->base = cb_xstrdup(c->base);
  n->domain = cb_xstrdup(c->domain);
  n->token = c->token != NULL ? cb_xstrdup(c->token) : NULL;
  n->tokens = client_tokens_ref(c->tokens);
  n->user = c->user != NULL ? cb_xstrdup(c->user) : NULL;
  n->pass = c->pass != NULL ? cb_xstrdup(c->pass) : NULL;
  n->basic = c->basic;
  n->tls_verify = c->tls_verify;
  n->may_downgrade = c->may_downgrade;
  n->scheme_known = true;
  buf_copy(&n->ca, &c->ca);
  buf_copy(&n->cert, &c->cert);
  buf_copy(&n->key, &c->key);
  return n;
}

void
registry_client_free(struct registry_client *c)
{
  if (c == NULL)
    return;
  curl_easy_cleanup(c->curl);
  registry_free_secret(c->token);
  client_tokens_unref(c->tokens);
  free(c->base);
  free(c->domain);
  free(c->user);
  registry_free_secret(c->pass);
  free(c->helper);
  cb_buf_release(&c->ca);
  cb_buf_release(&c->cert);
  if (c->key.data != NULL)
    explicit_bzero(c->key.data, c->key.len);
  cb_buf_release(&c->key);
  free(c);
  curl_global_cleanup();
}

void
registry_client_freep(struct registry_client **c)
{
  registry_client_free(*c);
  *c = NULL;
}

static bool
has_suffix(const char *s, const char *suffix)
{
  size_t n = strlen(s), m = strlen(suffix);

  return n > m && strcmp(s + n - m, suffix) == 0;
}

static int
name_cmp(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read file NAME of directory DIR_FD (shown as PATH) and append it to B.  */
static int
add_file(struct cb_buf *b, int dir_fd, const char *path, const char *name,
         struct cb_error **err)
{
  char *buf = NULL;
  size_t len;

  if (cb_read_file_at(dir_fd, name, MAX_CERT_FILE, &buf, &len, err) < 0)
    return cb_wrap(err, "'%s'", path);
  cb_buf_add(b, buf, len);
  cb_buf_addc(b, '\n');
  explicit_bzero(buf, len);
  free(buf);
  return 0;
}

/* Load the certs.d directory DIR_FD (shown as PATH): every "*.crt" is a
   CA, "NAME.cert" with "NAME.key" a client certificate (the first one in
   name order is used).  */
static int
load_cert_dir(struct registry_client *c, int dir_fd, const char *path,
              struct cb_error **err)
{
  cleanup_strv char **names = cb_list_dir(dir_fd, err);
  size_t n = 0;

  if (names == NULL)
    return cb_wrap(err, "'%s'", path);
  while (names[n] != NULL)
    n++;
  qsort(names, n, sizeof(*names), name_cmp);
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *key = NULL;

    if (has_suffix(names[i], ".crt")) {
      if (add_file(&c->ca, dir_fd, path, names[i], err) < 0)
        return -1;
      continue;
    }
    if (!has_suffix(names[i], ".cert") || c->cert.len > 0)
      continue;
    key = cb_xasprintf("%.*s.key", (int)(strlen(names[i]) - 5), names[i]);
    if (faccessat(dir_fd, key, F_OK, 0) < 0)
      return cb_fail(err, CB_ERR_USAGE, 0,
                     "'%s': client certificate '%s' has no key '%s'", path,
                     names[i], key);
    if (add_file(&c->cert, dir_fd, path, names[i], err) < 0 ||
        add_file(&c->key, dir_fd, path, key, err) < 0)
      return -1;
  }
  return 0;
}

/* The certs.d directory of C's registry: $CBUILD_CERTS_DIR/DOMAIN when
   that is set, else the first of
   $XDG_CONFIG_HOME/containers/certs.d/DOMAIN (~/.config when unset) and
   /etc/containers/certs.d/DOMAIN that exists.  */
static int
load_certs(struct registry_client *c, struct cb_error **err)
{
  const char *over = getenv("CBUILD_CERTS_DIR");
  const char *xdg = getenv("XDG_CONFIG_HOME");
  const char *home = getenv("HOME");
  char *bases[2] = { NULL, NULL };
  int rc = 0;

  if (c->domain[0] == '.')
    return 0;
  if (over != NULL && *over != '\0') {
    bases[0] = cb_xstrdup(over);
  } else {
    if (xdg != NULL && *xdg != '\0')
      bases[0] = cb_xasprintf("%s/containers/certs.d", xdg);
    else if (home != NULL && *home != '\0')
      bases[0] = cb_xasprintf("%s/.config/containers/certs.d", home);
    bases[1] = cb_xstrdup("/etc/containers/certs.d");
  }
  for (size_t i = 0; i < CB_N_ELEMENTS(bases) && rc == 0; i++) {
    cleanup_free char *path = NULL;
    cleanup_close int fd = -1;

    if (bases[i] == NULL)
      continue;
    path = cb_xasprintf("%s/%s", bases[i], c->domain);
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
      continue;
    if (fd < 0)
      rc = cb_fail_errno(err, "cannot open '%s'", path);
    else
      rc = load_cert_dir(c, fd, path, err) < 0 ? -1 : 1;
  }
  free(bases[0]);
  free(bases[1]);
  return rc < 0 ? -1 : 0;
}

int
registry_client_configure(struct registry_client *c,
                          const struct registry_client_config *cfg,
                          struct cb_error **err)
{
  bool found = false;

  if (!cfg->tls_verify) {
    c->tls_verify = false;
    c->may_downgrade = true;
    c->scheme_known = false;
  }
  if (load_certs(c, err) < 0)
    return -1;
  if (cfg->user != NULL) {
    c->user = cb_xstrdup(cfg->user);
    c->pass = cb_xstrdup(cfg->pass != NULL ? cfg->pass : "");
    return 0;
  }
  if (registry_credentials_find(c->domain, &c->user, &c->pass, &found,
                                &c->helper, err) < 0)
    return -1;
  if (!found && c->helper != NULL &&
      registry_credentials_from_helper(c->helper, c->domain, &c->user,
                                       &c->pass, &found, err) < 0)
    return cb_wrap(err, "credentials for '%s'", c->domain);
  if (!found) {
    c->user = NULL;
    c->pass = NULL;
  }
  return 0;
}

/* --- callbacks --- */

static char *
header_value(const char *line, size_t len, const char *name)
{
  size_t n = strlen(name);
  const char *v, *end = line + len;

  if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
    return NULL;
  v = line + n + 1;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  return cb_xstrndup(v, (size_t)(end - v));
}

/* The headers kept, and where.  */
static const struct {
  const char *name;
  size_t off;
} kept_headers[] = {
  { "Content-Type", offsetof(struct response, content_type) },
  { "Location", offsetof(struct response, location) },
  { "Docker-Content-Digest", offsetof(struct response, content_digest) },
  { "WWW-Authenticate", offsetof(struct response, www_authenticate) },
  { "Content-Range", offsetof(struct response, content_range) },
};

static char **
kept_field(struct response *r, size_t i)
{
  return (char **)((char *)r + kept_headers[i].off);
}

static size_t
on_header(char *data, size_t size, size_t nitems, void *userdata)
{
  struct response *r = userdata;
  size_t len = size * nitems;
  char *v;

  /* A new status line (after a redirect or a 100) starts a new set.  */
  if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
    size_t n = len;

    while (n > 0 && (data[n - 1] == '\r' || data[n - 1] == '\n'))
      n--;
    free(r->status_line);
    r->status_line = cb_xstrndup(data, n);
    for (size_t i = 0; i < CB_N_ELEMENTS(kept_headers); i++) {
      free(*kept_field(r, i));
      *kept_field(r, i) = NULL;
    }
    return len;
  }
  for (size_t i = 0; i < CB_N_ELEMENTS(kept_headers); i++)
    if ((v = header_value(data, len, kept_headers[i].name)) != NULL) {
      free(*kept_field(r, i));
      *kept_field(r, i) = v;
      break;
    }
  return len;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
  struct response *r = ((void **)userdata)[0];
  CURL *curl = ((void **)userdata)[1];
  size_t len = size * nmemb;
  size_t all = len;
  long status = 0;

  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    if (r->errbody.len < MAX_ERROR_BODY)
      cb_buf_add(&r->errbody, data,
                 len < MAX_ERROR_BODY - r->errbody.len
                     ? len
                     : MAX_ERROR_BODY - r->errbody.len);
    return len;
  }
  if (status == 200 && r->skip > 0) {
    size_t n = r->skip < len ? (size_t)r->skip : len;

    r->skip -= n;
    data += n;
    len -= n;
  }
  if (len > r->max || r->received > r->max - len) {
    r->toobig = true;
    return 0; /* CURLE_WRITE_ERROR */
  }
  r->received += len;
  if (len == 0)
    return all;
  if (r->hasher != NULL)
    cb_hasher_update(r->hasher, data, len);
  if (r->sink == NULL) {
    cb_buf_add(&r->body, data, len);
    return all;
  }
  if (cb_sink_write(r->sink, data, len, &r->sink_err) < 0)
    return 0;
  return all;
}

/* --- requests --- */

void
client_prepare(struct registry_client *c, const char *method, const char *url,
               struct curl_slist *headers, struct response *r,
               void *body_ctx[2])
{
  CURL *h = c->curl;

  curl_easy_reset(h); /* keeps the connection cache */
  c->errbuf[0] = '\0';
  c->transient = false;
  c->retry_now = false;
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_USERAGENT, "cbuild/" CBUILD_VERSION);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  /* A transfer stalled below 1 byte/s for a minute is given up.  */
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
  body_ctx[0] = r;
  body_ctx[1] = h;
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, body_ctx);
  if (!c->tls_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (c->ca.len > 0) {
    struct curl_blob b = { c->ca.data, c->ca.len, CURL_BLOB_COPY };

    curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
  }
  if (c->cert.len > 0) {
    struct curl_blob cb = { c->cert.data, c->cert.len, CURL_BLOB_COPY };
    struct curl_blob kb = { c->key.data, c->key.len, CURL_BLOB_COPY };

    curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cb);
    curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &kb);
    curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
  }
  /* libcurl sends credentials to this host only, not where it is
     redirected.  */
  if (c->token != NULL) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
    curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, c->token);
  } else if (c->basic) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
    curl_easy_setopt(h, CURLOPT_PASSWORD, c->pass);
  }
  if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
    /* Blob downloads are often redirected to a CDN.  libcurl does not
       send credentials to another host it is redirected to.  */
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  }
  if (strcmp(method, "HEAD") == 0)
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  if (strcmp(method, "POST") == 0) {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
  }
}

long
client_status(struct registry_client *c)
{
  long status = 0;

  curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

char *
registry_error_text(const char *body, size_t len)
{
  json_t *j, *e, *code, *msg;
  struct cb_buf out = CB_BUF_INIT;

  if (len == 0)
    return NULL;
  j = json_loadb(body, len, 0, NULL);
  e = json_array_get(json_object_get(j, "errors"), 0);
  code = json_object_get(e, "code");
  msg = json_object_get(e, "message");
  if (json_is_string(code))
    cb_buf_adds(&out, json_string_value(code));
  if (json_is_string(msg) && json_string_length(msg) > 0) {
    if (out.len > 0)
      cb_buf_adds(&out, ": ");
    cb_buf_adds(&out, json_string_value(msg));
  }
  json_decref(j);
  if (out.len == 0)
    return NULL;
  if (out.len > REGISTRY_MAX_ERROR_TEXT)
    cb_buf_truncate(&out, REGISTRY_MAX_ERROR_TEXT);
  for (size_t i = 0; i < out.len; i++) {
    if ((unsigned char)out.data[i] < 0x20 || out.data[i] == 0x7f)
      out.data[i] = '?';
  }
  return cb_buf_detach(&out, NULL);
}

/* RFC 9110's reason phrase of the statuses a registry is likely to
   send, for HTTP/2 status lines, which have none.  */
static const char *
standard_reason(const char *code)
{
  static const struct {
    char code[4];
    const char *reason;
  } table[] = {
    { "400", " Bad Request" },        { "401", " Unauthorized" },
    { "403", " Forbidden" },          { "404", " Not Found" },
    { "405", " Method Not Allowed" }, { "409", " Conflict" },
    { "413", " Content Too Large" },  { "416", " Range Not Satisfiable" },
    { "429", " Too Many Requests" },  { "500", " Internal Server Error" },
    { "502", " Bad Gateway" },        { "503", " Service Unavailable" },
    { "504", " Gateway Timeout" },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(table); i++) {
    if (strncmp(code, table[i].code, 3) == 0 && code[3] == '\0')
      return table[i].reason;
  }
  return "";
}

const char *
registry_status_reason(const char *line)
{
  const char *sp, *code;

  if (line == NULL)
    return "";
  /* "HTTP/1.1 404 Not Found": the reason follows the second space.  */
  sp = strchr(line, ' ');
  if (sp == NULL)
    return "";
  code = sp + 1;
  sp = strchr(code, ' ');
  if (sp == NULL || sp[strspn(sp, " ")] == '\0') {
    char c3[4] = { 0 };

    if (strcspn(code, " ") == 3)
      memcpy(c3, code, 3);
    return standard_reason(c3);
  }
  for (const char *p = sp; *p != '\0'; p++) {
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      return "";
  }
  return sp;
}

int
client_fail_status(struct registry_client *c, const struct response *r,
                   const char *what, struct cb_error **err)
{
  cleanup_free char *text =
      registry_error_text(r->errbody.data, r->errbody.len);
  long status = client_status(c);
  int auth = 0;

  if (status == 401) {
    auth = client_answer_challenge(c, r->www_authenticate, err);
    if (auth < 0)
      return cb_wrap(err, "%s: HTTP %ld%s", what, status,
                     registry_status_reason(r->status_line));
  }
  cb_fail(err, CB_ERR_REGISTRY, 0, "%s: HTTP %ld%s%s%s%s", what, status,
          registry_status_reason(r->status_line), text != NULL ? " (" : "",
          text != NULL ? text : "", text != NULL ? ")" : "");
  c->transient = status == 429 || status == 500 || status == 502 ||
                 status == 503 || status == 504 || auth == 1;
  c->retry_now = auth == 1;
  return -1;
}

/* Run the prepared request.  A transport failure becomes an error naming
   WHAT; the HTTP status is left to the caller.  */
int
client_perform(struct registry_client *c, struct response *r,
               const struct upload *u, const char *what, struct cb_error **err)
{
  CURLcode rc = curl_easy_perform(c->curl);

  if (rc == CURLE_OK)
    return 0;
  if (r->sink_err != NULL) {
    *err = steal_ptr(&r->sink_err);
    return cb_wrap(err, "%s", what);
  }
  if (r->toobig)
    return cb_fail(err, CB_ERR_UNSAFE, 0, "%s: more than %zu bytes", what,
                   r->max);
  if (u != NULL && u->read_errno != 0)
    return cb_fail(err, CB_ERR_SYSTEM, u->read_errno, "%s: read", what);
  if (u != NULL && u->bad_content)
    return cb_fail(err, CB_ERR_DIGEST, 0,
                   "%s: the local content does not match its digest", what);
  c->transient = rc == CURLE_COULDNT_CONNECT ||
                 rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_SEND_ERROR ||
                 rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
                 rc == CURLE_PARTIAL_FILE || rc == CURLE_HTTP2 ||
                 rc == CURLE_HTTP2_STREAM;
  if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ||
      rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CACERT_BADFILE ||
      rc == CURLE_SSL_CIPHER || rc == CURLE_SSL_ISSUER_ERROR)
    return cb_fail(err, CB_ERR_REGISTRY, 0, "%s: TLS with '%s' failed: %s",
                   what, c->domain,
                   c->errbuf[0] != '\0' ? c->errbuf : curl_easy_strerror(rc));
  return cb_fail(err, CB_ERR_REGISTRY, 0, "%s: %s", what,
                 c->errbuf[0] != '\0' ? c->errbuf : curl_easy_strerror(rc));
}

/* After failed attempt ATTEMPT (from 1) of a request: when the failure
   may pass and tries remain, log and drop *ERR, wait, and return true.  */
bool
client_retry(struct registry_client *c, int attempt, struct cb_error **err)
{
  unsigned ms;
  struct timespec ts;

  if (!c->transient || attempt >= MAX_ATTEMPTS)
    return false;
  if (c->retry_now) {
    cb_log(CB_LOG_INFO, "%s; trying again with %s", (*err)->msg,
           c->token != NULL ? "a token" : "credentials");
    cb_error_free(*err);
    *err = NULL;
    return true;
  }
  ms = retry_delay_ms[attempt - 1];
  cb_log(CB_LOG_INFO, "%s; retrying in %u ms", (*err)->msg, ms);
  cb_error_free(*err);
  *err = NULL;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
  return true;
}

/* For a registry that may be spoken to over plain HTTP (loopback, or
   --tls-verify=false): try HTTPS once, and use HTTP if the server does
   not speak TLS.  Any other outcome keeps HTTPS and is left to the
   request that follows.  */
void
client_choose_scheme(struct registry_client *c)
{
  cleanup_free char *url = NULL;
  struct response r = { .max = MAX_ERROR_BODY };
  void *body_ctx[2];
  CURLcode rc;

  if (c->scheme_known)
    return;
  c->scheme_known = true;
  url = cb_xasprintf("%s/v2/", c->base);
  client_prepare(c, "GET", url, NULL, &r, body_ctx);
  rc = curl_easy_perform(c->curl);
  client_response_release(&r);
  if (rc == CURLE_SSL_CONNECT_ERROR) {
    char *http = cb_xasprintf("http://%s", c->base + strlen("https://"));

    cb_log(CB_LOG_DEBUG, "'%s' does not speak TLS: using plain HTTP",
           c->domain);
    free(c->base);
    c->base = http;
  }
}

int
registry_login(struct registry_client *c, struct cb_error **err)
{
  cleanup_free char *url = NULL;
  cleanup_free char *what = cb_xasprintf("login to %s failed", c->domain);

  client_choose_scheme(c);
  url = cb_xasprintf("%s/v2/", c->base);
  for (int attempt = 1;; attempt++) {
    struct response r = { .max = MAX_ERROR_BODY };
    void *body_ctx[2];
    int rc;

    client_prepare(c, "GET", url, NULL, &r, body_ctx);
    rc = client_perform(c, &r, NULL, what, err);
    if (rc == 0 && client_status(c) != 200)
      rc = client_fail_status(c, &r, what, err);
    client_response_release(&r);
    if (rc == 0)
      return 0;
    if (!client_retry(c, attempt, err))
      return -1;
  }
}

/* The media type of a Content-Type value: parameters and blanks
   dropped.  New string.  */
static char *
bare_media_type(const char *ct)
{
  size_t n;

  if (ct == NULL)
    return cb_xstrdup("");
  n = strcspn(ct, "; \t");
  return cb_xstrndup(ct, n);
}

/* A manifest whose bytes hash to GOT must match the digest it was asked
   by (REFERENCE, when one) and the one the registry claims (CLAIMED, the
   Docker-Content-Digest header, when it is a sha256 one).  */
static int
check_manifest_digest(const struct cb_digest *got, const char *reference,
                      const char *claimed, const char *what,
                      struct cb_error **err)
{
  struct cb_error *ignored = NULL;
  char s[CB_DIGEST_STR_LEN];
  struct cb_digest want;

  cb_digest_str(got, s);
  if (strncmp(reference, "sha256:", 7) == 0) {
    if (cb_digest_parse(reference, &want, err) < 0)
      return -1;
    if (!cb_digest_equal(got, &want))
      return cb_fail(err, CB_ERR_DIGEST, 0,
                     "%s: the registry sent content of digest %s", what, s);
  }
  if (claimed == NULL || strncmp(claimed, "sha256:", 7) != 0)
    return 0;
  if (cb_digest_parse(claimed, &want, &ignored) < 0) {
    cb_error_free(ignored);
    return cb_fail(err, CB_ERR_REGISTRY, 0,
                   "%s: invalid Docker-Content-Digest header", what);
  }
  if (!cb_digest_equal(got, &want))
    return cb_fail(err, CB_ERR_DIGEST, 0,
                   "%s: the registry says %.80s but sent content of "
                   "digest %s",
                   what, claimed, s);
  return 0;
}

static int
get_manifest_once(struct registry_client *c, const char *url,
                  const char *reference, const char *what, char **buf,
                  size_t *len, char **media_type, struct cb_digest *digest,
                  struct cb_error **err)
{
  struct curl_slist *headers =
      curl_slist_append(NULL, "Accept: " REGISTRY_ACCEPT_MANIFESTS);
  struct response r = { .max = MAX_MANIFEST_SIZE };
  void *body_ctx[2];
  struct cb_digest got;
  int rc;

  if (headers == NULL)
    abort();
  client_prepare(c, "GET", url, headers, &r, body_ctx);
  rc = client_perform(c, &r, NULL, what, err);
  if (rc == 0 && client_status(c) != 200)
    rc = client_fail_status(c, &r, what, err);
  if (rc == 0) {
    cb_digest_of(r.body.data == NULL ? "" : r.body.data, r.body.len, &got);
    rc = check_manifest_digest(&got, reference, r.content_digest, what, err);
  }
  if (rc == 0) {
    *media_type = bare_media_type(r.content_type);
    *digest = got;
    *buf = cb_buf_detach(&r.body, len);
  }
  curl_slist_free_all(headers);
  client_response_release(&r);
  return rc;
}

int
registry_get_manifest(struct registry_client *c, const char *repo,
                      const char *reference, char **buf, size_t *len,
                      char **media_type, struct cb_digest *digest,
                      struct cb_error **err)
{
  cleanup_free char *url = NULL;
  cleanup_free char *what = cb_xasprintf("manifest '%s'", reference);

  client_choose_scheme(c);
  url = cb_xasprintf("%s/v2/%s/manifests/%s", c->base, repo, reference);

  for (int attempt = 1;; attempt++) {
    if (get_manifest_once(c, url, reference, what, buf, len, media_type, digest,
                          err) == 0)
      return 0;
    if (!client_retry(c, attempt, err))
      return -1;
  }
}

/* Whether the 206 answer R starts at byte FROM ("bytes FROM-END/SIZE").  */
static bool
range_starts_at(const struct response *r, uint64_t from)
{
  unsigned long long start;
  char unit[8];

  return r->content_range != NULL &&
         sscanf(r->content_range, "%7s %llu-", unit, &start) == 2 &&
         strcmp(unit, "bytes") == 0 && start == from;
}

/* One GET of blob DIGEST of SIZE bytes, of which *HAVE went into SINK
   (and HASHER) already: then it asks for the rest with a Range request.
   A registry that answers 206 sends the rest; one that answers 200 sends
   it all, and what SINK has is dropped from it.  *HAVE grows with what
   arrives, even on failure.  */
static int
get_blob_once(struct registry_client *c, const char *url, const char *what,
              const struct cb_digest *digest, uint64_t size,
              const struct cb_sink *sink, struct cb_hasher *hasher,
              uint64_t *have, struct cb_error **err)
{
  struct response r = { .sink = sink, .hasher = hasher, .skip = *have };
  char range[32];
  void *body_ctx[2];
  struct cb_digest got;
  long status;
  int rc = 0;

  /* All there (the connection dropped after the last byte): check.  */
  if (*have == size && size > 0)
    goto check;
  r.max = size - *have > SIZE_MAX ? SIZE_MAX : (size_t)(size - *have);
  client_prepare(c, "GET", url, NULL, &r, body_ctx);
  if (*have > 0) {
    snprintf(range, sizeof(range), "%llu-", (unsigned long long)*have);
    curl_easy_setopt(c->curl, CURLOPT_RANGE, range);
    cb_log(CB_LOG_INFO, "%s: resuming at byte %s", what, range);
  }
  rc = client_perform(c, &r, NULL, what, err);
  status = client_status(c);
  if (rc == 0 && status == 206 && *have > 0 && !range_starts_at(&r, *have))
    rc = cb_fail(err, CB_ERR_REGISTRY, 0,
                 "%s: the registry sent another range than asked", what);
  else if (rc == 0 && status != 200 && !(status == 206 && *have > 0))
    rc = client_fail_status(c, &r, what, err);
  *have += r.received;
check:
  if (rc == 0) {
    cb_hasher_peek(hasher, &got);
    if (*have != size)
      rc = cb_fail(err, CB_ERR_DIGEST, 0,
                   "%s: the registry sent %llu bytes, not %llu", what,
                   (unsigned long long)*have, (unsigned long long)size);
    else if (!cb_digest_equal(&got, digest))
      rc = cb_fail(err, CB_ERR_DIGEST, 0,
                   "%s: the registry sent content of another digest", what);
  }
  client_response_release(&r);
  return rc;
}

int
registry_get_blob(struct registry_client *c, const char *repo,
                  const struct cb_digest *digest, uint64_t size,
                  const struct cb_sink *sink, struct cb_error **err)
{
  cleanup_hasher struct cb_hasher *hasher = cb_hasher_new();
  char ds[CB_DIGEST_STR_LEN];
  cleanup_free char *url = NULL;
  cleanup_free char *what = NULL;
  uint64_t have = 0;

  client_choose_scheme(c);
  cb_digest_str(digest, ds);
  url = cb_xasprintf("%s/v2/%s/blobs/%s", c->base, repo, ds);
  what = cb_xasprintf("blob %.19s", ds);
  for (int attempt = 1;; attempt++) {
    if (get_blob_once(c, url, what, digest, size, sink, hasher, &have,
                      err) == 0)
      return 0;
    if (!client_retry(c, attempt, err))
      return -1;
  }
}
