#include "config.h"

#include "builder/copy-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/num.h"
#include "common/banned.h"

/* --- Go's filepath.Match, one component at a time --- */

bool
copy_has_wildcard(const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '\\')
      i++;
    else if (s[i] == '*' || s[i] == '?' || s[i] == '[')
      return true;
  }
  return false;
}

/* One UTF-8 character at S (N > 0 bytes): its code point and length.  A
   bad sequence is one byte, U+FFFD, as Go decodes it.  */
static uint32_t
next_rune(const char *s, size_t n, size_t *w)
{
  const unsigned char *u = (const unsigned char *)s;
  size_t need;
  uint32_t c;

  *w = 1;
  if (u[0] < 0x80)
    return u[0];
  if ((u[0] & 0xe0) == 0xc0) {
    need = 2;
    c = u[0] & 0x1f;
  } else if ((u[0] & 0xf0) == 0xe0) {
    need = 3;
    c = u[0] & 0x0f;
  } else if ((u[0] & 0xf8) == 0xf0) {
    need = 4;
    c = u[0] & 0x07;
  } else {
    return 0xfffd;
  }
  if (n < need)
    return 0xfffd;
  for (size_t i = 1; i < need; i++) {
    if ((u[i] & 0xc0) != 0x80)
      return 0xfffd;
    c = (c << 6) | (u[i] & 0x3f);
  }
  *w = need;
  return c;
}

/* A class character at P (before END), '\' escapes included: its code
   point, and P advanced.  False where Go says ErrBadPattern.  */
static bool
class_char(const char **p, const char *end, uint32_t *c)
{
  size_t w;

  if (*p >= end || **p == '-' || **p == ']')
    return false;
  if (**p == '\\') {
    (*p)++;
    if (*p >= end)
      return false;
  }
  *c = next_rune(*p, (size_t)(end - *p), &w);
  *p += w;
  return true;
}

/* Match the class starting after '[' at *P against code point C; *P is
   left after the ']'.  False for a malformed class (checked before).  */
static bool
class_match(const char **p, const char *end, uint32_t c, bool *matched)
{
  bool negate = false;
  int nrange = 0;

  *matched = false;
  if (*p < end && **p == '^') {
    negate = true;
    (*p)++;
  }
  for (;;) {
    uint32_t lo, hi;

    if (*p < end && **p == ']' && nrange > 0) {
      (*p)++;
      break;
    }
    if (!class_char(p, end, &lo))
      return false;
    hi = lo;
    if (*p < end && **p == '-') {
      (*p)++;
      if (!class_char(p, end, &hi))
        return false;
    }
    if (lo <= c && c <= hi)
      *matched = true;
    nrange++;
  }
  if (negate)
    *matched = !*matched;
  return true;
}

int
copy_pattern_check(const char *pattern, size_t len, struct cb_error **err)
{
  const char *p = pattern, *end = pattern + len;
  bool ok = true;

  while (ok && p < end) {
    bool m;

    if (*p == '\\') {
      ok = p + 1 < end;
      p += 2;
    } else if (*p == '[') {
      p++;
      ok = class_match(&p, end, 0, &m);
    } else {
      p++;
    }
  }
  if (!ok)
    return cb_fail(err, CB_ERR_USAGE, 0, "bad pattern '%.*s'", (int)len,
                   pattern);
  return 0;
}

/* One pattern element at *P (not '*') against the character at S: both
   advanced on a match.  */
static bool
match_one(const char **p, const char *pend, const char **s, const char *send)
{
  size_t w;
  uint32_t c;
  bool m;

  if (*s >= send)
    return false;
  switch (**p) {
  case '?':
    if (**s == '/')
      return false;
    next_rune(*s, (size_t)(send - *s), &w);
    (*p)++;
    *s += w;
    return true;
  case '[':
    c = next_rune(*s, (size_t)(send - *s), &w);
    (*p)++;
    if (!class_match(p, pend, c, &m) || !m)
      return false;
    *s += w;
    return true;
  case '\\':
    (*p)++;
    if (*p >= pend)
      return false;
    /* fall through */
  default:
    if (**p != **s)
      return false;
    (*p)++;
    (*s)++;
    return true;
  }
}

