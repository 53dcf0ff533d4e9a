#include "config.h"

#include "parser/instructions.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/mem.h"
#include "parser/parser-internal.h"
#include "common/banned.h"

/* Checks and types each instruction as BuildKit's instructions package
   does: which flags each instruction takes, how many arguments, and the
   form of option values.  */

enum flag_type { FLAG_STRING, FLAG_BOOL, FLAG_LIST };

struct flag_spec {
  const char *name;
  enum flag_type type;
};

static const struct flag_spec from_flags[] = {
  { "platform", FLAG_STRING },
  { NULL, 0 },
};
static const struct flag_spec run_flags[] = {
  { "mount", FLAG_LIST },
  { "network", FLAG_STRING },
  { "security", FLAG_STRING },
  { NULL, 0 },
};
static const struct flag_spec copy_flags[] = {
  { "from", FLAG_STRING },   { "chown", FLAG_STRING },
  { "chmod", FLAG_STRING },  { "link", FLAG_BOOL },
  { "exclude", FLAG_LIST },  { "parents", FLAG_BOOL },
  { NULL, 0 },
};
static const struct flag_spec add_flags[] = {
  { "chown", FLAG_STRING },   { "chmod", FLAG_STRING },
  { "link", FLAG_BOOL },      { "exclude", FLAG_LIST },
  { "checksum", FLAG_STRING }, { "keep-git-dir", FLAG_BOOL },
  { "unpack", FLAG_BOOL },    { NULL, 0 },
};
static const struct flag_spec health_flags[] = {
  { "interval", FLAG_STRING },
  { "timeout", FLAG_STRING },
  { "start-period", FLAG_STRING },
  { "start-interval", FLAG_STRING },
  { "retries", FLAG_STRING },
  { NULL, 0 },
};
static const struct flag_spec no_flags[] = {
  { NULL, 0 },
};

struct kind_info {
  const char *keyword;
  const char *name;
  enum instr_kind kind;
  const struct flag_spec *flags;
};

static const struct kind_info kinds[] = {
  { "from", "FROM", INSTR_FROM, from_flags },
  { "run", "RUN", INSTR_RUN, run_flags },
  { "cmd", "CMD", INSTR_CMD, no_flags },
  { "label", "LABEL", INSTR_LABEL, no_flags },
  { "maintainer", "MAINTAINER", INSTR_MAINTAINER, no_flags },
  { "expose", "EXPOSE", INSTR_EXPOSE, no_flags },
  { "env", "ENV", INSTR_ENV, no_flags },
  { "add", "ADD", INSTR_ADD, add_flags },
  { "copy", "COPY", INSTR_COPY, copy_flags },
  { "entrypoint", "ENTRYPOINT", INSTR_ENTRYPOINT, no_flags },
  { "volume", "VOLUME", INSTR_VOLUME, no_flags },
  { "user", "USER", INSTR_USER, no_flags },
  { "workdir", "WORKDIR", INSTR_WORKDIR, no_flags },
  { "arg", "ARG", INSTR_ARG, no_flags },
  { "onbuild", "ONBUILD", INSTR_ONBUILD, no_flags },
  { "stopsignal", "STOPSIGNAL", INSTR_STOPSIGNAL, no_flags },
  { "healthcheck", "HEALTHCHECK", INSTR_HEALTHCHECK, health_flags },
  { "shell", "SHELL", INSTR_SHELL, no_flags },
};

const char *
instr_kind_name(enum instr_kind kind)
{
  for (size_t i = 0; i < CB_N_ELEMENTS(kinds); i++) {
    if (kinds[i].kind == kind)
      return kinds[i].name;
  }
  return "?";
}

static const struct kind_info *
find_kind(const char *keyword)
{
  for (size_t i = 0; i < CB_N_ELEMENTS(kinds); i++) {
    if (strcmp(kinds[i].keyword, keyword) == 0)
      return &kinds[i];
  }
  return NULL;
}

int
instr_fail(const struct instr_where *w, struct cb_error **err,
           const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;

  va_start(ap, fmt);
  msg = cb_xvasprintf(fmt, ap);
  va_end(ap);
  return cb_fail(err, CB_ERR_PARSE, 0, "%s:%d: %s: %s", w->file, w->line,
                 w->name, msg);
}

/* A flag as written: "--name=value" or "--name".  */
static void
split_flag(const char *flag, char **name, const char **value)
{
  const char *body = strncmp(flag, "--", 2) == 0 ? flag + 2 : flag;
  const char *eq = strchr(body, '=');

  *name = eq != NULL ? cb_xstrndup(body, (size_t)(eq - body))
                     : cb_xstrdup(body);
  *value = eq != NULL ? eq + 1 : NULL;
}

/* Go's strconv.ParseBool.  */
static int
parse_bool(const char *s, bool *b)
{
  static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
  static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };

  for (size_t i = 0; i < CB_N_ELEMENTS(yes); i++) {
    if (strcmp(s, yes[i]) == 0) {
      *b = true;
      return 0;
    }
    if (strcmp(s, no[i]) == 0) {
      *b = false;
      return 0;
    }
  }
  return -1;
}

/* A boolean flag's value as BuildKit's BFlags reads it: "true" or
   "false" in any case (not strconv.ParseBool's "1", "t", ...).  */
static int
parse_flag_bool(const char *s, bool *b)
{
  if (strcasecmp(s, "true") == 0)
    *b = true;
  else if (strcasecmp(s, "false") == 0)
    *b = false;
  else
    return -1;
  return 0;
}

