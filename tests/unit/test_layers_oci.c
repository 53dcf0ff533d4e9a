/* OCI JSON: build, serialize and parse back manifests, indexes and
   configs; the exact bytes we write; Docker schema 2 input; and a table
   of hostile or broken documents, each refused with the right kind of
   error naming the field.  */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/digest.h"
#include "common/error.h"
#include "common/mem.h"
#include "layers/layer.h"
#include "layers/oci.h"
#include "tap.h"

#include "common/banned.h"

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HEX_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define DIG_A "sha256:" HEX_A
#define DIG_B "sha256:" HEX_B
#define DIG_C "sha256:" HEX_C

static struct cb_digest
digest(const char *s)
{
  struct cb_digest d;

  if (cb_digest_parse(s, &d, NULL) < 0)
    abort();
  return d;
}

static void
descriptor(struct oci_descriptor *d, const char *media_type, const char *dig,
           uint64_t size)
{
  struct cb_digest dg = digest(dig);

  if (oci_descriptor_init(d, media_type, &dg, size, NULL) < 0)
    abort();
}

/* A manifest with a config, two layers and annotations added in ORDER
   (0: a then b, 1: b then a).  */
static struct oci_manifest *
sample_manifest(int order)
{
  struct oci_manifest *m = oci_manifest_new();
  struct oci_descriptor d;

  descriptor(&d, OCI_MEDIA_CONFIG, DIG_A, 123);
  oci_manifest_set_config(m, &d);
  oci_descriptor_release(&d);
  descriptor(&d, OCI_MEDIA_LAYER_GZIP, DIG_B, 4567);
  oci_manifest_add_layer(m, &d);
  oci_descriptor_release(&d);
  descriptor(&d, OCI_MEDIA_LAYER_ZSTD, DIG_C, 89);
  oci_descriptor_annotate(&d, order ? "b" : "a", order ? "2" : "1", NULL);
  oci_descriptor_annotate(&d, order ? "a" : "b", order ? "1" : "2", NULL);
  oci_manifest_add_layer(m, &d);
  oci_descriptor_release(&d);
  return m;
}

static void
test_manifest_round_trip(void)
{
  static const char want[] =
      "{\"config\":{\"digest\":\"" DIG_A "\",\"mediaType\":\"" OCI_MEDIA_CONFIG
      "\",\"size\":123},\"layers\":[{\"digest\":\"" DIG_B
      "\",\"mediaType\":\"" OCI_MEDIA_LAYER_GZIP
      "\",\"size\":4567},{\"annotations\":{\"a\":\"1\",\"b\":\"2\"},"
      "\"digest\":\"" DIG_C "\",\"mediaType\":\"" OCI_MEDIA_LAYER_ZSTD
      "\",\"size\":89}],\"mediaType\":\"" OCI_MEDIA_MANIFEST
      "\",\"schemaVersion\":2}";
  cleanup_oci_manifest struct oci_manifest *m = sample_manifest(0);
  cleanup_oci_manifest struct oci_manifest *other = sample_manifest(1);
  cleanup_oci_manifest struct oci_manifest *back = NULL;
  cleanup_free char *text = NULL, *other_text = NULL, *again = NULL;
  struct cb_error *err = NULL;
  size_t len = 0;

  text = oci_manifest_serialize(m, &len);
  is_str(text, want, "manifest: compact JSON with sorted keys");
  is_int(len, strlen(want), "manifest: length");
  other_text = oci_manifest_serialize(other, NULL);
  is_str(other_text, text, "manifest: insertion order does not matter");

  back = oci_manifest_parse(text, len, &err);
  ok(back != NULL, "manifest: parses back");
  if (back == NULL) {
    diag("%s", err->msg);
    cb_error_free(err);
    return;
  }
  is_str(back->media_type, OCI_MEDIA_MANIFEST, "manifest: media type");
  ok(cb_digest_equal(&back->config.digest, &m->config.digest),
     "manifest: config digest");
  is_int((long long)back->config.size, 123, "manifest: config size");
  is_int((long long)back->n_layers, 2, "manifest: two layers");
  is_str(back->layers[1].media_type, OCI_MEDIA_LAYER_ZSTD,
         "manifest: top layer media type");
  is_str(oci_descriptor_annotation(&back->layers[1], "b"), "2",
         "manifest: layer annotation");
  ok(oci_descriptor_annotation(&back->layers[0], "b") == NULL,
     "manifest: no annotation where none was set");
  again = oci_manifest_serialize(back, NULL);
  is_str(again, text, "manifest: parse then serialize gives the same bytes");
}

