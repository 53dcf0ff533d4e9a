#include "config.h"

#include "builder/lint.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/lint-internal.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/mem.h"
#include "parser/dockerfile.h"
#include "parser/instructions.h"
#include "tests/unit/tap.h"

#include "common/banned.h"

/* The linter: the shell reader, then every rule with a Dockerfile that
   must make it fire (on a given line) and one that must not, then the
   ways to silence a rule and the report formats.  */

/* --- the shell reader --- */

/* The commands of TEXT as "word word<sep>" joined by spaces; <sep> is
   ';' (end), '|' (pipe) or '&' (background).  */
static char *
render(const char *text)
{
  struct lint_script s;
  struct cb_buf b = CB_BUF_INIT;

  lint_script_parse(text, &s);
  for (size_t i = 0; i < s.n; i++) {
    if (i > 0)
      cb_buf_addc(&b, ' ');
    for (size_t w = 0; w < s.cmds[i].nwords; w++)
      cb_buf_addf(&b, "%s%s", w > 0 ? " " : "", s.cmds[i].words[w]);
    cb_buf_addc(&b, s.cmds[i].sep == LINT_SEP_PIPE ? '|'
                    : s.cmds[i].sep == LINT_SEP_BG ? '&'
                                                   : ';');
  }
  lint_script_release(&s);
  return cb_buf_detach(&b, NULL);
}

static void
test_script(void)
{
  static const struct {
    const char *text, *want;
  } cases[] = {
    { "apt-get update && apt-get install -y curl",
      "apt-get update; apt-get install -y curl;" },
    { "curl -fsSL https://x/i.sh | sh -s -- -y",
      "curl -fsSL https://x/i.sh| sh -s -- -y;" },
    { "nginx & php-fpm", "nginx& php-fpm;" },
    { "a 2>&1 >/dev/null | b", "a| b;" },
    { "make &> log; echo 'a && b' \"c|d\"", "make; echo a && b c|d;" },
    { "echo $(curl x | sh) `y`", "echo $(curl x | sh) `y`;" },
    { "cat <<EOF >f\ncurl x | sh\nEOF\necho done", "cat; echo done;" },
    { "a \\\n  b # c | d\ne", "a b; e;" },
    { "(cd x && make) || true", "cd x; make; true;" },
    { "bash <(curl -s x)", "bash <(curl -s x);" },
    { "echo \"unterminated", "echo unterminated;" },
    { "", "" },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(cases); i++) {
    cleanup_free char *got = render(cases[i].text);

    is_str(got, cases[i].want, "script '%s'", cases[i].text);
  }
}

static void
test_program(void)
{
  static const struct {
    const char *text;
    bool skip_sudo;
    const char *want;
  } cases[] = {
    { "DEBIAN_FRONTEND=noninteractive apt-get install x", true, "apt-get" },
    { "sudo -u app -E pip install x", true, "pip" },
    { "sudo -u app -E pip install x", false, "sudo" },
    { "env -i A=1 /usr/bin/curl x", true, "/usr/bin/curl" },
    { "if true", true, "true" },
    { "A=1", true, NULL },
    { "for x in a b", true, NULL },
  };

  for (size_t i = 0; i < CB_N_ELEMENTS(cases); i++) {
    struct lint_script s;
    int at;

    lint_script_parse(cases[i].text, &s);
    at = lint_cmd_program(&s.cmds[0], cases[i].skip_sudo);
    is_str(at >= 0 ? s.cmds[0].words[at] : NULL, cases[i].want,
           "program of '%s'%s", cases[i].text,
           cases[i].skip_sudo ? "" : " (sudo kept)");
    lint_script_release(&s);
  }
}

/* --- lint runs --- */

struct linted {
  struct dockerfile *df;
  struct build_plan *plan;
  struct lint_report *report;
};

static void
linted_release(struct linted *l)
{
  lint_report_free(l->report);
  build_plan_free(l->plan);
  dockerfile_free(l->df);
  memset(l, 0, sizeof(*l));
}

#define cleanup_linted CB_CLEANUP(linted_release)

/* Parse, plan and lint TEXT with O (text filled in here).  */
static int
lint_text(const char *text, struct lint_opts *o, struct linted *l,
          struct cb_error **err)
{
  memset(l, 0, sizeof(*l));
  o->text = text;
  o->len = strlen(text);
  if (dockerfile_parse("Dockerfile", text, strlen(text), &l->df, err) < 0 ||
      build_plan_new(l->df, &l->plan, err) < 0)
    return -1;
  return lint_run(l->plan, o, &l->report, err);
}

