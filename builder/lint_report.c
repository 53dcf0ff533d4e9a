#include "config.h"

#include "builder/lint.h"

#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/mem.h"
#include "common/banned.h"

/* SARIF 2.1.0 (OASIS): a sarifLog needs "version" and "runs"; a run needs
   "tool", whose "driver" needs "name"; a reportingDescriptor needs "id";
   a result needs "message" (with "text"); levels are none, note, warning
   and error.  */
#define SARIF_SCHEMA                                                           \
  "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"        \
  "sarif-schema-2.1.0.json"

void
lint_report_text(const struct lint_report *r, const char *file,
                 struct cb_buf *out)
{
  for (size_t i = 0; i < r->n; i++) {
    const struct lint_finding *f = &r->findings[i];

    cb_buf_addf(out, "%s:%d  %s  %s  %s\n", file, f->line, f->rule->id,
                lint_severity_name(f->rule->severity), f->message);
  }
}

json_t *
lint_report_json(const struct lint_report *r, const char *file)
{
  json_t *findings = json_array();

  for (size_t i = 0; i < r->n; i++) {
    const struct lint_finding *f = &r->findings[i];

    json_array_append_new(
        findings, json_pack("{s:i, s:s, s:s, s:s, s:s}", "line", f->line,
                            "rule", f->rule->id, "name", f->rule->name,
                            "severity", lint_severity_name(f->rule->severity),
                            "message", f->message));
  }
  return json_pack("{s:s, s:o, s:I, s:I, s:I}", "file", file, "findings",
                   findings, "errors", (json_int_t)r->count[LINT_ERROR],
                   "warnings", (json_int_t)r->count[LINT_WARNING], "infos",
                   (json_int_t)r->count[LINT_INFO]);
}

static const char *
sarif_level(enum lint_severity s)
{
  switch (s) {
  case LINT_ERROR:
    return "error";
  case LINT_WARNING:
    return "warning";
  case LINT_INFO:
    break;
  }
  return "note";
}

/* FILE as a relative URI reference: bytes outside RFC 3986's unreserved
   set and '/' percent-encoded.  */
static char *
file_uri(const char *file)
{
  static const char hex[] = "0123456789ABCDEF";
  struct cb_buf b = CB_BUF_INIT;

  for (const unsigned char *p = (const unsigned char *)file; *p != '\0'; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
        (*p >= '0' && *p <= '9') || strchr("-._~/", *p) != NULL) {
      cb_buf_addc(&b, (char)*p);
    } else {
      cb_buf_addc(&b, '%');
      cb_buf_addc(&b, hex[*p >> 4]);
      cb_buf_addc(&b, hex[*p & 15]);
    }
  }
  return cb_buf_detach(&b, NULL);
}

static json_t *
sarif_rules(const struct lint_rule *rules, size_t n)
{
  json_t *a = json_array();

  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "id",
                                       rules[i].id, "name", rules[i].name,
                                       "shortDescription", "text", rules[i].doc,
                                       "defaultConfiguration", "level",
                                       sarif_level(rules[i].severity)));
  return a;
}

json_t *
lint_report_sarif(const struct lint_report *r, const char *file)
{
  cleanup_free char *uri = file_uri(file);
  size_t nrules;
  const struct lint_rule *rules = lint_rules(&nrules);
  json_t *results = json_array();

  for (size_t i = 0; i < r->n; i++) {
    const struct lint_finding *f = &r->findings[i];

    json_array_append_new(
        results,
        json_pack("{s:s, s:I, s:s, s:{s:s}, s:[{s:{s:{s:s}, s:{s:i}}}]}",
                  "ruleId", f->rule->id, "ruleIndex",
                  (json_int_t)(f->rule - rules), "level",
                  sarif_level(f->rule->severity), "message", "text", f->message,
                  "locations", "physicalLocation", "artifactLocation", "uri",
                  uri, "region", "startLine", f->line > 0 ? f->line : 1));
  }
  return json_pack("{s:s, s:s, s:[{s:{s:{s:s, s:s, s:o}}, s:o}]}", "$schema",
                   SARIF_SCHEMA, "version", "2.1.0", "runs", "tool", "driver",
                   "name", "cbuild", "version", CBUILD_VERSION, "rules",
                   sarif_rules(rules, nrules), "results", results);
}
