#include "config.h"

#include "registry/reference.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/digest.h"
#include "common/mem.h"
#include "common/banned.h"

#define REF_NAME_MAX 255
#define REF_TAG_MAX 128

static bool
is_lower_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_word(char c)
{
  return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '_';
}

/* alpha-numeric (separator alpha-numeric)*, separator = [_.] | __ | -+ */
static bool
valid_path_component(const char *s, size_t n)
{
  size_t i = 0;

  if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
    return false;
  while (i < n) {
    size_t sep = 0;

    while (i < n && is_lower_alnum(s[i]))
      i++;
    if (i == n)
      return true;
    while (i + sep < n && !is_lower_alnum(s[i + sep]))
      sep++;
    if (!(sep == 1 && (s[i] == '_' || s[i] == '.')) &&
        !(sep == 2 && s[i] == '_' && s[i + 1] == '_') &&
        strspn(s + i, "-") < sep)
      return false;
    i += sep;
  }
  return true;
}

/* host[:port]: components of [A-Za-z0-9-] not starting or ending with '-',
   separated by '.', or a bracketed IPv6 address.  */
static bool
valid_domain(const char *s, size_t n)
{
  const char *colon = memchr(s, ':', n);
  size_t host = colon != NULL ? (size_t)(colon - s) : n;

  if (s[0] == '[') {
    const char *close = memchr(s, ']', n);

    if (close == NULL)
      return false;
    host = (size_t)(close - s) + 1;
    colon = host < n ? s + host : NULL;
    if (colon != NULL && *colon != ':')
      return false;
  } else {
    for (size_t i = 0, start = 0; i <= host; i++) {
      if (i < host && s[i] != '.')
        continue;
      if (i == start || s[start] == '-' || s[i - 1] == '-')
        return false;
      for (size_t j = start; j < i; j++) {
        if (!is_lower_alnum(s[j]) && !(s[j] >= 'A' && s[j] <= 'Z') &&
            s[j] != '-')
          return false;
      }
      start = i + 1;
    }
  }
  if (colon != NULL) {
    size_t port = n - (size_t)(colon - s) - 1;

    if (port == 0 || strspn(colon + 1, "0123456789") < port)
      return false;
  }
  return true;
}

static bool
valid_tag(const char *t)
{
  size_t n = strlen(t);

  if (n == 0 || n > REF_TAG_MAX || !is_word(t[0]))
    return false;
  for (size_t i = 1; i < n; i++) {
    if (!is_word(t[i]) && t[i] != '.' && t[i] != '-')
      return false;
  }
  return true;
}

/* A first component is a domain when it has '.' or ':' or is
   "localhost" (Docker's rule).  */
static bool
looks_like_domain(const char *s, size_t n)
{
  return memchr(s, '.', n) != NULL || memchr(s, ':', n) != NULL ||
         (n == 9 && memcmp(s, "localhost", 9) == 0) || (n > 0 && s[0] == '[');
}

static int
split_name(const char *name, struct image_ref *ref, const char *orig,
           struct cb_error **err)
{
  const char *slash = strchr(name, '/');
  const char *path = name;

  if (slash != NULL && looks_like_domain(name, (size_t)(slash - name))) {
    if (!valid_domain(name, (size_t)(slash - name)))
      return cb_fail(err, CB_ERR_USAGE, 0,
                     "invalid reference '%s': bad registry host", orig);
    ref->domain = cb_xstrndup(name, (size_t)(slash - name));
    path = slash + 1;
  }
  for (const char *p = path;;) {
    const char *end = strchr(p, '/');
    size_t n = end != NULL ? (size_t)(end - p) : strlen(p);

    if (!valid_path_component(p, n))
      return cb_fail(err, CB_ERR_USAGE, 0,
                     "invalid reference '%s': repository names must be "
                     "lower case letters, digits and separators",
                     orig);
    if (end == NULL)
      break;
    p = end + 1;
  }
  ref->path = cb_xstrdup(path);
  return 0;
}

int
image_ref_parse(const char *s, struct image_ref *out, struct cb_error **err)
{
  struct image_ref ref = { NULL, NULL, NULL, NULL };
  cleanup_free char *name = NULL;
  const char *at = strchr(s, '@');
  const char *slash, *colon;
  struct cb_digest d;

  name = at != NULL ? cb_xstrndup(s, (size_t)(at - s)) : cb_xstrdup(s);
  if (at != NULL && cb_digest_parse(at + 1, &d, err) < 0)
    return cb_wrap(err, "invalid reference '%s'", s);
  /* A ':' after the last '/' starts the tag.  */
  slash = strrchr(name, '/');
  colon = strrchr(slash != NULL ? slash : name, ':');
  if (colon != NULL) {
    if (!valid_tag(colon + 1))
      return cb_fail(err, CB_ERR_USAGE, 0, "invalid reference '%s': bad tag",
                     s);
    ref.tag = cb_xstrdup(colon + 1);
    name[colon - name] = '\0';
  }
  if (strlen(name) > REF_NAME_MAX || name[0] == '\0' ||
      split_name(name, &ref, s, err) < 0) {
    image_ref_release(&ref);
    if (err != NULL && *err == NULL)
      cb_fail(err, CB_ERR_USAGE, 0, "invalid reference '%s'", s);
    return -1;
  }
  ref.digest = at != NULL ? cb_xstrdup(at + 1) : NULL;
  *out = ref;
  return 0;
}

void
image_ref_normalize(struct image_ref *ref)
{
  if (ref->domain == NULL)
    ref->domain = cb_xstrdup("docker.io");
  if (strcmp(ref->domain, "docker.io") == 0 && strchr(ref->path, '/') == NULL) {
    char *p = cb_xasprintf("library/%s", ref->path);

    free(ref->path);
    ref->path = p;
  }
  if (ref->tag == NULL && ref->digest == NULL)
    ref->tag = cb_xstrdup("latest");
}

char *
image_ref_string(const struct image_ref *ref)
{
  struct cb_buf b = CB_BUF_INIT;

  if (ref->domain != NULL)
    cb_buf_addf(&b, "%s/", ref->domain);
  cb_buf_adds(&b, ref->path);
  if (ref->tag != NULL)
    cb_buf_addf(&b, ":%s", ref->tag);
  if (ref->digest != NULL)
    cb_buf_addf(&b, "@%s", ref->digest);
  return cb_buf_detach(&b, NULL);
}

char *
image_ref_local_name(const struct image_ref *ref)
{
  struct image_ref r = *ref;

  if (r.tag == NULL && r.digest == NULL)
    r.tag = (char *)"latest";
  return image_ref_string(&r);
}

void
image_ref_release(struct image_ref *ref)
{
  free(ref->domain);
  free(ref->path);
  free(ref->tag);
  free(ref->digest);
  memset(ref, 0, sizeof(*ref));
}
