/* SBOM parsers (os-release, dpkg status, apk installed), package URLs
   and the SPDX / CycloneDX documents, on strings.  */
#include "config.h"

#include <jansson.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "builder/sbom.h"
#include "common/buf.h"
#include "common/limits.h"
#include "common/mem.h"
#include "tap.h"

/* Run PARSE on TEXT into SB; the error message (owned) or NULL.  */
typedef int (*parse_fn)(struct sbom *sb, const char *text, size_t len,
                        const char *what, struct cb_error **err);

static char *
parse_err(parse_fn fn, struct sbom *sb, const char *text, size_t len,
          enum cb_err_kind *kind)
{
  struct cb_error *err = NULL;
  char *msg = NULL;

  if (fn(sb, text, len, "/var/lib/dpkg/status", &err) < 0) {
    msg = cb_xstrdup(err->msg);
    if (kind != NULL)
      *kind = err->kind;
  }
  cb_error_free(err);
  return msg;
}

static void
test_os_release(void)
{
  static const char text[] =
    "# a comment\n"
    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
    "NAME='Debian GNU/Linux'\n"
    "   VERSION_ID=\"11\"\n"
    "VERSION_ID=\"12\"\n" /* the later assignment wins, as in sh */
    "VERSION_CODENAME=bookworm   \n"
    "ID=debian\n"
    "not an assignment\n"
    "lower_case=ignored\n"
    "=nokey\n"
    "\n"
    "HOME_URL=\"https://www.debian.org/\"";
  static const char escaped[] =
    "PRETTY_NAME=\"a \\\"b\\\" \\$c \\\\ \\n\"\nID=";
  struct sbom sb;
  char *msg;

  memset(&sb, 0, sizeof(sb));
  msg = parse_err(sbom_parse_os_release, &sb, text, strlen(text), NULL);
  ok(msg == NULL, "os-release parses");
  is_str(sb.os.id, "debian", "ID");
  is_str(sb.os.version_id, "12", "VERSION_ID: the last one");
  is_str(sb.os.codename, "bookworm", "bare value, trailing blanks dropped");
  is_str(sb.os.name, "Debian GNU/Linux", "single quotes");
  is_str(sb.os.pretty, "Debian GNU/Linux 12 (bookworm)", "double quotes");
  free(msg);
  sbom_release(&sb);

  msg = parse_err(sbom_parse_os_release, &sb, escaped, strlen(escaped),
                  NULL);
  is_str(sb.os.pretty, "a \"b\" $c \\ \\n", "escapes in double quotes");
  is_str(sb.os.id, "", "an empty value");
  free(msg);
  sbom_release(&sb);

  msg = parse_err(sbom_parse_os_release, &sb, "ID=x\0y\n", 7, NULL);
  is_str(msg, "/var/lib/dpkg/status: a NUL byte in the text",
         "a NUL byte is refused");
  free(msg);
  sbom_release(&sb);

  msg = parse_err(sbom_parse_os_release, &sb, "ID=\"unterminated", 16, NULL);
  is_str(sb.os.id, "unterminated", "an unterminated quote ends the value");
  free(msg);
  sbom_release(&sb);
}

static const char dpkg_status[] =
  "Package: libc6\n"
  "Status: install ok installed\n"
  "Priority: optional\n"
  "Architecture: amd64\n"
  "Multi-Arch: same\n"
  "Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\n"
  "Version: 2.36-9+deb12u10\n"
  "Source: glibc\n"
  "Description: GNU C Library: Shared libraries\n"
  " Contains the standard libraries that are used by nearly all programs on\n"
  " the system.\n"
  " .\n"
  " More text.\n"
  "\n"
  "Package: bsdutils\n"
  "status: install ok installed\n" /* field names are case-insensitive */
  "Version: 1:2.38.1-5+b1\n"
  "Architecture: amd64\n"
  "Source: util-linux (2.38.1-5)\n"
  "\n"
  "\n"
  "Package: oldpkg\n"
  "Status: deinstall ok config-files\n"
  "Version: 1.0\n"
  "\n"
  "Package: gone\n"
  "Status: purge ok not-installed\n"
  "\n"
  "Package: half\n"
  "Status: install reinstreq half-installed\n"
  "Version: 2\n"
  "Maintainer: Someone\n"
  "  \n"
  "Package: noversion\n"
  "Architecture: all"; /* no newline at the end, no Status */

