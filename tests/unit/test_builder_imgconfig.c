/* Metadata instructions applied to an image config.  */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "builder/imgconfig.h"
#include "builder/scope.h"
#include "common/mem.h"
#include "parser/dockerfile.h"
#include "parser/instructions.h"
#include "tap.h"

/* Build the config of the last stage of TEXT, starting from BASE (JSON
   text of a whole image config).  Returns the "config" object as compact
   sorted JSON, or the error message.  */
static char *
config_after(const char *text, const char *base)
{
  struct dockerfile *df = NULL;
  struct build_plan *plan = NULL;
  struct cb_error *err = NULL;
  struct shell_env none = SHELL_ENV_INIT;
  struct imgconfig_state st = { false };
  struct stage_scope sc;
  json_t *image = json_loads(base, 0, NULL);
  char *out = NULL;

  stage_scope_init(&sc, &none, &none, '\\');
  if (dockerfile_parse("Dockerfile", text, strlen(text), &df, &err) < 0 ||
      build_plan_new(df, &plan, &err) < 0)
    goto done;
  for (size_t i = 1; i < plan->stages[plan->nstages - 1].ninstrs; i++) {
    const struct instr *in = &plan->stages[plan->nstages - 1].instrs[i];
    char **words = stage_scope_expand(&sc, in, "Dockerfile", &err);
    int rc = words == NULL ? -1 : 0;

    if (rc == 0 && imgconfig_is_metadata(in))
      rc = imgconfig_apply(image, &st, in, words, "Dockerfile", &err);
    if (rc == 0)
      rc = stage_scope_apply(&sc, in, "Dockerfile", &err);
    cb_strv_free(words);
    if (rc < 0)
      goto done;
  }
  out = json_dumps(json_object_get(image, "config"),
                   JSON_COMPACT | JSON_SORT_KEYS);
done:
  if (err != NULL)
    out = cb_xstrdup(err->msg);
  cb_error_free(err);
  json_decref(image);
  build_plan_free(plan);
  dockerfile_free(df);
  stage_scope_release(&sc);
  return out;
}

struct tcase {
  const char *name;
  const char *dockerfile;
  const char *base;
  const char *want;
};

static const char *const EMPTY = "{}";

static const struct tcase cases[] = {
  { "cmd exec form", "FROM x\nCMD [\"a\", \"b\"]\n", NULL,
    "{\"Cmd\":[\"a\",\"b\"]}" },
  { "cmd shell form", "FROM x\nCMD echo $HOME\n", NULL,
    "{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo $HOME\"]}" },
  { "cmd through SHELL", "FROM x\nSHELL [\"/bin/bash\", \"-ec\"]\nCMD ls\n",
    NULL, "{\"Cmd\":[\"/bin/bash\",\"-ec\",\"ls\"],\"Shell\":[\"/bin/bash\","
          "\"-ec\"]}" },
  { "entrypoint resets inherited cmd", "FROM x\nENTRYPOINT [\"e\"]\n",
    "{\"config\":{\"Cmd\":[\"sh\"]}}",
    "{\"Cmd\":null,\"Entrypoint\":[\"e\"]}" },
  { "entrypoint keeps this stage's cmd",
    "FROM x\nCMD [\"c\"]\nENTRYPOINT [\"e\"]\n", "{\"config\":{\"Cmd\":[\"sh\"]}}",
    "{\"Cmd\":[\"c\"],\"Entrypoint\":[\"e\"]}" },
  { "env replaces and appends", "FROM x\nENV A=1 B=2\nENV A=3\n",
    "{\"config\":{\"Env\":[\"PATH=/bin\",\"A=0\"]}}",
    "{\"Env\":[\"PATH=/bin\",\"A=3\",\"B=2\"]}" },
  { "env expands from before", "FROM x\nENV A=1\nENV A=2 B=$A\n", NULL,
    "{\"Env\":[\"A=2\",\"B=1\"]}" },
  { "label", "FROM x\nLABEL a=1 \"b c\"=\"d e\"\n", NULL,
    "{\"Labels\":{\"a\":\"1\",\"b c\":\"d e\"}}" },
  { "expose forms", "FROM x\nEXPOSE 80 53/udp 8000-8002/TCP\n", NULL,
    "{\"ExposedPorts\":{\"53/udp\":{},\"80/tcp\":{},\"8000/tcp\":{},"
    "\"8001/tcp\":{},\"8002/tcp\":{}}}" },
  { "expose bad port", "FROM x\n\nEXPOSE 99999\n", NULL,
    "Dockerfile:3: EXPOSE: invalid port '99999'" },
  { "expose bad proto", "FROM x\nEXPOSE 80/icmp\n", NULL,
    "Dockerfile:2: EXPOSE: invalid protocol 'icmp' in '80/icmp'" },
  /* Not JSON form, so the words are expanded and lose their quotes.  */
  { "volume", "FROM x\nVOLUME /a [\"/b\"]\nVOLUME [\"/c\", \"/d\"]\n", NULL,
    "{\"Volumes\":{\"/a\":{},\"/c\":{},\"/d\":{},\"[/b]\":{}}}" },
  { "user", "FROM x\nARG U=app\nUSER $U:1000\n", NULL,
    "{\"User\":\"app:1000\"}" },
  { "workdir relative joins", "FROM x\nWORKDIR /a\nWORKDIR b/../c\nWORKDIR d\n",
    NULL, "{\"WorkingDir\":\"/a/c/d\"}" },
  { "workdir relative to base", "FROM x\nWORKDIR app\n",
    "{\"config\":{\"WorkingDir\":\"/srv\"}}", "{\"WorkingDir\":\"/srv/app\"}" },
  { "stopsignal", "FROM x\nSTOPSIGNAL SIGQUIT\n", NULL,
    "{\"StopSignal\":\"SIGQUIT\"}" },
  { "stopsignal number", "FROM x\nSTOPSIGNAL 9\n", NULL,
    "{\"StopSignal\":\"9\"}" },
  { "stopsignal bad", "FROM x\nSTOPSIGNAL SIGFOO\n", NULL,
    "Dockerfile:2: STOPSIGNAL: invalid signal 'SIGFOO'" },
  { "healthcheck exec",
    "FROM x\nHEALTHCHECK --interval=30s --timeout=3s --retries=2 CMD [\"c\", "
    "\"-x\"]\n",
    NULL,
    "{\"Healthcheck\":{\"Interval\":30000000000,\"Retries\":2,\"Test\":[\"CMD\","
    "\"c\",\"-x\"],\"Timeout\":3000000000}}" },
  { "healthcheck shell", "FROM x\nHEALTHCHECK CMD curl -f http://x/\n", NULL,
    "{\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"curl -f http://x/\"]}}" },
  { "healthcheck none", "FROM x\nHEALTHCHECK NONE\n", NULL,
    "{\"Healthcheck\":{\"Test\":[\"NONE\"]}}" },
  { "onbuild keeps the trigger text", "FROM x\nONBUILD RUN echo $X\n"
    "ONBUILD COPY --chown=1 a b\n", NULL,
    "{\"OnBuild\":[\"RUN echo $X\",\"COPY --chown=1 a b\"]}" },
};

int
main(void)
{
  for (size_t i = 0; i < CB_N_ELEMENTS(cases); i++) {
    char *got = config_after(cases[i].dockerfile,
                             cases[i].base ? cases[i].base : EMPTY);

    is_str(got, cases[i].want, "%s", cases[i].name);
    free(got);
  }
  return done_testing();
}
