/* Helpers of registry/client.c that parse what a registry sends, shared
   with the unit tests.  */
#ifndef CBUILD_REGISTRY_CLIENT_INTERNAL_H
#define CBUILD_REGISTRY_CLIENT_INTERNAL_H

#ifndef CB_IN_REGISTRY
#error "registry/client-internal.h is internal to registry/"
#endif

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/digest.h"
#include "common/error.h"
#include "common/stream.h"

/* What is quoted of the registry's own error text.  */
#define REGISTRY_MAX_ERROR_TEXT 200

/* The registry's own words from an error body of LEN bytes
   (distribution spec: {"errors": [{"code": C, "message": M}, ...]}):
   "C: M" of the first error, or what it has of the two, cut to
   REGISTRY_MAX_ERROR_TEXT bytes, control characters replaced by '?'.
   A new string, or NULL when BODY says nothing usable.  */
char *registry_error_text(const char *body, size_t len);

/* The reason phrase of an HTTP status line with its leading space
   (" Not Found" for "HTTP/1.1 404 Not Found"), borrowed from LINE; for
   a line without one (HTTP/2) the standard phrase of common statuses;
   "" otherwise, or when it holds control characters.  LINE may
   be NULL.  */
const char *registry_status_reason(const char *line);

/* One challenge of a Www-Authenticate header (RFC 9110 "Challenge and
   Response"), with the parameters the distribution token flow uses.  */
struct registry_challenge {
  char *scheme;  /* "Bearer", "Basic", as sent; owned */
  char *realm;   /* owned; NULL when absent */
  char *service; /* owned; NULL when absent */
  char *scope;   /* owned; NULL when absent */
};

/* Parse the Www-Authenticate value VALUE: the Bearer challenge when
   there is one, else the first.  Parameter names are case-insensitive,
   values tokens or quoted strings (backslash escapes undone); unknown
   parameters are skipped, a repeated one keeps its first value.
   Returns -1, with *OUT untouched, when VALUE has no challenge or is
   malformed (an unterminated quote, a control character, junk after a
   value).  Release *OUT with registry_challenge_release().  */
int registry_parse_challenge(const char *value, struct registry_challenge *out);
void registry_challenge_release(struct registry_challenge *ch);

/* The distribution spec lets registries refuse manifests over 4 MiB
   (layers/oci.h has the same bound for parsing).  */
#define MAX_MANIFEST_SIZE (4u * 1024 * 1024)
/* What is kept of an error response body: enough for the JSON errors
   array, not more.  */
#define MAX_ERROR_BODY (64u * 1024)

/* The Bearer tokens a client and its clones got, by scope.  */
struct client_tokens;

struct registry_client {
  CURL *curl;
  char *base; /* "https://host:port"; owned */
  char errbuf[CURL_ERROR_SIZE];
  bool transient; /* the last request failed in a way that may pass */
  bool retry_now; /* ... and may be tried again at once (new token) */
  char *token;    /* the Bearer token sent now; owned, never logged */
  struct client_tokens *tokens; /* shared with clones of this client */
  char *domain;                 /* as given; owned */
  char *user, *pass;            /* credentials; owned, pass never logged */
  char *helper;            /* the credential helper docker has for it; owned */
  bool basic;              /* send user and pass with Basic auth */
  bool tls_verify;         /* check the server's certificate */
  bool may_downgrade;      /* plain HTTP if the server does not speak TLS */
  bool scheme_known;       /* c->base has been probed, or need not be */
  struct cb_buf ca;        /* PEM CAs from certs.d, added to the system ones */
  struct cb_buf cert, key; /* PEM client certificate and key */
};

/* One request and what came back.  With FOLLOWLOCATION, every response
   of a redirect chain starts with a status line: the header callback
   then forgets what the previous one said.  */