bool
copy_match(const char *pattern, size_t len, const char *name)
{
  const char *p = pattern, *pend = pattern + len;
  const char *s = name, *send = name + strlen(name);
  const char *star_p = NULL, *star_s = NULL;

  /* Backtracking on the last '*' only is enough: a later '*' can absorb
     whatever an earlier one would have taken.  */
  for (;;) {
    if (p < pend && *p == '*') {
      while (p < pend && *p == '*')
        p++;
      star_p = p;
      star_s = s;
      continue;
    }
    if (p == pend && s == send)
      return true;
    if (p < pend) {
      const char *p2 = p, *s2 = s;

      if (match_one(&p2, pend, &s2, send)) {
        p = p2;
        s = s2;
        continue;
      }
    }
    /* '*' never crosses a '/' (not in a single name anyway).  */
    if (star_p == NULL || star_s >= send || *star_s == '/')
      return false;
    {
      size_t w;

      next_rune(star_s, (size_t)(send - star_s), &w);
      star_s += w;
    }
    p = star_p;
    s = star_s;
  }
}

/* --- --chmod --- */

static bool
octal_mode(const char *s, mode_t *mode)
{
  unsigned long v = 0;

  if (*s == '\0' || strlen(s) > 5)
    return false;
  for (const char *p = s; *p != '\0'; p++) {
    if (*p < '0' || *p > '7')
      return false;
    v = v * 8 + (unsigned long)(*p - '0');
  }
  if (v > 07777)
    return false;
  *mode = (mode_t)v;
  return true;
}

/* Check one symbolic clause of LEN bytes at S.  */
static bool
clause_ok(const char *s, size_t len)
{
  size_t i = strspn(s, "ugoa");

  if (i >= len)
    return false;
  while (i < len) {
    if (s[i] != '+' && s[i] != '-' && s[i] != '=')
      return false;
    i++;
    if (i < len && strchr("ugo", s[i]) != NULL) {
      i++;
      continue;
    }
    while (i < len && strchr("rwxXst", s[i]) != NULL)
      i++;
  }
  return true;
}

int
copy_chmod_parse(const char *s, struct copy_chmod *cm, struct cb_error **err)
{
  memset(cm, 0, sizeof(*cm));
  if (octal_mode(s, &cm->mode)) {
    cm->octal = true;
    return 0;
  }
  for (const char *p = s;;) {
    size_t len = strcspn(p, ",");

    if (len == 0 || !clause_ok(p, len))
      return cb_fail(err, CB_ERR_USAGE, 0, "invalid --chmod value '%s'", s);
    if (p[len] == '\0')
      break;
    p += len + 1;
  }
  cm->clauses = cb_xstrdup(s);
  return 0;
}

/* The bits of class CLS ('u', 'g', 'o') of MODE, copied to all three.  */
static mode_t
class_copy(mode_t mode, char cls)
{
  mode_t v = cls == 'u' ? (mode >> 6) & 7 : cls == 'g' ? (mode >> 3) & 7
                                                        : mode & 7;

  return (v << 6) | (v << 3) | v;
}

static mode_t
who_mask(const char *who, size_t n)
{
  mode_t m = 0;

  if (n == 0)
    return 07777;
  for (size_t i = 0; i < n; i++) {
    if (who[i] == 'u')
      m |= 04700;
    else if (who[i] == 'g')
      m |= 02070;
    else if (who[i] == 'o')
      m |= 01007;
    else
      m |= 07777;
  }
  return m;
}

static mode_t
perm_bits(const char *p, size_t n, mode_t mode, bool is_dir)
{
  mode_t bits = 0;

  for (size_t i = 0; i < n; i++) {
    switch (p[i]) {
    case 'r': bits |= 0444; break;
    case 'w': bits |= 0222; break;
    case 'x': bits |= 0111; break;
    case 'X':
      if (is_dir || (mode & 0111))
        bits |= 0111;
      break;
    case 's': bits |= 06000; break;
    case 't': bits |= 01000; break;
    default: bits |= class_copy(mode, p[i]); break;
    }
  }
  return bits;
}

mode_t
copy_chmod_apply(const struct copy_chmod *cm, mode_t mode, bool is_dir)
{
  mode_t m = mode & 07777;

  if (cm->octal)
    return cm->mode;
  for (const char *c = cm->clauses;;) {
    size_t len = strcspn(c, ",");
    size_t nwho = strspn(c, "ugoa");
    mode_t mask = who_mask(c, nwho);

    for (size_t i = nwho; i < len;) {
      char op = c[i++];
      size_t np = strspn(c + i, "rwxXstugo");
      mode_t bits;

      if (np > len - i)
        np = len - i;
      bits = perm_bits(c + i, np, m, is_dir) & mask;
      i += np;
      if (op == '+')
        m |= bits;
      else if (op == '-')
        m &= ~bits;
      else
        m = (m & ~mask) | bits;
    }
    if (c[len] == '\0')
      break;
    c += len + 1;
  }
  return m;
}

