/* SPDX 2.3 and CycloneDX 1.5 JSON documents from a struct sbom (see
   builder/sbom.h).  Pure: the same inputs give the same bytes.  */
#include "config.h"

#include "builder/sbom.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/digest.h"
#include "common/mem.h"
#include "common/unicode.h"
#include "layers/oci.h"
#include "common/banned.h"

#define EPOCH_TIME "1970-01-01T00:00:00Z"

/* Digits at S[0..N) as a number, or -1 when one is not a digit.  */
static int
digits(const char *s, int n)
{
  int v = 0;

  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* The UTC offset at S ("Z", "+hh:mm", "-hh:mm") in seconds into *OFF;
   false when S is none of these (or has more after it).  */
static bool
utc_offset(const char *s, long *off)
{
  int h, m;

  if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
    *off = 0;
    return true;
  }
  if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':')
    return false;
  h = digits(s + 1, 2);
  m = digits(s + 4, 2);
  if (h < 0 || h > 23 || m < 0 || m > 59)
    return false;
  *off = (s[0] == '-' ? -1 : 1) * (h * 3600L + m * 60L);
  return true;
}

void
sbom_utc_time(const char *text, char out[21])
{
  static const int fields[6][2] = { { 0, 4 }, { 5, 2 }, { 8, 2 },
                                    { 11, 2 }, { 14, 2 }, { 17, 2 } };
  static const char seps[] = "--T::";
  int v[6];
  const char *rest;
  struct tm tm;
  long off;
  time_t t;

  snprintf(out, 21, "%s", EPOCH_TIME);
  if (text == NULL || strlen(text) < 20)
    return;
  for (int i = 0; i < 6; i++) {
    v[i] = digits(text + fields[i][0], fields[i][1]);
    if (v[i] < 0 || (i < 5 && text[fields[i][0] + fields[i][1]] != seps[i] &&
                     !(i == 2 && text[10] == 't')))
      return;
  }
  rest = text + 19;
  if (*rest == '.') {
    do
      rest++;
    while (*rest >= '0' && *rest <= '9');
  }
  if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 ||
      v[4] > 59 || v[5] > 60 || !utc_offset(rest, &off))
    return;
  memset(&tm, 0, sizeof(tm));
  tm.tm_year = v[0] - 1900;
  tm.tm_mon = v[1] - 1;
  tm.tm_mday = v[2];
  tm.tm_hour = v[3];
  tm.tm_min = v[4];
  tm.tm_sec = v[5] > 59 ? 59 : v[5]; /* a leap second: close enough */
  t = timegm(&tm) - off;
  if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 ||
      tm.tm_year + 1900 > 9999)
    return;
  strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A JSON string of S, which came from the image and need not be UTF-8:
   bytes that are not become U+FFFD.  NULL for NULL.  */
static json_t *
jstr(const char *s)
{
  struct cb_buf b = CB_BUF_INIT;
  size_t n;
  json_t *j;

  if (s == NULL)
    return NULL;
  n = strlen(s);
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t k = cb_utf8_decode(s + i, n - i, &cp);
    char enc[4];

    if (cp == CB_UTF8_INVALID)
      cb_buf_add(&b, enc, cb_utf8_encode(CB_RUNE_ERROR, enc));
    else
      cb_buf_add(&b, s + i, k);
    i += k;
  }
  j = json_stringn(b.data != NULL ? b.data : "", b.len);
  cb_buf_release(&b);
  return j;
}

/* Set KEY of O to the string S, when there is one.  */
static void
set_str(json_t *o, const char *key, const char *s)
{
  if (s != NULL && *s != '\0')
    json_object_set_new(o, key, jstr(s));
}

/* A name-based UUID (RFC 4122 version 5, SHA-1, in the URL namespace)
   of "cbuild-sbom:KIND:DIGEST:NAME": the same image and name give the
   same identifier.  */
static void
name_uuid(const char *kind, const struct sbom_subject *sub, char out[37])
{
  static const unsigned char url_ns[16] = {
    0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
    0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
  };
  cleanup_free char *name = cb_xasprintf(
    "cbuild-sbom:%s:%s:%s", kind, sub->manifest_digest, sub->name);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();

  if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1 ||
      EVP_DigestUpdate(ctx, url_ns, sizeof(url_ns)) != 1 ||
      EVP_DigestUpdate(ctx, name, strlen(name)) != 1 ||
      EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen < 16)
    abort(); /* as cb_hasher: libcrypto cannot do SHA-1 only when broken */
  EVP_MD_CTX_free(ctx);
  md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);
  md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
  snprintf(out, 37,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
           "%02x%02x%02x%02x%02x%02x",
           md[0], md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8],
           md[9], md[10], md[11], md[12], md[13], md[14], md[15]);
}