static const struct sbom_package *
find_pkg(const struct sbom *sb, const char *name)
{
  for (size_t i = 0; i < sb->n_pkgs; i++) {
    if (strcmp(sb->pkgs[i].name, name) == 0)
      return &sb->pkgs[i];
  }
  return NULL;
}

static void
test_dpkg_status(void)
{
  const struct sbom_package *p;
  struct sbom sb;
  char *msg;

  memset(&sb, 0, sizeof(sb));
  msg = parse_err(sbom_parse_dpkg_status, &sb, dpkg_status,
                  strlen(dpkg_status), NULL);
  ok(msg == NULL, "a dpkg status file parses");
  is_int((long long)sb.n_pkgs, 4,
         "4 packages: config-files and not-installed ones are left out");
  p = find_pkg(&sb, "libc6");
  ok(p != NULL && p->type == SBOM_PKG_DEB, "libc6 is there");
  if (p != NULL) {
    is_str(p->version, "2.36-9+deb12u10", "its version");
    is_str(p->arch, "amd64", "its architecture");
    is_str(p->source, "glibc", "its source package");
    ok(p->source_version == NULL, "no source version");
    is_str(p->maintainer,
           "GNU Libc Maintainers <debian-glibc@lists.debian.org>",
           "its maintainer");
    is_str(p->db, "/var/lib/dpkg/status", "the database it came from");
  }
  p = find_pkg(&sb, "bsdutils");
  ok(p != NULL, "bsdutils is there (lower-case Status)");
  if (p != NULL) {
    is_str(p->version, "1:2.38.1-5+b1", "an epoch stays in the version");
    is_str(p->source, "util-linux", "Source: name (version): the name");
    is_str(p->source_version, "2.38.1-5", "and the version");
  }
  p = find_pkg(&sb, "half");
  ok(p != NULL && strcmp(p->maintainer, "Someone") == 0,
     "a half-installed package counts; a blank line of spaces ends it");
  p = find_pkg(&sb, "noversion");
  ok(p != NULL && p->version == NULL && strcmp(p->arch, "all") == 0,
     "a paragraph without Version or Status at the end of the text");
  ok(find_pkg(&sb, "oldpkg") == NULL && find_pkg(&sb, "gone") == NULL,
     "removed packages are not listed");
  free(msg);
  sbom_release(&sb);
}

static void
test_dpkg_errors(void)
{
  static const struct {
    const char *text, *want;
  } cases[] = {
    { "Package: a\nVersion 1\n",
      "/var/lib/dpkg/status:2: a line that is not 'Field: value'" },
    { " continued\nPackage: a\n",
      "/var/lib/dpkg/status:1: a continuation line outside a field" },
    { "Package: a\n\nVersion: 1\nArchitecture: all\n",
      "/var/lib/dpkg/status:3: a paragraph without a Package field" },
    { "Package:\nVersion: 1\n",
      "/var/lib/dpkg/status:1: a paragraph without a Package field" },
    { ": value\n", "/var/lib/dpkg/status:1: a line that is not 'Field: "
                   "value'" },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(cases); i++) {
    struct sbom sb;
    enum cb_err_kind kind = 0;
    char *msg;

    memset(&sb, 0, sizeof(sb));
    msg = parse_err(sbom_parse_dpkg_status, &sb, cases[i].text,
                    strlen(cases[i].text), &kind);
    is_str(msg, cases[i].want, "bad status %zu: error names file and line",
           i);
    is_int(kind, CB_ERR_PARSE, "bad status %zu: a parse error", i);
    free(msg);
    sbom_release(&sb);
  }
}

