#include "config.h"

#include "parser/instructions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/mem.h"
#include "parser/dockerfile.h"
#include "tests/unit/tap.h"

#include "common/banned.h"

/* The instruction layer: build_plan_new() after dockerfile_parse().  Each
   error case is a small Dockerfile whose bad instruction is not on line 1,
   so the line in the message is checked for real.  */

struct plan_fixture {
  struct dockerfile *df;
  struct build_plan *plan;
};

static void
fixture_release(struct plan_fixture *f)
{
  build_plan_free(f->plan);
  dockerfile_free(f->df);
  f->plan = NULL;
  f->df = NULL;
}

#define cleanup_fixture CB_CLEANUP(fixture_release)

/* Parse and plan TEXT; on failure *ERR is set and -1 returned.  */
static int
plan_text(const char *text, struct plan_fixture *f, struct cb_error **err)
{
  f->df = NULL;
  f->plan = NULL;
  if (dockerfile_parse("Dockerfile", text, strlen(text), &f->df, err) < 0)
    return -1;
  return build_plan_new(f->df, &f->plan, err);
}

/* TEXT on one line, for test names: newlines shown as '|'.  */
static char *
oneline(const char *text)
{
  char *s = cb_xstrdup(text);

  for (char *p = s; *p != '\0'; p++) {
    if (*p == '\n')
      *p = '|';
  }
  return s;
}

/* TEXT plans; diagnose the error otherwise.  */
static bool
plans(const char *text, struct plan_fixture *f)
{
  cleanup_error struct cb_error *err = NULL;
  cleanup_free char *name = oneline(text);
  bool pass = plan_text(text, f, &err) == 0;

  ok(pass, "plans: %.70s", name);
  if (!pass)
    diag("error: %s", err != NULL ? err->msg : "(none)");
  return pass;
}

struct bad_case {
  const char *text;
  int line;         /* the line the message must name; 0: no line */
  const char *want; /* a part of the message after the location */
};

static void
check_bad(const struct bad_case *c)
{
  cleanup_fixture struct plan_fixture f = { NULL, NULL };
  cleanup_error struct cb_error *err = NULL;
  cleanup_free char *name = oneline(c->text);
  cleanup_free char *prefix = c->line > 0
                                  ? cb_xasprintf("Dockerfile:%d: ", c->line)
                                  : cb_xstrdup("Dockerfile: ");
  int rc = plan_text(c->text, &f, &err);

  if (!ok(rc == -1 && err != NULL, "rejected: %s", c->want)) {
    diag("input: %s", name);
    return;
  }
  is_int(err->kind, CB_ERR_PARSE, "'%s' is a parse error", c->want);
  if (!ok(strncmp(err->msg, prefix, strlen(prefix)) == 0 &&
              strstr(err->msg + strlen(prefix), c->want) != NULL,
          "message is '%s...%s'", prefix, c->want))
    diag("got: %s", err->msg);
}

#define L2 "FROM base\n# a comment\n"           /* the case starts on line 3 */
#define L4 "FROM base \\\n  AS one\n\nRUN ok\n" /* ... on line 5 */

static const struct bad_case flag_errors[] = {
  { L2 "COPY --bogus a b\n", 3, "COPY: unknown flag '--bogus'" },
  { L2 "COPY --from=a --from=b x y\n", 3, "duplicate flag '--from'" },
  { L2 "COPY --link --link=false x y\n", 3, "duplicate flag '--link'" },
  { L2 "COPY --from x y\n", 3, "missing a value on flag '--from'" },
  { L4 "COPY --chown x y\n", 5, "missing a value on flag '--chown'" },
  { L2 "COPY --link=maybe a b\n", 3, "boolean for flag '--link'" },
  { L2 "COPY --link=1 a b\n", 3, "boolean for flag '--link'" },
  { L2 "COPY --link=yes a b\n", 3, "boolean for flag '--link'" },
  { L2 "COPY --link=t a b\n", 3, "boolean for flag '--link'" },
  { L2 "COPY --link= a b\n", 3, "missing a value on flag '--link'" },
  { L2 "ADD --keep-git-dir=\"\" a b\n", 3, "missing a value on flag" },
  { L2 "ADD --from=x a b\n", 3, "ADD: unknown flag '--from'" },
  { L2 "ADD --parents a b\n", 3, "ADD: unknown flag '--parents'" },
  { L2 "COPY --checksum=sha256:0 a b\n", 3, "unknown flag '--checksum'" },
  { L2 "COPY --Link a b\n", 3, "unknown flag '--Link'" },
  { L2 "RUN --mount x\n", 3, "missing a value on flag '--mount'" },
  { L2 "RUN --network=bridge x\n", 3, "unsupported network mode 'bridge'" },
  { L2 "RUN --network=none --network=host x\n", 3, "duplicate flag" },
  { L2 "RUN --security=root x\n", 3, "unsupported security mode 'root'" },
  { L2 "RUN --chown=1 x\n", 3, "RUN: unknown flag '--chown'" },
  { "# c\nFROM --platform a\n", 2, "missing a value on flag '--platform'" },
  { "\nFROM --bogus=1 a\n", 2, "FROM: unknown flag '--bogus'" },
  { L2 "ENV --x=1 A=b\n", 3, "ENV: unknown flag '--x'" },
  { L2 "CMD --x=1 a\n", 3, "CMD: unknown flag '--x'" },
  { L2 "WORKDIR --x /a\n", 3, "WORKDIR: unknown flag '--x'" },
  { L2 "ONBUILD --x RUN a\n", 3, "ONBUILD: unknown flag '--x'" },
  { L2 "ADD --checksum=md5:00 a b\n", 3, "--checksum must be of the form" },
};