/* The line of the first finding of RULE, or 0.  */
static int
finding_line(const struct lint_report *r, const char *rule)
{
  for (size_t i = 0; i < r->n; i++) {
    if (strcmp(r->findings[i].rule->id, rule) == 0)
      return r->findings[i].line;
  }
  return 0;
}

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

struct rule_case {
  const char *rule;
  int line; /* where it fires; 0: it must not fire */
  const char *text;
};

/* clang-format off */
#define FAILS(rule, line, text) { rule, line, text }
#define PASSES(rule, text) { rule, 0, text }
/* clang-format on */

static const struct rule_case rule_cases[] = {
  /* CB001 root-user */
  FAILS("CB001", 1, "FROM alpine:3.19\nRUN true\n"),
  FAILS("CB001", 2, "FROM alpine:3.19\nUSER root\n"),
  FAILS("CB001", 3, "FROM alpine:3.19\nUSER app\nUSER 0:0\n"),
  FAILS("CB001", 3, "FROM alpine:3 AS b\nUSER app\nFROM alpine:3\n"),
  PASSES("CB001", "FROM alpine:3.19\nUSER app\n"),
  PASSES("CB001", "FROM alpine:3 AS base\nUSER 1000\nFROM base\nRUN x\n"),
  /* CB002 base-image-unpinned */
  FAILS("CB002", 1, "FROM debian\n"),
  FAILS("CB002", 1, "FROM debian:latest\n"),
  FAILS("CB002", 1, "FROM localhost:5000/app\n"),
  FAILS("CB002", 2, "ARG BASE=debian:latest\nFROM $BASE\n"),
  PASSES("CB002", "FROM debian:12\n"),
  PASSES("CB002", "FROM localhost:5000/app:1\n"),
  PASSES("CB002", "FROM debian@sha256:0123456789abcdef0123456789abcdef"
                  "0123456789abcdef0123456789abcdef\n"),
  PASSES("CB002", "FROM scratch\n"),
  PASSES("CB002", "ARG BASE\nFROM ${BASE}\n"),
  PASSES("CB002", "FROM debian:12 AS a\nFROM a\n"),
  /* CB003 add-instead-of-copy */
  FAILS("CB003", 2, "FROM alpine:3\nADD app.py /app/\n"),
  PASSES("CB003", "FROM alpine:3\nADD rootfs.tar.gz /\n"),
  PASSES("CB003", "FROM alpine:3\nADD https://example.com/x /x\n"),
  PASSES("CB003", "FROM alpine:3\nADD *.txt /x/\n"),
  PASSES("CB003", "FROM alpine:3\nCOPY app.py /app/\n"),
  /* CB004 add-url-without-checksum */
  FAILS("CB004", 2, "FROM alpine:3\nADD https://example.com/x.tgz /x\n"),
  PASSES("CB004", "FROM alpine:3\nADD --checksum=sha256:0123456789abcdef0123"
                  "456789abcdef0123456789abcdef0123456789abcdef "
                  "https://example.com/x.tgz /x\n"),
  PASSES("CB004", "FROM alpine:3\nADD https://github.com/a/b.git /src\n"),
  /* CB005 secret-in-arg-env */
  FAILS("CB005", 2, "FROM alpine:3\nARG NPM_TOKEN\n"),
  FAILS("CB005", 2, "FROM alpine:3\nENV DB_PASSWORD=hunter2\n"),
  FAILS("CB005", 2, "FROM alpine:3\nENV AWS_SECRET_ACCESS_KEY=x\n"),
  FAILS("CB005", 2, "FROM alpine:3\nARG API_KEY=x\n"),
  FAILS("CB005", 2, "FROM alpine:3\nARG github_private_key\n"),
  FAILS("CB005", 1, "ARG REGISTRY_TOKEN\nFROM alpine:3\n"),
  PASSES("CB005", "FROM alpine:3\nENV PASSWORD_FILE=/run/secrets/db\n"),
  PASSES("CB005", "FROM alpine:3\nENV TOKENIZERS_PARALLELISM=false\n"),
  PASSES("CB005", "FROM alpine:3\nENV GPG_KEY=0123ABCD\n"),
  PASSES("CB005", "FROM alpine:3\nENV DB_PASSWORD=\n"),
  /* CB006 apt-install-recommends */
  FAILS("CB006", 2,
        "FROM debian:12\nRUN apt-get update && apt-get install "
        "-y curl && rm -rf /var/lib/apt/lists/*\n"),
  PASSES("CB006", "FROM debian:12\nRUN apt-get update && apt-get install -y "
                  "--no-install-recommends curl\n"),
  PASSES("CB006", "FROM debian:12 AS build\nRUN apt-get install -y gcc\n"
                  "FROM debian:12\nCOPY --from=build /x /x\n"),
  PASSES("CB006", "FROM debian:12\nRUN echo 'APT::Install-Recommends \"0\";' "
                  "> /etc/apt/apt.conf.d/norec\nRUN apt-get install -y x\n"),
  /* CB007 apt-lists-not-removed */
  FAILS("CB007", 2,
        "FROM debian:12\nRUN apt-get update && apt-get install "
        "-y --no-install-recommends curl\n"),
  PASSES("CB007", "FROM debian:12\nRUN apt-get update && apt-get install -y "
                  "--no-install-recommends curl \\\n && rm -rf "
                  "/var/lib/apt/lists/*\n"),
  PASSES("CB007", "FROM debian:12\nRUN --mount=type=cache,target=/var/lib/apt"
                  "/lists apt-get update && apt-get install -y x\n"),
  /* CB008 apk-add-cache */
  FAILS("CB008", 2, "FROM alpine:3\nRUN apk add curl\n"),
  PASSES("CB008", "FROM alpine:3\nRUN apk add --no-cache curl\n"),
  PASSES("CB008", "FROM alpine:3\nRUN apk --no-cache add curl\n"),
  PASSES("CB008", "FROM alpine:3\nRUN --mount=type=cache,target=/var/cache/"
                  "apk apk add curl\n"),
  /* CB009 pipe-to-shell */
  FAILS("CB009", 2, "FROM alpine:3\nRUN curl -fsSL https://x/i.sh | sh\n"),
  FAILS("CB009", 2, "FROM alpine:3\nRUN wget -qO- https://x | sudo bash -s\n"),
  FAILS("CB009", 2, "FROM alpine:3\nRUN sh -c \"$(curl -fsSL https://x)\"\n"),
  FAILS("CB009", 2,
        "FROM alpine:3\nRUN <<EOF\nset -e\ncurl -s x | bash\nEOF\n"),
  PASSES("CB009", "FROM alpine:3\nRUN curl -fsSLo /tmp/i.sh https://x && "
                  "sha256sum -c s && sh /tmp/i.sh\n"),
  PASSES("CB009", "FROM alpine:3\nRUN curl -s https://x | tar xz\n"),
  PASSES("CB009", "FROM alpine:3\nRUN python3 <<EOF\nprint('curl x | sh')\n"
                  "EOF\n"),
  /* CB010 package-manager-in-cmd */
  FAILS("CB010", 2, "FROM debian:12\nCMD apt-get update && ./run\n"),
  FAILS("CB010", 2,
        "FROM python:3\nENTRYPOINT [\"sh\", \"-c\", \"pip install "
        "-r req.txt && python app.py\"]\n"),
  PASSES("CB010", "FROM python:3\nCMD [\"python\", \"app.py\"]\n"),
  PASSES("CB010", "FROM node:20\nCMD [\"npm\", \"start\"]\n"),
  /* CB011 multiple-processes */
  FAILS("CB011", 2, "FROM debian:12\nCMD [\"supervisord\", \"-n\"]\n"),
  FAILS("CB011", 2, "FROM debian:12\nCMD nginx & php-fpm\n"),
  PASSES("CB011", "FROM nginx:1\nCMD [\"nginx\", \"-g\", \"daemon off;\"]\n"),
  PASSES("CB011", "FROM debian:12\nCMD [\"sh\", \"-c\", \"a && exec b\"]\n"),
  /* CB012 sudo */
  FAILS("CB012", 2, "FROM debian:12\nRUN sudo make install\n"),
  FAILS("CB012", 2, "FROM debian:12\nRUN cd /src && sudo -E make install\n"),
  PASSES("CB012", "FROM debian:12\nRUN echo sudo\n"),
  PASSES("CB012", "FROM debian:12\nRUN apt-get install -y sudo\n"),
  /* CB013 expose-ssh */
  FAILS("CB013", 2, "FROM alpine:3\nEXPOSE 80 22\n"),
  FAILS("CB013", 2, "FROM alpine:3\nEXPOSE 20-25/tcp\n"),
  PASSES("CB013", "FROM alpine:3\nEXPOSE 80 443\n"),
  PASSES("CB013", "FROM alpine:3\nEXPOSE 22/udp 2222\n"),
  /* CB014 world-writable */
  FAILS("CB014", 2, "FROM alpine:3\nRUN chmod 777 /\n"),
  FAILS("CB014", 2, "FROM alpine:3\nRUN chmod -R a+w /app\n"),
  FAILS("CB014", 2, "FROM alpine:3\nRUN chmod -R 0777 /usr/local/bin\n"),
  FAILS("CB014", 2, "FROM alpine:3\nRUN chmod o+w /etc/passwd\n"),
  FAILS("CB014", 2, "FROM alpine:3\nRUN chmod 777 /var/www/*\n"),
  PASSES("CB014", "FROM alpine:3\nRUN chmod 1777 /tmp\n"),
  PASSES("CB014", "FROM alpine:3\nRUN chmod 755 /\n"),
  PASSES("CB014", "FROM alpine:3\nRUN chmod 777 /app/data/cache\n"),
  PASSES("CB014", "FROM alpine:3\nRUN chmod +w /usr/local/bin/tool\n"),
  PASSES("CB014", "FROM alpine:3\nRUN chmod a+rwxt /scratch\n"),
  PASSES("CB014", "FROM alpine:3\nRUN chmod a+w,o-w /app\n"),
  /* CB015 sensitive-volume */
  FAILS("CB015", 2, "FROM alpine:3\nVOLUME /var/run/docker.sock\n"),
  FAILS("CB015", 2, "FROM alpine:3\nVOLUME [\"/data\", \"/etc/\"]\n"),
  FAILS("CB015", 2, "FROM alpine:3\nVOLUME /proc/sys\n"),
  PASSES("CB015", "FROM alpine:3\nVOLUME /data /var/lib/app\n"),
  PASSES("CB015", "FROM alpine:3\nVOLUME /etcetera\n"),
  /* CB016 maintainer-deprecated */
  FAILS("CB016", 2, "FROM alpine:3\nMAINTAINER me <me@example.com>\n"),
  PASSES("CB016", "FROM alpine:3\nLABEL org.opencontainers.image.authors=me\n"),
  /* CB017 shell-form-cmd */
  FAILS("CB017", 2, "FROM python:3\nCMD python app.py\n"),
  FAILS("CB017", 2, "FROM alpine:3\nENTRYPOINT /run.sh\n"),
  PASSES("CB017", "FROM python:3\nCMD [\"python\", \"app.py\"]\n"),
  PASSES("CB017", "FROM alpine:3 AS t\nCMD make test\nFROM alpine:3\n"),
  PASSES("CB017", "FROM alpine:3\nCMD exec /app --port \"$PORT\"\n"),
  FAILS("CB017", 2, "FROM alpine:3\nCMD exec a && b\n"),
  /* CB018 no-healthcheck */
  FAILS("CB018", 1, "FROM alpine:3\nCMD [\"x\"]\n"),
  FAILS("CB018", 3,
        "FROM alpine:3 AS a\nHEALTHCHECK CMD true\nFROM alpine:3\n"),
  PASSES("CB018", "FROM alpine:3\nHEALTHCHECK CMD wget -qO- localhost\n"),
  PASSES("CB018", "FROM alpine:3\nHEALTHCHECK NONE\n"),
  PASSES("CB018", "FROM alpine:3 AS a\nHEALTHCHECK CMD true\nFROM a\n"),
  /* CB019 relative-workdir */
  FAILS("CB019", 2, "FROM alpine:3\nWORKDIR app\n"),
  PASSES("CB019", "FROM alpine:3\nWORKDIR /app\nWORKDIR sub\n"),
  PASSES("CB019", "FROM alpine:3\nWORKDIR $HOME/app\n"),
  PASSES("CB019", "FROM alpine:3 AS a\nWORKDIR /src\nFROM a\nWORKDIR sub\n"),
  /* CB020 copy-context-without-dockerignore: no ignore file here */
  FAILS("CB020", 2, "FROM alpine:3\nCOPY . .\n"),
  FAILS("CB020", 2, "FROM alpine:3\nCOPY ./ /app/\n"),
  PASSES("CB020", "FROM alpine:3\nCOPY src/ /app/src/\n"),
  PASSES("CB020", "FROM alpine:3 AS b\nFROM alpine:3\nCOPY --from=b . /app\n"),
  /* CB021 bad-lint-comment */
  FAILS("CB021", 2, "FROM alpine:3\n# cbuild-lint ignore=CB999\nRUN true\n"),
  FAILS("CB021", 2, "FROM alpine:3\n# cbuild-lint ignroe=CB012\nRUN true\n"),
  PASSES("CB021", "FROM alpine:3\n# cbuild-lint ignore=sudo\nRUN sudo x\n"),
  PASSES("CB021", "FROM alpine:3\n# cbuild-linter is another tool\nRUN x\n"),
};