static void
test_index_round_trip(void)
{
  static const char want[] =
      "{\"annotations\":{\"x\":\"y\"},\"manifests\":[{\"annotations\":{"
      "\"" OCI_ANNOTATION_REF_NAME "\":\"app:1\"},\"digest\":\"" DIG_A
      "\",\"mediaType\":\"" OCI_MEDIA_MANIFEST
      "\",\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\","
      "\"variant\":\"v7\"},\"size\":7}],\"mediaType\":\"" OCI_MEDIA_INDEX
      "\",\"schemaVersion\":2}";
  cleanup_oci_index struct oci_index *idx = oci_index_new();
  cleanup_oci_index struct oci_index *back = NULL;
  cleanup_free char *text = NULL, *again = NULL;
  struct cb_error *err = NULL;
  struct oci_descriptor d;
  size_t len = 0;

  descriptor(&d, OCI_MEDIA_MANIFEST, DIG_A, 7);
  oci_descriptor_annotate(&d, OCI_ANNOTATION_REF_NAME, "app:1", NULL);
  oci_descriptor_set_platform(&d, "linux", "arm", "v7", NULL);
  oci_index_add(idx, &d);
  oci_descriptor_release(&d);
  idx->annotations = json_pack("{s:s}", "x", "y");
  text = oci_index_serialize(idx, &len);
  is_str(text, want, "index: compact JSON with sorted keys");

  back = oci_index_parse(text, len, OCI_MAX_MANIFEST_SIZE, &err);
  ok(back != NULL, "index: parses back");
  if (back == NULL) {
    diag("%s", err->msg);
    cb_error_free(err);
    return;
  }
  is_int((long long)back->n_manifests, 1, "index: one entry");
  is_str(back->manifests[0].platform ? back->manifests[0].platform->variant
                                     : NULL,
         "v7", "index: platform variant");
  is_str(
      oci_descriptor_annotation(&back->manifests[0], OCI_ANNOTATION_REF_NAME),
      "app:1", "index: ref.name annotation");
  again = oci_index_serialize(back, NULL);
  is_str(again, text, "index: parse then serialize gives the same bytes");

  oci_index_remove(back, 0);
  is_int((long long)back->n_manifests, 0, "index: entry removed");
}