static const struct flag_spec *
find_flag(const struct flag_spec *specs, const char *name)
{
  for (; specs->name != NULL; specs++) {
    if (strcmp(specs->name, name) == 0)
      return specs;
  }
  return NULL;
}

/* Whether FLAG ("--name=value" or "--name") is NAME; sets *VALUE to what
   follows '=', or NULL.  No allocation: this runs for every lookup.  */
static bool
flag_is(const char *flag, const char *name, const char **value)
{
  const char *body = strncmp(flag, "--", 2) == 0 ? flag + 2 : flag;
  size_t n = strlen(name);

  if (strncmp(body, name, n) != 0 || (body[n] != '=' && body[n] != '\0'))
    return false;
  *value = body[n] == '=' ? body + n + 1 : NULL;
  return true;
}

/* Every flag must be known to the instruction, given once (lists
   excepted), with a value when it needs one and a boolean for booleans. */
static int
check_flags(const struct df_node *node, const struct flag_spec *specs,
            const struct instr_where *w, struct cb_error **err)
{
  for (size_t i = 0; i < node->nflags; i++) {
    cleanup_free char *name = NULL;
    const struct flag_spec *spec;
    const char *value;
    bool b;

    split_flag(node->flags[i], &name, &value);
    spec = find_flag(specs, name);
    if (spec == NULL)
      return instr_fail(w, err, "unknown flag '--%s'", name);
    for (size_t j = 0; j < i && spec->type != FLAG_LIST; j++) {
      const char *ov;

      if (flag_is(node->flags[j], name, &ov))
        return instr_fail(w, err, "duplicate flag '--%s'", name);
    }
    if (value == NULL ? spec->type != FLAG_BOOL : *value == '\0')
      return instr_fail(w, err, "missing a value on flag '--%s'", name);
    if (spec->type == FLAG_BOOL && value != NULL &&
        parse_flag_bool(value, &b) < 0)
      return instr_fail(w, err, "expecting a boolean for flag '--%s', not '%s'",
                     name, value);
  }
  return 0;
}

/* The value of the (single) flag NAME, or NULL.  Borrowed from NODE.  */
static const char *
flag_value(const struct df_node *node, const char *name)
{
  for (size_t i = 0; i < node->nflags; i++) {
    const char *value;

    if (flag_is(node->flags[i], name, &value))
      return value != NULL ? value : "";
  }
  return NULL;
}

/* A boolean flag: -1 not given, else 0 or 1 ("--link" alone is true). */
static int
flag_bool(const struct df_node *node, const char *name)
{
  const char *v = flag_value(node, name);
  bool b = true;

  if (v == NULL)
    return -1;
  if (*v != '\0')
    parse_flag_bool(v, &b); /* checked by check_flags */
  return b;
}

/* All values of list flag NAME, as a new array of borrowed strings.  */
static char **
flag_list(const struct df_node *node, const char *name, size_t *n)
{
  char **v = cb_xcalloc(node->nflags + 1, sizeof(*v));

  *n = 0;
  for (size_t i = 0; i < node->nflags; i++) {
    const char *value;

    if (flag_is(node->flags[i], name, &value))
      v[(*n)++] = (char *)value;
  }
  return v;
}

/* Go's time.ParseDuration: a sequence of decimal numbers with units
   ns us µs ms s m h, optionally signed.  Integers as Go computes them
   (only a fraction goes through a double), so that the nanoseconds put
   into an image config are Docker's to the last digit.  */

#define DURATION_LIMIT (UINT64_C(1) << 63) /* |int64| of the most negative */

static bool
is_digit(char c)
{
  return c >= '0' && c <= '9';
}

/* The digits at *P; false when they go past DURATION_LIMIT.  */
static bool
duration_int(const char **p, uint64_t *x)
{
  for (*x = 0; is_digit(**p); (*p)++) {
    if (*x > DURATION_LIMIT / 10)
      return false;
    *x = *x * 10 + (uint64_t)(**p - '0');
    if (*x > DURATION_LIMIT)
      return false;
  }
  return true;
}

/* The digits after a '.': digits past 63 bits add no precision.  */
static void
duration_fraction(const char **p, uint64_t *x, double *scale)
{
  bool full = false;

  for (*x = 0, *scale = 1; is_digit(**p); (*p)++) {
    uint64_t y = *x * 10 + (uint64_t)(**p - '0');

    if (full || *x > (DURATION_LIMIT - 1) / 10 || y > DURATION_LIMIT) {
      full = true;
      continue;
    }
    *x = y;
    *scale *= 10;
  }
}

/* The unit is every character up to the next digit or '.'.  */
static int
duration_unit(const char **p, uint64_t *ns)
{
  static const struct {
    const char *unit;
    uint64_t ns;
  } units[] = {
    { "ns", 1 },
    { "us", 1000 },
    { "\xC2\xB5s", 1000 }, /* U+00B5 MICRO SIGN */
    { "\xCE\xBCs", 1000 }, /* U+03BC GREEK SMALL LETTER MU */
    { "ms", 1000000 },
    { "s", 1000000000 },
    { "m", UINT64_C(60000000000) },
    { "h", UINT64_C(3600000000000) },
  };
  size_t n = 0;

  while ((*p)[n] != '\0' && (*p)[n] != '.' && !is_digit((*p)[n]))
    n++;
  for (size_t i = 0; i < CB_N_ELEMENTS(units); i++) {
    if (strlen(units[i].unit) == n && memcmp(*p, units[i].unit, n) == 0) {
      *p += n;
      *ns = units[i].ns;
      return 0;
    }
  }
  return -1;
}

