#include "config.h"

#include "builder/lint.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/lint-internal.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/banned.h"

_Static_assert(LINT_R_COUNT <= 64, "rule sets are 64-bit masks");

const char *
lint_severity_name(enum lint_severity s)
{
  switch (s) {
  case LINT_ERROR:
    return "error";
  case LINT_WARNING:
    return "warning";
  case LINT_INFO:
    break;
  }
  return "info";
}

const struct lint_rule *
lint_rules(size_t *n)
{
  *n = LINT_R_COUNT;
  return lint_rule_table;
}

const struct lint_rule *
lint_rule_find(const char *s)
{
  for (size_t i = 0; i < LINT_R_COUNT; i++) {
    if (strcasecmp(s, lint_rule_table[i].id) == 0 ||
        strcasecmp(s, lint_rule_table[i].name) == 0)
      return &lint_rule_table[i];
  }
  return NULL;
}

static bool
suppressed(const struct lint_ctx *c, size_t rule, int line)
{
  if (c->ignored & (1ull << rule))
    return true;
  for (size_t i = 0; i < c->nsuppress; i++) {
    if (c->suppress[i].line == line && (c->suppress[i].rules & (1ull << rule)))
      return true;
  }
  return false;
}

void
lint_add(struct lint_ctx *c, size_t rule, int line, const char *fmt, ...)
{
  struct lint_report *r = c->report;
  struct lint_finding *f;
  va_list ap;

  if (suppressed(c, rule, line))
    return;
  CB_GROW(r->findings, r->alloc, r->n + 1);
  f = &r->findings[r->n++];
  f->rule = &lint_rule_table[rule];
  f->line = line;
  va_start(ap, fmt);
  f->message = cb_xvasprintf(fmt, ap);
  va_end(ap);
  r->count[f->rule->severity]++;
}

int
lint_stage_parent(const struct build_plan *plan, size_t s)
{
  const struct instr *from = plan->stages[s].from;

  if (from == NULL || from->nargs == 0)
    return -1;
  /* FROM names an earlier stage by its AS name only (no index, as in
     BuildKit).  */
  for (size_t i = 0; i < s; i++) {
    const char *name = plan->stages[i].name;

    if (name != NULL && strcasecmp(name, from->args[0]) == 0)
      return (int)i;
  }
  return -1;
}

/* --- inline "# cbuild-lint ignore=..." comments --- */

/* The rules named in the comma-separated LIST (LEN bytes) as bits; names
   that are no rule are reported at LINE.  */
static uint64_t
parse_rule_list(struct lint_ctx *c, const char *list, size_t len, int line)
{
  uint64_t bits = 0;

  while (len > 0) {
    size_t n = 0;
    cleanup_free char *name = NULL;
    const struct lint_rule *r;

    while (n < len && list[n] != ',')
      n++;
    name = cb_xstrndup(list, n);
    r = n > 0 ? lint_rule_find(name) : NULL;
    if (r != NULL)
      bits |= 1ull << (size_t)(r - lint_rule_table);
    else if (n > 0)
      lint_add(c, LINT_R_BAD_COMMENT, line,
               "unknown rule '%s' in a cbuild-lint comment", name);
    list += n < len ? n + 1 : n;
    len -= n < len ? n + 1 : n;
  }
  return bits;
}

/* The rules a comment line (LEN bytes at S, after the '#') silences.
   Not a cbuild-lint comment: 0.  Words after the ignore= lists are free
   text (a reason).  */
static uint64_t
parse_comment(struct lint_ctx *c, const char *s, size_t len, int line)
{
  static const char word[] = "cbuild-lint";
  const char *end = s + len;
  uint64_t bits = 0;
  bool any = false;

  while (s < end && (*s == ' ' || *s == '\t'))
    s++;
  if ((size_t)(end - s) < sizeof(word) - 1 ||
      strncmp(s, word, sizeof(word) - 1) != 0)
    return 0;
  s += sizeof(word) - 1;
  if (s < end && *s != ' ' && *s != '\t')
    return 0; /* "cbuild-linter", some other word */
  while (s < end) {
    size_t n;

    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
      s++;
    for (n = 0; s + n < end && s[n] != ' ' && s[n] != '\t' && s[n] != '\r';)
      n++;
    if (n > 7 && strncmp(s, "ignore=", 7) == 0) {
      bits |= parse_rule_list(c, s + 7, n - 7, line);
      any = true;
    } else if (n > 0 && !any) {
      break;
    }
    s += n;
  }
  if (!any)
    lint_add(c, LINT_R_BAD_COMMENT, line,
             "a cbuild-lint comment needs ignore=RULE[,RULE...]");
  return bits;
}

/* Offsets of the start of each line of TEXT; (*starts)[i] is line i+1. */
static size_t
line_starts(const char *text, size_t len, size_t **starts)
{
  size_t n = 0, alloc = 0;
  size_t *v = NULL;

  CB_GROW(v, alloc, 1);
  v[n++] = 0;
  for (size_t i = 0; i < len; i++) {
    if (text[i] == '\n' && i + 1 < len) {
      CB_GROW(v, alloc, n + 1);
      v[n++] = i + 1;
    }
  }
  *starts = v;
  return n;
}

