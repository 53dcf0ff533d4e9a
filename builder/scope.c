#include "config.h"

#include "builder/scope.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/mem.h"
#include "common/banned.h"

void
stage_scope_init(struct stage_scope *sc, const struct shell_env *build_args,
                 const struct shell_env *global_args, char escape)
{
  memset(sc, 0, sizeof(*sc));
  sc->build_args = build_args;
  sc->global_args = global_args;
  sc->escape = escape;
}

void
stage_scope_release(struct stage_scope *sc)
{
  shell_env_release(&sc->args);
  shell_env_release(&sc->env);
}

bool
instr_kind_expands(enum instr_kind kind)
{
  switch (kind) {
  case INSTR_ADD:
  case INSTR_COPY:
  case INSTR_ENV:
  case INSTR_LABEL:
  case INSTR_ARG:
  case INSTR_EXPOSE:
  case INSTR_VOLUME:
  case INSTR_USER:
  case INSTR_WORKDIR:
  case INSTR_STOPSIGNAL:
  case INSTR_FROM:
    return true;
  default:
    return false;
  }
}

/* ARGs first, then ENV over them: ENV wins over an ARG of the same name. */
static void
merged_env(const struct stage_scope *sc, struct shell_env *out)
{
  for (size_t i = 0; i < sc->args.n; i++)
    shell_env_set(out, sc->args.names[i], sc->args.values[i]);
  for (size_t i = 0; i < sc->env.n; i++)
    shell_env_set(out, sc->env.names[i], sc->env.values[i]);
}

static char *
expand_with(const struct stage_scope *sc, const char *word, unsigned flags,
            struct cb_error **err)
{
  const struct shell_opts opts = { sc->escape, flags };
  struct shell_env env = SHELL_ENV_INIT;
  char *out;

  merged_env(sc, &env);
  out = shell_expand_word(word, &env, &opts, err);
  shell_env_release(&env);
  return out;
}

char *
stage_scope_expand_word(const struct stage_scope *sc, const char *word,
                        struct cb_error **err)
{
  return expand_with(sc, word, 0, err);
}

char *
stage_scope_expand_text(const struct stage_scope *sc, const char *text,
                        struct cb_error **err)
{
  return expand_with(sc, text, SHELL_RAW_QUOTES | SHELL_RAW_ESCAPES, err);
}

static char **
copy_args(const struct instr *in)
{
  char **v = cb_xcalloc(in->nargs + 1, sizeof(*v));

  for (size_t i = 0; i < in->nargs; i++)
    v[i] = cb_xstrdup(in->args[i]);
  return v;
}

/* "KEY=VALUE" with both sides expanded (ENV, LABEL).  */
static char *
expand_pair(const struct stage_scope *sc, const struct instr_kv *kv,
            struct cb_error **err)
{
  cleanup_free char *k = stage_scope_expand_word(sc, kv->key, err);
  cleanup_free char *v = NULL;

  if (k == NULL)
    return NULL;
  if (kv->value == NULL)
    return steal_ptr(&k);
  v = stage_scope_expand_word(sc, kv->value, err);
  if (v == NULL)
    return NULL;
  return cb_xasprintf("%s=%s", k, v);
}

char **
stage_scope_expand(const struct stage_scope *sc, const struct instr *in,
                   const char *file, struct cb_error **err)
{
  bool pairs = in->kind == INSTR_ENV || in->kind == INSTR_LABEL ||
               in->kind == INSTR_ARG;
  size_t n = pairs ? in->nkvs : in->nargs;
  cleanup_strv char **v = NULL;

  if (!instr_kind_expands(in->kind) || in->kind == INSTR_FROM)
    return copy_args(in);
  v = cb_xcalloc(n + 1, sizeof(*v));
  for (size_t i = 0; i < n; i++) {
    if (in->kind == INSTR_ARG)
      v[i] = in->kvs[i].value == NULL
               ? cb_xstrdup(in->kvs[i].key)
               : expand_pair(sc, &in->kvs[i], err);
    else if (pairs)
      v[i] = expand_pair(sc, &in->kvs[i], err);
    else
      v[i] = stage_scope_expand_word(sc, in->args[i], err);
    if (v[i] == NULL)
      return cb_wrap_null(err, "%s:%d: %s", file, in->line,
                          instr_kind_name(in->kind));
  }
  return steal_ptr(&v);
}

/* An ARG's value: the --build-arg, else its default (already expanded),
   else the global ARG of that name; NULL leaves it unset.  */
static const char *
arg_value(const struct stage_scope *sc, const char *key,
          const char *expanded_default)
{
  const char *given = shell_env_get(sc->build_args, key);

  if (given != NULL)
    return given;
  if (expanded_default != NULL)
    return expanded_default;
  return shell_env_get(sc->global_args, key);
}

static void
free_n(char **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* Expand the keys (ENV only) and values of IN with the scope as it is.  */
static int
expand_kvs(const struct stage_scope *sc, const struct instr *in, char **keys,
           char **values, struct cb_error **err)
{
  for (size_t i = 0; i < in->nkvs; i++) {
    const struct instr_kv *kv = &in->kvs[i];

    keys[i] = in->kind == INSTR_ENV ? stage_scope_expand_word(sc, kv->key, err)
                                    : cb_xstrdup(kv->key);
    if (keys[i] == NULL)
      return -1;
    if (kv->value == NULL)
      continue;
    values[i] = stage_scope_expand_word(sc, kv->value, err);
    if (values[i] == NULL)
      return -1;
  }
  return 0;
}

/* Every key and value of one ARG or ENV is expanded with the variables as
   they were before the instruction ("ENV a=1 b=$a" gives b the old a),
   then all are set.  */
int
stage_scope_apply(struct stage_scope *sc, const struct instr *in,
                  const char *file, struct cb_error **err)
{
  char **keys, **values;
  int rc;

  if (in->kind != INSTR_ARG && in->kind != INSTR_ENV)
    return 0;
  keys = cb_xcalloc(in->nkvs + 1, sizeof(*keys));
  values = cb_xcalloc(in->nkvs + 1, sizeof(*values));
  rc = expand_kvs(sc, in, keys, values, err);
  for (size_t i = 0; rc == 0 && i < in->nkvs; i++) {
    const char *v = values[i];

    if (in->kind == INSTR_ENV) {
      shell_env_set(&sc->env, keys[i], v);
      continue;
    }
    v = arg_value(sc, keys[i], v);
    if (v != NULL)
      shell_env_set(&sc->args, keys[i], v);
  }
  free_n(keys, in->nkvs);
  free_n(values, in->nkvs);
  if (rc < 0)
    return cb_wrap(err, "%s:%d: %s", file, in->line,
                   instr_kind_name(in->kind));
  return 0;
}
