#include "config.h"

#include "builder/imgconfig.h"

#include "builder/scope.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/mem.h"
#include "common/banned.h"

/* The "config" object of IMAGE, created when missing.  Borrowed.  */
static json_t *
config_of(json_t *image)
{
  json_t *c = json_object_get(image, "config");

  if (!json_is_object(c)) {
    c = json_object();
    json_object_set_new(image, "config", c);
  }
  return c;
}

/* A JSON string, or an error for text that is not UTF-8 (jansson only
   takes valid UTF-8, and an image config is JSON).  */
static json_t *
json_text(const char *s, const struct instr_where *w, struct cb_error **err)
{
  json_t *j = json_string(s);

  if (j == NULL)
    instr_fail(w, err, "'%s' is not valid UTF-8", s);
  return j;
}

static json_t *
json_strings(char *const *v, size_t n, const struct instr_where *w,
             struct cb_error **err)
{
  json_t *a = json_array();

  for (size_t i = 0; i < n; i++) {
    json_t *s = json_text(v[i], w, err);

    if (s == NULL) {
      json_decref(a);
      return NULL;
    }
    json_array_append_new(a, s);
  }
  return a;
}

/* Exec form as is; shell form through the stage's SHELL (default
   /bin/sh -c), as one argument.  */
static json_t *
command_of(json_t *config, const struct instr *in, char *const *args,
           size_t nargs, const struct instr_where *w, struct cb_error **err)
{
  json_t *shell = json_object_get(config, "Shell");
  json_t *cmd;
  size_t i;
  json_t *v;

  if (in->json)
    return json_strings(args, nargs, w, err);
  cmd = json_array();
  if (json_is_array(shell) && json_array_size(shell) > 0) {
    json_array_foreach(shell, i, v)
      json_array_append(cmd, v);
  } else {
    json_array_append_new(cmd, json_string("/bin/sh"));
    json_array_append_new(cmd, json_string("-c"));
  }
  v = nargs > 0 ? json_text(args[0], w, err) : json_string("");
  if (v == NULL) {
    json_decref(cmd);
    return NULL;
  }
  json_array_append_new(cmd, v);
  return cmd;
}

/* Replace NAME=... in the Env array, or append.  */
static int
set_env(json_t *config, const char *pair, const struct instr_where *w,
        struct cb_error **err)
{
  json_t *env = json_object_get(config, "Env");
  size_t klen = strcspn(pair, "=");
  json_t *s = json_text(pair, w, err);
  size_t i;
  json_t *v;

  if (s == NULL)
    return -1;
  if (!json_is_array(env)) {
    env = json_array();
    json_object_set_new(config, "Env", env);
  }
  json_array_foreach(env, i, v) {
    const char *old = json_string_value(v);

    if (old != NULL && strncmp(old, pair, klen) == 0 &&
        (old[klen] == '=' || old[klen] == '\0')) {
      json_array_set_new(env, i, s);
      return 0;
    }
  }
  json_array_append_new(env, s);
  return 0;
}

static int
set_in_map(json_t *config, const char *field, const char *key, json_t *value,
           const struct instr_where *w, struct cb_error **err)
{
  json_t *map = json_object_get(config, field);

  if (!json_is_object(map)) {
    map = json_object();
    json_object_set_new(config, field, map);
  }
  if (json_object_set_new(map, key, value) < 0)
    return instr_fail(w, err, "'%s' is not valid UTF-8", key);
  return 0;
}

static int
apply_label(json_t *config, const char *pair, const struct instr_where *w,
            struct cb_error **err)
{
  cleanup_free char *key = cb_xstrndup(pair, strcspn(pair, "="));
  const char *eq = strchr(pair, '=');
  json_t *v = json_text(eq != NULL ? eq + 1 : "", w, err);

  if (v == NULL)
    return -1;
  return set_in_map(config, "Labels", key, v, w, err);
}

static int
parse_port(const char *s, size_t n, unsigned *port)
{
  unsigned v = 0;

  if (n == 0 || n > 5)
    return -1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  if (v == 0 || v > 65535)
    return -1;
  *port = v;
  return 0;
}

