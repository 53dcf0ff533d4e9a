/* The parsers of builder/sbom.h: os-release, dpkg status, apk installed,
   and package URLs.  They see only strings; builder/sbom_image.c reads
   the files.  */
#include "config.h"

#include "builder/sbom.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/banned.h"

static void
package_release(struct sbom_package *p)
{
  free(p->name);
  free(p->version);
  free(p->arch);
  free(p->source);
  free(p->source_version);
  free(p->maintainer);
  free(p->license);
  free(p->db);
}

void
sbom_release(struct sbom *sb)
{
  free(sb->os.id);
  free(sb->os.version_id);
  free(sb->os.codename);
  free(sb->os.name);
  free(sb->os.pretty);
  for (size_t i = 0; i < sb->n_pkgs; i++)
    package_release(&sb->pkgs[i]);
  free(sb->pkgs);
  memset(sb, 0, sizeof(*sb));
}

int
sbom_format_parse(const char *name, enum sbom_format *out,
                  struct cb_error **err)
{
  if (strcmp(name, "spdx-json") == 0)
    *out = SBOM_SPDX_JSON;
  else if (strcmp(name, "cyclonedx-json") == 0)
    *out = SBOM_CYCLONEDX_JSON;
  else
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "unknown SBOM format '%s' (spdx-json or cyclonedx-json)",
                   name);
  return 0;
}

const char *
sbom_media_type(enum sbom_format fmt)
{
  return fmt == SBOM_SPDX_JSON ? "application/spdx+json"
                               : "application/vnd.cyclonedx+json";
}

static bool
is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r';
}

/* A copy of S (N bytes) without blanks at either end.  */
static char *
trimmed(const char *s, size_t n)
{
  while (n > 0 && is_blank(*s)) {
    s++;
    n--;
  }
  while (n > 0 && is_blank(s[n - 1]))
    n--;
  return cb_xstrndup(s, n);
}

static int
refuse_nul(const char *text, size_t len, const char *what,
           struct cb_error **err)
{
  if (memchr(text, '\0', len) != NULL)
    return cb_fail(err, CB_ERR_PARSE, 0, "%s: a NUL byte in the text",
                   what);
  return 0;
}

/* Lines of TEXT one at a time: *LINE and *LLEN (without the newline);
   false at the end.  */
struct lines {
  const char *p, *end;
  size_t no; /* 1-based number of the line last returned */
};

static bool
next_line(struct lines *l, const char **line, size_t *llen)
{
  const char *nl;

  if (l->p >= l->end)
    return false;
  nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
  *line = l->p;
  *llen = nl != NULL ? (size_t)(nl - l->p) : (size_t)(l->end - l->p);
  l->p = nl != NULL ? nl + 1 : l->end;
  l->no++;
  return true;
}

static bool
line_is_blank(const char *line, size_t llen)
{
  for (size_t i = 0; i < llen; i++) {
    if (!is_blank(line[i]))
      return false;
  }
  return true;
}

/* ---- os-release ---- */

/* The value of an os-release assignment, V (N bytes) after the '=':
   "double quoted" with \" \\ \$ \` escapes, 'single quoted', or bare.  */
static char *
os_release_value(const char *v, size_t n)
{
  struct cb_buf b = CB_BUF_INIT;
  size_t i = 0;

  while (n > 0 && is_blank(v[n - 1]))
    n--;
  if (n == 0 || (v[0] != '"' && v[0] != '\''))
    return cb_xstrndup(v, n);
  for (i = 1; i < n && v[i] != v[0]; i++) {
    if (v[0] == '"' && v[i] == '\\' && i + 1 < n &&
        strchr("\"\\$`", v[i + 1]) != NULL)
      i++;
    cb_buf_addc(&b, v[i]);
  }
  return cb_buf_detach(&b, NULL);
}

static void
set_owned(char **slot, char *value)
{
  free(*slot);
  *slot = value;
}

static void
os_release_assign(struct sbom_os *os, const char *key, size_t klen,
                  char *value)
{
  static const struct {
    const char *key;
    size_t off;
  } keys[] = {
    { "ID", offsetof(struct sbom_os, id) },
    { "VERSION_ID", offsetof(struct sbom_os, version_id) },
    { "VERSION_CODENAME", offsetof(struct sbom_os, codename) },
    { "NAME", offsetof(struct sbom_os, name) },
    { "PRETTY_NAME", offsetof(struct sbom_os, pretty) },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(keys); i++) {
    if (strlen(keys[i].key) == klen && memcmp(keys[i].key, key, klen) == 0) {
      set_owned((char **)((char *)os + keys[i].off), value);
      return;
    }
  }
  free(value);
}