void
copy_chmod_release(struct copy_chmod *cm)
{
  free(cm->clauses);
  cm->clauses = NULL;
}

/* --- --chown --- */

/* Read FILE ("etc/passwd") of the image at ROOT into *TEXT; a missing file
   gives NULL, as BuildKit treats it like a file without the name.  */
static int
read_id_file(int root, const char *file, char **text, struct cb_error **err)
{
  struct cb_error *e = NULL;
  cleanup_close int fd = -1;
  struct stat st;
  size_t len;

  *text = NULL;
  fd = cb_open_in_root(root, file, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, &e);
  if (fd < 0 && (e->errnum == ENOENT || e->errnum == ENOTDIR)) {
    cb_error_free(e);
    return 0;
  }
  if (fd < 0) {
    *err = e;
    return cb_wrap(err, "image file '/%s'", file);
  }
  if (fstat(fd, &st) < 0)
    return cb_fail_errno(err, "image file '/%s'", file);
  if (!S_ISREG(st.st_mode))
    return cb_fail(err, CB_ERR_UNSAFE, 0,
                   "image file '/%s' is not a regular file", file);
  if (cb_read_all(fd, CB_MAX_IMAGE_ID_FILE, text, &len, err) < 0)
    return cb_wrap(err, "image file '/%s'", file);
  return 0;
}

/* In TEXT (passwd or group lines "name:x:ID:GID..."), the line for NAME
   (NLEN bytes): its third field and, with GID not NULL, its fourth.  */
static bool
find_name(const char *text, const char *name, size_t nlen, uint32_t *id,
          uint32_t *gid)
{
  for (const char *line = text; line != NULL && *line != '\0';) {
    const char *end = strchr(line, '\n');
    size_t llen = end != NULL ? (size_t)(end - line) : strlen(line);
    const char *f[4] = { NULL };
    size_t flen[4] = { 0 }, n = 0;
    const char *p = line;

    while (n < 4) {
      const char *c = memchr(p, ':', (size_t)(line + llen - p));

      f[n] = p;
      flen[n++] = c != NULL ? (size_t)(c - p) : (size_t)(line + llen - p);
      if (c == NULL)
        break;
      p = c + 1;
    }
    line = end != NULL ? end + 1 : NULL;
    if (n < 3 || flen[0] != nlen || memcmp(f[0], name, nlen) != 0)
      continue;
    if (!cb_parse_id(f[2], flen[2], id))
      continue;
    if (gid != NULL && (n < 4 || !cb_parse_id(f[3], flen[3], gid)))
      continue;
    return true;
  }
  return false;
}

int
copy_chown_resolve(const char *spec, int dest_root, uid_t *uid, gid_t *gid,
                   struct cb_error **err)
{
  cleanup_free char *passwd = NULL, *group = NULL;
  size_t ulen = strcspn(spec, ":");
  const char *grp = spec[ulen] == ':' ? spec + ulen + 1 : NULL;
  uint32_t u = 0, g = 0;

  if (ulen == 0 || (grp != NULL && *grp == '\0'))
    return cb_fail(err, CB_ERR_USAGE, 0, "invalid --chown value '%s'", spec);
  if (cb_parse_id(spec, ulen, &u)) {
    g = u; /* reference: "the GID is set to the same numeric value" */
  } else {
    if (read_id_file(dest_root, "etc/passwd", &passwd, err) < 0)
      return -1;
    if (passwd == NULL || !find_name(passwd, spec, ulen, &u, &g))
      return cb_fail(err, CB_ERR_USAGE, 0,
                     "unable to find user '%.*s': no matching entries in "
                     "the image's /etc/passwd", (int)ulen, spec);
  }
  if (grp != NULL && !cb_parse_id(grp, strlen(grp), &g)) {
    if (read_id_file(dest_root, "etc/group", &group, err) < 0)
      return -1;
    if (group == NULL || !find_name(group, grp, strlen(grp), &g, NULL))
      return cb_fail(err, CB_ERR_USAGE, 0,
                     "unable to find group '%s': no matching entries in "
                     "the image's /etc/group", grp);
  }
  *uid = u;
  *gid = g;
  return 0;
}
