#include "config.h"

#include "parser/instructions.h"

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

/* Where an instruction is, for messages: "FILE:LINE: NAME".  */
struct where {
  const char *file;
  int line;
  const char *name;
};

static int CB_PRINTF(3, 4)
fail_at(const struct where *w, struct cb_error **err, const char *fmt, ...)
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

static const struct flag_spec *
find_flag(const struct flag_spec *specs, const char *name)
{
  for (; specs->name != NULL; specs++) {
    if (strcmp(specs->name, name) == 0)
      return specs;
  }
  return NULL;
}

/* Every flag must be known to the instruction, given once (lists
   excepted), with a value when it needs one and a boolean for booleans. */
static int
check_flags(const struct df_node *node, const struct flag_spec *specs,
            const struct where *w, struct cb_error **err)
{
  for (size_t i = 0; i < node->nflags; i++) {
    cleanup_free char *name = NULL;
    const struct flag_spec *spec;
    const char *value;
    bool b;

    split_flag(node->flags[i], &name, &value);
    spec = find_flag(specs, name);
    if (spec == NULL)
      return fail_at(w, err, "unknown flag '--%s'", name);
    for (size_t j = 0; j < i && spec->type != FLAG_LIST; j++) {
      cleanup_free char *other = NULL;
      const char *ov;

      split_flag(node->flags[j], &other, &ov);
      if (strcmp(other, name) == 0)
        return fail_at(w, err, "duplicate flag '--%s'", name);
    }
    if (spec->type != FLAG_BOOL && (value == NULL || *value == '\0'))
      return fail_at(w, err, "missing a value on flag '--%s'", name);
    if (spec->type == FLAG_BOOL && value != NULL && parse_bool(value, &b) < 0)
      return fail_at(w, err, "expecting a boolean for flag '--%s', not '%s'",
                     name, value);
  }
  return 0;
}

/* The value of the (single) flag NAME, or NULL.  Borrowed from NODE.  */
static const char *
flag_value(const struct df_node *node, const char *name)
{
  for (size_t i = 0; i < node->nflags; i++) {
    cleanup_free char *n = NULL;
    const char *value;

    split_flag(node->flags[i], &n, &value);
    if (strcmp(n, name) == 0)
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
    parse_bool(v, &b); /* checked by check_flags */
  return b;
}

/* All values of list flag NAME, as a new array of borrowed strings.  */
static char **
flag_list(const struct df_node *node, const char *name, size_t *n)
{
  char **v = cb_xcalloc(node->nflags + 1, sizeof(*v));

  *n = 0;
  for (size_t i = 0; i < node->nflags; i++) {
    cleanup_free char *fn = NULL;
    const char *value;

    split_flag(node->flags[i], &fn, &value);
    if (strcmp(fn, name) == 0)
      v[(*n)++] = (char *)value;
  }
  return v;
}

/* Go's time.ParseDuration: a sequence of decimal numbers with units
   ns us µs ms s m h, optionally signed.  */
static int
duration_unit(const char **p, double *scale)
{
  static const struct {
    const char *unit;
    double ns;
  } units[] = {
    { "ns", 1 },        { "us", 1e3 },      { "\xC2\xB5s", 1e3 },
    { "\xCE\xBCs", 1e3 }, { "ms", 1e6 },      { "s", 1e9 },
    { "m", 60e9 },      { "h", 3600e9 },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(units); i++) {
    size_t n = strlen(units[i].unit);

    if (strncmp(*p, units[i].unit, n) == 0) {
      *p += n;
      *scale = units[i].ns;
      return 0;
    }
  }
  return -1;
}

int
instr_parse_duration(const char *s, int64_t *ns, struct cb_error **err)
{
  const char *p = s;
  double total = 0;
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
    double v = 0, frac = 0.1, scale;
    bool digits = false;

    for (; *p >= '0' && *p <= '9'; p++, digits = true)
      v = v * 10 + (*p - '0');
    if (*p == '.') {
      for (p++; *p >= '0' && *p <= '9'; p++, frac /= 10, digits = true)
        v += (*p - '0') * frac;
    }
    if (!digits || duration_unit(&p, &scale) < 0)
      return cb_fail(err, CB_ERR_PARSE, 0, "invalid duration '%s'", s);
    total += v * scale;
    if (total > 9.2e18)
      return cb_fail(err, CB_ERR_PARSE, 0, "invalid duration '%s'", s);
  }
  *ns = (int64_t)(neg ? -total : total);
  return 0;
}