static void
test_rules(void)
{
  size_t nrules;
  const struct lint_rule *rules = lint_rules(&nrules);

  for (size_t i = 0; i < CB_N_ELEMENTS(rule_cases); i++) {
    const struct rule_case *rc = &rule_cases[i];
    cleanup_linted struct linted l;
    cleanup_error struct cb_error *err = NULL;
    cleanup_free char *name = oneline(rc->text);
    struct lint_opts o;

    memset(&o, 0, sizeof(o));
    if (!ok(lint_text(rc->text, &o, &l, &err) == 0, "lint '%s'", name)) {
      diag("%s", err->msg);
      continue;
    }
    is_int(finding_line(l.report, rc->rule), rc->line, "%s %s on '%s'",
           rc->rule, rc->line > 0 ? "fires" : "is quiet", name);
  }
  /* Every rule has both kinds of case.  */
  for (size_t r = 0; r < nrules; r++) {
    bool fails = false, passes = false;

    for (size_t i = 0; i < CB_N_ELEMENTS(rule_cases); i++) {
      if (strcmp(rule_cases[i].rule, rules[r].id) != 0)
        continue;
      fails = fails || rule_cases[i].line > 0;
      passes = passes || rule_cases[i].line == 0;
    }
    ok(fails && passes, "%s has a failing and a passing case", rules[r].id);
  }
}

