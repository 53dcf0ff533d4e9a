/* The referrers tag and the JSON of referrer artifacts
   (registry/referrers.c) without a registry.  */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"
#include "common/mem.h"
#include "registry/referrers-internal.h"
#include "registry/referrers.h"
#include "tap.h"

static const char subject_hex[] =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void
test_tag(void)
{
  char tag[REGISTRY_REFERRERS_TAG_LEN];
  struct cb_digest d;
  struct cb_error *err = NULL;

  cb_digest_parse_hex(subject_hex, &d, &err);
  registry_referrers_tag(&d, tag);
  is_str(tag,
         "sha256-0123456789abcdef0123456789abcdef0123456789abcdef01234567"
         "89abcdef",
         "sha256-<hex>");
  cb_error_free(err);
}

static void
test_manifest(void)
{
  struct registry_subject subject = {
    "application/vnd.oci.image.manifest.v1+json", { { 0 } }, 1234
  };
  struct registry_artifact art = { "application/vnd.cbuild.scan-report.v1+json",
                                   "application/vnd.cbuild.scan-report.v1+json",
                                   "report-1",
                                   -1,
                                   17,
                                   { { 0 } } };
  struct cb_error *err = NULL;
  json_error_t je;
  json_t *m;
  size_t len;
  char *s;

  cb_digest_parse_hex(subject_hex, &subject.digest, &err);
  cb_digest_of("the report itself", 17, &art.digest);
  s = referrers_manifest_json(&subject, &art, &len);
  is_int((long long)len, (long long)strlen(s), "the length is the string's");
  m = json_loads(s, 0, &je);
  ok(m != NULL, "it is JSON");
  is_str(json_string_value(json_object_get(m, "mediaType")),
         "application/vnd.oci.image.manifest.v1+json", "an image manifest");
  is_str(json_string_value(json_object_get(m, "artifactType")),
         "application/vnd.cbuild.scan-report.v1+json", "with artifactType");
  is_str(json_string_value(
             json_object_get(json_object_get(m, "config"), "mediaType")),
         "application/vnd.oci.empty.v1+json", "the empty config");
  is_str(
      json_string_value(
          json_object_get(json_object_get(m, "config"), "digest")),
      "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
      "whose digest is that of {} (image-spec's empty descriptor)");
  is_int(
      json_integer_value(json_object_get(json_object_get(m, "config"), "size")),
      2, "of 2 bytes");
  is_int(json_integer_value(json_object_get(
             json_array_get(json_object_get(m, "layers"), 0), "size")),
         17, "one layer: the report");
  is_str(json_string_value(json_object_get(
             json_object_get(json_array_get(json_object_get(m, "layers"), 0),
                             "annotations"),
             "org.opencontainers.image.title")),
         "report-1", "titled");
  is_str(
      json_string_value(
          json_object_get(json_object_get(m, "subject"), "digest")),
      "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "the subject is the image");
  is_int(json_integer_value(
             json_object_get(json_object_get(m, "subject"), "size")),
         1234, "with its size");
  json_decref(m);
  free(s);
  cb_error_free(err);
}

static json_t *
entry(const char *digest)
{
  return json_pack("{s:s, s:s, s:i, s:s}", "mediaType",
                   "application/vnd.oci.image.manifest.v1+json", "digest",
                   digest, "size", 300, "artifactType", "application/x.t+json");
}

static void
test_index(void)
{
  json_t *a = entry("sha256:aaaa");
  json_t *b = entry("sha256:bbbb");
  struct cb_error *err = NULL;
  char *one = NULL, *two = NULL, *same = NULL;
  size_t len1 = 0, len2 = 0, len3 = 0;
  bool changed = false;
  json_error_t je;
  json_t *j;

  is_int(referrers_index_add(NULL, 0, a, "t", &one, &len1, &changed, &err), 0,
         "no tag yet: a new index");
  ok(changed, "changed");
  j = json_loads(one, 0, &je);
  is_str(json_string_value(json_object_get(j, "mediaType")),
         "application/vnd.oci.image.index.v1+json", "an OCI index");
  is_int(json_integer_value(json_object_get(j, "schemaVersion")), 2,
         "schemaVersion 2");
  is_int((long long)json_array_size(json_object_get(j, "manifests")), 1,
         "one entry");
  json_decref(j);

  is_int(referrers_index_add(one, len1, b, "t", &two, &len2, &changed, &err), 0,
         "a second referrer");
  j = json_loads(two, 0, &je);
  is_int((long long)json_array_size(json_object_get(j, "manifests")), 2,
         "is added after the first");
  is_str(
      json_string_value(json_object_get(
          json_array_get(json_object_get(j, "manifests"), 1), "artifactType")),
      "application/x.t+json", "with its artifactType");
  json_decref(j);

  is_int(referrers_index_add(two, len2, a, "t", &same, &len3, &changed, &err),
         0, "one listed already");
  ok(!changed && same == NULL, "is not added again");

  static const char *const bad[] = {
    "not json",
    "[]",
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"manifests\":[]}",
    "{\"mediaType\":\"application/vnd.oci.image.index.v1+json\"}",
  };
  for (size_t i = 0; i < CB_N_ELEMENTS(bad); i++) {
    char *out = NULL;
    size_t len = 0;

    is_int(referrers_index_add(bad[i], strlen(bad[i]), a, "sha256-x", &out,
                               &len, &changed, &err),
           -1, "tag content %zu is not overwritten", i);
    ok(err != NULL && err->kind == CB_ERR_REGISTRY &&
           strstr(err->msg, "'sha256-x'") != NULL,
       "the error names the tag");
    cb_error_free(err);
    err = NULL;
  }
  free(one);
  free(two);
  json_decref(a);
  json_decref(b);
}

int
main(void)
{
  test_tag();
  test_manifest();
  test_index();
  return done_testing();
}