static const struct bad_case arg_errors[] = {
  { L2 "COPY a\n", 3, "COPY: requires at least two arguments" },
  { L2 "COPY --from=x a\n", 3, "COPY: requires at least two arguments" },
  { L2 "ADD [\"a\"]\n", 3, "ADD: requires at least two arguments" },
  { L2 "COPY\n", 3, "COPY: requires at least two arguments" },
  { L2 "COPY a <<EOF\nx\nEOF\n", 3, "a heredoc cannot be the destination" },
  { L2 "ADD <<A <<-B\na\nA\nB\n", 3, "ADD: a heredoc cannot be the dest" },
  { L2 "COPY [\"a\", \"<<EOF\"]\n", 3, "heredoc cannot be the destination" },
  { L2 "ONBUILD COPY x 2<<B\nB\n", 3, "heredoc cannot be the destination" },
  { L2 "RUN\n", 3, "RUN: requires at least one argument" },
  { L2 "RUN []\n", 3, "RUN: requires at least one argument" },
  { L2 "CMD\n", 3, "CMD: requires at least one argument" },
  { L2 "ENTRYPOINT\n", 3, "ENTRYPOINT: requires at least one argument" },
  { L2 "USER\n", 3, "USER: requires exactly one argument" },
  { L2 "WORKDIR\n", 3, "WORKDIR: requires exactly one argument" },
  { L2 "STOPSIGNAL\n", 3, "STOPSIGNAL: requires exactly one argument" },
  { L2 "MAINTAINER\n", 3, "MAINTAINER: requires exactly one argument" },
  { L2 "EXPOSE\n", 3, "EXPOSE: requires at least one argument" },
  { L2 "VOLUME\n", 3, "VOLUME: requires at least one argument" },
  { L2 "VOLUME []\n", 3, "VOLUME: requires at least one argument" },
  { L2 "VOLUME [\"/a\", \"\"]\n", 3, "a volume cannot be an empty string" },
  { L2 "VOLUME [\" \\t\"]\n", 3, "a volume cannot be an empty string" },
  { L2 "ENV\n", 3, "ENV: requires at least one argument" },
  { L2 "LABEL\n", 3, "LABEL: requires at least one argument" },
  { L2 "ARG\n", 3, "ARG: requires at least one argument" },
  { L2 "ARG =x\n", 3, "ARG: a name cannot be empty in '=x'" },
  { L2 "ENV =x\n", 3, "ENV: a name cannot be empty" },
  { L2 "LABEL a=1 =2\n", 3, "LABEL: a name cannot be empty" },
  { L2 "SHELL /bin/sh -c\n", 3, "SHELL: requires the arguments in JSON" },
  { L2 "SHELL ['sh', '-c']\n", 3, "SHELL: requires the arguments in JSON" },
  { L2 "SHELL []\n", 3, "SHELL: requires at least one argument" },
  { L2 "SHELL\n", 3, "SHELL: requires the arguments in JSON" },
  { L2 "FROB x y\n", 3, "unknown instruction 'FROB'" },
  { L2 "  Frob\n", 3, "unknown instruction 'Frob'" },
  { L4 "RUN a \\\n  b\nfrob \\\n x\n", 7, "unknown instruction 'frob'" },
};

static const struct bad_case parse_errors[] = {
  { L2 "ENV PATH\n", 3, "ENV must have two arguments" },
  { L2 "LABEL a\n", 3, "LABEL must have two arguments" },
  { L2 "ENV a=b c\n", 3, "can't find = in 'c'" },
  { L4 "LABEL a=1 \\\n  b\n", 5, "can't find = in 'b'" },
  { L2 "ONBUILD ENV x\n", 3, "ENV must have two arguments" },
  { L2 "CMD [\"a\", 1]\n", 3, "JSON array must contain only strings" },
  { L2 "RUN [[]]\n", 3, "JSON array must contain only strings" },
  { L2 "ENTRYPOINT [{\"a\": 1}]\n", 3, "JSON array must contain only" },
  { L2 "COPY [\"a\", null]\n", 3, "JSON array must contain only strings" },
  { L2 "VOLUME [true]\n", 3, "JSON array must contain only strings" },
  { L2 "SHELL [\"sh\", false]\n", 3, "JSON array must contain only" },
  { L2 "HEALTHCHECK CMD [\"a\", 2]\n", 3, "JSON array must contain only" },
  { L2 "ONBUILD RUN [\"a\", 1.5e3]\n", 3, "JSON array must contain only" },
  { L4 "RUN <<EOF\necho hi\n", 5, "unterminated heredoc 'EOF'" },
  { L2 "COPY <<A <<B /x\na\nA\nb\n", 3, "unterminated heredoc 'B'" },
  { L2 "ONBUILD RUN <<EOF\n", 3, "unterminated heredoc 'EOF'" },
};