/* --- silencing rules --- */

static void
test_ignore(void)
{
  static const char text[] =
      "FROM alpine:3\n"
      "# a comment that says why\n"
      "# cbuild-lint ignore=CB012,pipe-to-shell because reasons\n"
      "RUN sudo true && curl -s x | sh\n"
      "# cbuild-lint ignore=CB012\n"
      "\n"
      "RUN sudo false\n"
      "USER app\n";
  char *const ignore[] = { (char *)"no-healthcheck", (char *)"cb002" };
  char *const bad[] = { (char *)"CB999" };
  cleanup_linted struct linted l;
  cleanup_linted struct linted l2;
  cleanup_error struct cb_error *err = NULL;
  struct lint_opts o;

  memset(&o, 0, sizeof(o));
  if (lint_text(text, &o, &l, &err) < 0)
    return (void)ok(false, "lint: %s", err->msg);
  is_int(finding_line(l.report, "CB012"), 7,
         "a comment silences the instruction right below it only "
         "(a blank line breaks the run)");
  is_int(finding_line(l.report, "CB009"), 0, "rules are named by name too");
  is_int(finding_line(l.report, "CB018"), 1, "no-healthcheck reported");

  o.ignore = ignore;
  o.nignore = CB_N_ELEMENTS(ignore);
  if (lint_text(text, &o, &l2, &err) < 0)
    return (void)ok(false, "lint: %s", err->msg);
  is_int(finding_line(l2.report, "CB018"), 0, "--ignore by name");
  is_int(finding_line(l2.report, "CB012"), 7, "--ignore leaves others");

  linted_release(&l2);
  o.ignore = bad;
  o.nignore = 1;
  is_int(lint_text(text, &o, &l2, &err), -1, "an unknown --ignore fails");
  ok(err != NULL && err->kind == CB_ERR_USAGE &&
         strstr(err->msg, "CB999") != NULL,
     "a usage error naming the rule");
}