static void
test_config(void)
{
  static const char want[] =
      "{\"architecture\":\"amd64\",\"config\":{\"Cmd\":[\"sh\"],\"Env\":["
      "\"PATH=/bin\"]},\"created\":\"2023-11-14T22:13:20Z\",\"history\":[{"
      "\"created_by\":\"COPY . /\"},{\"created_by\":\"ENV PATH=/bin\","
      "\"empty_layer\":true}],\"os\":\"linux\",\"rootfs\":{\"diff_ids\":["
      "\"" DIG_B "\",\"" DIG_C "\"],\"type\":\"layers\"}}";
  cleanup_json json_t *cfg = NULL, *back = NULL;
  cleanup_free char *text = NULL;
  cleanup_free struct cb_digest *ids = NULL;
  struct oci_history h = { NULL, "COPY . /", NULL, false };
  struct oci_history env = { NULL, "ENV PATH=/bin", NULL, true };
  struct cb_digest b = digest(DIG_B), c = digest(DIG_C);
  struct cb_error *err = NULL;
  size_t n = 0, len = 0;

  cfg = oci_config_new("linux", "amd64", &err);
  ok(cfg != NULL, "config: new");
  is_int(oci_config_add_layer(cfg, &b, &h, &err), 0, "config: add a layer");
  is_int(oci_config_add_history(cfg, &env, &err), 0, "config: add history");
  is_int(oci_config_add_layer(cfg, &c, NULL, &err), 0,
         "config: add a layer without history");
  is_int(oci_config_set(cfg, "Env", json_pack("[s]", "PATH=/bin"), &err), 0,
         "config: set Env");
  is_int(oci_config_set(cfg, "Cmd", json_pack("[s]", "sh"), &err), 0,
         "config: set Cmd");
  is_int(oci_config_set(cfg, "User", json_string("nobody"), &err), 0,
         "config: set User");
  is_int(oci_config_set(cfg, "User", NULL, &err), 0, "config: remove User");
  oci_config_set_created(cfg, 1700000000, &err);
  text = oci_json_dump(cfg, &len);
  is_str(text, want, "config: compact JSON with sorted keys");

  back = oci_config_parse(text, len, &err);
  ok(back != NULL, "config: parses back");
  if (back == NULL) {
    diag("%s", err->msg);
    cb_error_free(err);
    return;
  }
  is_int(oci_config_diff_ids(back, &ids, &n, &err), 0, "config: diff_ids");
  is_int((long long)n, 2, "config: two diff_ids");
  ok(n == 2 && cb_digest_equal(&ids[0], &b) && cb_digest_equal(&ids[1], &c),
     "config: diff_ids in order, base first");
  is_str(json_string_value(json_array_get(oci_config_get(back, "Cmd"), 0)),
         "sh", "config: get Cmd");
  ok(oci_config_get(back, "User") == NULL, "config: User is gone");
  ok(err == NULL, "config: no error on the way");
  cb_error_free(err);
}

static void
test_docker_schema2(void)
{
  static const char manifest[] =
      "{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"" DOCKER_MEDIA_MANIFEST
      "\",\n   \"config\": {\n      \"mediaType\": \"" DOCKER_MEDIA_CONFIG
      "\",\n      \"size\": 1469,\n      \"digest\": \"" DIG_A
      "\"\n   },\n   \"layers\": [\n      {\n         \"mediaType\": "
      "\"" DOCKER_MEDIA_LAYER_GZIP
      "\",\n         \"size\": 2479,\n         \"digest\": \"" DIG_B
      "\"\n      }\n   ]\n}";
  static const char list[] =
      "{\"schemaVersion\":2,\"mediaType\":\"" DOCKER_MEDIA_MANIFEST_LIST
      "\",\"manifests\":[{\"mediaType\":\"" DOCKER_MEDIA_MANIFEST
      "\",\"size\":527,\"digest\":\"" DIG_A
      "\",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
      "{\"mediaType\":\"" DOCKER_MEDIA_MANIFEST
      "\",\"size\":527,\"digest\":\"" DIG_B
      "\",\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\","
      "\"variant\":\"v8\",\"features\":[\"sse4\"]}}]}";
  cleanup_oci_manifest struct oci_manifest *m = NULL;
  cleanup_oci_index struct oci_index *idx = NULL;
  struct cb_error *err = NULL;

  m = oci_manifest_parse(manifest, strlen(manifest), &err);
  ok(m != NULL, "docker manifest: parses");
  if (m != NULL) {
    is_str(m->media_type, DOCKER_MEDIA_MANIFEST, "docker manifest: type");
    is_str(m->config.media_type, DOCKER_MEDIA_CONFIG,
           "docker manifest: config type");
    is_int((long long)m->n_layers, 1, "docker manifest: one layer");
    is_int((long long)m->layers[0].size, 2479, "docker manifest: layer size");
  }
  idx = oci_index_parse(list, strlen(list), OCI_MAX_MANIFEST_SIZE, &err);
  ok(idx != NULL, "docker manifest list: parses");
  if (idx != NULL) {
    is_str(idx->media_type, DOCKER_MEDIA_MANIFEST_LIST,
           "docker manifest list: type");
    is_int((long long)idx->n_manifests, 2, "docker manifest list: entries");
    is_str(idx->manifests[1].platform->architecture, "arm64",
           "docker manifest list: platform");
    is_str(idx->manifests[1].platform->variant, "v8",
           "docker manifest list: variant");
  }
  if (err != NULL)
    diag("%s", err->msg);
  cb_error_free(err);
}