/* "80", "80/udp", "8000-8010/tcp": each port becomes "N/proto".  */
static int
apply_expose(json_t *config, const char *spec, const struct instr_where *w,
             struct cb_error **err)
{
  const char *slash = strchr(spec, '/');
  size_t plen = slash != NULL ? (size_t)(slash - spec) : strlen(spec);
  const char *dash = memchr(spec, '-', plen);
  char proto[8] = "tcp";
  unsigned lo, hi;

  if (slash != NULL) {
    if (strlen(slash + 1) >= sizeof(proto))
      return instr_fail(w, err, "invalid protocol in '%s'", spec);
    for (size_t i = 0; slash[1 + i] != '\0'; i++)
      proto[i] = (char)(slash[1 + i] | 0x20);
    proto[strlen(slash + 1)] = '\0';
    if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
      return instr_fail(w, err, "invalid protocol '%s' in '%s'", slash + 1, spec);
  }
  if (dash == NULL ? parse_port(spec, plen, &lo) < 0
                   : parse_port(spec, (size_t)(dash - spec), &lo) < 0 ||
                       parse_port(dash + 1, plen - (size_t)(dash - spec) - 1,
                                  &hi) < 0)
    return instr_fail(w, err, "invalid port '%s'", spec);
  if (dash == NULL)
    hi = lo;
  if (hi < lo)
    return instr_fail(w, err, "invalid port range '%s'", spec);
  for (unsigned p = lo; p <= hi; p++) {
    char key[32];

    snprintf(key, sizeof(key), "%u/%s", p, proto);
    if (set_in_map(config, "ExposedPorts", key, json_object(), w, err) < 0)
      return -1;
  }
  return 0;
}

/* Lexical path.Clean for an absolute path.  */
static char *
clean_abs(const char *path)
{
  struct cb_buf out = CB_BUF_INIT;
  const char *p = path;

  while (*p != '\0') {
    size_t n;

    while (*p == '/')
      p++;
    n = strcspn(p, "/");
    if (n == 0 || (n == 1 && p[0] == '.')) {
      p += n;
      continue;
    }
    if (n == 2 && p[0] == '.' && p[1] == '.') {
      char *last = out.len > 0 ? strrchr(out.data, '/') : NULL;

      cb_buf_truncate(&out, last != NULL ? (size_t)(last - out.data) : 0);
    } else {
      cb_buf_addc(&out, '/');
      cb_buf_add(&out, p, n);
    }
    p += n;
  }
  if (out.len == 0)
    cb_buf_addc(&out, '/');
  return cb_buf_detach(&out, NULL);
}

/* A relative WORKDIR is joined to the current one (Docker).  */
static int
apply_workdir(json_t *config, const char *dir, const struct instr_where *w,
              struct cb_error **err)
{
  const char *cur = json_string_value(json_object_get(config, "WorkingDir"));
  cleanup_free char *joined = NULL;
  cleanup_free char *clean = NULL;
  json_t *v;

  if (dir[0] == '\0')
    return instr_fail(w, err, "cannot be empty");
  joined = dir[0] == '/' ? cb_xstrdup(dir)
                         : cb_xasprintf("%s/%s", cur ? cur : "/", dir);
  clean = clean_abs(joined);
  v = json_text(clean, w, err);
  if (v == NULL)
    return -1;
  json_object_set_new(config, "WorkingDir", v);
  return 0;
}

/* A signal name (with or without SIG) or number, as Docker accepts.  */
static int
check_signal(const char *s, const struct instr_where *w, struct cb_error **err)
{
  static const char *const names[] = {
    "HUP",  "INT",  "QUIT", "ILL",  "TRAP", "ABRT", "BUS",    "FPE",
    "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM",   "STKFLT",
    "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",    "XCPU",
    "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR",  "SYS",   "POLL",
    "IOT",  "CLD",
  };
  const char *n = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
  char *end = NULL;
  long num = strtol(s, &end, 10);

  if (*s != '\0' && *end == '\0')
    return num >= 1 && num <= 64 ? 0 : instr_fail(w, err, "invalid signal '%s'", s);
  for (size_t i = 0; i < CB_N_ELEMENTS(names); i++) {
    if (strcasecmp(n, names[i]) == 0)
      return 0;
  }
  if (strncasecmp(n, "RTMIN", 5) == 0 || strncasecmp(n, "RTMAX", 5) == 0)
    return 0;
  return instr_fail(w, err, "invalid signal '%s'", s);
}

