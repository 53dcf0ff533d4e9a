/* What metadata instructions do to an image config (the "config" object
   of an OCI image config, with Docker's Healthcheck, OnBuild and Shell
   fields, which OCI consumers ignore and Docker-compatible ones read).  */
#ifndef CBUILD_BUILDER_IMGCONFIG_H
#define CBUILD_BUILDER_IMGCONFIG_H

#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"
#include "parser/instructions.h"

/* Per-stage state that changes how instructions apply.  */
struct imgconfig_state {
  bool cmd_set; /* CMD was given in this stage (ENTRYPOINT keeps it) */
};

/* Apply IN (CMD, ENTRYPOINT, ENV, LABEL, EXPOSE, VOLUME, USER, WORKDIR,
   STOPSIGNAL, HEALTHCHECK, SHELL, ONBUILD, MAINTAINER) to the image
   config IMAGE (the whole config document: "config", "author"...).
   WORDS are the instruction's arguments after expansion (builder/scope.h;
   for ENV/LABEL "KEY=VALUE").  Other kinds are not metadata: CB_ERR_USAGE.
   Errors (CB_ERR_PARSE) name FILE:LINE: a bad port, a bad signal.  */
int imgconfig_apply(json_t *image, struct imgconfig_state *st,
                    const struct instr *in, char *const *words,
                    const char *file, struct cb_error **err);

/* Whether IN only changes the config (no layer).  */
bool imgconfig_is_metadata(const struct instr *in);

/* The history "created_by" text for IN, as BuildKit writes it
   ("CMD [\"sh\"]", "ENV A=b", "WORKDIR /app").  New string.  */
char *imgconfig_created_by(const struct instr *in, char *const *words);

#endif