static const struct bad_case health_errors[] = {
  { L2 "HEALTHCHECK\n", 3, "HEALTHCHECK: requires at least one argument" },
  { L2 "HEALTHCHECK FOO x\n", 3, "unknown type 'FOO'" },
  { L2 "HEALTHCHECK CMD\n", 3, "missing command after HEALTHCHECK CMD" },
  { L2 "HEALTHCHECK CMD []\n", 3, "missing command after HEALTHCHECK CMD" },
  { L2 "HEALTHCHECK NONE x\n", 3, "HEALTHCHECK NONE takes no arguments" },
  { L2 "HEALTHCHECK --retries=1 NONE\n", 3, "NONE takes no arguments" },
  { L2 "HEALTHCHECK --interval CMD x\n", 3, "missing a value on flag" },
  { L2 "HEALTHCHECK --interval=1 CMD x\n", 3, "invalid duration '1'" },
  { L2 "HEALTHCHECK --timeout=10x CMD x\n", 3, "invalid duration '10x'" },
  { L2 "HEALTHCHECK --timeout=1h-1m CMD x\n", 3, "invalid duration" },
  { L2 "HEALTHCHECK --start-period=. CMD x\n", 3, "invalid duration '.'" },
  { L2 "HEALTHCHECK --interval=500us CMD x\n", 3, "less than 1ms" },
  { L2 "HEALTHCHECK --interval=-1s CMD x\n", 3, "less than 1ms" },
  { L2 "HEALTHCHECK --start-interval=1ns CMD x\n", 3, "less than 1ms" },
  { L2 "HEALTHCHECK --retries=-1 CMD x\n", 3, "--retries cannot be negative" },
  { L2 "HEALTHCHECK --retries=abc CMD x\n", 3, "invalid number 'abc'" },
  { L2 "HEALTHCHECK --retries=1.5 CMD x\n", 3, "invalid number '1.5'" },
  { L2 "HEALTHCHECK --retries=\" 3\" CMD x\n", 3, "invalid number ' 3'" },
  { L2 "HEALTHCHECK --retries=3x CMD x\n", 3, "invalid number '3x'" },
  { L2 "HEALTHCHECK --retries=+ CMD x\n", 3, "invalid number '+'" },
  { L2 "HEALTHCHECK --retries=2147483648 CMD x\n", 3, "out of range" },
  { L2 "HEALTHCHECK --retries=-2147483649 CMD x\n", 3, "out of range" },
  { L2 "HEALTHCHECK --interval=1s --interval=2s CMD x\n", 3,
    "duplicate flag '--interval'" },
  { L2 "HEALTHCHECK --bogus=1 CMD x\n", 3, "unknown flag '--bogus'" },
};

static const struct bad_case stage_errors[] = {
  { "ARG x\nFROM a b\n", 2, "FROM: requires either one or three arguments" },
  { "\nFROM a AS\n", 2, "requires either one or three arguments" },
  { "\nFROM a AS b c\n", 2, "requires either one or three arguments" },
  { "\nFROM a FOR b\n", 2, "requires either one or three arguments" },
  { "\nFROM\n", 2, "requires either one or three arguments" },
  { "\nFROM a AS 1abc\n", 2, "invalid stage name '1abc'" },
  { "\nFROM a AS b@c\n", 2, "invalid stage name 'b@c'" },
  { "\nFROM a AS _b\n", 2, "invalid stage name '_b'" },
  { "\nFROM a AS -\n", 2, "invalid stage name '-'" },
  { "\nFROM a AS $name\n", 2, "invalid stage name '$name'" },
  { "\nFROM a AS foo:$BAR\n", 2, "invalid stage name 'foo:$BAR'" },
  { "\nFROM a AS ${X}\n", 2, "invalid stage name '${X}'" },
  { "FROM a AS B\nRUN x\nFROM c AS b\n", 3, "duplicate stage name 'b'" },
  { "FROM a AS x\nFROM b\nfrom c as X\n", 3, "duplicate stage name 'x'" },
  { "RUN x\nFROM a\n", 1, "RUN: no build stage in current context" },
  { "ARG a\n\nENV b=c\nFROM a\n", 3, "ENV: no build stage" },
  { "# syntax=x\nCOPY a b\n", 2, "COPY: no build stage" },
  { "ARG a\nARG b\n", 0, "no FROM instruction" },
};

static const struct bad_case onbuild_errors[] = {
  { L2 "ONBUILD\n", 3, "ONBUILD: requires an instruction" },
  { L2 "ONBUILD ONBUILD RUN x\n", 3, "chaining ONBUILD via 'ONBUILD ONBUILD'" },
  { L2 "ONBUILD FROM x\n", 3, "isn't allowed as an ONBUILD trigger" },
  { L2 "ONBUILD maintainer x\n", 3, "isn't allowed as an ONBUILD trigger" },
  { L4 "ONBUILD COPY --bogus a b\n", 5, "COPY: unknown flag '--bogus'" },
  { L4 "ONBUILD FROB x\n", 5, "unknown instruction 'FROB'" },
  { L4 "ONBUILD COPY a\n", 5, "COPY: requires at least two arguments" },
  { L4 "ONBUILD \\\n  RUN --mount=type=nfs x\n", 5, "unsupported mount" },
};

#define RM(spec) L2 "RUN --mount=" spec " true\n"