static void
set_duration(json_t *hc, const char *field, int64_t ns)
{
  if (ns != 0)
    json_object_set_new(hc, field, json_integer(ns));
}

static int
apply_healthcheck(json_t *config, const struct instr *in,
                  const struct instr_where *w, struct cb_error **err)
{
  const struct instr_health *h = &in->health;
  json_t *hc = json_object();
  json_t *test;

  if (h->none) {
    test = json_array();
    json_array_append_new(test, json_string("NONE"));
  } else if (in->json) {
    test = json_strings(in->args + 1, in->nargs - 1, w, err);
    if (test != NULL)
      json_array_insert_new(test, 0, json_string("CMD"));
  } else {
    test = json_array();
    json_array_append_new(test, json_string("CMD-SHELL"));
    json_array_append_new(test, json_text(in->args[1], w, err));
    if (json_array_get(test, 1) == NULL) {
      json_decref(test);
      test = NULL;
    }
  }
  if (test == NULL) {
    json_decref(hc);
    return -1;
  }
  json_object_set_new(hc, "Test", test);
  set_duration(hc, "Interval", h->interval);
  set_duration(hc, "Timeout", h->timeout);
  set_duration(hc, "StartPeriod", h->start_period);
  set_duration(hc, "StartInterval", h->start_interval);
  if (h->retries > 0)
    json_object_set_new(hc, "Retries", json_integer(h->retries));
  json_object_set_new(config, "Healthcheck", hc);
  return 0;
}

static int
set_string(json_t *obj, const char *field, const char *value,
           const struct instr_where *w, struct cb_error **err)
{
  json_t *v = json_text(value, w, err);

  if (v == NULL)
    return -1;
  json_object_set_new(obj, field, v);
  return 0;
}

static int
apply_command(json_t *config, struct imgconfig_state *st,
              const struct instr *in, const struct instr_where *w,
              struct cb_error **err)
{
  const char *field = in->kind == INSTR_CMD ? "Cmd" : "Entrypoint";
  json_t *cmd = command_of(config, in, in->args, in->nargs, w, err);

  if (cmd == NULL)
    return -1;
  json_object_set_new(config, field, cmd);
  /* A new ENTRYPOINT drops a CMD inherited from the base image, but not
     one set earlier in this stage (Docker's rule).  */
  if (in->kind == INSTR_ENTRYPOINT && !st->cmd_set)
    json_object_set_new(config, "Cmd", json_null());
  if (in->kind == INSTR_CMD)
    st->cmd_set = true;
  return 0;
}

static int
apply_each(json_t *config, char *const *words, const struct instr_where *w,
           int (*fn)(json_t *, const char *, const struct instr_where *,
                     struct cb_error **),
           struct cb_error **err)
{
  for (size_t i = 0; words[i] != NULL; i++) {
    if (fn(config, words[i], w, err) < 0)
      return -1;
  }
  return 0;
}

static int
apply_volume(json_t *config, const char *path, const struct instr_where *w,
             struct cb_error **err)
{
  json_t *v;

  if (path[0] == '\0')
    return instr_fail(w, err, "a volume cannot be an empty string");
  v = json_object();
  return set_in_map(config, "Volumes", path, v, w, err);
}

static int
apply_onbuild(json_t *config, const struct instr *in, const struct instr_where *w,
              struct cb_error **err)
{
  json_t *list = json_object_get(config, "OnBuild");
  json_t *v = json_text(in->node->inner->original, w, err);