int
sbom_parse_os_release(struct sbom *sb, const char *text, size_t len,
                      const char *what, struct cb_error **err)
{
  struct lines l = { text, text + len, 0 };
  const char *line;
  size_t llen;

  if (refuse_nul(text, len, what, err) < 0)
    return -1;
  while (next_line(&l, &line, &llen)) {
    const char *eq;
    size_t k = 0;

    while (llen > 0 && is_blank(*line)) {
      line++;
      llen--;
    }
    if (llen == 0 || line[0] == '#')
      continue;
    eq = memchr(line, '=', llen);
    if (eq == NULL)
      continue; /* systemd skips such lines too */
    while (line + k < eq && (line[k] == '_' || (line[k] >= 'A' &&
           line[k] <= 'Z') || (line[k] >= '0' && line[k] <= '9')))
      k++;
    if (k == 0 || line + k != eq)
      continue;
    os_release_assign(&sb->os, line, k,
                      os_release_value(eq + 1, llen - k - 1));
  }
  return 0;
}

/* ---- package databases ---- */

enum pkg_field {
  F_NAME,
  F_VERSION,
  F_ARCH,
  F_SOURCE,
  F_MAINTAINER,
  F_LICENSE,
  F_STATUS,
  F_COUNT
};

/* The paragraph being read: the fields we keep, as found.  */
struct para {
  struct cb_buf f[F_COUNT];
  bool seen[F_COUNT];
  size_t first_line; /* 0: no field yet */
  int cur;           /* the field continuation lines extend; -1 none */
};

static void
para_reset(struct para *p)
{
  for (int i = 0; i < F_COUNT; i++) {
    cb_buf_release(&p->f[i]);
    p->seen[i] = false;
  }
  p->first_line = 0;
  p->cur = -1;
}

static char *
field_value(const struct para *p, enum pkg_field f)
{
  const struct cb_buf *b = &p->f[f];

  if (!p->seen[f] || b->len == 0)
    return NULL;
  return trimmed(b->data, b->len);
}

/* dpkg's Status is "want flag state"; these states leave no files.  */
static bool
status_installed(const char *status)
{
  const char *state;

  if (status == NULL)
    return true;
  state = strrchr(status, ' ');
  state = state != NULL ? state + 1 : status;
  return strcmp(state, "not-installed") != 0 &&
         strcmp(state, "config-files") != 0;
}

/* "name (version)" of dpkg's Source field into P.  */
static void
split_source(struct sbom_package *p, char *source)
{
  char *open = strchr(source, '(');
  char *close = open != NULL ? strchr(open, ')') : NULL;

  if (open == NULL || close == NULL) {
    p->source = source;
    return;
  }
  p->source_version = trimmed(open + 1, (size_t)(close - open - 1));
  p->source = trimmed(source, (size_t)(open - source));
  free(source);
}

static int
para_end(struct sbom *sb, struct para *p, enum sbom_pkg_type type,
         const char *what, struct cb_error **err)
{
  cleanup_free char *status = NULL;
  struct sbom_package *pkg;
  char *source;

  if (p->first_line == 0)
    return 0;
  if (!p->seen[F_NAME] || p->f[F_NAME].len == 0)
    return cb_fail(err, CB_ERR_PARSE, 0, "%s:%zu: a paragraph without %s",
                   what, p->first_line,
                   type == SBOM_PKG_DEB ? "a Package field" : "a P: line");
  status = field_value(p, F_STATUS);
  if (!status_installed(status)) {
    para_reset(p);
    return 0;
  }
  if (sb->n_pkgs >= CB_MAX_SBOM_PACKAGES)
    return cb_fail(err, CB_ERR_UNSAFE, 0, "%s:%zu: more than %u packages",
                   what, p->first_line, CB_MAX_SBOM_PACKAGES);
  CB_GROW(sb->pkgs, sb->alloc_pkgs, sb->n_pkgs + 1);
  pkg = &sb->pkgs[sb->n_pkgs++];
  memset(pkg, 0, sizeof(*pkg));
  pkg->type = type;
  pkg->name = field_value(p, F_NAME);
  pkg->version = field_value(p, F_VERSION);
  pkg->arch = field_value(p, F_ARCH);
  pkg->maintainer = field_value(p, F_MAINTAINER);
  pkg->license = field_value(p, F_LICENSE);
  pkg->db = cb_xstrdup(what);
  source = field_value(p, F_SOURCE);
  if (source != NULL && type == SBOM_PKG_DEB)
    split_source(pkg, source);
  else
    pkg->source = source;
  para_reset(p);
  return 0;
}