static const struct bad_case mount_errors[] = {
  { RM("type=cache,target=/x,bogus=1"), 3, "unexpected key 'bogus'" },
  { RM("type=nfs,target=/x"), 3, "unsupported mount type 'nfs'" },
  { RM("type=,target=/x"), 3, "unsupported mount type ''" },
  { RM("type=cache,target=/x,sharing=public"), 3,
    "unsupported sharing value 'public'" },
  { RM("type=cache,target=/x,mode=0999"), 3, "invalid mode '0999'" },
  { RM("type=cache,target=/x,mode=-1"), 3, "invalid mode '-1'" },
  { RM("type=cache,target=/x,mode=rw"), 3, "invalid mode 'rw'" },
  { RM("type=cache,target=/x,mode="), 3, "invalid mode ''" },
  { RM("type=cache,target=/x,uid=abc"), 3, "invalid uid 'abc'" },
  { RM("type=cache,target=/x,uid=-1"), 3, "invalid uid '-1'" },
  { RM("type=cache,target=/x,uid=4294967296"), 3, "invalid uid" },
  { RM("type=cache,target=/x,gid=1.5"), 3, "invalid gid '1.5'" },
  { RM("type=tmpfs,target=/x,size=abc"), 3, "invalid size 'abc'" },
  { RM("type=tmpfs,target=/x,size=-1"), 3, "invalid size '-1'" },
  { RM("type=tmpfs,target=/x,size=10q"), 3, "invalid size '10q'" },
  { RM("type=cache"), 3, "mount has no target" },
  { RM("type=bind,source=/a"), 3, "mount has no target" },
  { RM("type=tmpfs,size=1m"), 3, "mount has no target" },
  { RM("type=secret"), 3, "secret mount needs an id, a target or an env" },
  { RM("type=secret,required"), 3, "secret mount needs an id" },
  { RM("type=tmpfs,target=/x,from=a"), 3, "'from' is only for bind and cache" },
  { RM("type=secret,id=a,from=b"), 3, "'from' is only for bind and cache" },
  { RM("type=ssh,from=b"), 3, "'from' is only for bind and cache" },
  { RM("type=cache,target=/x,size=1m"), 3, "'size' is only for tmpfs" },
  { RM("target"), 3, "'target' must be a key=value pair" },
  { RM("type"), 3, "'type' must be a key=value pair" },
  { RM("target=/x,ro=maybe"), 3, "invalid value 'maybe' for 'ro'" },
  { RM("target=/x,rw=2"), 3, "invalid value '2' for 'rw'" },
  { RM("type=ssh,required=sure"), 3, "invalid value 'sure' for 'required'" },
  { RM("target=/x,mode=0755"), 3, "'mode' is not allowed for bind mounts" },
  { RM("type=tmpfs,target=/x,uid=1"), 3, "'uid' is not allowed for tmpfs" },
  { RM("type=bind,target=/x,gid=1"), 3, "'gid' is not allowed for bind" },
  { RM("type=bind,target=/x,sharing=locked"), 3,
    "'sharing' is only for cache mounts, not bind" },
  { RM("type=secret,id=a,sharing=shared"), 3, "'sharing' is only for cache" },
  { RM("type=cache,target=/x,required"), 3,
    "'required' is only for secret and ssh mounts, not cache" },
  { RM("required=false,target=/x"), 3, "'required' is only for secret" },
  { RM("type=secret,id=a,source=b"), 3, "takes 'id' or 'source', not both" },
  { RM("type=cache,target=/x,"), 3, "'' must be a key=value pair" },
  { RM(",type=cache,target=/x"), 3, "'' must be a key=value pair" },
  { RM("type=cache,,target=/x"), 3, "'' must be a key=value pair" },
  { RM("type=bind,target=/a\\\"b"), 3, "bare '\"' in non-quoted field" },
  { RM("\\\"type=bind,target=/a"), 3, "extraneous or missing '\"'" },
  { RM("\\\"type=bind\\\"x,target=/a"), 3, "extraneous or missing" },
  { RM("type=cache,target=/x,from=$STAGE"), 3, "'from' does not take vari" },
  { RM("type=cache,target=/x,from=a${B}"), 3, "'from' does not take vari" },
  { L4 "RUN --mount=target=/a --mount=type=tmpfs x\n", 5, "no target" },
};

static void
check_bad_table(const struct bad_case *cases, size_t n)
{
  for (size_t i = 0; i < n; i++)
    check_bad(&cases[i]);
}

/* Positive cases: the typed fields.  */

static const struct instr *
last_instr(const struct plan_fixture *f)
{
  const struct stage *st = &f->plan->stages[f->plan->nstages - 1];

  return &st->instrs[st->ninstrs - 1];
}

static void
test_copy_flags(void)
{
  cleanup_fixture struct plan_fixture f = { NULL, NULL };
  const struct instr *in;

  if (!plans("FROM a\nCOPY --from=build --chown=1:2 --chmod=755 --link "
             "a b /dst/\n",
             &f))
    return;
  in = last_instr(&f);
  is_int(in->kind, INSTR_COPY, "COPY kind");
  is_int(in->line, 2, "COPY line");
  is_str(in->from, "build", "--from");
  is_str(in->chown, "1:2", "--chown");
  is_str(in->chmod, "755", "--chmod");
  ok(in->link, "--link alone is true");
  ok(!in->parents, "--parents not given");
  is_int((long long)in->nexcludes, 0, "no --exclude");
  ok(in->excludes != NULL && in->excludes[0] == NULL, "excludes is empty");
  is_int(in->unpack, -1, "--unpack not given");
  is_int((long long)in->nargs, 3, "sources and destination");
  is_str(in->args[2], "/dst/", "destination last");
  ok(!in->json, "shell form");
}

