#include "config.h"

#include "builder/plan.h"

#include "builder/scope.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/mem.h"
#include "common/banned.h"

const char *
builder_host_os(void)
{
  return "linux";
}

/* Go's GOARCH names for the machines Linux reports.  */
const char *
builder_host_arch(void)
{
  static const struct {
    const char *machine, *arch;
  } map[] = {
    { "x86_64", "amd64" },   { "aarch64", "arm64" }, { "armv7l", "arm" },
    { "armv6l", "arm" },     { "i686", "386" },      { "i386", "386" },
    { "ppc64le", "ppc64le" }, { "s390x", "s390x" },   { "riscv64", "riscv64" },
  };
  static char machine[65];
  struct utsname u;

  if (machine[0] == '\0' && uname(&u) == 0)
    snprintf(machine, sizeof(machine), "%s", u.machine);
  for (size_t i = 0; i < CB_N_ELEMENTS(map); i++) {
    if (strcmp(machine, map[i].machine) == 0)
      return map[i].arch;
  }
  return machine;
}

static void
set_platform_args(struct shell_env *env)
{
  cleanup_free char *platform =
    cb_xasprintf("%s/%s", builder_host_os(), builder_host_arch());

  shell_env_set(env, "BUILDPLATFORM", platform);
  shell_env_set(env, "BUILDOS", builder_host_os());
  shell_env_set(env, "BUILDARCH", builder_host_arch());
  shell_env_set(env, "BUILDVARIANT", "");
  shell_env_set(env, "TARGETPLATFORM", platform);
  shell_env_set(env, "TARGETOS", builder_host_os());
  shell_env_set(env, "TARGETARCH", builder_host_arch());
  shell_env_set(env, "TARGETVARIANT", "");
}

/* Global ARGs: each default is expanded with the ARGs before it; a
   --build-arg of the same name wins.  */
static int
global_args(const struct build_plan *plan, const struct shell_env *build_args,
            struct shell_env *env, struct cb_error **err)
{
  const struct shell_opts opts = { plan->df->escape, 0 };

  set_platform_args(env);
  for (size_t i = 0; i < plan->nmeta_args; i++) {
    const struct instr *in = &plan->meta_args[i];

    for (size_t k = 0; k < in->nkvs; k++) {
      const struct instr_kv *kv = &in->kvs[k];
      const char *given = shell_env_get(build_args, kv->key);
      cleanup_free char *value = NULL;

      if (given != NULL) {
        shell_env_set(env, kv->key, given);
        continue;
      }
      if (kv->value == NULL)
        continue;
      value = shell_expand_word(kv->value, env, &opts, err);
      if (value == NULL)
        return cb_wrap(err, "%s:%d: ARG", plan->df->filename, in->line);
      shell_env_set(env, kv->key, value);
    }
  }
  return 0;
}

static int
find_stage_before(const struct build_plan *plan, const char *name,
                  size_t before)
{
  int i = build_plan_find_stage(plan, name);

  return i >= 0 && (size_t)i < before ? i : -1;
}

static void
add_dep(struct stage_plan *sp, int dep)
{
  for (size_t i = 0; i < sp->ndeps; i++) {
    if (sp->deps[i] == dep)
      return;
  }
  sp->deps = cb_xreallocarray(sp->deps, sp->ndeps + 1, sizeof(*sp->deps));
  sp->deps[sp->ndeps++] = dep;
}

/* Stages named by COPY --from and RUN --mount from=.  A name that is not
   an earlier stage is an image, fetched when the build runs.  */
static void
collect_deps(const struct build_plan *plan, size_t idx, struct stage_plan *sp)
{
  const struct stage *st = &plan->stages[idx];

  for (size_t i = 1; i < st->ninstrs; i++) {
    const struct instr *in = &st->instrs[i];
    int d;

    if (in->from != NULL) {
      d = find_stage_before(plan, in->from, idx);
      if (d >= 0)
        add_dep(sp, d);
    }
    for (size_t m = 0; m < in->nmounts; m++) {
      if (in->mounts[m].from == NULL)
        continue;
      d = find_stage_before(plan, in->mounts[m].from, idx);
      if (d >= 0)
        add_dep(sp, d);
    }
  }
}

/* Expand each instruction of the stage in its scope, as the build will.
   The stage inherits no variables from a base stage here: that comes with
   the image config when the build runs.  */
static int
expand_stage(struct exec_plan *ep, struct stage_plan *sp,
             struct cb_error **err)
{
  const struct build_plan *plan = ep->plan;
  const struct stage *st = sp->stage;
  struct stage_scope sc;
  int rc = 0;

  stage_scope_init(&sc, ep->build_args, &ep->global_args, plan->df->escape);
  sp->expanded = cb_xcalloc(st->ninstrs, sizeof(*sp->expanded));
  for (size_t i = 1; i < st->ninstrs && rc == 0; i++) {
    const struct instr *in = &st->instrs[i];

    sp->expanded[i] = stage_scope_expand(&sc, in, plan->df->filename, err);
    if (sp->expanded[i] == NULL ||
        stage_scope_apply(&sc, in, plan->df->filename, err) < 0)
      rc = -1;
  }
  stage_scope_release(&sc);
  return rc;
}