struct response {
  char *status_line;      /* "HTTP/1.1 404 Not Found", CRLF stripped; owned */
  char *content_type;     /* owned */
  char *location;         /* owned */
  char *content_digest;   /* Docker-Content-Digest; owned */
  char *www_authenticate; /* owned */
  const struct cb_sink *sink; /* a 2xx body goes here when not NULL */
  struct cb_hasher *hasher;   /* and is hashed when not NULL */
  char *content_range; /* owned */
  uint64_t skip; /* bytes of a 200 body to drop (a resume not honoured) */
  size_t max;    /* the bound of a 2xx body (after SKIP) */
  uint64_t received;          /* 2xx body bytes */
  bool toobig;
  struct cb_buf body;    /* a 2xx body when there is no sink */
  struct cb_buf errbody; /* the start of a non-2xx body */
  struct cb_error *sink_err;
};

/* A request body: LEN bytes at MEM, or the bytes of a blob of SIZE
   bytes read from FD up to END (the whole blob, or one chunk of it), and
   checked against WANT as they go.  */
struct upload {
  const char *mem;
  size_t len, off;
  int fd;
  uint64_t size, sent, end;
  struct cb_hasher *hasher;
  const struct cb_digest *want;
  int read_errno;
  bool bad_content; /* short, long, or another digest */
};

void client_response_release(struct response *r);

/* Set up C's handle for METHOD ("GET", "HEAD", "POST", "PUT", "PATCH")
   on URL, with the options every request shares (TLS, credentials or
   token, callbacks filling R).  BODY_CTX is storage for the body
   callback that must live as long as the request.  */
void client_prepare(struct registry_client *c, const char *method,
                    const char *url, struct curl_slist *headers,
                    struct response *r, void *body_ctx[2]);

/* Run the prepared request.  A transport failure becomes an error naming
   WHAT (and marks C transient when it may pass); the HTTP status is left
   to the caller.  U is the request body, or NULL.  */
int client_perform(struct registry_client *c, struct response *r,
                   const struct upload *u, const char *what,
                   struct cb_error **err);

/* The HTTP status of the last request.  */
long client_status(struct registry_client *c);

/* Fail with the status of R: "WHAT: HTTP 404 Not Found (CODE: text)".
   A 401 that a token or credentials may answer gets them first and
   marks C to be tried again at once.  */
int client_fail_status(struct registry_client *c, const struct response *r,
                       const char *what, struct cb_error **err);

/* After failed attempt ATTEMPT (from 1): when the failure may pass and
   tries remain, log and drop *ERR, wait, and return true.  */
bool client_retry(struct registry_client *c, int attempt,
                  struct cb_error **err);

/* A client for the same registry as C, set up the same way (scheme,
   TLS, credentials, the token in use), with its own connection, for
   another thread.  Tokens by scope are shared with C.  */
struct registry_client *client_clone(const struct registry_client *c);

/* Settle HTTPS or plain HTTP for a registry that may use either.  */
void client_choose_scheme(struct registry_client *c);

/* CURLOPT_READFUNCTION for a struct upload.  */
size_t client_on_read(char *buf, size_t size, size_t nitems, void *userdata);

/* --- tokens (token.c) --- */

struct client_tokens *client_tokens_new(void);
/* Another holder of T.  */
struct client_tokens *client_tokens_ref(struct client_tokens *t);
/* Drop a holder; the last one wipes and frees the tokens.  */
void client_tokens_unref(struct client_tokens *t);

/* Answer a 401 whose Www-Authenticate is HEADER: for a Bearer challenge,
   the token kept for its scope (asked from the realm once per scope, by
   one client at a time) unless it is the one just sent; for Basic, the
   credentials.  Returns 1 when the request may be tried again with what
   was set up, 0 when nothing more can be done, -1 on error.  */
int client_answer_challenge(struct registry_client *c, const char *header,
                            struct cb_error **err);

/* The token URL of CH: its realm with "service" and one "scope"
   parameter for each blank-separated scope of CH added to the query.
   New string, or NULL when the realm is not an http(s) URL.  */
char *registry_token_url(const struct registry_challenge *ch);

#endif