static void
test_copy_bools(void)
{
  static const struct {
    const char *flag;
    bool want;
  } cases[] = {
    { "--link=false", false }, { "--link=true", true },
    { "--link=TRUE", true },   { "--link=False", false },
    { "--link=tRuE", true },   { "--link=fAlSe", false },
    { "--link", true },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(cases); i++) {
    cleanup_fixture struct plan_fixture f = { NULL, NULL };
    cleanup_free char *text =
        cb_xasprintf("FROM a\nCOPY %s x y\n", cases[i].flag);

    if (plans(text, &f))
      is_int(last_instr(&f)->link, cases[i].want, "%s", cases[i].flag);
  }
}

static void
test_copy_lists(void)
{
  cleanup_fixture struct plan_fixture f = { NULL, NULL };
  const struct instr *in;

  if (!plans("FROM a\nCOPY --exclude=*.md --parents --exclude=tmp/ "
             "[\"a b\", \"/c/\"]\n",
             &f))
    return;
  in = last_instr(&f);
  is_int((long long)in->nexcludes, 2, "two --exclude");
  is_str(in->excludes[0], "*.md", "first --exclude");
  is_str(in->excludes[1], "tmp/", "second --exclude");
  ok(in->excludes[2] == NULL, "excludes NULL-terminated");
  ok(in->parents, "--parents");
  ok(in->json, "JSON form");
  is_str(in->args[0], "a b", "JSON source keeps its space");
  ok(in->from == NULL && in->chown == NULL && in->chmod == NULL,
     "flags not given are NULL");
}

static void
test_add_flags(void)
{
  cleanup_fixture struct plan_fixture f = { NULL, NULL };
  cleanup_fixture struct plan_fixture g = { NULL, NULL };
  const struct instr *in;

  if (plans("FROM a\nADD --checksum=sha256:abc --keep-git-dir --unpack=false "
            "--link=false https://x/y.tgz /y\n",
            &f)) {
    in = last_instr(&f);
    is_int(in->kind, INSTR_ADD, "ADD kind");
    is_str(in->checksum, "sha256:abc", "--checksum");
    ok(in->keep_git_dir, "--keep-git-dir");
    is_int(in->unpack, 0, "--unpack=false");
    ok(!in->link, "--link=false");
  }
  if (plans("FROM a\nADD --unpack --checksum=$SUM a.tar /\n", &g)) {
    in = last_instr(&g);
    is_int(in->unpack, 1, "--unpack alone");
    is_str(in->checksum, "$SUM", "--checksum with a variable is kept");
    ok(!in->keep_git_dir, "--keep-git-dir not given");
  }
}

static void
test_run_flags(void)
{
  cleanup_fixture struct plan_fixture f = { NULL, NULL };
  const struct instr *in;

  if (!plans("FROM a\nRUN --network=none --security=insecure make\n", &f))
    return;
  in = last_instr(&f);
  is_str(in->network, "none", "--network");
  is_str(in->security, "insecure", "--security");
  is_int((long long)in->nmounts, 0, "no mounts");
  is_str(in->args[0], "make", "command");
}

static void
check_mount(const char *spec, const struct instr_mount *want)
{
  struct instr_mount m;
  cleanup_error struct cb_error *err = NULL;

  if (!ok(instr_parse_mount(spec, &m, &err) == 0, "mount '%s'", spec)) {
    diag("error: %s", err->msg);
    return;
  }
  ok(m.type == want->type && m.sharing == want->sharing &&
         m.readonly == want->readonly && m.required == want->required,
     "'%s': type %d sharing %d ro %d required %d", spec, (int)m.type,
     (int)m.sharing, m.readonly, m.required);
  is_str(m.target, want->target, "'%s': target", spec);
  is_str(m.source, want->source, "'%s': source", spec);
  is_str(m.from, want->from, "'%s': from", spec);
  is_str(m.id, want->id, "'%s': id", spec);
  is_str(m.env, want->env, "'%s': env", spec);
  ok(m.has_mode == want->has_mode && m.mode == want->mode &&
         m.has_uid == want->has_uid && m.uid == want->uid &&
         m.has_gid == want->has_gid && m.gid == want->gid &&
         m.has_size == want->has_size && m.size == want->size,
     "'%s': mode %o uid %u gid %u size %llu", spec, m.mode, m.uid, m.gid,
     (unsigned long long)m.size);
  instr_mount_release(&m);
}