/* One "NUMBER UNIT" of a duration into *NS (at most DURATION_LIMIT).  */
static int
duration_part(const char **p, uint64_t *ns)
{
  const char *start = *p;
  uint64_t v, frac = 0, unit;
  double scale = 1;
  bool pre, post = false;

  if (!duration_int(p, &v))
    return -1;
  pre = *p != start;
  if (**p == '.') {
    const char *f0 = ++*p;

    duration_fraction(p, &frac, &scale);
    post = *p != f0;
  }
  if (!pre && !post) /* ".s" */
    return -1;
  if (duration_unit(p, &unit) < 0 || v > DURATION_LIMIT / unit)
    return -1;
  v *= unit;
  if (frac > 0)
    v += (uint64_t)((double)frac * ((double)unit / scale));
  if (v > DURATION_LIMIT)
    return -1;
  *ns = v;
  return 0;
}

int
instr_parse_duration(const char *s, int64_t *ns, struct cb_error **err)
{
  const char *p = s;
  uint64_t total = 0;
  bool neg = false;

  if (*p == '+' || *p == '-')
    neg = *p++ == '-';
  if (strcmp(p, "0") == 0) {
    *ns = 0;
    return 0;
  }
  if (*p == '\0')
    return cb_fail(err, CB_ERR_PARSE, 0, "invalid duration '%s'", s);
  while (*p != '\0') {
    uint64_t part;

    if (!is_digit(*p) && *p != '.')
      return cb_fail(err, CB_ERR_PARSE, 0, "invalid duration '%s'", s);
    if (duration_part(&p, &part) < 0 ||
        __builtin_add_overflow(total, part, &total) || total > DURATION_LIMIT)
      return cb_fail(err, CB_ERR_PARSE, 0, "invalid duration '%s'", s);
  }
  if (!neg && total > (uint64_t)INT64_MAX)
    return cb_fail(err, CB_ERR_PARSE, 0, "invalid duration '%s'", s);
  *ns = neg ? (int64_t)(0 - total) : (int64_t)total;
  return 0;
}

static int
parse_health_duration(const struct df_node *node, const char *name,
                      int64_t *out, const struct instr_where *w,
                      struct cb_error **err)
{
  const char *v = flag_value(node, name);
  cleanup_error struct cb_error *inner = NULL;

  *out = 0;
  if (v == NULL)
    return 0;
  if (instr_parse_duration(v, out, &inner) < 0)
    return instr_fail(w, err, "--%s: %s", name, inner->msg);
  /* Docker: 0 means "use the default"; otherwise at least 1ms.  */
  if (*out != 0 && *out < 1000000)
    return instr_fail(w, err, "--%s cannot be less than 1ms", name);
  return 0;
}

/* Go's strconv.ParseInt(V, 10, 32): an optional sign, then digits only
   (no spaces), within int32.  */
static int
parse_retries(const char *v, int *out, const struct instr_where *w,
              struct cb_error **err)
{
  const char *digits;
  long long n;

  *out = -1;
  if (v == NULL)
    return 0;
  digits = v + (*v == '+' || *v == '-');
  if (*digits == '\0' || digits[strspn(digits, "0123456789")] != '\0')
    return instr_fail(w, err, "--retries: invalid number '%s'", v);
  errno = 0;
  n = strtoll(v, NULL, 10);
  if (errno == ERANGE || n > INT32_MAX || n < INT32_MIN)
    return instr_fail(w, err, "--retries: '%s' is out of range", v);
  if (n < 0)
    return instr_fail(w, err, "--retries cannot be negative");
  *out = (int)n;
  return 0;
}

#define CSV_QUOTE_ERROR "extraneous or missing '\"' in quoted field"

/* A quoted CSV field at *PP (on its opening quote): "" is one quote, and
   the closing quote must end the field.  */
static int
csv_quoted(const char **pp, struct cb_buf *field, struct cb_error **err)
{
  const char *p = *pp + 1;

  for (;;) {
    const char *q = strchr(p, '"');

    if (q == NULL)
      return cb_fail(err, CB_ERR_PARSE, 0, CSV_QUOTE_ERROR);
    cb_buf_add(field, p, (size_t)(q - p));
    if (q[1] == '"') {
      cb_buf_addc(field, '"');
      p = q + 2;
      continue;
    }
    if (q[1] != ',' && q[1] != '\0')
      return cb_fail(err, CB_ERR_PARSE, 0, CSV_QUOTE_ERROR);
    *pp = q + 1;
    return 0;
  }
}

/* Split a --mount value into fields as Go's encoding/csv reads one record
   (BuildKit's parser does): a field that starts with '"' is quoted, a
   quote anywhere else is an error.  New NULL-terminated array, or NULL. */
static char **
split_csv(const char *s, struct cb_error **err)
{
  cleanup_strv char **v = NULL;
  size_t n = 0, alloc = 0;
  const char *p = s;

  for (;;) {
    cleanup_buf struct cb_buf field = CB_BUF_INIT;
    size_t len = strcspn(p, ",");

    if (*p == '"') {
      if (csv_quoted(&p, &field, err) < 0)
        return NULL;
    } else if (memchr(p, '"', len) != NULL) {
      return cb_fail_null(err, CB_ERR_PARSE, 0,
                          "bare '\"' in non-quoted field");
    } else {
      cb_buf_add(&field, p, len);
      p += len;
    }
    CB_GROW(v, alloc, n + 2);
    v[n++] = cb_buf_detach(&field, NULL);
    v[n] = NULL;
    if (*p++ == '\0')
      return steal_ptr(&v);
  }
}