/* A key for the package whose purl is PURL that no other package of the
   document has: the purl, or for the Nth repeat of one (two packages
   whose names differ only in case) "PURL#N".  SEEN maps purls to counts. */
static char *
unique_key(json_t *seen, const char *purl)
{
  json_int_t n = json_integer_value(json_object_get(seen, purl));

  json_object_set_new(seen, purl, json_integer(n + 1));
  if (n == 0)
    return cb_xstrdup(purl);
  return cb_xasprintf("%s#%lld", purl, (long long)n);
}

static const char *
type_name(enum sbom_pkg_type t)
{
  return t == SBOM_PKG_DEB ? "deb" : "apk";
}

/* ---- SPDX 2.3 ---- */

/* "SPDXRef-Package-deb-NAME-<16 hex of the purl's digest>": SPDX IDs
   allow only letters, digits, '.' and '-'.  */
static char *
spdx_id(const struct sbom_package *p, const char *purl)
{
  struct cb_buf b = CB_BUF_INIT;
  struct cb_digest d;
  char hex[CB_DIGEST_HEX_LEN + 1];

  cb_digest_of(purl, strlen(purl), &d);
  cb_digest_hex(&d, hex);
  cb_buf_addf(&b, "SPDXRef-Package-%s-", type_name(p->type));
  for (const char *c = p->name; *c != '\0'; c++) {
    bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '.' || *c == '-';

    cb_buf_addc(&b, ok ? *c : '-');
  }
  cb_buf_addf(&b, "-%.16s", hex);
  return cb_buf_detach(&b, NULL);
}

/* "Person: Name (mail)" from dpkg's or apk's "Name <mail>".  */
static char *
spdx_supplier(const char *maintainer)
{
  const char *lt, *gt;
  size_t n;

  if (maintainer == NULL || *maintainer == '\0')
    return cb_xstrdup("NOASSERTION");
  lt = strchr(maintainer, '<');
  gt = lt != NULL ? strchr(lt, '>') : NULL;
  if (lt == NULL || gt == NULL)
    return cb_xasprintf("Person: %s", maintainer);
  n = (size_t)(lt - maintainer);
  while (n > 0 && maintainer[n - 1] == ' ')
    n--;
  return cb_xasprintf("Person: %.*s (%.*s)", (int)n, maintainer,
                      (int)(gt - lt - 1), lt + 1);
}

/* Whether L looks like an SPDX license expression (ids joined by AND, OR,
   WITH, in parentheses), so that it may stand in licenseDeclared; apk's
   free-form lists ("MIT BSD") may not.  */
static bool
spdx_expression_like(const char *l)
{
  bool want_id = true;
  const char *p = l;

  while (*p != '\0') {
    size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789.+-:");

    if (*p == '(' || *p == ')' || *p == ' ') {
      p++;
      continue;
    }
    if (n == 0)
      return false;
    if (!want_id && !((n == 3 && strncmp(p, "AND", 3) == 0) ||
                      (n == 2 && strncmp(p, "OR", 2) == 0) ||
                      (n == 4 && strncmp(p, "WITH", 4) == 0)))
      return false;
    want_id = !want_id;
    p += n;
  }
  return !want_id;
}

static json_t *
spdx_purl_ref(const char *purl)
{
  return json_pack("[{s:s, s:s, s:o}]", "referenceCategory",
                   "PACKAGE-MANAGER", "referenceType", "purl",
                   "referenceLocator", jstr(purl));
}

static json_t *
spdx_package(const struct sbom_package *p, const char *purl, const char *id)
{
  json_t *o = json_object();
  cleanup_free char *supplier = spdx_supplier(p->maintainer);
  cleanup_free char *source = NULL;

  json_object_set_new(o, "name", jstr(p->name));
  json_object_set_new(o, "SPDXID", json_string(id));
  set_str(o, "versionInfo", p->version);
  json_object_set_new(o, "supplier", jstr(supplier));
  json_object_set_new(o, "downloadLocation", json_string("NOASSERTION"));
  json_object_set_new(o, "filesAnalyzed", json_false());
  json_object_set_new(o, "licenseConcluded", json_string("NOASSERTION"));
  if (p->license != NULL && spdx_expression_like(p->license)) {
    json_object_set_new(o, "licenseDeclared", jstr(p->license));
  } else {
    json_object_set_new(o, "licenseDeclared", json_string("NOASSERTION"));
    if (p->license != NULL)
      json_object_set_new(o, "licenseComments", jstr(p->license));
  }
  json_object_set_new(o, "copyrightText", json_string("NOASSERTION"));
  if (p->source != NULL)
    source = cb_xasprintf("source package %s%s%s", p->source,
                          p->source_version ? " " : "",
                          p->source_version ? p->source_version : "");
  set_str(o, "sourceInfo", source);
  json_object_set_new(o, "externalRefs", spdx_purl_ref(purl));
  json_object_set_new(o, "comment",
                      json_sprintf("from %s", p->db ? p->db : "?"));
  json_object_set_new(o, "primaryPackagePurpose", json_string("LIBRARY"));
  return o;
}

