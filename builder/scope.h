/* The variables a stage's instructions see, and which instructions expand
   them (BuildKit's rules): ADD, COPY, ENV, LABEL, ARG defaults, EXPOSE,
   VOLUME, USER, WORKDIR, STOPSIGNAL; flag values (COPY --from, --chown,
   --chmod, RUN --mount options) go through stage_scope_expand_word().  RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK and
   ONBUILD are left to the shell or to a later build.  */
#ifndef CBUILD_BUILDER_SCOPE_H
#define CBUILD_BUILDER_SCOPE_H

#include <stdbool.h>

#include "common/error.h"
#include "parser/instructions.h"
#include "parser/shell.h"

struct stage_scope {
  struct shell_env args; /* ARGs declared in the stage, with values */
  struct shell_env env;  /* ENV set in the stage (and, later, the base) */
  const struct shell_env *build_args;  /* borrowed: --build-arg */
  const struct shell_env *global_args; /* borrowed: ARGs before FROM */
  char escape;
};

void stage_scope_init(struct stage_scope *sc, const struct shell_env *build_args,
                      const struct shell_env *global_args, char escape);
void stage_scope_release(struct stage_scope *sc);

/* Whether instructions of KIND expand variables.  */
bool instr_kind_expands(enum instr_kind kind);

/* The arguments of IN after expansion, as a new NULL-terminated array:
   for ENV and LABEL "KEY=VALUE" pairs, for ARG "NAME[=DEFAULT]", else the
   instruction's arguments; kinds that do not expand are copied as they
   are.  Errors name the file and line.  */
char **stage_scope_expand(const struct stage_scope *sc, const struct instr *in,
                          const char *file, struct cb_error **err);

/* Expand one word (a flag value, a mount option) in the scope.  */
char *stage_scope_expand_word(const struct stage_scope *sc, const char *word,
                              struct cb_error **err);

/* Expand the variables in TEXT (a heredoc body) and nothing else: quotes
   and escapes stay as written.  */
char *stage_scope_expand_text(const struct stage_scope *sc, const char *text,
                              struct cb_error **err);

/* Record what ARG and ENV instructions declare; others are no-ops.  ARG
   NAME takes the --build-arg value, else its default, else the global
   ARG of that name; ENV always wins over ARG in expansion.  */
int stage_scope_apply(struct stage_scope *sc, const struct instr *in,
                      const char *file, struct cb_error **err);

#endif
