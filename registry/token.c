#include "config.h"

#include "registry/client-internal.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/mem.h"
#include "registry/credentials.h"
#include "common/banned.h"

/* Bearer tokens by scope (the "scope" of the challenge, as sent), for
   the whole run: the registry asks again for a scope it has seen when
   requests alternate between repositories (a push that mounts blobs from
   several), and clients that fetch blobs side by side share them.  */
struct token_entry {
  char *scope; /* owned */
  char *token; /* owned, never logged */
};

struct client_tokens {
  pthread_mutex_t lock; /* held while a token is fetched */
  unsigned refs;
  struct token_entry *v;
  size_t n;
};

struct client_tokens *
client_tokens_new(void)
{
  struct client_tokens *t = cb_xcalloc(1, sizeof(*t));

  pthread_mutex_init(&t->lock, NULL);
  t->refs = 1;
  return t;
}

struct client_tokens *
client_tokens_ref(struct client_tokens *t)
{
  pthread_mutex_lock(&t->lock);
  t->refs++;
  pthread_mutex_unlock(&t->lock);
  return t;
}

void
client_tokens_unref(struct client_tokens *t)
{
  unsigned left;

  if (t == NULL)
    return;
  pthread_mutex_lock(&t->lock);
  left = --t->refs;
  pthread_mutex_unlock(&t->lock);
  if (left > 0)
    return;
  for (size_t i = 0; i < t->n; i++) {
    free(t->v[i].scope);
    registry_free_secret(t->v[i].token);
  }
  free(t->v);
  pthread_mutex_destroy(&t->lock);
  free(t);
}

/* The entry of SCOPE, or NULL.  Called with the lock held.  */
static struct token_entry *
tokens_find(struct client_tokens *t, const char *scope)
{
  for (size_t i = 0; i < t->n; i++) {
    if (strcmp(t->v[i].scope, scope) == 0)
      return &t->v[i];
  }
  return NULL;
}

/* Append "NAME=VALUE" to the query of U.  */
static bool
add_param(CURLU *u, const char *name, const char *value)
{
  cleanup_free char *p = cb_xasprintf("%s=%s", name, value);

  return curl_url_set(u, CURLUPART_QUERY, p,
                      CURLU_APPENDQUERY | CURLU_URLENCODE) == CURLUE_OK;
}

/* Docker splits a challenge's "repository:a:pull repository:b:pull"
   into one scope parameter each, and token servers expect that.  */
static bool
add_scopes(CURLU *u, const char *scopes)
{
  const char *p = scopes;

  while (*p != '\0') {
    size_t n = strcspn(p, " ");
    cleanup_free char *one = cb_xstrndup(p, n);

    if (n > 0 && !add_param(u, "scope", one))
      return false;
    p += n;
    p += strspn(p, " ");
  }
  return true;
}

char *
registry_token_url(const struct registry_challenge *ch)
{
  CURLU *u = curl_url();
  char *curl_out = NULL;
  char *out = NULL;

  if (u == NULL)
    abort();
  if ((strncasecmp(ch->realm, "https://", 8) == 0 ||
       strncasecmp(ch->realm, "http://", 7) == 0) &&
      curl_url_set(u, CURLUPART_URL, ch->realm, 0) == CURLUE_OK &&
      (ch->service == NULL || add_param(u, "service", ch->service)) &&
      (ch->scope == NULL || add_scopes(u, ch->scope)) &&
      curl_url_get(u, CURLUPART_URL, &curl_out, 0) == CURLUE_OK)
    out = cb_xstrdup(curl_out);
  curl_free(curl_out);
  curl_url_cleanup(u);
  return out;
}

/* The token of a token server's answer ({"token": T} or
   {"access_token": T}): a new string, or NULL when there is none or it
   holds characters a header cannot.  */
static char *
token_of(const struct cb_buf *body)
{
  json_t *j =
      json_loadb(body->data == NULL ? "" : body->data, body->len, 0, NULL);
  json_t *t = json_object_get(j, "token");
  const char *s;
  char *out = NULL;

  if (!json_is_string(t) || json_string_length(t) == 0)
    t = json_object_get(j, "access_token");
  s = json_is_string(t) ? json_string_value(t) : "";
  for (const char *p = s; *p != '\0'; p++) {
    if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
      s = "";
      break;
    }
  }
  if (*s != '\0')
    out = cb_xstrdup(s);
  json_decref(j);
  return out;
}