static int
parse_uint(const char *v, int base, uint64_t max, uint64_t *out)
{
  char *end = NULL;
  unsigned long long n;

  if (*v == '\0' || *v == '-' || *v == '+')
    return -1;
  n = strtoull(v, &end, base);
  if (*end != '\0' || n > max)
    return -1;
  *out = n;
  return 0;
}

/* A size like Docker's RAMInBytes: "64m", "1g", "512k", "1024".  */
static int
parse_size(const char *v, uint64_t *out)
{
  char *end = NULL;
  double n = strtod(v, &end);
  double mult = 1;

  if (end == v || n < 0)
    return -1;
  switch (*end | 0x20) {
  case 'k':
    mult = 1024.0;
    break;
  case 'm':
    mult = 1024.0 * 1024;
    break;
  case 'g':
    mult = 1024.0 * 1024 * 1024;
    break;
  case 't':
    mult = 1024.0 * 1024 * 1024 * 1024;
    break;
  case 0x20: /* end of string */
    if (*end != '\0')
      return -1;
    break;
  default:
    return -1;
  }
  if (*end != '\0') {
    end++;
    if ((*end | 0x20) == 'b')
      end++;
    if ((*end | 0x20) == 'i' && (end[1] | 0x20) == 'b')
      end += 2;
  }
  if (*end != '\0' || n * mult > 1.8e19)
    return -1;
  *out = (uint64_t)(n * mult);
  return 0;
}

static const char *const mount_type_names[] = { "bind", "cache", "tmpfs",
                                                "secret", "ssh" };

/* Type and sharing values are case-insensitive, as in BuildKit.  */
static int
mount_type_of(const char *v, enum mount_type *t)
{
  for (size_t i = 0; i < CB_N_ELEMENTS(mount_type_names); i++) {
    if (strcasecmp(v, mount_type_names[i]) == 0) {
      *t = (enum mount_type)i;
      return 0;
    }
  }
  return -1;
}

static int
mount_sharing_of(const char *v, enum mount_sharing *s)
{
  static const char *const names[] = { "shared", "private", "locked" };

  for (size_t i = 0; i < CB_N_ELEMENTS(names); i++) {
    if (strcasecmp(v, names[i]) == 0) {
      *s = (enum mount_sharing)i;
      return 0;
    }
  }
  return -1;
}

static void
set_str(char **field, const char *v)
{
  free(*field);
  *field = cb_xstrdup(v);
}

/* One --mount value being read: the mount and which keys were given. */
struct mount_reader {
  struct instr_mount *m;
  bool readonly_set;
  bool sharing_set;
  bool required_set;
};

static int
mount_bool(const char *key, const char *v, bool *b, struct cb_error **err)
{
  if (v == NULL) {
    *b = true;
    return 0;
  }
  if (parse_bool(v, b) < 0)
    return cb_fail(err, CB_ERR_PARSE, 0, "invalid value '%s' for '%s'", v,
                   key);
  return 0;
}

/* readonly/ro, readwrite/rw and required: bare, or with a boolean.
   Returns 1 when KEY is one of them, 0 when not, -1 on error.  */
static int
mount_bool_field(struct mount_reader *r, const char *key, const char *v,
                 struct cb_error **err)
{
  bool b = false;

  if (!strcmp(key, "readonly") || !strcmp(key, "ro")) {
    r->readonly_set = true;
    return mount_bool(key, v, &r->m->readonly, err) < 0 ? -1 : 1;
  }
  if (!strcmp(key, "readwrite") || !strcmp(key, "rw")) {
    if (mount_bool(key, v, &b, err) < 0)
      return -1;
    r->readonly_set = true;
    r->m->readonly = !b;
    return 1;
  }
  if (!strcmp(key, "required")) {
    r->required_set = true;
    return mount_bool(key, v, &r->m->required, err) < 0 ? -1 : 1;
  }
  return 0;
}

static int
mount_number_field(struct instr_mount *m, const char *key, const char *v,
                   struct cb_error **err)
{
  uint64_t n;

  if (!strcmp(key, "mode")) {
    if (parse_uint(v, 8, 07777, &n) < 0)
      return cb_fail(err, CB_ERR_PARSE, 0, "invalid mode '%s'", v);
    m->mode = (uint32_t)n;
    m->has_mode = true;
  } else if (!strcmp(key, "size")) {
    if (parse_size(v, &m->size) < 0)
      return cb_fail(err, CB_ERR_PARSE, 0, "invalid size '%s'", v);
    m->has_size = true;
  } else {
    if (parse_uint(v, 10, UINT32_MAX - 1, &n) < 0)
      return cb_fail(err, CB_ERR_PARSE, 0, "invalid %s '%s'", key, v);
    *(key[0] == 'u' ? &m->uid : &m->gid) = (uint32_t)n;
    *(key[0] == 'u' ? &m->has_uid : &m->has_gid) = true;
  }
  return 0;
}

/* One key of a --mount value; V is NULL for a bare key.  */
static int
mount_field(struct mount_reader *r, const char *key, const char *v,
            struct cb_error **err)
{
  struct instr_mount *m = r->m;
  int rc = mount_bool_field(r, key, v, err);