  if (v == NULL)
    return -1;
  if (!json_is_array(list)) {
    list = json_array();
    json_object_set_new(config, "OnBuild", list);
  }
  json_array_append_new(list, v);
  return 0;
}

bool
imgconfig_is_metadata(const struct instr *in)
{
  switch (in->kind) {
  case INSTR_CMD:
  case INSTR_ENTRYPOINT:
  case INSTR_ENV:
  case INSTR_LABEL:
  case INSTR_EXPOSE:
  case INSTR_VOLUME:
  case INSTR_USER:
  case INSTR_WORKDIR:
  case INSTR_STOPSIGNAL:
  case INSTR_HEALTHCHECK:
  case INSTR_SHELL:
  case INSTR_ONBUILD:
  case INSTR_MAINTAINER:
    return true;
  default:
    return false;
  }
}

int
imgconfig_apply(json_t *image, struct imgconfig_state *st,
                const struct instr *in, char *const *words, const char *file,
                struct cb_error **err)
{
  struct instr_where w = { file, in->line, instr_kind_name(in->kind) };
  json_t *config = config_of(image);

  switch (in->kind) {
  case INSTR_CMD:
  case INSTR_ENTRYPOINT:
    return apply_command(config, st, in, &w, err);
  case INSTR_ENV:
    return apply_each(config, words, &w, set_env, err);
  case INSTR_LABEL:
    return apply_each(config, words, &w, apply_label, err);
  case INSTR_EXPOSE:
    return apply_each(config, words, &w, apply_expose, err);
  case INSTR_VOLUME:
    return apply_each(config, words, &w, apply_volume, err);
  case INSTR_USER:
    return set_string(config, "User", words[0], &w, err);
  case INSTR_WORKDIR:
    return apply_workdir(config, words[0], &w, err);
  case INSTR_STOPSIGNAL:
    if (check_signal(words[0], &w, err) < 0)
      return -1;
    return set_string(config, "StopSignal", words[0], &w, err);
  case INSTR_HEALTHCHECK:
    return apply_healthcheck(config, in, &w, err);
  case INSTR_SHELL: {
    json_t *shell = json_strings(in->args, in->nargs, &w, err);

    if (shell == NULL)
      return -1;
    json_object_set_new(config, "Shell", shell);
    return 0;
  }
  case INSTR_ONBUILD:
    return apply_onbuild(config, in, &w, err);
  case INSTR_MAINTAINER:
    return set_string(image, "author", words[0], &w, err);
  default:
    return cb_fail(err, CB_ERR_USAGE, 0, "%s:%d: %s changes no image config",
                   file, in->line, w.name);
  }
}

static void
add_json_array(struct cb_buf *b, char *const *v, size_t n)
{
  json_t *a = json_array();
  char *s;

  for (size_t i = 0; i < n; i++) {
    json_t *str = json_string(v[i]);

    json_array_append_new(a, str != NULL ? str : json_string("\xEF\xBF\xBD"));
  }
  s = json_dumps(a, JSON_COMPACT);
  cb_buf_adds(b, s != NULL ? s : "[]");
  free(s);
  json_decref(a);
}

char *
imgconfig_created_by(const struct instr *in, char *const *words)
{
  struct cb_buf b = CB_BUF_INIT;
  const char *text = in->node->original;

  if (in->json && (in->kind == INSTR_CMD || in->kind == INSTR_ENTRYPOINT ||
                   in->kind == INSTR_SHELL || in->kind == INSTR_RUN)) {
    cb_buf_addf(&b, "%s ", instr_kind_name(in->kind));
    add_json_array(&b, in->args, in->nargs);
    return cb_buf_detach(&b, NULL);
  }
  if (words == NULL || !instr_kind_expands(in->kind)) {
    while (*text == ' ' || *text == '\t')
      text++;
    return cb_xstrdup(text);
  }
  cb_buf_adds(&b, instr_kind_name(in->kind));
  for (size_t i = 0; words[i] != NULL; i++)
    cb_buf_addf(&b, " %s", words[i]);
  return cb_buf_detach(&b, NULL);
}