static void
test_apk(void)
{
  static const char text[] =
    "C:Q1abc=\n"
    "P:musl\n"
    "V:1.2.4_git20230717-r4\n"
    "A:x86_64\n"
    "S:383152\n"
    "T:the musl c library (libc) implementation\n"
    "U:https://musl.libc.org/\n"
    "L:MIT\n"
    "o:musl\n"
    "m:Timo Teräs <timo.teras@iki.fi>\n"
    "F:lib\n"
    "R:libc.musl-x86_64.so.1\n"
    "\n"
    "P:busybox\n"
    "V:1.36.1-r15\n"
    "A:x86_64\n"
    "L:GPL-2.0-only\n"
    "o:busybox\n"
    "\n";
  const struct sbom_package *p;
  struct sbom sb;
  char *msg;

  memset(&sb, 0, sizeof(sb));
  msg = parse_err(sbom_parse_apk_installed, &sb, text, strlen(text), NULL);
  ok(msg == NULL, "an apk database parses");
  is_int((long long)sb.n_pkgs, 2, "two packages");
  p = find_pkg(&sb, "musl");
  ok(p != NULL && p->type == SBOM_PKG_APK, "musl is there");
  if (p != NULL) {
    is_str(p->version, "1.2.4_git20230717-r4", "its version");
    is_str(p->arch, "x86_64", "its arch");
    is_str(p->license, "MIT", "its license");
    is_str(p->source, "musl", "its origin");
    is_str(p->maintainer, "Timo Teräs <timo.teras@iki.fi>", "its maintainer");
  }
  free(msg);
  sbom_release(&sb);

  msg = parse_err(sbom_parse_apk_installed, &sb, "P:a\nVersion: 1\n", 15,
                  NULL);
  is_str(msg, "/var/lib/dpkg/status:2: a line that is not 'K:value'",
         "a bad apk line is an error naming the line");
  free(msg);
  sbom_release(&sb);
  msg = parse_err(sbom_parse_apk_installed, &sb, "V:1\nA:x86_64\n", 13,
                  NULL);
  is_str(msg, "/var/lib/dpkg/status:1: a paragraph without a P: line",
         "an apk paragraph without P");
  free(msg);
  sbom_release(&sb);
}

/* Sizes that input controls: a long field, many packages.  */
static void
test_hostile_sizes(void)
{
  struct cb_buf b = CB_BUF_INIT;
  enum cb_err_kind kind = 0;
  struct sbom sb;
  char *msg;

  cb_buf_adds(&b, "Package: big\nVersion: ");
  for (int i = 0; i < 1 << 20; i++)
    cb_buf_addc(&b, 'x');
  cb_buf_adds(&b, "\nDescription: d\n");
  for (int i = 0; i < 100000; i++)
    cb_buf_adds(&b, " continued\n");
  memset(&sb, 0, sizeof(sb));
  msg = parse_err(sbom_parse_dpkg_status, &sb, b.data, b.len, NULL);
  ok(msg == NULL && sb.n_pkgs == 1 && strlen(sb.pkgs[0].version) == 1 << 20,
     "a 1 MiB field and 100000 continuation lines");
  free(msg);
  sbom_release(&sb);
  cb_buf_release(&b);

  for (unsigned i = 0; i <= CB_MAX_SBOM_PACKAGES; i++)
    cb_buf_addf(&b, "Package: p%u\n\n", i);
  msg = parse_err(sbom_parse_dpkg_status, &sb, b.data, b.len, &kind);
  ok(msg != NULL && strstr(msg, "more than 100000 packages") != NULL &&
       kind == CB_ERR_UNSAFE,
     "more than CB_MAX_SBOM_PACKAGES packages is refused: %s",
     msg ? msg : "(none)");
  free(msg);
  sbom_release(&sb);
  cb_buf_release(&b);

  for (int i = 0; i < 200000; i++)
    cb_buf_adds(&b, "\n \t\n");
  msg = parse_err(sbom_parse_dpkg_status, &sb, b.data, b.len, NULL);
  ok(msg == NULL && sb.n_pkgs == 0, "only blank lines: no packages");
  free(msg);
  sbom_release(&sb);
  cb_buf_release(&b);
}