  if (rc != 0)
    return rc < 0 ? -1 : 0;
  if (v == NULL)
    return cb_fail(err, CB_ERR_PARSE, 0, "'%s' must be a key=value pair",
                   key);
  if (!strcmp(key, "type")) {
    if (mount_type_of(v, &m->type) < 0)
      return cb_fail(err, CB_ERR_PARSE, 0, "unsupported mount type '%s'", v);
  } else if (!strcmp(key, "target") || !strcmp(key, "dst") ||
             !strcmp(key, "destination")) {
    set_str(&m->target, v);
  } else if (!strcmp(key, "source") || !strcmp(key, "src")) {
    set_str(&m->source, v);
  } else if (!strcmp(key, "from")) {
    /* Not expanded: BuildKit refuses a '$' followed by anything.  */
    if (strchr(v, '$') != NULL && strchr(v, '$')[1] != '\0')
      return cb_fail(err, CB_ERR_PARSE, 0,
                     "'from' does not take variables, name a stage instead");
    set_str(&m->from, v);
  } else if (!strcmp(key, "id")) {
    set_str(&m->id, v);
  } else if (!strcmp(key, "env")) {
    set_str(&m->env, v);
  } else if (!strcmp(key, "sharing")) {
    if (mount_sharing_of(v, &m->sharing) < 0)
      return cb_fail(err, CB_ERR_PARSE, 0, "unsupported sharing value '%s'",
                     v);
    r->sharing_set = true;
  } else if (!strcmp(key, "mode") || !strcmp(key, "uid") ||
             !strcmp(key, "gid") || !strcmp(key, "size")) {
    return mount_number_field(m, key, v, err);
  } else {
    return cb_fail(err, CB_ERR_PARSE, 0, "unexpected key '%s'", key);
  }
  return 0;
}

/* Keys that only some types take (BuildKit's validateMount).  */
static int
mount_check_keys(const struct mount_reader *r, struct cb_error **err)
{
  const struct instr_mount *m = r->m;
  const char *type = mount_type_names[m->type];
  bool file_info = m->type == MOUNT_CACHE || m->type == MOUNT_SECRET ||
                   m->type == MOUNT_SSH;

  if (!file_info && (m->has_mode || m->has_uid || m->has_gid))
    return cb_fail(err, CB_ERR_PARSE, 0, "'%s' is not allowed for %s mounts",
                   m->has_mode ? "mode" : m->has_uid ? "uid" : "gid", type);
  if (r->sharing_set && m->type != MOUNT_CACHE)
    return cb_fail(err, CB_ERR_PARSE, 0, "'sharing' is only for cache "
                                         "mounts, not %s", type);
  if (r->required_set && m->type != MOUNT_SECRET && m->type != MOUNT_SSH)
    return cb_fail(err, CB_ERR_PARSE, 0, "'required' is only for secret and "
                                         "ssh mounts, not %s", type);
  if (m->from != NULL && m->type != MOUNT_BIND && m->type != MOUNT_CACHE)
    return cb_fail(err, CB_ERR_PARSE, 0, "'from' is only for bind and cache "
                                         "mounts");
  if (m->has_size && m->type != MOUNT_TMPFS)
    return cb_fail(err, CB_ERR_PARSE, 0, "'size' is only for tmpfs mounts");
  return 0;
}

/* What each mount type needs, once all keys are read.  */
static int
mount_check(struct mount_reader *r, struct cb_error **err)
{
  struct instr_mount *m = r->m;

  if (mount_check_keys(r, err) < 0)
    return -1;
  switch (m->type) {
  case MOUNT_BIND:
  case MOUNT_CACHE:
  case MOUNT_TMPFS:
    if (m->target == NULL)
      return cb_fail(err, CB_ERR_PARSE, 0, "mount has no target");
    break;
  case MOUNT_SECRET:
    if (m->source != NULL && m->id != NULL)
      return cb_fail(err, CB_ERR_PARSE, 0,
                     "a secret mount takes 'id' or 'source', not both");
    if (m->source != NULL) /* BuildKit takes the source as the id */
      m->id = cb_xstrdup(m->source);
    if (m->id == NULL && m->target == NULL && m->env == NULL)
      return cb_fail(err, CB_ERR_PARSE, 0,
                     "secret mount needs an id, a target or an env");
    break;
  case MOUNT_SSH:
    break;
  }
  return 0;
}

static char *
mount_key(const char *field, const char *eq)
{
  char *key = eq != NULL ? cb_xstrndup(field, (size_t)(eq - field))
                         : cb_xstrdup(field);

  for (char *c = key; *c != '\0'; c++) {
    if (*c >= 'A' && *c <= 'Z')
      *c = (char)(*c - 'A' + 'a');
  }
  return key;
}

int
instr_parse_mount(const char *spec, struct instr_mount *m,
                  struct cb_error **err)
{
  cleanup_strv char **fields = NULL;
  struct mount_reader r = { m, false, false, false };

  memset(m, 0, sizeof(*m));
  fields = split_csv(spec, err);
  if (fields == NULL)
    return -1;
  for (size_t i = 0; fields[i] != NULL; i++) {
    char *eq = strchr(fields[i], '=');
    cleanup_free char *key = mount_key(fields[i], eq);

    if (mount_field(&r, key, eq != NULL ? eq + 1 : NULL, err) < 0) {
      instr_mount_release(m);
      return -1;
    }
  }
  /* Bind, secret and ssh mounts are read-only unless "rw" says otherwise;
     cache and tmpfs mounts are writable.  */
  if (!r.readonly_set)
    m->readonly = m->type == MOUNT_BIND || m->type == MOUNT_SECRET ||
                  m->type == MOUNT_SSH;
  if (mount_check(&r, err) < 0) {
    instr_mount_release(m);
    return -1;
  }
  return 0;
}

