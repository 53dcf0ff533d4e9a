/* Software bills of materials for images in the store: the operating
   system from os-release and the packages of the dpkg database
   (/var/lib/dpkg/status, /var/lib/dpkg/status.d/) and the apk database
   (/lib/apk/db/installed), each with a package URL, written as SPDX 2.3
   JSON or CycloneDX 1.5 JSON.

   Everything read from the image is untrusted: the files are taken from
   the flattened layer tar (whiteouts applied, nothing extracted, no
   symlink followed), each is bounded in size, and the parsers below work
   on strings only.  The same image gives the same document: identifiers
   come from the manifest digest and the time from the config's
   "created".  */
#ifndef CBUILD_BUILDER_SBOM_H
#define CBUILD_BUILDER_SBOM_H

#include <stddef.h>

#include "common/error.h"
#include "layers/image.h"
#include "layers/store.h"

enum sbom_format {
  SBOM_SPDX_JSON,      /* SPDX 2.3, JSON */
  SBOM_CYCLONEDX_JSON, /* CycloneDX 1.5, JSON */
};

/* "spdx-json" or "cyclonedx-json" into *OUT; anything else is
   CB_ERR_USAGE naming NAME.  */
int sbom_format_parse(const char *name, enum sbom_format *out,
                      struct cb_error **err);

/* The media type of a document in FMT ("application/spdx+json",
   "application/vnd.cyclonedx+json"), for an artifact that carries it.
   Static.  */
const char *sbom_media_type(enum sbom_format fmt);

enum sbom_pkg_type { SBOM_PKG_DEB, SBOM_PKG_APK };

/* One installed package.  Every string is owned; NULL when the database
   does not say.  */
struct sbom_package {
  enum sbom_pkg_type type;
  char *name;
  char *version;
  char *arch;
  char *source;         /* deb: the source package; apk: the origin */
  char *source_version; /* deb: "Source: name (version)" */
  char *maintainer;     /* "Name <mail>" as the database has it */
  char *license;        /* apk only: dpkg does not record licenses */
  char *db;             /* the database file it came from, "/var/lib/..." */
};

/* What os-release says (owned strings, NULL when absent).  */
struct sbom_os {
  char *id;         /* ID, e.g. "debian" */
  char *version_id; /* VERSION_ID, e.g. "12" */
  char *codename;   /* VERSION_CODENAME */
  char *name;       /* NAME */
  char *pretty;     /* PRETTY_NAME */
};

/* What an image holds, sorted and without duplicates after
   sbom_finish().  */
struct sbom {
  struct sbom_os os;
  struct sbom_package *pkgs;
  size_t n_pkgs, alloc_pkgs;
};

void sbom_release(struct sbom *sb);

/* Parse os-release(5) TEXT (LEN bytes) into SB->os: KEY=VALUE lines with
   shell-like quoting; comments, blank lines and lines that are not
   assignments are skipped, as systemd does.  WHAT names the file in
   errors: a NUL byte is CB_ERR_PARSE.  */
int sbom_parse_os_release(struct sbom *sb, const char *text, size_t len,
                          const char *what, struct cb_error **err);

/* Add the packages of a dpkg status file (TEXT, LEN bytes: paragraphs of
   "Field: value" lines, continuation lines starting with a space or tab,
   separated by blank lines) to SB.  A paragraph whose Status says the
   package is not installed (not-installed, config-files) is skipped; one
   without Status counts as installed (distroless images keep one
   paragraph per file in status.d/ without it).  A line that is neither a
   field nor a continuation, a paragraph without Package, a NUL byte or
   more than CB_MAX_SBOM_PACKAGES packages is CB_ERR_PARSE naming WHAT
   and the line.  WHAT is also recorded as each package's db.  */
int sbom_parse_dpkg_status(struct sbom *sb, const char *text, size_t len,
                           const char *what, struct cb_error **err);

/* Add the packages of an apk "installed" database (paragraphs of "K:value"
   lines with one-letter keys, separated by blank lines) to SB, with the
   same rules and errors as sbom_parse_dpkg_status().  */
int sbom_parse_apk_installed(struct sbom *sb, const char *text, size_t len,
                             const char *what, struct cb_error **err);

/* Sort SB's packages (type, name, version, arch) and drop exact
   duplicates (the same package listed twice).  */
void sbom_finish(struct sbom *sb);

/* The package URL of P in an image whose os-release is OS:
   pkg:deb/debian/NAME@VERSION?arch=ARCH&distro=debian-12&upstream=SRC,
   pkg:apk/alpine/NAME@VERSION?arch=ARCH&distro=alpine-3.19.1.  The
   namespace is OS's ID (lower case) or else debian / alpine; qualifiers
   are left out when unknown; components are percent-encoded as the purl
   specification says (letters, digits, ".-_~" and ':' are kept).  New
   string.  */
char *sbom_purl(const struct sbom_package *p, const struct sbom_os *os);

/* The image a document describes.  Strings are borrowed.  */
struct sbom_subject {
  const char *name;            /* what the user called it, or its tag */
  const char *manifest_digest; /* "sha256:<hex>" */
  const char *created;         /* the config's "created", may be NULL */
};

/* RFC 3339 time TEXT (fractions and offsets allowed) as UTC
   "YYYY-MM-DDThh:mm:ssZ" into OUT; "1970-01-01T00:00:00Z" when TEXT is
   NULL or not such a time, so that the document stays reproducible.  */
void sbom_utc_time(const char *text, char out[21]);

/* The document for SB and SUBJECT in FMT, as indented JSON text ending in
   a newline.  New string; *LEN (may be NULL) gets its length.  */
char *sbom_render(const struct sbom *sb, const struct sbom_subject *subject,
                  enum sbom_format fmt, size_t *len);

/* Read os-release and the package databases of IMG (from the store S)
   into SB (zeroed first; release it with sbom_release()).  A database
   file larger than CB_MAX_SBOM_FILE, or more than CB_MAX_SBOM_STATUS_D
   files in status.d/, is CB_ERR_UNSAFE naming the file; what the parsers
   refuse is their error.  Files that are not regular files (a symlink, a
   device) are not read.  */
int sbom_read_image(struct layer_store *s, const struct store_image *img,
                    struct sbom *sb, struct cb_error **err);

/* The whole thing: the SBOM of IMG in FMT, NAME being how the document
   names the image (NULL: its first tag, else its manifest digest).  *OUT
   is the caller's (the JSON text), *LEN its length.  For `cbuild sbom`
   and for attaching the document to a push.  */
int sbom_for_image(struct layer_store *s, const struct store_image *img,
                   const char *name, enum sbom_format fmt, char **out,
                   size_t *len, struct cb_error **err);

#endif