static void
test_purl(void)
{
  struct sbom_package deb = { .type = SBOM_PKG_DEB, .name = "bsdutils",
                              .version = "1:2.38.1-5+b1", .arch = "amd64",
                              .source = "util-linux",
                              .source_version = "2.38.1-5" };
  struct sbom_package same = { .type = SBOM_PKG_DEB, .name = "libc6",
                               .version = "2.36-9", .arch = "amd64",
                               .source = "glibc",
                               .source_version = "2.36-9" };
  struct sbom_package bare = { .type = SBOM_PKG_DEB, .name = "Odd Name" };
  struct sbom_package apk = { .type = SBOM_PKG_APK, .name = "musl",
                              .version = "1.2.4-r4", .arch = "x86_64",
                              .source = "musl" };
  struct sbom_os debian = { .id = "debian", .version_id = "12" };
  struct sbom_os sid = { .id = "Debian", .codename = "trixie" };
  struct sbom_os alpine = { .id = "alpine", .version_id = "3.19.1" };
  struct sbom_os none = { NULL };
  char *s;

  s = sbom_purl(&deb, &debian);
  is_str(s, "pkg:deb/debian/bsdutils@1:2.38.1-5%2Bb1?arch=amd64&"
            "distro=debian-12&upstream=util-linux%402.38.1-5",
         "deb purl: '+' encoded, ':' kept, upstream with its version");
  free(s);
  s = sbom_purl(&same, &debian);
  is_str(s, "pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12&"
            "upstream=glibc",
         "upstream without a version when it is the package's");
  free(s);
  s = sbom_purl(&deb, &sid);
  is_str(s, "pkg:deb/debian/bsdutils@1:2.38.1-5%2Bb1?arch=amd64&"
            "distro=Debian-trixie&upstream=util-linux%402.38.1-5",
         "no VERSION_ID: the codename; the namespace is lower case");
  free(s);
  s = sbom_purl(&bare, &none);
  is_str(s, "pkg:deb/debian/odd%20name",
         "no os-release, no version, no qualifiers");
  free(s);
  s = sbom_purl(&apk, &alpine);
  is_str(s, "pkg:apk/alpine/musl@1.2.4-r4?arch=x86_64&distro=alpine-3.19.1",
         "apk purl (the origin is the package itself)");
  free(s);
  s = sbom_purl(&apk, &none);
  is_str(s, "pkg:apk/alpine/musl@1.2.4-r4?arch=x86_64",
         "apk purl without os-release");
  free(s);
}

static void
test_finish(void)
{
  static const char text[] = "Package: b\nVersion: 1\n\n"
                             "Package: a\nVersion: 2\n\n"
                             "Package: a\nVersion: 1\n\n"
                             "Package: b\nVersion: 1\n";
  struct sbom sb;
  char *msg;

  memset(&sb, 0, sizeof(sb));
  msg = parse_err(sbom_parse_dpkg_status, &sb, text, strlen(text), NULL);
  sbom_finish(&sb);
  ok(msg == NULL && sb.n_pkgs == 3 && strcmp(sb.pkgs[0].name, "a") == 0 &&
       strcmp(sb.pkgs[0].version, "1") == 0 &&
       strcmp(sb.pkgs[1].version, "2") == 0 &&
       strcmp(sb.pkgs[2].name, "b") == 0,
     "sorted by name and version, the duplicate dropped");
  free(msg);
  sbom_release(&sb);
}

static void
test_utc_time(void)
{
  static const struct {
    const char *in, *want;
  } cases[] = {
    { "2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z" },
    { "2024-01-02T03:04:05.123456789Z", "2024-01-02T03:04:05Z" },
    { "2024-01-02T01:04:05+02:00", "2024-01-01T23:04:05Z" },
    { "2023-12-31T23:30:00-01:00", "2024-01-01T00:30:00Z" },
    { "1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z" },
    { "2024-13-02T03:04:05Z", "1970-01-01T00:00:00Z" },
    { "2024-01-02 03:04:05Z", "1970-01-01T00:00:00Z" },
    { "2024-01-02T03:04:05", "1970-01-01T00:00:00Z" },
    { "2024-01-02T03:04:05+0200", "1970-01-01T00:00:00Z" },
    { "2024-01-02T03:04:05Zjunk", "1970-01-01T00:00:00Z" },
    { "", "1970-01-01T00:00:00Z" },
    { NULL, "1970-01-01T00:00:00Z" },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(cases); i++) {
    char out[21];

    sbom_utc_time(cases[i].in, out);
    is_str(out, cases[i].want, "utc time of '%s'",
           cases[i].in ? cases[i].in : "(null)");
  }
}