void
instr_mount_release(struct instr_mount *m)
{
  free(m->target);
  free(m->source);
  free(m->from);
  free(m->id);
  free(m->env);
  memset(m, 0, sizeof(*m));
}

static int
need_args(const struct instr *in, size_t min, size_t max,
          const struct instr_where *w, struct cb_error **err)
{
  if (in->nargs >= min && in->nargs <= max)
    return 0;
  if (min == max)
    return instr_fail(w, err, "requires exactly %s argument%s",
                   min == 1 ? "one" : "two", min == 1 ? "" : "s");
  return instr_fail(w, err, "requires at least %s argument%s",
                 min == 1 ? "one" : "two", min == 1 ? "" : "s");
}

/* A stage name: lower-case letter first, then [a-z0-9._-].  */
static bool
valid_stage_name(const char *s)
{
  if (!(*s >= 'a' && *s <= 'z'))
    return false;
  for (; *s != '\0'; s++) {
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
          *s == '-' || *s == '_' || *s == '.'))
      return false;
  }
  return true;
}

static int
type_from(struct instr *in, const struct instr_where *w, struct cb_error **err)
{
  char *name;

  if (in->nargs != 1 && !(in->nargs == 3 && !strcasecmp(in->args[1], "as")))
    return instr_fail(w, err,
                   "requires either one or three arguments (FROM IMAGE "
                   "[AS NAME])");
  in->platform = flag_value(in->node, "platform");
  if (in->nargs == 1)
    return 0;
  name = cb_xstrdup(in->args[2]);
  for (char *c = name; *c != '\0'; c++) {
    if (*c >= 'A' && *c <= 'Z')
      *c = (char)(*c - 'A' + 'a');
  }
  in->stage_name = name;
  /* Never expanded (BuildKit refuses "AS $NAME" too).  */
  if (!valid_stage_name(name))
    return instr_fail(w, err, "invalid stage name '%s'", in->args[2]);
  return 0;
}

static int
type_run(struct instr *in, const struct instr_where *w, struct cb_error **err)
{
  cleanup_free char **specs = NULL;
  size_t n = 0;

  if (need_args(in, 1, SIZE_MAX, w, err) < 0)
    return -1;
  in->network = flag_value(in->node, "network");
  if (in->network != NULL && strcmp(in->network, "default") != 0 &&
      strcmp(in->network, "none") != 0 && strcmp(in->network, "host") != 0)
    return instr_fail(w, err, "unsupported network mode '%s' (default, none, "
                           "host)", in->network);
  in->security = flag_value(in->node, "security");
  if (in->security != NULL && strcmp(in->security, "sandbox") != 0 &&
      strcmp(in->security, "insecure") != 0)
    return instr_fail(w, err, "unsupported security mode '%s' (sandbox, "
                           "insecure)", in->security);
  specs = flag_list(in->node, "mount", &n);
  in->mounts = cb_xcalloc(n + 1, sizeof(*in->mounts));
  for (size_t i = 0; i < n; i++) {
    cleanup_error struct cb_error *inner = NULL;

    if (instr_parse_mount(specs[i], &in->mounts[i], &inner) < 0)
      return instr_fail(w, err, "--mount=%s: %s", specs[i], inner->msg);
    in->nmounts++;
  }
  return 0;
}

static int
type_copy(struct instr *in, const struct instr_where *w, struct cb_error **err)
{
  const struct df_node *node = in->node;
  int b;

  if (need_args(in, 2, SIZE_MAX, w, err) < 0)
    return -1;
  /* A heredoc makes a source file; as the destination it would name a
     path "<<EOF".  BuildKit refuses it too, even in exec form.  */
  if (df_is_heredoc_word(in->args[in->nargs - 1]))
    return instr_fail(w, err, "a heredoc cannot be the destination");
  in->from = flag_value(node, "from");
  in->chown = flag_value(node, "chown");
  in->chmod = flag_value(node, "chmod");
  in->checksum = flag_value(node, "checksum");
  in->excludes = flag_list(node, "exclude", &in->nexcludes);
  in->link = flag_bool(node, "link") == 1;
  in->parents = flag_bool(node, "parents") == 1;
  in->keep_git_dir = flag_bool(node, "keep-git-dir") == 1;
  b = flag_bool(node, "unpack");
  in->unpack = b;
  if (in->checksum != NULL && strncmp(in->checksum, "sha256:", 7) != 0 &&
      strchr(in->checksum, '$') == NULL)
    return instr_fail(w, err, "--checksum must be of the form sha256:HEX, not "
                           "'%s'", in->checksum);
  return 0;
}

static int
type_kvs(struct instr *in, const struct instr_where *w, struct cb_error **err)
{
  const struct df_node *node = in->node;
  size_t n = node->nargs / 3;

  if (n == 0)
    return instr_fail(w, err, "requires at least one argument");
  in->kvs = cb_xcalloc(n, sizeof(*in->kvs));
  for (size_t i = 0; i < n; i++) {
    in->kvs[i].key = cb_xstrdup(node->args[3 * i]);
    in->kvs[i].value = cb_xstrdup(node->args[3 * i + 1]);
  }
  in->nkvs = n;
  for (size_t i = 0; i < n; i++) {
    if (in->kvs[i].key[0] == '\0')
      return instr_fail(w, err, "a name cannot be empty");
  }
  return 0;
}