/* {"schemaVersion":2,...} with the layers array replaced by LAYERS.  */
#define MANIFEST_WITH_LAYERS(layers)                                           \
  "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" DIG_A   \
  "\",\"size\":1},\"layers\":" layers "}"

struct bad_case {
  const char *json;
  enum cb_err_kind kind;
  const char *msg; /* a part of the message */
};

static const struct bad_case bad_manifests[] = {
  { "", CB_ERR_PARSE, "invalid image manifest: line 1" },
  { "{", CB_ERR_PARSE, "invalid image manifest: line 1" },
  { "[]", CB_ERR_PARSE, "not a JSON object" },
  { "\"x\"", CB_ERR_PARSE, "invalid image manifest" },
  { "{} x", CB_ERR_PARSE, "end of file expected" },
  { "{\"schemaVersion\":2,\"schemaVersion\":2}", CB_ERR_PARSE, "duplicate" },
  { "{}", CB_ERR_PARSE, "'schemaVersion' is missing" },
  { "{\"schemaVersion\":\"2\"}", CB_ERR_PARSE, "'schemaVersion' must be 2" },
  { "{\"schemaVersion\":1}", CB_ERR_PARSE, "'schemaVersion' must be 2" },
  { "{\"schemaVersion\":2.0}", CB_ERR_PARSE, "'schemaVersion' must be 2" },
  { "{\"schemaVersion\":2}", CB_ERR_PARSE, "'config' is missing" },
  { "{\"schemaVersion\":2,\"manifests\":[]}", CB_ERR_PARSE,
    "this is an image index" },
  { "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MEDIA_INDEX
    "\",\"manifests\":[]}",
    CB_ERR_PARSE, "unsupported media type" },
  { "{\"schemaVersion\":2,\"mediaType\":7}", CB_ERR_PARSE,
    "'mediaType' must be a string" },
  { "{\"schemaVersion\":2,\"config\":[]}", CB_ERR_PARSE,
    "'config' must be an object" },
  { "{\"schemaVersion\":2,\"config\":{}}", CB_ERR_PARSE,
    "'config.mediaType' is missing" },
  { "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"size\":1}}",
    CB_ERR_PARSE, "'config.digest' is missing" },
  { "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" DIG_A
    "\"}}",
    CB_ERR_PARSE, "'config.size' is missing" },
  { "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"x\",\"digest\":\"" DIG_A
    "\",\"size\":1}}",
    CB_ERR_PARSE, "'layers' is missing" },
  { MANIFEST_WITH_LAYERS("{}"), CB_ERR_PARSE, "'layers' must be an array" },
  { MANIFEST_WITH_LAYERS("[1]"), CB_ERR_PARSE,
    "'layers[0]' must be an object" },
  { MANIFEST_WITH_LAYERS("[{\"mediaType\":\"x\",\"digest\":\"" DIG_B
                         "\",\"size\":-1}]"),
    CB_ERR_PARSE, "'layers[0].size' must be a non-negative integer" },
  { MANIFEST_WITH_LAYERS("[{\"mediaType\":\"x\",\"digest\":\"" DIG_B
                         "\",\"size\":1.5}]"),
    CB_ERR_PARSE, "'layers[0].size' must be a non-negative integer" },
  { MANIFEST_WITH_LAYERS("[{\"mediaType\":\"x\",\"digest\":\"" DIG_B
                         "\",\"size\":\"1\"}]"),
    CB_ERR_PARSE, "'layers[0].size' must be a non-negative integer" },
  { MANIFEST_WITH_LAYERS("[{\"mediaType\":\"x\",\"digest\":\"" DIG_B
                         "\",\"size\":99999999999999999999999}]"),
    CB_ERR_PARSE, "too big" },
  { MANIFEST_WITH_LAYERS("[{\"mediaType\":\"x\",\"digest\":\"sha256:abc\","
                         "\"size\":1}]"),
    CB_ERR_PARSE, "'layers[0].digest': invalid sha256 digest" },
  { MANIFEST_WITH_LAYERS("[{\"mediaType\":\"x\",\"digest\":\"sha512:" HEX_A
                         "\",\"size\":1}]"),
    CB_ERR_PARSE, "unsupported digest" },
  { MANIFEST_WITH_LAYERS("[{\"mediaType\":\"x\",\"digest\":\"../../etc/"
                         "passwd\",\"size\":1}]"),
    CB_ERR_PARSE, "unsupported digest" },
  { MANIFEST_WITH_LAYERS("[{\"mediaType\":\"x\",\"digest\":\"" DIG_B
                         "\",\"size\":1,\"annotations\":{\"a\":1}}]"),
    CB_ERR_PARSE, "'layers[0].annotations' must map names to strings" },
  { MANIFEST_WITH_LAYERS("[{\"mediaType\":\"x\",\"digest\":\"" DIG_B
                         "\",\"size\":1,\"size\":2}]"),
    CB_ERR_PARSE, "duplicate object key" },
  { MANIFEST_WITH_LAYERS("[{\"mediaType\":\"a\\u0000b\",\"digest\":\"" DIG_B
                         "\",\"size\":1}]"),
    CB_ERR_PARSE, "NUL" },
  { MANIFEST_WITH_LAYERS("[]") ",", CB_ERR_PARSE, "end of file expected" },
};