static int
dpkg_field_id(const char *name, size_t n)
{
  static const char *const names[F_COUNT] = {
    [F_NAME] = "Package",       [F_VERSION] = "Version",
    [F_ARCH] = "Architecture",  [F_SOURCE] = "Source",
    [F_MAINTAINER] = "Maintainer", [F_LICENSE] = NULL,
    [F_STATUS] = "Status",
  };

  for (int i = 0; i < F_COUNT; i++) {
    /* Field names are case-insensitive in deb822.  */
    if (names[i] != NULL && strlen(names[i]) == n &&
        strncasecmp(names[i], name, n) == 0)
      return i;
  }
  return -1;
}

static void
para_set(struct para *p, int id, const char *v, size_t n, size_t line_no)
{
  if (p->first_line == 0)
    p->first_line = line_no;
  p->cur = -1;
  if (id < 0 || p->seen[id])
    return; /* a field we do not keep, or a repeat: the first one wins */
  p->seen[id] = true;
  p->cur = id;
  cb_buf_add(&p->f[id], v, n);
}

/* One line of a dpkg paragraph.  */
static int
dpkg_line(struct para *p, const char *line, size_t llen, size_t no,
          const char *what, struct cb_error **err)
{
  const char *colon;

  if (is_blank(line[0])) { /* a continuation line */
    if (p->first_line == 0)
      return cb_fail(err, CB_ERR_PARSE, 0,
                     "%s:%zu: a continuation line outside a field", what,
                     no);
    if (p->cur >= 0) {
      cb_buf_addc(&p->f[p->cur], ' ');
      cb_buf_add(&p->f[p->cur], line + 1, llen - 1);
    }
    return 0;
  }
  colon = memchr(line, ':', llen);
  if (colon == NULL || colon == line ||
      memchr(line, ' ', (size_t)(colon - line)) != NULL)
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "%s:%zu: a line that is not 'Field: value'", what, no);
  para_set(p, dpkg_field_id(line, (size_t)(colon - line)), colon + 1,
           llen - (size_t)(colon - line) - 1, no);
  return 0;
}

/* One line of an apk paragraph: "K:value" with a one-letter key.  */
static int
apk_line(struct para *p, const char *line, size_t llen, size_t no,
         const char *what, struct cb_error **err)
{
  int id = -1;

  if (llen < 2 || line[1] != ':')
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "%s:%zu: a line that is not 'K:value'", what, no);
  switch (line[0]) {
  case 'P': id = F_NAME; break;
  case 'V': id = F_VERSION; break;
  case 'A': id = F_ARCH; break;
  case 'o': id = F_SOURCE; break;
  case 'm': id = F_MAINTAINER; break;
  case 'L': id = F_LICENSE; break;
  default: break;
  }
  para_set(p, id, line + 2, llen - 2, no);
  return 0;
}

typedef int (*line_fn)(struct para *p, const char *line, size_t llen,
                       size_t no, const char *what, struct cb_error **err);

static int
parse_paragraphs(struct sbom *sb, const char *text, size_t len,
                 const char *what, enum sbom_pkg_type type, line_fn fn,
                 struct cb_error **err)
{
  struct lines l = { text, text + len, 0 };
  struct para p;
  const char *line;
  size_t llen;
  int rc = 0;

  memset(&p, 0, sizeof(p));
  p.cur = -1;
  if (refuse_nul(text, len, what, err) < 0)
    return -1;
  while (rc == 0 && next_line(&l, &line, &llen)) {
    if (line_is_blank(line, llen))
      rc = para_end(sb, &p, type, what, err);
    else
      rc = fn(&p, line, llen, l.no, what, err);
  }
  if (rc == 0)
    rc = para_end(sb, &p, type, what, err);
  para_reset(&p);
  return rc;
}

int
sbom_parse_dpkg_status(struct sbom *sb, const char *text, size_t len,
                       const char *what, struct cb_error **err)
{
  return parse_paragraphs(sb, text, len, what, SBOM_PKG_DEB, dpkg_line,
                          err);
}

int
sbom_parse_apk_installed(struct sbom *sb, const char *text, size_t len,
                         const char *what, struct cb_error **err)
{
  return parse_paragraphs(sb, text, len, what, SBOM_PKG_APK, apk_line, err);
}

/* ---- order ---- */