/* ARG NAME[=DEFAULT] ...; the default keeps its quotes until expanded.  */
static int
type_arg(struct instr *in, const struct instr_where *w, struct cb_error **err)
{
  if (need_args(in, 1, SIZE_MAX, w, err) < 0)
    return -1;
  in->kvs = cb_xcalloc(in->nargs, sizeof(*in->kvs));
  for (size_t i = 0; i < in->nargs; i++) {
    const char *a = in->args[i];
    const char *eq = strchr(a, '=');

    in->kvs[i].key = eq != NULL ? cb_xstrndup(a, (size_t)(eq - a))
                                : cb_xstrdup(a);
    in->kvs[i].value = eq != NULL ? cb_xstrdup(eq + 1) : NULL;
    in->nkvs++;
    if (in->kvs[i].key[0] == '\0')
      return instr_fail(w, err, "a name cannot be empty in '%s'", a);
  }
  return 0;
}

static int
type_health(struct instr *in, const struct instr_where *w, struct cb_error **err)
{
  const struct df_node *node = in->node;
  struct instr_health *h = &in->health;

  if (in->nargs == 0)
    return instr_fail(w, err, "requires at least one argument");
  if (strcasecmp(in->args[0], "none") == 0) {
    if (in->nargs > 1 || node->nflags > 0)
      return instr_fail(w, err, "HEALTHCHECK NONE takes no arguments");
    h->none = true;
    h->retries = -1;
    return 0;
  }
  if (strcasecmp(in->args[0], "cmd") != 0)
    return instr_fail(w, err, "unknown type '%s' (CMD or NONE)", in->args[0]);
  if (in->nargs < 2)
    return instr_fail(w, err, "missing command after HEALTHCHECK CMD");
  if (parse_health_duration(node, "interval", &h->interval, w, err) < 0 ||
      parse_health_duration(node, "timeout", &h->timeout, w, err) < 0 ||
      parse_health_duration(node, "start-period", &h->start_period, w,
                            err) < 0 ||
      parse_health_duration(node, "start-interval", &h->start_interval, w,
                            err) < 0)
    return -1;
  return parse_retries(flag_value(node, "retries"), &h->retries, w, err);
}

static int
type_volume(struct instr *in, const struct instr_where *w, struct cb_error **err)
{
  if (need_args(in, 1, SIZE_MAX, w, err) < 0)
    return -1;
  for (size_t i = 0; i < in->nargs; i++) {
    cleanup_free char *v = df_trim_space(in->args[i]);

    if (v[0] == '\0')
      return instr_fail(w, err, "a volume cannot be an empty string");
  }
  return 0;
}

static int
type_onbuild(struct instr *in, const char *file, const struct instr_where *w,
             struct cb_error **err)
{
  const struct df_node *inner = in->node->inner;

  if (inner == NULL)
    return instr_fail(w, err, "requires an instruction to run later");
  if (!strcmp(inner->keyword, "onbuild"))
    return instr_fail(w, err, "chaining ONBUILD via 'ONBUILD ONBUILD' isn't "
                           "allowed");
  if (!strcmp(inner->keyword, "from") || !strcmp(inner->keyword,
                                                 "maintainer"))
    return instr_fail(w, err, "%s isn't allowed as an ONBUILD trigger",
                   inner->keyword);
  in->trigger = cb_xcalloc(1, sizeof(*in->trigger));
  return instr_check(in->trigger, inner, file, err);
}

/* The checks of one instruction by its kind.  */
static int
type_by_kind(struct instr *in, const char *file, const struct instr_where *w,
             struct cb_error **err)
{
  switch (in->kind) {
  case INSTR_FROM:
    return type_from(in, w, err);
  case INSTR_RUN:
    return type_run(in, w, err);
  case INSTR_ADD:
  case INSTR_COPY:
    return type_copy(in, w, err);
  case INSTR_ENV:
  case INSTR_LABEL:
    return type_kvs(in, w, err);
  case INSTR_ARG:
    return type_arg(in, w, err);
  case INSTR_HEALTHCHECK:
    return type_health(in, w, err);
  case INSTR_ONBUILD:
    return type_onbuild(in, file, w, err);
  case INSTR_EXPOSE:
    return need_args(in, 1, SIZE_MAX, w, err);
  case INSTR_VOLUME:
    return type_volume(in, w, err);
  case INSTR_USER:
  case INSTR_WORKDIR:
  case INSTR_STOPSIGNAL:
  case INSTR_MAINTAINER:
    return need_args(in, 1, 1, w, err);
  case INSTR_SHELL:
    if (!in->json)
      return instr_fail(w, err, "requires the arguments in JSON form "
                             "([\"executable\", \"parameters\"...])");
    return need_args(in, 1, SIZE_MAX, w, err);
  case INSTR_CMD:
  case INSTR_ENTRYPOINT:
    if (!in->json)
      return need_args(in, 1, SIZE_MAX, w, err);
    return 0;
  }
  return 0;
}

int
instr_check(struct instr *in, const struct df_node *node, const char *file,
           struct cb_error **err)
{
  const struct kind_info *ki = find_kind(node->keyword);
  struct instr_where w = { file, node->start_line, NULL };