static void
check_bad(const char *what, const struct bad_case *c, void *result,
          struct cb_error *err)
{
  ok(result == NULL, "%s: refuse '%.60s'", what, c->json);
  ok(err != NULL && err->kind == c->kind, "%s: '%.60s' has kind %d", what,
     c->json, (int)c->kind);
  ok(err != NULL && strstr(err->msg, c->msg) != NULL, "%s: '%.60s' says '%s'",
     what, c->json, c->msg);
  if (err != NULL && strstr(err->msg, c->msg) == NULL)
    diag("got: %s", err->msg);
}

static void
test_bad_manifests(void)
{
  for (size_t i = 0; i < CB_N_ELEMENTS(bad_manifests); i++) {
    const struct bad_case *c = &bad_manifests[i];
    struct cb_error *err = NULL;
    struct oci_manifest *m = oci_manifest_parse(c->json, strlen(c->json), &err);

    check_bad("manifest", c, m, err);
    oci_manifest_free(m);
    cb_error_free(err);
  }
}

static const struct bad_case bad_indexes[] = {
  { "{\"schemaVersion\":2,\"config\":{}}", CB_ERR_PARSE,
    "this is an image manifest" },
  { "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MEDIA_MANIFEST "\"}",
    CB_ERR_PARSE, "unsupported media type" },
  { "{\"schemaVersion\":2}", CB_ERR_PARSE, "'manifests' is missing" },
  { "{\"schemaVersion\":2,\"manifests\":{}}", CB_ERR_PARSE,
    "'manifests' must be an array" },
  { "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":"
    "\"" DIG_A "\",\"size\":1,\"platform\":{\"os\":\"linux\"}}]}",
    CB_ERR_PARSE, "'manifests[0].platform.architecture' is missing" },
  { "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":"
    "\"" DIG_A "\",\"size\":1,\"platform\":\"linux\"}]}",
    CB_ERR_PARSE, "'manifests[0].platform' must be an object" },
  { "{\"schemaVersion\":2,\"manifests\":[],\"annotations\":[]}", CB_ERR_PARSE,
    "'annotations' must be an object" },
};

static void
test_bad_indexes(void)
{
  for (size_t i = 0; i < CB_N_ELEMENTS(bad_indexes); i++) {
    const struct bad_case *c = &bad_indexes[i];
    struct cb_error *err = NULL;
    struct oci_index *idx =
        oci_index_parse(c->json, strlen(c->json), OCI_MAX_MANIFEST_SIZE, &err);

    check_bad("index", c, idx, err);
    oci_index_free(idx);
    cb_error_free(err);
  }
}

