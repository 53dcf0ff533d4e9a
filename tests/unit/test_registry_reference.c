/* Image reference parsing and normalisation.  */
#include "config.h"

#include <stdlib.h>

#include "common/mem.h"
#include "registry/reference.h"
#include "tap.h"

struct good {
  const char *in;
  const char *domain, *path, *tag, *digest;
  const char *normalized;
  const char *local;
};

static const char DG[] =
  "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void
check_good(const struct good *g)
{
  struct image_ref ref;
  struct cb_error *err = NULL;
  char *s;

  if (!ok(image_ref_parse(g->in, &ref, &err) == 0, "parse '%s'", g->in)) {
    diag("%s", err->msg);
    cb_error_free(err);
    return;
  }
  is_str(ref.domain, g->domain, "'%s' domain", g->in);
  is_str(ref.path, g->path, "'%s' path", g->in);
  is_str(ref.tag, g->tag, "'%s' tag", g->in);
  is_str(ref.digest, g->digest, "'%s' digest", g->in);
  s = image_ref_local_name(&ref);
  is_str(s, g->local, "'%s' local name", g->in);
  free(s);
  image_ref_normalize(&ref);
  s = image_ref_string(&ref);
  is_str(s, g->normalized, "'%s' normalized", g->in);
  free(s);
  image_ref_release(&ref);
}

int
main(void)
{
  static char with_digest[200], with_digest_norm[200], tag_digest[200];
  const struct good good[] = {
    { "busybox", NULL, "busybox", NULL, NULL,
      "docker.io/library/busybox:latest", "busybox:latest" },
    { "app:1", NULL, "app", "1", NULL, "docker.io/library/app:1", "app:1" },
    { "user/app:v1.2-rc_3", NULL, "user/app", "v1.2-rc_3", NULL,
      "docker.io/user/app:v1.2-rc_3", "user/app:v1.2-rc_3" },
    { "localhost/app", "localhost", "app", NULL, NULL,
      "localhost/app:latest", "localhost/app:latest" },
    { "127.0.0.1:5000/a/b/c:t", "127.0.0.1:5000", "a/b/c", "t", NULL,
      "127.0.0.1:5000/a/b/c:t", "127.0.0.1:5000/a/b/c:t" },
    { "registry.example.com/x__y.z-w", "registry.example.com", "x__y.z-w",
      NULL, NULL, "registry.example.com/x__y.z-w:latest",
      "registry.example.com/x__y.z-w:latest" },
    { "[::1]:5000/app:1", "[::1]:5000", "app", "1", NULL,
      "[::1]:5000/app:1", "[::1]:5000/app:1" },
    { with_digest, NULL, "busybox", NULL, DG, with_digest_norm, with_digest },
    { tag_digest, "docker.io", "library/busybox", "1.36", DG, tag_digest,
      tag_digest },
  };
  static const char *const bad[] = {
    "", "UPPER", "app:", "app:-bad", "a//b", "-a", "a-", "app@sha256:abc",
    "app@md5:0123", "/app", "app/", "a..b", "host:port/app",
    "registry-.example/app", ":tag",
  };

  snprintf(with_digest, sizeof(with_digest), "busybox@%s", DG);
  snprintf(with_digest_norm, sizeof(with_digest_norm),
           "docker.io/library/busybox@%s", DG);
  snprintf(tag_digest, sizeof(tag_digest), "docker.io/library/busybox:1.36@%s",
           DG);
  for (size_t i = 0; i < CB_N_ELEMENTS(good); i++)
    check_good(&good[i]);
  for (size_t i = 0; i < CB_N_ELEMENTS(bad); i++) {
    struct image_ref ref;
    struct cb_error *err = NULL;

    is_int(image_ref_parse(bad[i], &ref, &err), -1, "reject '%s'", bad[i]);
    ok(err != NULL && err->kind != 0, "'%s' has an error", bad[i]);
    if (err != NULL)
      diag("%s", err->msg);
    cb_error_free(err);
  }
  return done_testing();
}