static void
test_target(void)
{
  static const char text[] = "FROM alpine:3 AS app\nUSER app\n"
                             "FROM alpine:3 AS debug\nRUN true\n";
  cleanup_linted struct linted l;
  cleanup_linted struct linted l2;
  cleanup_error struct cb_error *err = NULL;
  struct lint_opts o;

  memset(&o, 0, sizeof(o));
  o.target = "app";
  if (lint_text(text, &o, &l, &err) < 0)
    return (void)ok(false, "lint: %s", err->msg);
  is_int(finding_line(l.report, "CB001"), 0, "the target stage has a USER");
  o.target = NULL;
  if (lint_text(text, &o, &l2, &err) < 0)
    return (void)ok(false, "lint: %s", err->msg);
  is_int(finding_line(l2.report, "CB001"), 3, "the last stage has none");
  linted_release(&l2);
  o.target = "nope";
  is_int(lint_text(text, &o, &l2, &err), -1, "an unknown target fails");
}

/* --- reports --- */

static void
test_reports(void)
{
  static const char text[] =
      "FROM alpine:3\nENV API_TOKEN=s3cr3t-value\nRUN sudo x\n";
  cleanup_linted struct linted l;
  cleanup_error struct cb_error *err = NULL;
  cleanup_buf struct cb_buf out = CB_BUF_INIT;
  struct lint_opts o;
  json_t *j, *results;

  memset(&o, 0, sizeof(o));
  o.has_dockerignore = true;
  if (lint_text(text, &o, &l, &err) < 0)
    return (void)ok(false, "lint: %s", err->msg);
  lint_report_text(l.report, "ctx/Dockerfile", &out);
  ok(strstr(cb_buf_str(&out),
            "ctx/Dockerfile:2  CB005  error  ENV API_TOKEN looks like a "
            "secret") != NULL,
     "text line: FILE:LINE  RULE  severity  "
     "message");
  ok(strstr(cb_buf_str(&out), "s3cr3t") == NULL,
     "the secret's value is never printed");
  is_int((long long)l.report->count[LINT_ERROR], 1, "one error");

  j = lint_report_json(l.report, "ctx/Dockerfile");
  is_int((long long)json_integer_value(json_object_get(j, "errors")), 1,
         "json: errors count");
  is_str(json_string_value(json_object_get(
             json_array_get(json_object_get(j, "findings"), 0), "rule")),
         "CB001", "json: findings sorted by line");
  json_decref(j);

  j = lint_report_sarif(l.report, "my ctx/Dockerfile");
  is_str(json_string_value(json_object_get(j, "version")), "2.1.0",
         "sarif: version");
  results =
      json_object_get(json_array_get(json_object_get(j, "runs"), 0), "results");
  is_int((long long)json_array_size(results), (long long)l.report->n,
         "sarif: one result per finding");
  for (size_t i = 0; i < json_array_size(results); i++) {
    json_t *r = json_array_get(results, i);
    json_t *loc = json_object_get(
        json_array_get(json_object_get(r, "locations"), 0), "physicalLocation");

    if (strcmp(json_string_value(json_object_get(r, "ruleId")), "CB005"))
      continue;
    is_str(json_string_value(json_object_get(r, "level")), "error",
           "sarif: level");
    is_str(json_string_value(json_object_get(
               json_object_get(loc, "artifactLocation"), "uri")),
           "my%20ctx/Dockerfile", "sarif: the uri is percent-encoded");
    is_int((long long)json_integer_value(
               json_object_get(json_object_get(loc, "region"), "startLine")),
           2, "sarif: startLine");
  }
  json_decref(j);
}