static void
test_mounts_typed(void)
{
  static const struct {
    const char *spec;
    struct instr_mount want;
  } cases[] = {
    { "target=/src", { .type = MOUNT_BIND, .target = "/src", .readonly = 1 } },
    { "type=bind,src=/a,dst=/b,from=ctx",
      { .type = MOUNT_BIND,
        .source = "/a",
        .target = "/b",
        .from = "ctx",
        .readonly = 1 } },
    { "type=bind,destination=/b,rw",
      { .type = MOUNT_BIND, .target = "/b", .readonly = 0 } },
    { "type=bind,target=/b,ro=false",
      { .type = MOUNT_BIND, .target = "/b", .readonly = 0 } },
    { "type=bind,target=/b,readwrite=true",
      { .type = MOUNT_BIND, .target = "/b", .readonly = 0 } },
    { "type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0755,"
      "uid=1000,gid=100,from=base,source=/c",
      { .type = MOUNT_CACHE,
        .target = "/root/.cache",
        .id = "pip",
        .sharing = MOUNT_SHARING_LOCKED,
        .has_mode = 1,
        .mode = 0755,
        .has_uid = 1,
        .uid = 1000,
        .has_gid = 1,
        .gid = 100,
        .from = "base",
        .source = "/c" } },
    { "type=cache,target=/c,sharing=private,readonly",
      { .type = MOUNT_CACHE,
        .target = "/c",
        .readonly = 1,
        .sharing = MOUNT_SHARING_PRIVATE } },
    { "type=cache,target=/c,rw=false",
      { .type = MOUNT_CACHE, .target = "/c", .readonly = 1 } },
    { "type=cache,target=/c,sharing=shared",
      { .type = MOUNT_CACHE, .target = "/c" } },
    { "type=tmpfs,target=/t,size=64m",
      { .type = MOUNT_TMPFS,
        .target = "/t",
        .has_size = 1,
        .size = 64u << 20 } },
    { "type=tmpfs,target=/t,size=1024",
      { .type = MOUNT_TMPFS, .target = "/t", .has_size = 1, .size = 1024 } },
    { "type=tmpfs,target=/t,size=1g",
      { .type = MOUNT_TMPFS,
        .target = "/t",
        .has_size = 1,
        .size = 1u << 30 } },
    { "type=secret,id=tok,target=/run/s,required",
      { .type = MOUNT_SECRET,
        .id = "tok",
        .target = "/run/s",
        .readonly = 1,
        .required = 1 } },
    { "type=secret,id=tok,env=TOKEN,required=false,mode=0400,uid=1",
      { .type = MOUNT_SECRET,
        .id = "tok",
        .env = "TOKEN",
        .readonly = 1,
        .has_mode = 1,
        .mode = 0400,
        .has_uid = 1,
        .uid = 1 } },
    { "type=secret,env=TOKEN",
      { .type = MOUNT_SECRET, .env = "TOKEN", .readonly = 1 } },
    { "type=ssh", { .type = MOUNT_SSH, .readonly = 1 } },
    { "type=ssh,id=key,required=true,target=/s",
      { .type = MOUNT_SSH,
        .id = "key",
        .target = "/s",
        .readonly = 1,
        .required = 1 } },
    { "TYPE=cache,Target=/c,RO=true",
      { .type = MOUNT_CACHE, .target = "/c", .readonly = 1 } },
    { "\"type=bind\",\"target=/a,b\"",
      { .type = MOUNT_BIND, .target = "/a,b", .readonly = 1 } },
    { "type=secret,\"id=a\"\"b\"",
      { .type = MOUNT_SECRET, .id = "a\"b", .readonly = 1 } },
    { "target=/a=b", { .type = MOUNT_BIND, .target = "/a=b", .readonly = 1 } },
    { "type=CACHE,target=/c,sharing=LOCKED",
      { .type = MOUNT_CACHE,
        .target = "/c",
        .sharing = MOUNT_SHARING_LOCKED } },
    { "type=Secret,source=tok",
      { .type = MOUNT_SECRET, .source = "tok", .id = "tok", .readonly = 1 } },
    { "type=cache,target=/c,from=ab$",
      { .type = MOUNT_CACHE, .target = "/c", .from = "ab$" } },
    { "\"type=tmpfs\",\"target=/t\"",
      { .type = MOUNT_TMPFS, .target = "/t", .readonly = 0 } },
    { "target=/x,target=/y",
      { .type = MOUNT_BIND, .target = "/y", .readonly = 1 } },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(cases); i++)
    check_mount(cases[i].spec, &cases[i].want);
}

/* Mounts come through the RUN flags in order, with the flag reader's
   quote removal in front of the CSV reader.  */
static void
test_run_mounts(void)
{
  cleanup_fixture struct plan_fixture f = { NULL, NULL };
  const struct instr *in;

  if (!plans("FROM a\nRUN --mount=type=cache,target=/c \\\n"
             "    --mount='type=bind,\"target=/a,b\"' \\\n"
             "    --mount=\"type=secret,id=x y\" make\n",
             &f))
    return;
  in = last_instr(&f);
  if (!is_int((long long)in->nmounts, 3, "three mounts"))
    return;
  is_int(in->mounts[0].type, MOUNT_CACHE, "first is cache");
  is_str(in->mounts[1].target, "/a,b", "quoted CSV field keeps its comma");
  is_str(in->mounts[2].id, "x y", "double-quoted flag value keeps space");
  is_str(in->args[0], "make", "command after the mounts");
}

static void
test_health(void)
{
  cleanup_fixture struct plan_fixture f = { NULL, NULL };
  const struct instr_health *h;
  const struct instr *in;

  if (!plans("FROM a\nHEALTHCHECK --interval=1m30s --timeout=1.5h "
             "--start-period=500ms --start-interval=0 --retries=3 "
             "CMD curl -f http://x/\n",
             &f))
    return;
  in = last_instr(&f);
  h = &in->health;
  is_int(h->interval, 90000000000LL, "--interval=1m30s");
  is_int(h->timeout, 5400000000000LL, "--timeout=1.5h");
  is_int(h->start_period, 500000000LL, "--start-period=500ms");
  is_int(h->start_interval, 0, "--start-interval=0");
  is_int(h->retries, 3, "--retries=3");
  ok(!h->none, "not NONE");
  is_str(in->args[0], "CMD", "type word");
  is_str(in->args[1], "curl -f http://x/", "shell-form command");
}

