/* What the registry client reads from responses: error bodies, status
   lines, and which registries it speaks plain HTTP to.  */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/mem.h"
#include "registry/client-internal.h"
#include "registry/client.h"
#include "tap.h"

static void
check_error_text(const char *body, const char *want)
{
  char *got = registry_error_text(body, strlen(body));

  is_str(got, want, "error text of '%.60s'", body);
  free(got);
}

static void
test_error_text(void)
{
  struct cb_buf long_body = CB_BUF_INIT;
  char *got;

  check_error_text("{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\","
                   "\"message\":\"manifest unknown\",\"detail\":{}}]}",
                   "MANIFEST_UNKNOWN: manifest unknown");
  /* Only the first error is quoted.  */
  check_error_text("{\"errors\":[{\"code\":\"DENIED\",\"message\":\"no\"},"
                   "{\"code\":\"UNAUTHORIZED\",\"message\":\"who\"}]}",
                   "DENIED: no");
  check_error_text("{\"errors\":[{\"code\":\"UNSUPPORTED\"}]}", "UNSUPPORTED");
  check_error_text("{\"errors\":[{\"message\":\"only words\"}]}",
                   "only words");
  check_error_text("{\"errors\":[{\"code\":\"X\",\"message\":\"\"}]}", "X");
  /* Control characters from the registry do not reach the terminal.  */
  check_error_text("{\"errors\":[{\"code\":\"X\",\"message\":\"a\\u001b[31mb\\n\"}]}",
                   "X: a?[31mb?");
  /* Not the distribution format: nothing to quote.  */
  check_error_text("", NULL);
  check_error_text("<html>502 Bad Gateway</html>", NULL);
  check_error_text("{\"errors\":[]}", NULL);
  check_error_text("{\"errors\":{\"code\":\"X\"}}", NULL);
  check_error_text("{\"errors\":[{\"code\":42,\"message\":[]}]}", NULL);
  check_error_text("[1,2]", NULL);
  /* Bounded.  */
  cb_buf_adds(&long_body, "{\"errors\":[{\"code\":\"X\",\"message\":\"");
  for (int i = 0; i < 1000; i++)
    cb_buf_addc(&long_body, 'm');
  cb_buf_adds(&long_body, "\"}]}");
  got = registry_error_text(long_body.data, long_body.len);
  ok(got != NULL && strlen(got) == REGISTRY_MAX_ERROR_TEXT,
     "a long message is cut to %d bytes", REGISTRY_MAX_ERROR_TEXT);
  free(got);
  cb_buf_release(&long_body);
}

static void
test_status_reason(void)
{
  is_str(registry_status_reason("HTTP/1.1 404 Not Found"), " Not Found",
         "HTTP/1.1 reason");
  is_str(registry_status_reason("HTTP/1.1 201 Created"), " Created",
         "201 reason");
  is_str(registry_status_reason("HTTP/2 404"), " Not Found",
         "HTTP/2 has none: the standard one");
  is_str(registry_status_reason("HTTP/2 299"), "", "no standard one");
  is_str(registry_status_reason("HTTP/2 401 "), " Unauthorized",
         "an empty reason: the standard one");
  is_str(registry_status_reason(NULL), "", "no status line");
  is_str(registry_status_reason("HTTP/1.1 500 bad\033[2J"), "",
         "control characters drop the reason");
}

static void
test_insecure(void)
{
  static const struct {
    const char *domain;
    bool insecure;
  } cases[] = {
    { "localhost", true },         { "localhost:5000", true },
    { "LocalHost:5000", true },    { "127.0.0.1", true },
    { "127.0.0.1:5000", true },    { "[::1]", true },
    { "[::1]:5000", true },        { "docker.io", false },
    { "localhost.example", false }, { "127.0.0.10:5000", false },
    { "127.0.0.1.nip.io", false }, { "[::2]:5000", false },
    { "quay.io:443", false },      { "localhostx:5000", false },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(cases); i++)
    is_int(registry_domain_is_insecure(cases[i].domain), cases[i].insecure,
           "'%s' is %s", cases[i].domain,
           cases[i].insecure ? "plain HTTP" : "HTTPS");
}