static json_t *
relationship(const char *a, const char *type, const char *b)
{
  return json_pack("{s:s, s:s, s:s}", "spdxElementId", a, "relationshipType",
                   type, "relatedSpdxElement", b);
}

/* The image itself, the package the document describes.  */
static json_t *
spdx_image(const struct sbom_subject *sub)
{
  json_t *o = json_object();
  const char *hex = strchr(sub->manifest_digest, ':');

  json_object_set_new(o, "name", jstr(sub->name));
  json_object_set_new(o, "SPDXID", json_string("SPDXRef-Image"));
  json_object_set_new(o, "versionInfo", json_string(sub->manifest_digest));
  json_object_set_new(o, "downloadLocation", json_string("NOASSERTION"));
  json_object_set_new(o, "filesAnalyzed", json_false());
  json_object_set_new(
    o, "checksums",
    json_pack("[{s:s, s:s}]", "algorithm", "SHA256", "checksumValue",
              hex != NULL ? hex + 1 : sub->manifest_digest));
  json_object_set_new(o, "primaryPackagePurpose", json_string("CONTAINER"));
  return o;
}

static json_t *
spdx_os(const struct sbom_os *os)
{
  json_t *o = json_object();

  json_object_set_new(o, "name", jstr(os->id));
  json_object_set_new(o, "SPDXID", json_string("SPDXRef-OperatingSystem"));
  set_str(o, "versionInfo", os->version_id ? os->version_id : os->codename);
  json_object_set_new(o, "downloadLocation", json_string("NOASSERTION"));
  json_object_set_new(o, "filesAnalyzed", json_false());
  set_str(o, "description", os->pretty ? os->pretty : os->name);
  json_object_set_new(o, "primaryPackagePurpose",
                      json_string("OPERATING-SYSTEM"));
  return o;
}

static json_t *
spdx_document(const struct sbom *sb, const struct sbom_subject *sub)
{
  json_t *doc = json_object();
  json_t *pkgs = json_array(), *rels = json_array();
  cleanup_json json_t *seen = json_object();
  char uuid[37], created[21];

  name_uuid("spdx", sub, uuid);
  sbom_utc_time(sub->created, created);
  json_object_set_new(doc, "spdxVersion", json_string("SPDX-2.3"));
  json_object_set_new(doc, "dataLicense", json_string("CC0-1.0"));
  json_object_set_new(doc, "SPDXID", json_string("SPDXRef-DOCUMENT"));
  json_object_set_new(doc, "name", jstr(sub->name));
  json_object_set_new(
    doc, "documentNamespace",
    json_sprintf("https://cbuild.invalid/sbom/spdx/%s", uuid));
  json_object_set_new(
    doc, "creationInfo",
    json_pack("{s:s, s:[s]}", "created", created, "creators",
              "Tool: cbuild-" CBUILD_VERSION));
  json_array_append_new(pkgs, spdx_image(sub));
  json_array_append_new(rels, relationship("SPDXRef-DOCUMENT", "DESCRIBES",
                                           "SPDXRef-Image"));
  if (sb->os.id != NULL) {
    json_array_append_new(pkgs, spdx_os(&sb->os));
    json_array_append_new(rels, relationship("SPDXRef-Image", "CONTAINS",
                                             "SPDXRef-OperatingSystem"));
  }
  for (size_t i = 0; i < sb->n_pkgs; i++) {
    cleanup_free char *purl = sbom_purl(&sb->pkgs[i], &sb->os);
    cleanup_free char *key = unique_key(seen, purl);
    cleanup_free char *id = spdx_id(&sb->pkgs[i], key);

    json_array_append_new(pkgs, spdx_package(&sb->pkgs[i], purl, id));
    json_array_append_new(rels, relationship("SPDXRef-Image", "CONTAINS",
                                             id));
  }
  json_object_set_new(doc, "packages", pkgs);
  json_object_set_new(doc, "relationships", rels);
  return doc;
}

