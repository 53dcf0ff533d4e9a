/* Build planning: which stages a build needs and in what order, with the
   global ARG scope applied to FROM lines (BuildKit's rules: ARGs before
   the first FROM are visible to every FROM; --build-arg overrides only
   declared ARGs; the automatic platform ARGs are predefined).  */
#ifndef CBUILD_BUILDER_PLAN_H
#define CBUILD_BUILDER_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/error.h"
#include "parser/instructions.h"
#include "parser/shell.h"

struct stage_plan {
  const struct stage *stage; /* borrowed from the build_plan */
  char *base;     /* FROM's image after expansion; owned */
  int base_stage; /* index of the stage FROM names, or -1 (an image) */
  bool needed;    /* the target depends on it */
  int *deps;      /* stages it uses (FROM, COPY --from, RUN --mount from) */
  size_t ndeps;
  /* Per instruction (index as in stage->instrs), its arguments after
     expansion in the stage's scope (builder/scope.h); [0] is NULL (FROM is
     in base).  Owned.  The base image's own ENV is not known yet at
     planning time.  */
  char ***expanded;
};

struct exec_plan {
  const struct build_plan *plan; /* borrowed */
  const struct shell_env *build_args; /* borrowed: --build-arg */
  struct shell_env global_args;  /* meta ARGs and platform ARGs, expanded */
  struct stage_plan *stages;
  size_t nstages;
  int target;       /* index of the target stage */
  int *order;       /* needed stages, dependencies first */
  size_t norder;
};

/* The host platform, "linux/amd64" style, and its parts.  */
const char *builder_host_os(void);
const char *builder_host_arch(void);

/* Plan PLAN for TARGET (a stage name or index; NULL = the last stage),
   with BUILD_ARGS from the command line.  Errors: an unknown target, a
   stage used before it is defined, a bad expansion in FROM.  */
int exec_plan_new(const struct build_plan *plan,
                  const struct shell_env *build_args, const char *target,
                  struct exec_plan **out, struct cb_error **err);

/* Print the plan, one line per stage and instruction.  */
void exec_plan_print(const struct exec_plan *ep, FILE *out);

void exec_plan_free(struct exec_plan *ep);
void exec_plan_freep(struct exec_plan **ep);
#define cleanup_exec_plan __attribute__((cleanup(exec_plan_freep)))

#endif