static void
test_client_new(void)
{
  static const char *const bad[] = { "", "host/path", "a b", "h@st",
                                     "host?x" };
  struct registry_client *c;
  struct cb_error *err = NULL;

  c = registry_client_new("127.0.0.1:5000", &err);
  ok(c != NULL && err == NULL, "a client for 127.0.0.1:5000");
  registry_client_free(c);
  registry_client_free(NULL);
  for (size_t i = 0; i < CB_N_ELEMENTS(bad); i++) {
    err = NULL;
    c = registry_client_new(bad[i], &err);
    ok(c == NULL && err != NULL && err->kind == CB_ERR_USAGE,
       "registry '%s' is refused", bad[i]);
    cb_error_free(err);
  }
}

struct challenge_case {
  const char *in;
  const char *scheme, *realm, *service, *scope;
};

static void
test_challenge(void)
{
  static const struct challenge_case good[] = {
    { "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
      "scope=\"repository:library/busybox:pull\"",
      "Bearer", "https://auth.docker.io/token", "registry.docker.io",
      "repository:library/busybox:pull" },
    { "Basic realm=\"Registry Realm\"", "Basic", "Registry Realm", NULL, NULL },
    /* Case-insensitive names, blanks around '=' and ',', tokens.  */
    { "bearer  REALM = \"http://127.0.0.1:1/t\" , Service=reg ,scope=\"a b\"",
      "bearer", "http://127.0.0.1:1/t", "reg", "a b" },
    /* Escapes, unknown and repeated parameters.  */
    { "Bearer realm=\"x\\\"y\",error=\"insufficient_scope\",realm=\"no\"",
      "Bearer", "x\"y", NULL, NULL },
    /* Several challenges: Bearer wins wherever it is.  */
    { "Basic realm=\"b\", Bearer realm=\"t\",scope=\"s\"", "Bearer", "t",
      NULL, "s" },
    { "Negotiate, Basic realm=\"b\"", "Negotiate", NULL, NULL, NULL },
    { "Bearer", "Bearer", NULL, NULL, NULL },
  };
  static const char *const bad[] = {
    "", "   ", ",,", "Bearer realm=\"unterminated", "Bearer realm=",
    "Bearer realm=\"a\" junk", "Bearer realm=\"a\x01b\"", "=x",
    "Bearer realm=\"a\"\"b\"",
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(good); i++) {
    struct registry_challenge ch = { 0 };
    const struct challenge_case *c = &good[i];

    if (!ok(registry_parse_challenge(c->in, &ch) == 0, "parse '%s'", c->in))
      continue;
    is_str(ch.scheme, c->scheme, "'%s' scheme", c->in);
    is_str(ch.realm, c->realm, "'%s' realm", c->in);
    is_str(ch.service, c->service, "'%s' service", c->in);
    is_str(ch.scope, c->scope, "'%s' scope", c->in);
    registry_challenge_release(&ch);
  }
  for (size_t i = 0; i < CB_N_ELEMENTS(bad); i++) {
    struct registry_challenge ch = { 0 };

    is_int(registry_parse_challenge(bad[i], &ch), -1, "refuse '%s'", bad[i]);
    ok(ch.scheme == NULL, "'%s' leaves the output alone", bad[i]);
  }
}

static void
test_token_url(void)
{
  static const struct {
    const char *realm, *service, *scope, *want;
  } cases[] = {
    { "https://auth.example/token", "registry.example",
      "repository:a/b:pull",
      "https://auth.example/token?service=registry.example&"
      "scope=repository%3aa%2fb%3apull" },
    /* A mount asks for two repositories: two scope parameters.  */
    { "https://auth.example/token?x=1", NULL,
      "repository:a:pull,push  repository:b:pull",
      "https://auth.example/token?x=1&scope=repository%3aa%3apull%2cpush&"
      "scope=repository%3ab%3apull" },
    { "http://127.0.0.1:5001/t", "s p", NULL,
      "http://127.0.0.1:5001/t?service=s+p" },
    { "ftp://auth.example/token", NULL, NULL, NULL },
    { "/relative/token", NULL, NULL, NULL },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(cases); i++) {
    struct registry_challenge ch = {
      .scheme = (char *)"Bearer",
      .realm = (char *)cases[i].realm,
      .service = (char *)cases[i].service,
      .scope = (char *)cases[i].scope,
    };
    char *got = registry_token_url(&ch);

    is_str(got, cases[i].want, "token URL of realm '%s'", cases[i].realm);
    free(got);
  }
}

int
main(void)
{
  test_token_url();
  test_challenge();
  test_error_text();
  test_status_reason();
  test_insecure();
  test_client_new();
  return done_testing();
}