/* The run of comment lines right above each instruction.  */
static void
read_comments(struct lint_ctx *c, const struct dockerfile *df, const char *text,
              size_t len)
{
  cleanup_free size_t *starts = NULL;
  size_t nlines = line_starts(text, len, &starts);
  int prev_end = 0;

  for (size_t i = 0; i < df->nnodes; i++) {
    const struct df_node *node = &df->nodes[i];
    uint64_t bits = 0;

    for (int l = node->start_line - 1; l > prev_end && (size_t)l <= nlines;
         l--) {
      const char *s = text + starts[l - 1];
      const char *e = memchr(s, '\n', len - starts[l - 1]);
      size_t n = e != NULL ? (size_t)(e - s) : len - starts[l - 1];

      if (l == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
        s += 3, n -= 3; /* a UTF-8 byte order mark */
      while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
      if (n == 0 || *s != '#')
        break;
      bits |= parse_comment(c, s + 1, n - 1, l);
    }
    prev_end = node->end_line;
    if (bits == 0)
      continue;
    CB_GROW(c->suppress, c->suppress_alloc, c->nsuppress + 1);
    c->suppress[c->nsuppress].line = node->start_line;
    c->suppress[c->nsuppress++].rules = bits;
  }
}

static int
compare_findings(const void *a, const void *b)
{
  const struct lint_finding *x = a, *y = b;

  if (x->line != y->line)
    return x->line < y->line ? -1 : 1;
  return strcmp(x->rule->id, y->rule->id);
}

static int
setup(struct lint_ctx *c, const struct build_plan *plan,
      const struct lint_opts *o, struct cb_error **err)
{
  for (size_t i = 0; i < o->nignore; i++) {
    const struct lint_rule *r = lint_rule_find(o->ignore[i]);

    if (r == NULL)
      return cb_fail(err, CB_ERR_USAGE, 0,
                     "--ignore: unknown rule '%s' "
                     "(see 'cbuild lint --list')",
                     o->ignore[i]);
    c->ignored |= 1ull << (size_t)(r - lint_rule_table);
  }
  c->in_image = cb_xcalloc(plan->nstages + 1, sizeof(*c->in_image));
  c->target = plan->nstages > 0 ? plan->nstages - 1 : 0;
  if (o->target != NULL) {
    int t = build_plan_find_stage(plan, o->target);

    if (t < 0)
      return cb_fail(err, CB_ERR_USAGE, 0, "target stage '%s' not found",
                     o->target);
    c->target = (size_t)t;
  }
  for (int s = plan->nstages > 0 ? (int)c->target : -1; s >= 0;
       s = lint_stage_parent(plan, (size_t)s))
    c->in_image[s] = true;
  return 0;
}

int
lint_run(const struct build_plan *plan, const struct lint_opts *o,
         struct lint_report **out, struct cb_error **err)
{
  cleanup_lint_report struct lint_report *r = cb_xcalloc(1, sizeof(*r));
  struct lint_ctx c;
  int rc;

  memset(&c, 0, sizeof(c));
  c.plan = plan;
  c.opts = o;
  c.report = r;
  rc = setup(&c, plan, o, err);
  if (rc == 0 && o->text != NULL)
    read_comments(&c, plan->df, o->text, o->len);
  for (size_t i = 0; rc == 0 && i < LINT_R_COUNT; i++) {
    if (lint_checks[i] != NULL && plan->nstages > 0)
      lint_checks[i](&c);
  }
  free(c.in_image);
  free(c.suppress);
  if (rc < 0)
    return -1;
  if (r->n > 1)
    qsort(r->findings, r->n, sizeof(*r->findings), compare_findings);
  *out = steal_ptr(&r);
  return 0;
}

void
lint_report_free(struct lint_report *r)
{
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n; i++)
    free(r->findings[i].message);
  free(r->findings);
  free(r);
}

void
lint_report_freep(struct lint_report **r)
{
  lint_report_free(*r);
  *r = NULL;
}

int
lint_mode_parse(const char *s, enum lint_mode *mode, struct cb_error **err)
{
  if (strcmp(s, "off") == 0)
    *mode = LINT_MODE_OFF;
  else if (strcmp(s, "warn") == 0)
    *mode = LINT_MODE_WARN;
  else if (strcmp(s, "error") == 0)
    *mode = LINT_MODE_ERROR;
  else
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "--lint is off, warn or error, not '%s'", s);
  return 0;
}

int
lint_gate(const struct build_plan *plan, const struct lint_opts *o,
          const char *file, enum lint_mode mode, struct cb_error **err)
{
  cleanup_lint_report struct lint_report *r = NULL;
  size_t nerr;

  if (mode == LINT_MODE_OFF)
    return 0;
  if (lint_run(plan, o, &r, err) < 0)
    return cb_wrap(err, "lint");
  for (size_t i = 0; i < r->n; i++) {
    const struct lint_finding *f = &r->findings[i];

    cb_log(CB_LOG_WARN, "%s:%d  %s  %s  %s", file, f->line, f->rule->id,
           lint_severity_name(f->rule->severity), f->message);
  }
  nerr = r->count[LINT_ERROR];
  if (mode == LINT_MODE_ERROR && nerr > 0)
    return cb_fail(err, CB_ERR_UNSAFE, 0,
                   "%s: %zu error-severity lint finding%s (--lint=error): "
                   "not building",
                   file, nerr, nerr == 1 ? "" : "s");
  return 0;
}