static void
test_health_none(void)
{
  cleanup_fixture struct plan_fixture f = { NULL, NULL };
  cleanup_fixture struct plan_fixture g = { NULL, NULL };
  const struct instr *in;

  if (plans("FROM a\nHEALTHCHECK none\n", &f)) {
    in = last_instr(&f);
    ok(in->health.none, "NONE (any case)");
    is_int(in->health.retries, -1, "retries not given");
  }
  if (plans("FROM a\nHEALTHCHECK cmd [\"true\"]\n", &g)) {
    in = last_instr(&g);
    ok(!in->health.none && in->json, "cmd in exec form");
    is_int(in->health.interval, 0, "no interval");
    is_int(in->health.retries, -1, "no retries");
  }
}

static void
test_durations(void)
{
  static const struct {
    const char *in;
    long long ns;
  } good[] = {
    { "0", 0 },
    { "+0", 0 },
    { "-0", 0 },
    { "0s", 0 },
    { "1ns", 1 },
    { "1us", 1000 },
    { "1\xC2\xB5s", 1000 },
    { "1\xCE\xBCs", 1000 },
    { "500ms", 500000000 },
    { "1.5h", 5400000000000LL },
    { "1m30s", 90000000000LL },
    { "2h45m", 9900000000000LL },
    { ".5s", 500000000 },
    { "5.s", 5000000000LL },
    { "+5s", 5000000000LL },
    { "-1.5h", -5400000000000LL },
    { "1.000000001s", 1000000001 },
    { "0.3s", 300000000 },
    { "1h1m1s1ms1us1ns", 3661001001001LL },
    { "2562047h", 9223369200000000000LL },
    { "9223372036.854775807s", 9223372036854775807LL },
    { "-9223372036.854775808s", (-9223372036854775807LL - 1) },
    { "2562047.788015215h", 9223372036854774000LL },
    { "0.1234567890123456789s", 123456789 },
    { "1.1s", 1100000000 },
    { "4.35s", 4350000000LL },
    { "0.29s", 290000000 },
    { "1.001ms", 1001000 },
    { "1.5m", 90000000000LL },
    { "01s", 1000000000 },
  };
  static const char *const bad[] = {
    "",     "1",           "s",        "1x",     ".",
    ".s",   "1h-1m",       "1 s",      "-",      "+",
    "1e3s", "9223372037s", "2562048h", "0x10s",  "9223372036.854775808s",
    "1sec", "1S",          "1H",       "s1",     "1m.s",
    "--1s", "1s ",         " 1s",      "1.2.3s",
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(good); i++) {
    cleanup_error struct cb_error *err = NULL;
    int64_t ns = -42;

    if (ok(instr_parse_duration(good[i].in, &ns, &err) == 0, "duration '%s'",
           good[i].in))
      is_int(ns, good[i].ns, "'%s' in ns", good[i].in);
    else
      diag("error: %s", err->msg);
  }
  for (size_t i = 0; i < CB_N_ELEMENTS(bad); i++) {
    cleanup_error struct cb_error *err = NULL;
    int64_t ns = -42;

    ok(instr_parse_duration(bad[i], &ns, &err) == -1 && err != NULL &&
           err->kind == CB_ERR_PARSE && ns == -42,
       "bad duration '%s'", bad[i]);
  }
}

static void
test_arg(void)
{
  cleanup_fixture struct plan_fixture f = { NULL, NULL };
  const struct instr *in;

  if (!plans("ARG a b=1 c= d=\"x y\"\nFROM img\n", &f))
    return;
  is_int((long long)f.plan->nmeta_args, 1, "one meta ARG");
  in = &f.plan->meta_args[0];
  is_int(in->kind, INSTR_ARG, "ARG kind");
  if (!is_int((long long)in->nkvs, 4, "four names"))
    return;
  is_str(in->kvs[0].key, "a", "name without default");
  ok(in->kvs[0].value == NULL, "no default is NULL");
  is_str(in->kvs[1].value, "1", "default");
  is_str(in->kvs[2].value, "", "empty default");
  is_str(in->kvs[3].value, "\"x y\"", "quotes kept until expansion");
}

static void
test_env_label(void)
{
  cleanup_fixture struct plan_fixture f = { NULL, NULL };
  const struct stage *st;

  if (!plans("FROM a\nENV A hello  world \nENV B=1 C=\"2 3\" D=\nLABEL "
             "maintainer J \"j@x\"\nLABEL x.y=z\n",
             &f))
    return;
  st = &f.plan->stages[0];
  if (!is_int((long long)st->ninstrs, 5, "five instructions"))
    return;
  is_int((long long)st->instrs[1].nkvs, 1, "legacy ENV is one pair");
  is_str(st->instrs[1].kvs[0].key, "A", "legacy key");
  is_str(st->instrs[1].kvs[0].value, "hello  world", "legacy value");
  is_int((long long)st->instrs[2].nkvs, 3, "three = pairs");
  is_str(st->instrs[2].kvs[1].value, "\"2 3\"", "quoted value kept");
  is_str(st->instrs[2].kvs[2].value, "", "empty value");
  is_str(st->instrs[3].kvs[0].value, "J \"j@x\"", "legacy LABEL");
  is_int(st->instrs[4].kind, INSTR_LABEL, "LABEL kind");
  is_str(st->instrs[4].kvs[0].key, "x.y", "LABEL key");
}

