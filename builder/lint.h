/* The Dockerfile linter: rules run over a parsed and checked Dockerfile
   (parser/instructions.h) before anything is built, as `cbuild lint` and
   `cbuild build --lint=warn|error` do.  Each rule has an id ("CB001"), a
   readable name ("root-user"), a default severity and a one-line doc.

   A finding can be silenced for one instruction by a comment on the
   line(s) right above it (a run of comment lines, no blank line between):
       # cbuild-lint ignore=CB012,pipe-to-shell
   or for the whole file by lint_opts.ignore (--ignore).  Findings of
   whole-stage rules (root-user, no-healthcheck) are placed on the line of
   the instruction they are about (the USER, else the stage's FROM), so
   the comment goes above that one.  No I/O: the caller hands in the
   plan and the text.  */
#ifndef CBUILD_BUILDER_LINT_H
#define CBUILD_BUILDER_LINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"
#include "parser/instructions.h"

enum lint_severity {
  LINT_INFO,
  LINT_WARNING,
  LINT_ERROR,
};

/* "info", "warning" or "error".  */
const char *lint_severity_name(enum lint_severity s);

struct lint_rule {
  const char *id;   /* "CB001" */
  const char *name; /* "root-user" */
  enum lint_severity severity;
  const char *doc; /* one line, for --list and SARIF */
};

/* The table of every rule, in id order; *N gets its length.  Static.  */
const struct lint_rule *lint_rules(size_t *n);

/* The rule whose id or name is S (case-insensitive), or NULL.  */
const struct lint_rule *lint_rule_find(const char *s);

struct lint_finding {
  const struct lint_rule *rule; /* borrowed from the static table */
  int line;                     /* 1-based line of the Dockerfile */
  char *message;                /* owned */
};

struct lint_report {
  struct lint_finding *findings; /* sorted by line, then rule id; owned */
  size_t n;
  size_t alloc;
  size_t count[3]; /* findings per enum lint_severity */
};

struct lint_opts {
  /* The Dockerfile text the plan was parsed from, for the inline
     "# cbuild-lint ignore=" comments; NULL: no inline comments.  */
  const char *text;
  size_t len;
  bool has_dockerignore; /* the context has an ignore file */
  const char *target;    /* the stage that becomes the image; NULL: last */
  char *const *ignore;   /* rule ids or names never reported; borrowed */
  size_t nignore;
};

/* Run every rule over PLAN.  *OUT is a new report the caller frees with
   lint_report_free().  Errors: CB_ERR_USAGE for an unknown rule in
   O->ignore or a target that is no stage.  An unknown rule in an inline
   comment is no error but a finding (bad-lint-comment).  */
int lint_run(const struct build_plan *plan, const struct lint_opts *o,
             struct lint_report **out, struct cb_error **err);

void lint_report_free(struct lint_report *r);
void lint_report_freep(struct lint_report **r);
#define cleanup_lint_report __attribute__((cleanup(lint_report_freep)))

/* Append one line per finding to OUT:
   "FILE:LINE  RULE  severity  message\n".  */
void lint_report_text(const struct lint_report *r, const char *file,
                      struct cb_buf *out);

/* The report as a new JSON object (the caller decrefs it):
   {"file", "findings": [{"line", "rule", "name", "severity", "message"}],
    "errors", "warnings", "infos"}.  */
json_t *lint_report_json(const struct lint_report *r, const char *file);

/* The report as a new SARIF 2.1.0 log (one run, every rule described in
   tool.driver.rules, one result per finding located at FILE:LINE).  */
json_t *lint_report_sarif(const struct lint_report *r, const char *file);

/* What `cbuild build --lint` does with the findings.  */
enum lint_mode {
  LINT_MODE_OFF,   /* no linting (the default) */
  LINT_MODE_WARN,  /* findings logged as warnings, the build goes on */
  LINT_MODE_ERROR, /* as warn, and an error-severity finding stops it */
};

/* Parse "off", "warn" or "error".  CB_ERR_USAGE otherwise.  */
int lint_mode_parse(const char *s, enum lint_mode *mode, struct cb_error **err);

/* The build's gate: lint PLAN (text and ignore file as in lint_opts),
   log each finding through cb_log at warning level as FILE's text lines,
   and in LINT_MODE_ERROR fail (CB_ERR_UNSAFE) when any has error
   severity.  A no-op for LINT_MODE_OFF.  */
int lint_gate(const struct build_plan *plan, const struct lint_opts *o,
              const char *file, enum lint_mode mode, struct cb_error **err);

#endif
