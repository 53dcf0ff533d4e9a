#include "config.h"

#include "registry/client-internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/mem.h"
#include "common/banned.h"

/* RFC 9110 "token" characters.  */
static bool
is_tchar(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *
skip_ows(const char *p)
{
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

/* A token at *P: its length, *P moved past it.  */
static size_t
take_token(const char **p)
{
  const char *s = *p;

  while (is_tchar(**p))
    (*p)++;
  return (size_t)(*p - s);
}

/* A quoted-string at *P (which is at the opening quote), unescaped into
   a new string; NULL if it does not end.  */
static char *
take_quoted(const char **p)
{
  struct cb_buf b = CB_BUF_INIT;
  const char *s = *p + 1;

  for (; *s != '"'; s++) {
    if (*s == '\\' && s[1] != '\0')
      s++;
    if (*s == '\0' || (unsigned char)*s < 0x20 || *s == 0x7f) {
      cb_buf_release(&b);
      return NULL;
    }
    cb_buf_addc(&b, *s);
  }
  *p = s + 1;
  return cb_buf_detach(&b, NULL);
}

void
registry_challenge_release(struct registry_challenge *ch)
{
  free(ch->scheme);
  free(ch->realm);
  free(ch->service);
  free(ch->scope);
  memset(ch, 0, sizeof(*ch));
}

static void
set_param(struct registry_challenge *ch, const char *name, size_t n,
          char *value)
{
  char **slot = NULL;

  if (n == 5 && strncasecmp(name, "realm", 5) == 0)
    slot = &ch->realm;
  else if (n == 7 && strncasecmp(name, "service", 7) == 0)
    slot = &ch->service;
  else if (n == 5 && strncasecmp(name, "scope", 5) == 0)
    slot = &ch->scope;
  if (slot == NULL || *slot != NULL) {
    free(value); /* unknown, or repeated: the first one counts */
    return;
  }
  *slot = value;
}

/* Parse the auth-params of one challenge at *P, up to the next challenge
   or the end.  Returns false on a syntax error.  */
static bool
parse_params(const char **p, struct registry_challenge *ch)
{
  for (;;) {
    const char *name, *q;
    size_t n;
    char *value;

    *p = skip_ows(*p);
    while (**p == ',')
      *p = skip_ows(*p + 1);
    if (**p == '\0')
      return true;
    name = *p;
    n = take_token(p);
    q = skip_ows(*p);
    if (n == 0)
      return false;
    if (*q != '=') {
      *p = name; /* the scheme of the next challenge */
      return true;
    }
    q = skip_ows(q + 1);
    if (*q == '"') {
      value = take_quoted(&q);
      if (value == NULL)
        return false;
    } else {
      const char *v = q;
      size_t vn = take_token(&q);

      if (vn == 0)
        return false;
      value = cb_xstrndup(v, vn);
    }
    set_param(ch, name, n, value);
    *p = q;
    q = skip_ows(q);
    if (*q != ',' && *q != '\0')
      return false;
  }
}

int
registry_parse_challenge(const char *value, struct registry_challenge *out)
{
  const char *p = value;
  struct registry_challenge first = { 0 };

  for (;;) {
    struct registry_challenge ch = { 0 };
    const char *s;
    size_t n;

    p = skip_ows(p);
    while (*p == ',')
      p = skip_ows(p + 1);
    if (*p == '\0')
      break;
    s = p;
    n = take_token(&p);
    if (n == 0 || (*p != ' ' && *p != '\t' && *p != ',' && *p != '\0'))
      goto bad;
    ch.scheme = cb_xstrndup(s, n);
    if (!parse_params(&p, &ch)) {
      registry_challenge_release(&ch);
      goto bad;
    }
    if (strcasecmp(ch.scheme, "Bearer") == 0) {
      registry_challenge_release(&first);
      *out = ch;
      return 0;
    }
    if (first.scheme == NULL)
      first = ch;
    else
      registry_challenge_release(&ch);
  }
  if (first.scheme == NULL)
    return -1;
  *out = first;
  return 0;
bad:
  registry_challenge_release(&first);
  return -1;
}