#define CONFIG_ROOTFS "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}"
#define CONFIG_WITH(fields)                                                    \
  "{\"architecture\":\"amd64\",\"os\":\"linux\"," CONFIG_ROOTFS fields "}"

static const struct bad_case bad_configs[] = {
  { "{\"os\":\"linux\"," CONFIG_ROOTFS "}", CB_ERR_PARSE,
    "'architecture' is missing" },
  { "{\"architecture\":\"amd64\",\"os\":1," CONFIG_ROOTFS "}", CB_ERR_PARSE,
    "'os' must be a string" },
  { "{\"architecture\":\"amd64\",\"os\":\"linux\"}", CB_ERR_PARSE,
    "'rootfs' is missing" },
  { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
    "\"zfs\",\"diff_ids\":[]}}",
    CB_ERR_PARSE, "'rootfs.type' must be \"layers\"" },
  { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
    "\"layers\"}}",
    CB_ERR_PARSE, "'rootfs.diff_ids' is missing" },
  { "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
    "\"layers\",\"diff_ids\":[\"sha256:0\"]}}",
    CB_ERR_PARSE, "'rootfs.diff_ids[0]'" },
  { CONFIG_WITH(",\"created\":5"), CB_ERR_PARSE, "'created' must be a string" },
  { CONFIG_WITH(",\"history\":{}"), CB_ERR_PARSE,
    "'history' must be an array" },
  { CONFIG_WITH(",\"history\":[{\"empty_layer\":\"yes\"}]"), CB_ERR_PARSE,
    "'history[0].empty_layer' must be true or false" },
  { CONFIG_WITH(",\"config\":[]"), CB_ERR_PARSE, "'config' must be an object" },
  { CONFIG_WITH(",\"config\":{\"Env\":\"A=1\"}"), CB_ERR_PARSE,
    "'config.Env' must be an array of strings" },
  { CONFIG_WITH(",\"config\":{\"Cmd\":[\"sh\",1]}"), CB_ERR_PARSE,
    "'config.Cmd' must be an array of strings" },
  { CONFIG_WITH(",\"config\":{\"Labels\":{\"a\":{}}}"), CB_ERR_PARSE,
    "'config.Labels' must map names to strings" },
  { CONFIG_WITH(",\"config\":{\"User\":0}"), CB_ERR_PARSE,
    "'config.User' must be a string" },
};

static void
test_bad_configs(void)
{
  static const char docker_nulls[] = CONFIG_WITH(
      ",\"config\":{\"Cmd\":null,\"Entrypoint\":null,\"Labels\":null,"
      "\"OnBuild\":null,\"Env\":[\"A=1\"]},\"container_config\":{}");
  struct cb_error *err = NULL;
  json_t *cfg;

  for (size_t i = 0; i < CB_N_ELEMENTS(bad_configs); i++) {
    const struct bad_case *c = &bad_configs[i];

    cfg = oci_config_parse(c->json, strlen(c->json), &err);
    check_bad("config", c, cfg, err);
    json_decref(cfg);
    cb_error_free(err);
    err = NULL;
  }
  cfg = oci_config_parse(docker_nulls, strlen(docker_nulls), &err);
  ok(cfg != NULL, "config: Docker's nulls and unknown fields are accepted");
  ok(cfg != NULL && json_is_null(oci_config_get(cfg, "Cmd")),
     "config: a null Cmd stays null");
  json_decref(cfg);
  cb_error_free(err);
}