static int
parse_health_duration(const struct df_node *node, const char *name,
                      int64_t *out, const struct where *w,
                      struct cb_error **err)
{
  const char *v = flag_value(node, name);
  cleanup_error struct cb_error *inner = NULL;

  *out = 0;
  if (v == NULL)
    return 0;
  if (instr_parse_duration(v, out, &inner) < 0)
    return fail_at(w, err, "--%s: %s", name, inner->msg);
  /* Docker: 0 means "use the default"; otherwise at least 1ms.  */
  if (*out != 0 && *out < 1000000)
    return fail_at(w, err, "--%s cannot be less than 1ms", name);
  return 0;
}

static int
parse_retries(const char *v, int *out, const struct where *w,
              struct cb_error **err)
{
  char *end = NULL;
  long n;

  *out = -1;
  if (v == NULL)
    return 0;
  n = strtol(v, &end, 10);
  if (*v == '\0' || *end != '\0' || n > 1000000)
    return fail_at(w, err, "--retries: invalid number '%s'", v);
  if (n < 0)
    return fail_at(w, err, "--retries cannot be negative");
  *out = (int)n;
  return 0;
}

/* Split a --mount value at commas, honouring double-quoted fields as
   encoding/csv does ("a=b","c=d,e").  */
static char **
split_csv(const char *s)
{
  char **v = NULL;
  size_t n = 0, alloc = 0;
  struct cb_buf field = CB_BUF_INIT;
  bool quoted = false;

  for (const char *p = s;; p++) {
    if (*p == '"' && (quoted || field.len == 0)) {
      if (quoted && p[1] == '"') {
        cb_buf_addc(&field, '"');
        p++;
      } else {
        quoted = !quoted;
      }
      continue;
    }
    if ((*p == ',' && !quoted) || *p == '\0') {
      CB_GROW(v, alloc, n + 2);
      v[n++] = cb_buf_detach(&field, NULL);
      v[n] = NULL;
      if (*p == '\0')
        break;
      continue;
    }
    cb_buf_addc(&field, *p);
  }
  return v;
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

static int
mount_type_of(const char *v, enum mount_type *t)
{
  static const char *const names[] = { "bind", "cache", "tmpfs", "secret",
                                       "ssh" };

  for (size_t i = 0; i < CB_N_ELEMENTS(names); i++) {
    if (strcmp(v, names[i]) == 0) {
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
    if (strcmp(v, names[i]) == 0) {
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

/* One key of a --mount value; V is NULL for a bare key.  */
static int
mount_field(struct instr_mount *m, const char *key, const char *v,
            struct cb_error **err)
{
  uint64_t n;
  bool b = false;

  if (!strcmp(key, "readonly") || !strcmp(key, "ro"))
    return mount_bool(key, v, &m->readonly, err);
  if (!strcmp(key, "readwrite") || !strcmp(key, "rw")) {
    if (mount_bool(key, v, &b, err) < 0)
      return -1;
    m->readonly = !b;
    return 0;
  }
  if (!strcmp(key, "required"))
    return mount_bool(key, v, &m->required, err);
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
    set_str(&m->from, v);
  } else if (!strcmp(key, "id")) {
    set_str(&m->id, v);
  } else if (!strcmp(key, "env")) {
    set_str(&m->env, v);
  } else if (!strcmp(key, "sharing")) {
    if (mount_sharing_of(v, &m->sharing) < 0)
      return cb_fail(err, CB_ERR_PARSE, 0, "unsupported sharing value '%s'",
                     v);
  } else if (!strcmp(key, "mode")) {
    if (parse_uint(v, 8, 07777, &n) < 0)
      return cb_fail(err, CB_ERR_PARSE, 0, "invalid mode '%s'", v);
    m->mode = (uint32_t)n;
    m->has_mode = true;
  } else if (!strcmp(key, "uid") || !strcmp(key, "gid")) {
    if (parse_uint(v, 10, UINT32_MAX - 1, &n) < 0)
      return cb_fail(err, CB_ERR_PARSE, 0, "invalid %s '%s'", key, v);
    *(key[0] == 'u' ? &m->uid : &m->gid) = (uint32_t)n;
    *(key[0] == 'u' ? &m->has_uid : &m->has_gid) = true;
  } else if (!strcmp(key, "size")) {
    if (parse_size(v, &m->size) < 0)
      return cb_fail(err, CB_ERR_PARSE, 0, "invalid size '%s'", v);
    m->has_size = true;
  } else {
    return cb_fail(err, CB_ERR_PARSE, 0, "unexpected key '%s'", key);
  }
  return 0;
}

/* What each mount type needs, once all keys are read.  */
static int
mount_check(struct instr_mount *m, struct cb_error **err)
{
  switch (m->type) {
  case MOUNT_BIND:
  case MOUNT_CACHE:
  case MOUNT_TMPFS:
    if (m->target == NULL)
      return cb_fail(err, CB_ERR_PARSE, 0, "mount has no target");
    break;
  case MOUNT_SECRET:
    if (m->id == NULL && m->target == NULL && m->env == NULL)
      return cb_fail(err, CB_ERR_PARSE, 0,
                     "secret mount needs an id, a target or an env");
    break;
  case MOUNT_SSH:
    break;
  }
  if (m->from != NULL && m->type != MOUNT_BIND && m->type != MOUNT_CACHE)
    return cb_fail(err, CB_ERR_PARSE, 0, "'from' is only for bind and cache "
                                         "mounts");
  if (m->has_size && m->type != MOUNT_TMPFS)
    return cb_fail(err, CB_ERR_PARSE, 0, "'size' is only for tmpfs mounts");
  return 0;
}

int
instr_parse_mount(const char *spec, struct instr_mount *m,
                  struct cb_error **err)
{
  cleanup_strv char **fields = split_csv(spec);
  bool readonly_set = false;

  memset(m, 0, sizeof(*m));
  for (size_t i = 0; fields[i] != NULL; i++) {
    cleanup_free char *key = NULL;
    char *eq = strchr(fields[i], '=');

    if (fields[i][0] == '\0')
      continue;
    key = eq != NULL ? cb_xstrndup(fields[i], (size_t)(eq - fields[i]))
                     : cb_xstrdup(fields[i]);
    for (char *c = key; *c != '\0'; c++) {
      if (*c >= 'A' && *c <= 'Z')
        *c = (char)(*c - 'A' + 'a');
    }
    if (mount_field(m, key, eq != NULL ? eq + 1 : NULL, err) < 0) {
      instr_mount_release(m);
      return -1;
    }
    readonly_set |= !strcmp(key, "readonly") || !strcmp(key, "ro") ||
                    !strcmp(key, "readwrite") || !strcmp(key, "rw");
  }
  /* Bind, secret and ssh mounts are read-only unless "rw" says otherwise;
     cache and tmpfs mounts are writable.  */
  if (!readonly_set)
    m->readonly = m->type == MOUNT_BIND || m->type == MOUNT_SECRET ||
                  m->type == MOUNT_SSH;
  if (mount_check(m, err) < 0) {
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
          const struct where *w, struct cb_error **err)
{
  if (in->nargs >= min && in->nargs <= max)
    return 0;
  if (min == max)
    return fail_at(w, err, "requires exactly %s argument%s",
                   min == 1 ? "one" : "two", min == 1 ? "" : "s");
  return fail_at(w, err, "requires at least %s argument%s",
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
type_from(struct instr *in, const struct where *w, struct cb_error **err)
{
  char *name;

  if (in->nargs != 1 && !(in->nargs == 3 && !strcasecmp(in->args[1], "as")))
    return fail_at(w, err,
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
  if (!valid_stage_name(name) && strchr(name, '$') == NULL)
    return fail_at(w, err, "invalid stage name '%s'", in->args[2]);
  return 0;
}

static int
type_run(struct instr *in, const struct where *w, struct cb_error **err)
{
  cleanup_free char **specs = NULL;
  size_t n = 0;

  if (need_args(in, 1, SIZE_MAX, w, err) < 0)
    return -1;
  in->network = flag_value(in->node, "network");
  if (in->network != NULL && strcmp(in->network, "default") != 0 &&
      strcmp(in->network, "none") != 0 && strcmp(in->network, "host") != 0)
    return fail_at(w, err, "unsupported network mode '%s' (default, none, "
                           "host)", in->network);
  in->security = flag_value(in->node, "security");
  if (in->security != NULL && strcmp(in->security, "sandbox") != 0 &&
      strcmp(in->security, "insecure") != 0)
    return fail_at(w, err, "unsupported security mode '%s' (sandbox, "
                           "insecure)", in->security);
  specs = flag_list(in->node, "mount", &n);
  in->mounts = cb_xcalloc(n + 1, sizeof(*in->mounts));
  for (size_t i = 0; i < n; i++) {
    cleanup_error struct cb_error *inner = NULL;

    if (instr_parse_mount(specs[i], &in->mounts[i], &inner) < 0)
      return fail_at(w, err, "--mount=%s: %s", specs[i], inner->msg);
    in->nmounts++;
  }
  return 0;
}

static int
type_copy(struct instr *in, const struct where *w, struct cb_error **err)
{
  const struct df_node *node = in->node;
  int b;

  if (need_args(in, 2, SIZE_MAX, w, err) < 0)
    return -1;
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
    return fail_at(w, err, "--checksum must be of the form sha256:HEX, not "
                           "'%s'", in->checksum);
  return 0;
}

static int
type_kvs(struct instr *in, const struct where *w, struct cb_error **err)
{
  const struct df_node *node = in->node;
  size_t n = node->nargs / 3;

  if (n == 0)
    return fail_at(w, err, "requires at least one argument");
  in->kvs = cb_xcalloc(n, sizeof(*in->kvs));
  for (size_t i = 0; i < n; i++) {
    in->kvs[i].key = cb_xstrdup(node->args[3 * i]);
    in->kvs[i].value = cb_xstrdup(node->args[3 * i + 1]);
  }
  in->nkvs = n;
  for (size_t i = 0; i < n; i++) {
    if (in->kvs[i].key[0] == '\0')
      return fail_at(w, err, "a name cannot be empty");
  }
  return 0;
}

/* ARG NAME[=DEFAULT] ...; the default keeps its quotes until expanded.  */
static int
type_arg(struct instr *in, const struct where *w, struct cb_error **err)
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
      return fail_at(w, err, "a name cannot be empty in '%s'", a);
  }
  return 0;
}

static int
type_health(struct instr *in, const struct where *w, struct cb_error **err)
{
  const struct df_node *node = in->node;
  struct instr_health *h = &in->health;

  if (in->nargs == 0)
    return fail_at(w, err, "requires at least one argument");
  if (strcasecmp(in->args[0], "none") == 0) {
    if (in->nargs > 1 || node->nflags > 0)
      return fail_at(w, err, "HEALTHCHECK NONE takes no arguments");
    h->none = true;
    h->retries = -1;
    return 0;
  }
  if (strcasecmp(in->args[0], "cmd") != 0)
    return fail_at(w, err, "unknown type '%s' (CMD or NONE)", in->args[0]);
  if (in->nargs < 2)
    return fail_at(w, err, "missing command after HEALTHCHECK CMD");
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
type_onbuild(struct instr *in, const char *file, const struct where *w,
             struct cb_error **err)
{
  const struct df_node *inner = in->node->inner;

  if (inner == NULL)
    return fail_at(w, err, "requires an instruction to run later");
  if (!strcmp(inner->keyword, "onbuild"))
    return fail_at(w, err, "chaining ONBUILD via 'ONBUILD ONBUILD' isn't "
                           "allowed");
  if (!strcmp(inner->keyword, "from") || !strcmp(inner->keyword,
                                                 "maintainer"))
    return fail_at(w, err, "%s isn't allowed as an ONBUILD trigger",
                   inner->keyword);
  in->trigger = cb_xcalloc(1, sizeof(*in->trigger));
  return instr_check(in->trigger, inner, file, err);
}

/* The checks of one instruction by its kind.  */
static int
type_by_kind(struct instr *in, const char *file, const struct where *w,
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
  case INSTR_VOLUME:
    return need_args(in, 1, SIZE_MAX, w, err);
  case INSTR_USER:
  case INSTR_WORKDIR:
  case INSTR_STOPSIGNAL:
  case INSTR_MAINTAINER:
    return need_args(in, 1, 1, w, err);
  case INSTR_SHELL:
    if (!in->json)
      return fail_at(w, err, "requires the arguments in JSON form "
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
  struct where w = { file, node->start_line, NULL };

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