static void
test_stages(void)
{
  cleanup_fixture struct plan_fixture f = { NULL, NULL };
  const struct build_plan *p;

  if (!plans("ARG V=1\nFROM --platform=linux/arm64 img:$V AS Build\n"
             "RUN a\nFROM scratch\nCOPY --from=BUILD / /\n"
             "from x as last.stage-2_x\n",
             &f))
    return;
  p = f.plan;
  if (!is_int((long long)p->nstages, 3, "three stages"))
    return;
  is_str(p->stages[0].name, "build", "stage name lower-cased");
  is_str(p->stages[0].from->platform, "linux/arm64", "--platform");
  ok(p->stages[0].from == &p->stages[0].instrs[0], "from is instrs[0]");
  is_int((long long)p->stages[0].ninstrs, 2, "FROM and RUN");
  is_str(p->stages[0].from->args[0], "img:$V", "image not expanded");
  ok(p->stages[1].name == NULL, "unnamed stage");
  is_str(p->stages[2].name, "last.stage-2_x", "dots, dashes, underscores");
  is_int(build_plan_find_stage(p, "build"), 0, "find by name");
  is_int(build_plan_find_stage(p, "BuIlD"), 0, "find case-insensitively");
  is_int(build_plan_find_stage(p, "1"), 1, "find by index");
  is_int(build_plan_find_stage(p, "2"), 2, "find the last by index");
  is_int(build_plan_find_stage(p, "3"), -1, "index out of range");
  is_int(build_plan_find_stage(p, "nope"), -1, "unknown name");
  is_int(build_plan_find_stage(p, ""), -1, "empty name");
  is_int(build_plan_find_stage(p, "1x"), -1, "not a number");
  is_int(build_plan_find_stage(p, "-1"), -1, "negative index");
}

static void
test_onbuild(void)
{
  cleanup_fixture struct plan_fixture f = { NULL, NULL };
  const struct instr *in;

  if (!plans("FROM a\n\nONBUILD COPY --from=b --chown=1 x y\n", &f))
    return;
  in = last_instr(&f);
  is_int(in->kind, INSTR_ONBUILD, "ONBUILD kind");
  if (!ok(in->trigger != NULL, "trigger typed"))
    return;
  is_int(in->trigger->kind, INSTR_COPY, "trigger is COPY");
  is_str(in->trigger->from, "b", "trigger flags typed");
  is_int(in->trigger->line, 3, "trigger on the ONBUILD line");
}

static void
test_kinds(void)
{
  cleanup_fixture struct plan_fixture f = { NULL, NULL };
  static const enum instr_kind want[] = {
    INSTR_FROM,        INSTR_RUN,        INSTR_CMD,     INSTR_LABEL,
    INSTR_MAINTAINER,  INSTR_EXPOSE,     INSTR_ENV,     INSTR_ADD,
    INSTR_COPY,        INSTR_ENTRYPOINT, INSTR_VOLUME,  INSTR_USER,
    INSTR_WORKDIR,     INSTR_ARG,        INSTR_ONBUILD, INSTR_STOPSIGNAL,
    INSTR_HEALTHCHECK, INSTR_SHELL,
  };
  const struct stage *st;

  if (!plans("from a\nrun b\nCmd c\nLABEL d=e\nmaintainer f\nexpose 1 2\n"
             "env g=h\nadd i j\ncopy k l\nentrypoint m\nvolume /n /o\n"
             "user p\nworkdir /q\narg r\nonbuild run s\nstopsignal 9\n"
             "healthcheck none\nshell [\"t\"]\n",
             &f))
    return;
  st = &f.plan->stages[0];
  if (!is_int((long long)st->ninstrs, CB_N_ELEMENTS(want), "all kinds"))
    return;
  for (size_t i = 0; i < CB_N_ELEMENTS(want); i++) {
    is_int(st->instrs[i].kind, want[i], "%s", instr_kind_name(want[i]));
    is_int(st->instrs[i].line, (long long)i + 1, "%s line",
           instr_kind_name(want[i]));
  }
  is_int((long long)st->instrs[5].nargs, 2, "EXPOSE items");
  is_int((long long)st->instrs[10].nargs, 2, "VOLUME items");
}

int
main(void)
{
  check_bad_table(flag_errors, CB_N_ELEMENTS(flag_errors));
  check_bad_table(arg_errors, CB_N_ELEMENTS(arg_errors));
  check_bad_table(parse_errors, CB_N_ELEMENTS(parse_errors));
  check_bad_table(health_errors, CB_N_ELEMENTS(health_errors));
  check_bad_table(stage_errors, CB_N_ELEMENTS(stage_errors));
  check_bad_table(onbuild_errors, CB_N_ELEMENTS(onbuild_errors));
  check_bad_table(mount_errors, CB_N_ELEMENTS(mount_errors));
  test_copy_flags();
  test_copy_bools();
  test_copy_lists();
  test_add_flags();
  test_run_flags();
  test_mounts_typed();
  test_run_mounts();
  test_health();
  test_health_none();
  test_durations();
  test_arg();
  test_env_label();
  test_stages();
  test_onbuild();
  test_kinds();
  return done_testing();
}