static void
test_oversize(void)
{
  struct cb_buf b = CB_BUF_INIT;
  struct cb_error *err = NULL;
  struct oci_manifest *m;
  struct oci_index *idx;
  json_t *cfg;

  /* Valid JSON, one byte over the limit: the size alone refuses it.  */
  cb_buf_adds(&b, MANIFEST_WITH_LAYERS("[]"));
  cb_buf_truncate(&b, b.len - 1);
  cb_buf_adds(&b, ",\"annotations\":{\"pad\":\"");
  while (b.len < OCI_MAX_MANIFEST_SIZE - 2)
    cb_buf_addc(&b, 'x');
  cb_buf_adds(&b, "\"}}");
  is_int((long long)b.len, OCI_MAX_MANIFEST_SIZE + 1, "oversize: length");
  m = oci_manifest_parse(b.data, b.len, &err);
  ok(m == NULL && err != NULL && err->kind == CB_ERR_UNSAFE,
     "oversize: a manifest over 4 MiB is refused as unsafe");
  oci_manifest_free(m);
  cb_error_free(err);
  err = NULL;

  cb_buf_truncate(&b, b.len - 4);
  cb_buf_adds(&b, "\"}}");
  m = oci_manifest_parse(b.data, b.len, &err);
  ok(m != NULL, "oversize: exactly 4 MiB is accepted");
  oci_manifest_free(m);
  cb_error_free(err);
  err = NULL;

  idx = oci_index_parse(b.data, b.len, 100, &err);
  ok(idx == NULL && err != NULL && err->kind == CB_ERR_UNSAFE,
     "oversize: an index over its given limit is refused");
  cb_error_free(err);
  err = NULL;
  cfg = oci_config_parse(b.data, OCI_MAX_CONFIG_SIZE + 1, &err);
  ok(cfg == NULL && err != NULL && err->kind == CB_ERR_UNSAFE,
     "oversize: a config over its limit is refused");
  cb_error_free(err);
  cb_buf_release(&b);
}

static void
test_utf8_and_time(void)
{
  struct cb_digest d = digest(DIG_A);
  struct oci_descriptor desc;
  struct cb_error *err = NULL;
  struct oci_history h = { NULL, "RUN echo \xff", NULL, false };
  cleanup_json json_t *cfg = oci_config_new("linux", "amd64", NULL);
  char t[OCI_TIME_LEN];

  is_int(oci_descriptor_init(&desc, "bad\xc3", &d, 1, &err), -1,
         "utf-8: a media type that is not UTF-8 is refused");
  ok(err != NULL && err->kind == CB_ERR_PARSE, "utf-8: as a parse error");
  cb_error_free(err);
  err = NULL;
  is_int(oci_config_add_layer(cfg, &d, &h, &err), -1,
         "utf-8: a history entry that is not UTF-8 is refused");
  cb_error_free(err);
  err = NULL;
  is_int((long long)json_array_size(
             json_object_get(json_object_get(cfg, "rootfs"), "diff_ids")),
         0, "utf-8: the config is unchanged after the failure");
  h.empty_layer = true;
  is_int(oci_config_add_history(cfg, &h, &err), -1,
         "utf-8: a bad history entry alone is refused");
  cb_error_free(err);
  err = NULL;
  json_object_del(cfg, "history");
  is_int(oci_config_add_history(cfg, &h, &err), -1,
         "utf-8: refused when the config has no history yet");
  cb_error_free(err);
  err = NULL;
  ok(json_object_get(cfg, "history") == NULL,
     "utf-8: and no history array was added");
  ok(oci_config_new("linux", "\xe2\x82", &err) == NULL,
     "utf-8: a bad architecture is refused");
  cb_error_free(err);

  oci_format_time(0, t);
  is_str(t, "1970-01-01T00:00:00Z", "time: the epoch");
  oci_format_time(1700000000, t);
  is_str(t, "2023-11-14T22:13:20Z", "time: a recent date");
  oci_format_time(-5, t);
  is_str(t, "1970-01-01T00:00:00Z", "time: negative clamps to the epoch");
  oci_format_time(INT64_MAX, t);
  is_str(t, "9999-12-31T23:59:59Z", "time: huge clamps to year 9999");
}

int
main(void)
{
  test_manifest_round_trip();
  test_index_round_trip();
  test_config();
  test_docker_schema2();
  test_bad_manifests();
  test_bad_indexes();
  test_bad_configs();
  test_oversize();
  test_utf8_and_time();
  return done_testing();
}