/* ---- CycloneDX 1.5 ---- */

static json_t *
cdx_property(const char *name, const char *value)
{
  return json_pack("{s:s, s:o}", "name", name, "value", jstr(value));
}

static json_t *
cdx_component(const struct sbom_package *p, const char *purl,
              const char *ref)
{
  json_t *o = json_object();
  json_t *props = json_array();

  json_object_set_new(o, "type", json_string("library"));
  json_object_set_new(o, "bom-ref", jstr(ref));
  set_str(o, "author", p->maintainer);
  json_object_set_new(o, "name", jstr(p->name));
  set_str(o, "version", p->version);
  if (p->license != NULL)
    json_object_set_new(o, "licenses",
                        json_pack("[{s:{s:o}}]", "license", "name",
                                  jstr(p->license)));
  json_object_set_new(o, "purl", jstr(purl));
  json_array_append_new(props, cdx_property("cbuild:package:type",
                                            type_name(p->type)));
  if (p->arch != NULL)
    json_array_append_new(props, cdx_property("cbuild:package:arch",
                                              p->arch));
  if (p->source != NULL)
    json_array_append_new(props, cdx_property("cbuild:package:source",
                                              p->source));
  if (p->source_version != NULL)
    json_array_append_new(props, cdx_property("cbuild:package:source-version",
                                              p->source_version));
  if (p->db != NULL)
    json_array_append_new(props, cdx_property("cbuild:package:database",
                                              p->db));
  json_object_set_new(o, "properties", props);
  return o;
}

static json_t *
cdx_os(const struct sbom_os *os)
{
  json_t *o = json_object();
  cleanup_free char *ref = cb_xasprintf(
    "os:%s@%s", os->id, os->version_id ? os->version_id
                                       : (os->codename ? os->codename : ""));

  json_object_set_new(o, "type", json_string("operating-system"));
  json_object_set_new(o, "bom-ref", jstr(ref));
  json_object_set_new(o, "name", jstr(os->id));
  set_str(o, "version", os->version_id ? os->version_id : os->codename);
  set_str(o, "description", os->pretty ? os->pretty : os->name);
  return o;
}

static json_t *
cdx_document(const struct sbom *sb, const struct sbom_subject *sub)
{
  json_t *doc = json_object();
  json_t *comps = json_array();
  cleanup_json json_t *seen = json_object();
  char uuid[37], created[21];

  name_uuid("cyclonedx", sub, uuid);
  sbom_utc_time(sub->created, created);
  json_object_set_new(doc, "bomFormat", json_string("CycloneDX"));
  json_object_set_new(doc, "specVersion", json_string("1.5"));
  json_object_set_new(doc, "serialNumber",
                      json_sprintf("urn:uuid:%s", uuid));
  json_object_set_new(doc, "version", json_integer(1));
  json_object_set_new(
    doc, "metadata",
    json_pack("{s:s, s:{s:[{s:s, s:s, s:s}]}, s:{s:s, s:s, s:o, s:s}}",
              "timestamp", created, "tools", "components", "type",
              "application", "name", "cbuild", "version", CBUILD_VERSION,
              "component", "type", "container", "bom-ref", "image", "name",
              jstr(sub->name), "version", sub->manifest_digest));
  if (sb->os.id != NULL)
    json_array_append_new(comps, cdx_os(&sb->os));
  for (size_t i = 0; i < sb->n_pkgs; i++) {
    cleanup_free char *purl = sbom_purl(&sb->pkgs[i], &sb->os);
    cleanup_free char *key = unique_key(seen, purl);

    json_array_append_new(comps, cdx_component(&sb->pkgs[i], purl, key));
  }
  json_object_set_new(doc, "components", comps);
  return doc;
}

char *
sbom_render(const struct sbom *sb, const struct sbom_subject *subject,
            enum sbom_format fmt, size_t *len)
{
  cleanup_json json_t *doc = fmt == SBOM_SPDX_JSON
                               ? spdx_document(sb, subject)
                               : cdx_document(sb, subject);
  cleanup_free char *text = json_dumps(doc, JSON_INDENT(2) |
                                              JSON_PRESERVE_ORDER);
  char *out;

  if (text == NULL)
    abort(); /* jansson fails only when out of memory */
  out = cb_xasprintf("%s\n", text);
  if (len != NULL)
    *len = strlen(out);
  return out;
}