static bool
matches(const char *s, const char *re)
{
  regex_t r;
  bool m;

  if (s == NULL || regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
    return false;
  m = regexec(&r, s, 0, NULL, 0) == 0;
  regfree(&r);
  return m;
}

static struct sbom
sample_sbom(void)
{
  static const char os[] = "ID=debian\nVERSION_ID=\"12\"\n"
                           "PRETTY_NAME=\"Debian GNU/Linux 12\"\n";
  static const char st[] = "Package: libc6\nVersion: 2.36-9+deb12u10\n"
                           "Architecture: amd64\nSource: glibc\n"
                           "Maintainer: Bad \xff\xfe <m@x>\n\n"
                           "Package: libstdc++6\nVersion: 12.2.0-14\n"
                           "Architecture: amd64\n\n"
                           "Package: LibStdc++6\nVersion: 12.2.0-14\n"
                           "Architecture: amd64\n";
  struct cb_error *err = NULL;
  struct sbom sb;

  memset(&sb, 0, sizeof(sb));
  if (sbom_parse_os_release(&sb, os, strlen(os), "os", &err) < 0 ||
      sbom_parse_dpkg_status(&sb, st, strlen(st), "st", &err) < 0)
    diag("sample: %s", err->msg);
  cb_error_free(err);
  sbom_finish(&sb);
  return sb;
}

static const struct sbom_subject subject = {
  "app:1",
  "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
  "2024-05-06T07:08:09.5+00:00",
};

static void
test_spdx(void)
{
  struct sbom sb = sample_sbom();
  size_t len = 0;
  char *text = sbom_render(&sb, &subject, SBOM_SPDX_JSON, &len);
  char *again = sbom_render(&sb, &subject, SBOM_SPDX_JSON, NULL);
  json_t *doc = json_loads(text, 0, NULL);
  json_t *pkgs = json_object_get(doc, "packages");
  json_t *rels = json_object_get(doc, "relationships");
  const char *ids[8] = { NULL };
  bool ids_ok = true;
  size_t i;
  json_t *p;

  ok(doc != NULL && len == strlen(text) && text[len - 1] == '\n',
     "the SPDX document is JSON ending in a newline");
  ok(strcmp(text, again) == 0, "the same input gives the same bytes");
  is_str(json_string_value(json_object_get(doc, "spdxVersion")), "SPDX-2.3",
         "spdxVersion");
  is_str(json_string_value(json_object_get(doc, "dataLicense")), "CC0-1.0",
         "dataLicense");
  is_str(json_string_value(json_object_get(doc, "SPDXID")),
         "SPDXRef-DOCUMENT", "the document's SPDXID");
  is_str(json_string_value(json_object_get(doc, "name")), "app:1", "name");
  ok(matches(json_string_value(json_object_get(doc, "documentNamespace")),
             "^https://cbuild\\.invalid/sbom/spdx/[0-9a-f]{8}-[0-9a-f]{4}-5"
             "[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"),
     "documentNamespace: a URI with a version 5 UUID");
  is_str(json_string_value(json_object_get(
           json_object_get(doc, "creationInfo"), "created")),
         "2024-05-06T07:08:09Z", "created: the image's, in UTC seconds");
  is_int((long long)json_array_size(pkgs), 5,
         "image, OS and three packages");
  json_array_foreach(pkgs, i, p) {
    if (i < CB_N_ELEMENTS(ids))
      ids[i] = json_string_value(json_object_get(p, "SPDXID"));
    ids_ok = ids_ok && matches(ids[i], "^SPDXRef-[a-zA-Z0-9.-]+$") &&
             json_string_value(json_object_get(p, "downloadLocation")) &&
             json_string_value(json_object_get(p, "name"));
  }
  ok(ids_ok, "each package has a valid SPDXID, name and downloadLocation");
  ok(ids[3] && ids[4] && strcmp(ids[3], ids[4]) != 0,
     "names that differ in case only still get different SPDXIDs");
  p = json_array_get(pkgs, 2);
  is_str(json_string_value(json_object_get(p, "name")), "LibStdc++6",
         "packages in order (upper case first)");
  p = json_array_get(pkgs, 4);
  is_str(json_string_value(json_object_get(json_array_get(
           json_object_get(p, "externalRefs"), 0), "referenceLocator")),
         "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=amd64&"
         "distro=debian-12",
         "the purl as an external reference");
  p = json_array_get(pkgs, 3);
  is_str(json_string_value(json_object_get(p, "supplier")),
         "Person: Bad \xef\xbf\xbd\xef\xbf\xbd (m@x)",
         "invalid UTF-8 becomes U+FFFD; the maintainer is the supplier");
  is_int((long long)json_array_size(rels), 5,
         "DESCRIBES the image, which CONTAINS the OS and 3 packages");
  is_str(json_string_value(json_object_get(json_array_get(rels, 0),
                                           "relationshipType")),
         "DESCRIBES", "the first relationship");
  json_decref(doc);
  free(text);
  free(again);
  sbom_release(&sb);
}

static void
test_cyclonedx(void)
{
  struct sbom sb = sample_sbom();
  char *text = sbom_render(&sb, &subject, SBOM_CYCLONEDX_JSON, NULL);
  struct sbom_subject other = subject;
  char *text2;
  json_t *doc = json_loads(text, 0, NULL), *doc2;
  json_t *comps = json_object_get(doc, "components");
  json_t *meta = json_object_get(doc, "metadata");

  ok(doc != NULL, "the CycloneDX document is JSON");
  is_str(json_string_value(json_object_get(doc, "bomFormat")), "CycloneDX",
         "bomFormat");
  is_str(json_string_value(json_object_get(doc, "specVersion")), "1.5",
         "specVersion");
  ok(json_integer_value(json_object_get(doc, "version")) == 1, "version 1");
  ok(matches(json_string_value(json_object_get(doc, "serialNumber")),
             "^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}"
             "-[0-9a-f]{12}$"),
     "serialNumber: a version 5 UUID URN");
  is_str(json_string_value(json_object_get(meta, "timestamp")),
         "2024-05-06T07:08:09Z", "timestamp");
  is_str(json_string_value(json_object_get(
           json_object_get(meta, "component"), "type")),
         "container", "the subject is a container");
  is_int((long long)json_array_size(comps), 4, "OS and three packages");
  is_str(json_string_value(json_object_get(json_array_get(comps, 0),
                                           "type")),
         "operating-system", "the OS component");
  ok(strcmp(json_string_value(json_object_get(json_array_get(comps, 2),
                                              "bom-ref")),
            json_string_value(json_object_get(json_array_get(comps, 3),
                                              "bom-ref"))) != 0,
     "bom-refs are unique even when purls collide");
  is_str(json_string_value(json_object_get(json_array_get(comps, 3),
                                           "bom-ref")),
         "pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=amd64&"
         "distro=debian-12#1",
         "the repeat gets #1");

  other.manifest_digest = "sha256:1123456789abcdef0123456789abcdef0123456789"
                          "abcdef0123456789abcdef";
  text2 = sbom_render(&sb, &other, SBOM_CYCLONEDX_JSON, NULL);
  doc2 = json_loads(text2, 0, NULL);
  ok(strcmp(json_string_value(json_object_get(doc, "serialNumber")),
            json_string_value(json_object_get(doc2, "serialNumber"))) != 0,
     "another image digest gives another serial number");
  json_decref(doc);
  json_decref(doc2);
  free(text);
  free(text2);
  sbom_release(&sb);
}

static void
test_formats(void)
{
  struct cb_error *err = NULL;
  enum sbom_format f = SBOM_SPDX_JSON;

  ok(sbom_format_parse("cyclonedx-json", &f, &err) == 0 &&
       f == SBOM_CYCLONEDX_JSON, "cyclonedx-json");
  ok(sbom_format_parse("spdx-json", &f, &err) == 0 && f == SBOM_SPDX_JSON,
     "spdx-json");
  ok(sbom_format_parse("spdx", &f, &err) < 0 && err->kind == CB_ERR_USAGE,
     "an unknown format is a usage error");
  cb_error_free(err);
  is_str(sbom_media_type(SBOM_SPDX_JSON), "application/spdx+json",
         "SPDX media type");
  is_str(sbom_media_type(SBOM_CYCLONEDX_JSON),
         "application/vnd.cyclonedx+json", "CycloneDX media type");
}

int
main(void)
{
  test_os_release();
  test_dpkg_status();
  test_dpkg_errors();
  test_apk();
  test_hostile_sizes();
  test_purl();
  test_finish();
  test_utc_time();
  test_spdx();
  test_cyclonedx();
  test_formats();
  return done_testing();
}