static int
plan_stage(struct exec_plan *ep, size_t idx, struct cb_error **err)
{
  const struct build_plan *plan = ep->plan;
  const struct instr *from = plan->stages[idx].from;
  const struct shell_opts opts = { plan->df->escape, 0 };
  struct stage_plan *sp = &ep->stages[idx];

  sp->stage = &plan->stages[idx];
  sp->base = shell_expand_word(from->args[0], &ep->global_args, &opts, err);
  if (sp->base == NULL)
    return cb_wrap(err, "%s:%d: FROM", plan->df->filename, from->line);
  if (sp->base[0] == '\0')
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "%s:%d: FROM: base name '%s' expands to nothing",
                   plan->df->filename, from->line, from->args[0]);
  sp->base_stage = find_stage_before(plan, sp->base, idx);
  if (sp->base_stage >= 0)
    add_dep(sp, sp->base_stage);
  collect_deps(plan, idx, sp);
  return expand_stage(ep, sp, err);
}

/* Depth-first from the target; dependencies always have smaller indexes,
   so visiting in index order after marking gives a valid order.  */
static void
mark_needed(struct exec_plan *ep, int idx)
{
  struct stage_plan *sp = &ep->stages[idx];

  if (sp->needed)
    return;
  sp->needed = true;
  for (size_t i = 0; i < sp->ndeps; i++)
    mark_needed(ep, sp->deps[i]);
}

int
exec_plan_new(const struct build_plan *plan,
              const struct shell_env *build_args, const char *target,
              struct exec_plan **out, struct cb_error **err)
{
  cleanup_exec_plan struct exec_plan *ep = cb_xcalloc(1, sizeof(*ep));

  ep->plan = plan;
  ep->build_args = build_args;
  ep->stages = cb_xcalloc(plan->nstages, sizeof(*ep->stages));
  ep->nstages = plan->nstages;
  if (global_args(plan, build_args, &ep->global_args, err) < 0)
    return -1;
  for (size_t i = 0; i < plan->nstages; i++) {
    if (plan_stage(ep, i, err) < 0)
      return -1;
  }
  ep->target = (int)plan->nstages - 1;
  if (target != NULL) {
    ep->target = build_plan_find_stage(plan, target);
    if (ep->target < 0)
      return cb_fail(err, CB_ERR_USAGE, 0,
                     "target stage '%s' could not be found", target);
  }
  mark_needed(ep, ep->target);
  ep->order = cb_xcalloc(plan->nstages, sizeof(*ep->order));
  for (size_t i = 0; i < plan->nstages; i++) {
    if (ep->stages[i].needed)
      ep->order[ep->norder++] = (int)i;
  }
  *out = steal_ptr(&ep);
  return 0;
}

/* Whether expansion changed anything worth showing.  */
static bool
expansion_differs(const struct instr *in, char *const *words)
{
  if (!instr_kind_expands(in->kind) || words == NULL)
    return false;
  if (in->kind == INSTR_ENV || in->kind == INSTR_LABEL ||
      in->kind == INSTR_ARG) {
    for (size_t i = 0; i < in->nkvs; i++) {
      const struct instr_kv *kv = &in->kvs[i];
      size_t klen = strlen(kv->key);

      if (strncmp(words[i], kv->key, klen) != 0 ||
          (kv->value == NULL ? words[i][klen] != '\0'
                             : words[i][klen] != '=' ||
                                 strcmp(words[i] + klen + 1, kv->value)))
        return true;
    }
    return false;
  }
  for (size_t i = 0; i < in->nargs; i++) {
    if (words[i] == NULL || strcmp(words[i], in->args[i]) != 0)
      return true;
  }
  return false;
}

static void
print_instr(const struct exec_plan *ep, const struct instr *in,
            char *const *words, FILE *out)
{
  const char *text = in->node->original;

  while (*text == ' ' || *text == '\t')
    text++;
  fprintf(out, "  %s:%d  %s\n", ep->plan->df->filename, in->line, text);
  if (!expansion_differs(in, words))
    return;
  fprintf(out, "      => %s", instr_kind_name(in->kind));
  for (size_t i = 0; words[i] != NULL; i++)
    fprintf(out, " %s", words[i]);
  fputc('\n', out);
}

void
exec_plan_print(const struct exec_plan *ep, FILE *out)
{
  fprintf(out, "%zu stage%s, %zu needed for target stage %d", ep->nstages,
          ep->nstages == 1 ? "" : "s", ep->norder, ep->target);
  if (ep->stages[ep->target].stage->name != NULL)
    fprintf(out, " (%s)", ep->stages[ep->target].stage->name);
  fputc('\n', out);
  for (size_t i = 0; i < ep->nstages; i++) {
    const struct stage_plan *sp = &ep->stages[i];

    fprintf(out, "stage %zu%s%s: FROM %s%s%s\n", i,
            sp->stage->name ? " " : "", sp->stage->name ? sp->stage->name : "",
            sp->base, sp->base_stage >= 0 ? " (stage)" : "",
            sp->needed ? "" : " [skipped: not needed for the target]");
    for (size_t j = 1; j < sp->stage->ninstrs; j++)
      print_instr(ep, &sp->stage->instrs[j], sp->expanded[j], out);
  }
}

void
exec_plan_free(struct exec_plan *ep)
{
  if (ep == NULL)
    return;
  for (size_t i = 0; i < ep->nstages; i++) {
    struct stage_plan *sp = &ep->stages[i];

    for (size_t j = 0; sp->expanded != NULL && j < sp->stage->ninstrs; j++)
      cb_strv_free(sp->expanded[j]);
    free(sp->expanded);
    free(sp->base);
    free(sp->deps);
  }
  free(ep->stages);
  free(ep->order);
  shell_env_release(&ep->global_args);
  free(ep);
}

void
exec_plan_freep(struct exec_plan **ep)
{
  exec_plan_free(*ep);
  *ep = NULL;
}