static int
cmp_opt(const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return (a != NULL) - (b != NULL);
  return strcmp(a, b);
}

static int
cmp_pkg(const void *x, const void *y)
{
  const struct sbom_package *a = x, *b = y;
  int c;

  if (a->type != b->type)
    return a->type < b->type ? -1 : 1;
  if ((c = cmp_opt(a->name, b->name)) != 0 ||
      (c = cmp_opt(a->version, b->version)) != 0 ||
      (c = cmp_opt(a->arch, b->arch)) != 0)
    return c;
  return cmp_opt(a->db, b->db);
}

static bool
same_pkg(const struct sbom_package *a, const struct sbom_package *b)
{
  return a->type == b->type && cmp_opt(a->name, b->name) == 0 &&
         cmp_opt(a->version, b->version) == 0 &&
         cmp_opt(a->arch, b->arch) == 0;
}

void
sbom_finish(struct sbom *sb)
{
  size_t out = 0;

  if (sb->n_pkgs == 0)
    return;
  qsort(sb->pkgs, sb->n_pkgs, sizeof(sb->pkgs[0]), cmp_pkg);
  for (size_t i = 1; i < sb->n_pkgs; i++) {
    if (same_pkg(&sb->pkgs[out], &sb->pkgs[i]))
      package_release(&sb->pkgs[i]);
    else
      sb->pkgs[++out] = sb->pkgs[i];
  }
  sb->n_pkgs = out + 1;
}

/* ---- package URLs ---- */

/* S percent-encoded as the purl specification wants: ASCII letters,
   digits, ".-_~" and ':' stay; LOWER folds ASCII letters.  */
static void
purl_add(struct cb_buf *b, const char *s, bool lower)
{
  static const char hex[] = "0123456789ABCDEF";

  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
    unsigned char c = *p;

    if (lower && c >= 'A' && c <= 'Z')
      c = (unsigned char)(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || strchr(".-_~:", c) != NULL) {
      cb_buf_addc(b, (char)c);
    } else {
      cb_buf_addc(b, '%');
      cb_buf_addc(b, hex[c >> 4]);
      cb_buf_addc(b, hex[c & 15]);
    }
  }
}

static void
purl_qualifier(struct cb_buf *b, bool *first, const char *key,
               const char *value)
{
  if (value == NULL || *value == '\0')
    return;
  cb_buf_addc(b, *first ? '?' : '&');
  *first = false;
  cb_buf_adds(b, key);
  cb_buf_addc(b, '=');
  purl_add(b, value, false);
}

/* "debian-12", from ID and VERSION_ID (else VERSION_CODENAME).  */
static char *
purl_distro(const struct sbom_os *os)
{
  const char *v = os->version_id ? os->version_id : os->codename;

  if (os->id == NULL || *os->id == '\0' || v == NULL || *v == '\0')
    return NULL;
  return cb_xasprintf("%s-%s", os->id, v);
}

/* upstream=: the source package (origin) when it is not the package
   itself, with "@version" when that differs too.  */
static char *
purl_upstream(const struct sbom_package *p)
{
  if (p->source == NULL || *p->source == '\0')
    return NULL;
  if (p->source_version != NULL && cmp_opt(p->source_version,
                                           p->version) != 0)
    return cb_xasprintf("%s@%s", p->source, p->source_version);
  if (cmp_opt(p->source, p->name) == 0)
    return NULL;
  return cb_xstrdup(p->source);
}

char *
sbom_purl(const struct sbom_package *p, const struct sbom_os *os)
{
  struct cb_buf b = CB_BUF_INIT;
  const char *ns = os->id != NULL && *os->id != '\0'
                     ? os->id
                     : (p->type == SBOM_PKG_DEB ? "debian" : "alpine");
  cleanup_free char *distro = purl_distro(os);
  cleanup_free char *upstream = purl_upstream(p);
  bool first = true;

  cb_buf_adds(&b, p->type == SBOM_PKG_DEB ? "pkg:deb/" : "pkg:apk/");
  purl_add(&b, ns, true);
  cb_buf_addc(&b, '/');
  purl_add(&b, p->name, true);
  if (p->version != NULL) {
    cb_buf_addc(&b, '@');
    purl_add(&b, p->version, false);
  }
  /* Qualifier keys in lexical order, as the specification asks.  */
  purl_qualifier(&b, &first, "arch", p->arch);
  purl_qualifier(&b, &first, "distro", distro);
  purl_qualifier(&b, &first, "upstream", upstream);
  return cb_buf_detach(&b, NULL);
}