static void
test_gate(void)
{
  static const char text[] = "FROM alpine:3\nVOLUME /etc\n";
  cleanup_linted struct linted l;
  cleanup_error struct cb_error *err = NULL;
  cleanup_error struct cb_error *err2 = NULL;
  struct lint_opts o;
  enum lint_mode m;

  memset(&o, 0, sizeof(o));
  if (lint_text(text, &o, &l, &err) < 0)
    return (void)ok(false, "lint: %s", err->msg);
  is_int(lint_gate(l.plan, &o, "Dockerfile", LINT_MODE_OFF, &err), 0,
         "gate off passes");
  is_int(lint_gate(l.plan, &o, "Dockerfile", LINT_MODE_WARN, &err), 0,
         "gate warn passes");
  is_int(lint_gate(l.plan, &o, "Dockerfile", LINT_MODE_ERROR, &err), -1,
         "gate error refuses an error-severity finding");
  ok(err != NULL && strstr(err->msg, "not building") != NULL, "and says so");
  is_int(lint_mode_parse("warn", &m, &err2), 0, "mode warn parses");
  is_int(m, LINT_MODE_WARN, "to LINT_MODE_WARN");
  is_int(lint_mode_parse("loud", &m, &err2), -1, "mode loud does not");
}

int
main(void)
{
  test_script();
  test_program();
  test_rules();
  test_ignore();
  test_target();
  test_reports();
  test_gate();
  return done_testing();
}