/* Ask the token server of CH for a token (distribution "token
   authentication"), with C's credentials when it has some: *TOKEN is a
   new string.  */
static int
fetch_token(struct registry_client *c, const struct registry_challenge *ch,
            char **token, struct cb_error **err)
{
  cleanup_free char *url = registry_token_url(ch);
  struct response r = { .max = MAX_ERROR_BODY };
  void *body_ctx[2];
  long status;
  int rc;

  if (url == NULL)
    return cb_fail(err, CB_ERR_REGISTRY, 0,
                   "token realm '%.200s' is not an http(s) URL", ch->realm);
  /* The realm may be another host: it is where credentials go, though
     not in the clear when the registry itself is spoken to over TLS.  */
  if (c->user != NULL && strncasecmp(url, "http://", 7) == 0 &&
      strncmp(c->base, "https://", 8) == 0)
    return cb_fail(err, CB_ERR_REGISTRY, 0,
                   "token realm '%.200s' is plain HTTP: credentials are "
                   "not sent there",
                   ch->realm);
  registry_free_secret(c->token);
  c->token = NULL;
  client_prepare(c, "GET", url, NULL, &r, body_ctx);
  if (c->user != NULL) {
    curl_easy_setopt(c->curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(c->curl, CURLOPT_USERNAME, c->user);
    curl_easy_setopt(c->curl, CURLOPT_PASSWORD, c->pass);
  }
  cb_log(CB_LOG_DEBUG, "asking for a token for '%.200s'",
         ch->scope != NULL ? ch->scope : "");
  rc = client_perform(c, &r, NULL, "token", err);
  status = client_status(c);
  if (rc == 0 && status != 200)
    rc = cb_fail(err, CB_ERR_REGISTRY, 0, "token: HTTP %ld%s", status,
                 registry_status_reason(r.status_line));
  if (rc == 0 && (*token = token_of(&r.body)) == NULL)
    rc = cb_fail(err, CB_ERR_REGISTRY, 0, "token: the answer holds no token");
  if (r.body.data != NULL)
    explicit_bzero(r.body.data, r.body.len);
  client_response_release(&r);
  return rc;
}

/* The token for the scope of CH into C->token: the kept one, unless it
   is what C just sent (then it is not enough: 0), else a new one.  */
static int
use_token(struct registry_client *c, const struct registry_challenge *ch,
          struct cb_error **err)
{
  struct client_tokens *t = c->tokens;
  const char *scope = ch->scope != NULL ? ch->scope : "";
  struct token_entry *e;
  char *token = NULL;
  int rc = 1;

  pthread_mutex_lock(&t->lock);
  e = tokens_find(t, scope);
  if (e != NULL && c->token != NULL && strcmp(e->token, c->token) == 0) {
    rc = 0;
  } else if (e != NULL) {
    registry_free_secret(c->token);
    c->token = cb_xstrdup(e->token);
  } else if (fetch_token(c, ch, &token, err) < 0) {
    rc = -1;
  } else {
    t->v = cb_xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
    t->v[t->n].scope = cb_xstrdup(scope);
    t->v[t->n].token = token;
    t->n++;
    c->token = cb_xstrdup(token);
  }
  pthread_mutex_unlock(&t->lock);
  return rc;
}

int
client_answer_challenge(struct registry_client *c, const char *header,
                        struct cb_error **err)
{
  struct registry_challenge ch = { 0 };
  int rc = 0;

  if (header == NULL || registry_parse_challenge(header, &ch) < 0)
    return 0;
  if (strcasecmp(ch.scheme, "Bearer") == 0 && ch.realm != NULL)
    rc = use_token(c, &ch, err);
  else if (strcasecmp(ch.scheme, "Basic") == 0 && c->user != NULL &&
           !c->basic) {
    c->basic = true;
    rc = 1;
  }
  registry_challenge_release(&ch);
  return rc;
}