  memset(in, 0, sizeof(*in));
  if (ki == NULL) {
    const char *word = node->original + strspn(node->original, " \t");

    return cb_fail(err, CB_ERR_PARSE, 0, "%s:%d: unknown instruction '%.*s'",
                   file, node->start_line,
                   (int)strcspn(word, " \t\v\f\r"), word);
  }
  w.name = ki->name;
  in->kind = ki->kind;
  in->node = node;
  in->line = node->start_line;
  in->args = node->args;
  in->nargs = node->nargs;
  in->json = node->json;
  in->unpack = -1;
  in->health.retries = -1;
  if (check_flags(node, ki->flags, &w, err) < 0)
    return -1;
  return type_by_kind(in, file, &w, err);
}

void
instr_release(struct instr *in)
{
  if (in == NULL)
    return;
  for (size_t i = 0; i < in->nkvs; i++) {
    free(in->kvs[i].key);
    free(in->kvs[i].value);
  }
  free(in->kvs);
  for (size_t i = 0; i < in->nmounts; i++)
    instr_mount_release(&in->mounts[i]);
  free(in->mounts);
  free(in->excludes);
  free((char *)in->stage_name);
  if (in->trigger != NULL) {
    instr_release(in->trigger);
    free(in->trigger);
  }
  memset(in, 0, sizeof(*in));
}

static struct instr *
append_instr(struct instr **arr, size_t *n)
{
  *arr = cb_xreallocarray(*arr, *n + 1, sizeof(**arr));
  memset(&(*arr)[*n], 0, sizeof(**arr));
  return &(*arr)[(*n)++];
}

static int
check_stage_name(const struct build_plan *plan, const struct instr *from,
                 const char *file, struct cb_error **err)
{
  if (from->stage_name == NULL)
    return 0;
  for (size_t i = 0; i + 1 < plan->nstages; i++) {
    const char *other = plan->stages[i].name;

    if (other != NULL && strcmp(other, from->stage_name) == 0)
      return cb_fail(err, CB_ERR_PARSE, 0,
                     "%s:%d: FROM: duplicate stage name '%s'", file,
                     from->line, from->stage_name);
  }
  return 0;
}

/* Put an instruction into the current stage, or the global ARGs.  */
static struct instr *
place_instr(struct build_plan *plan, const struct df_node *node)
{
  struct stage *st;

  if (strcmp(node->keyword, "from") == 0) {
    plan->stages = cb_xreallocarray(plan->stages, plan->nstages + 1,
                                    sizeof(*plan->stages));
    st = &plan->stages[plan->nstages++];
    memset(st, 0, sizeof(*st));
    return append_instr(&st->instrs, &st->ninstrs);
  }
  if (plan->nstages == 0)
    return append_instr(&plan->meta_args, &plan->nmeta_args);
  st = &plan->stages[plan->nstages - 1];
  return append_instr(&st->instrs, &st->ninstrs);
}

int
build_plan_new(const struct dockerfile *df, struct build_plan **out,
               struct cb_error **err)
{
  cleanup_build_plan struct build_plan *plan = cb_xcalloc(1, sizeof(*plan));

  plan->df = df;
  for (size_t i = 0; i < df->nnodes; i++) {
    const struct df_node *node = &df->nodes[i];
    struct instr *in = place_instr(plan, node);

    if (instr_check(in, node, df->filename, err) < 0)
      return -1;
    if (plan->nstages == 0 && in->kind != INSTR_ARG)
      return cb_fail(err, CB_ERR_PARSE, 0,
                     "%s:%d: %s: no build stage in current context (only "
                     "ARG may come before the first FROM)",
                     df->filename, in->line, instr_kind_name(in->kind));
    if (in->kind == INSTR_FROM) {
      struct stage *st = &plan->stages[plan->nstages - 1];

      if (check_stage_name(plan, in, df->filename, err) < 0)
        return -1;
      st->name = (char *)in->stage_name;
    }
  }
  if (plan->nstages == 0)
    return cb_fail(err, CB_ERR_PARSE, 0, "%s: no FROM instruction",
                   df->filename);
  for (size_t i = 0; i < plan->nstages; i++)
    plan->stages[i].from = &plan->stages[i].instrs[0];
  *out = steal_ptr(&plan);
  return 0;
}

int
build_plan_find_stage(const struct build_plan *plan, const char *name)
{
  char *end = NULL;
  unsigned long n;

  for (size_t i = 0; i < plan->nstages; i++) {
    if (plan->stages[i].name != NULL &&
        strcasecmp(plan->stages[i].name, name) == 0)
      return (int)i;
  }
  n = strtoul(name, &end, 10);
  if (*name >= '0' && *name <= '9' && *end == '\0' && n < plan->nstages)
    return (int)n;
  return -1;
}

void
build_plan_free(struct build_plan *plan)
{
  if (plan == NULL)
    return;
  for (size_t i = 0; i < plan->nmeta_args; i++)
    instr_release(&plan->meta_args[i]);
  free(plan->meta_args);
  for (size_t i = 0; i < plan->nstages; i++) {
    for (size_t j = 0; j < plan->stages[i].ninstrs; j++)
      instr_release(&plan->stages[i].instrs[j]);
    free(plan->stages[i].instrs);
  }
  free(plan->stages);
  free(plan);
}

void
build_plan_freep(struct build_plan **plan)
{
  build_plan_free(*plan);
  *plan = NULL;
}
