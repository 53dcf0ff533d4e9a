/* Shared inside the linter (builder/lint*.c) and its unit tests.  */
#ifndef CBUILD_BUILDER_LINT_INTERNAL_H
#define CBUILD_BUILDER_LINT_INTERNAL_H

#ifndef CB_IN_BUILDER
#error "lint-internal.h is private to builder/"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder/lint.h"
#include "common/error.h"
#include "parser/instructions.h"

/* --- a light reading of shell text (lint_shell.c) ---

   Enough of POSIX sh to find simple commands and what joins them: quotes
   and escapes are removed from words, operators split commands,
   redirections are dropped, "#" starts a comment, here-document bodies
   are skipped.  $(...), `...`, <(...) and ${...} stay inside their word
   as written, and nothing is expanded: a command hidden in a variable or
   a function is not seen (the rules accept that limit to keep false
   positives low).  */

enum lint_sep {
  LINT_SEP_END,  /* end of text, newline, ';', '&&', '||', '(' or ')' */
  LINT_SEP_PIPE, /* '|' or '|&': the next command reads this one's output */
  LINT_SEP_BG,   /* '&': this command runs in the background */
};

struct lint_cmd {
  char **words; /* NULL-terminated, owned */
  size_t nwords;
  enum lint_sep sep; /* what ends this command */
};

struct lint_script {
  struct lint_cmd *cmds; /* owned */
  size_t n;
};

/* Split the shell text TEXT into commands.  Never fails: unbalanced
   quotes run to the end of the text.  Release with
   lint_script_release().  */
void lint_script_parse(const char *text, struct lint_script *out);
void lint_script_release(struct lint_script *s);

/* The index in CMD->words of the program the command runs, skipping
   variable assignments, keywords ("if", "then", "!", "{"...) and the
   wrappers env, exec, command, nohup, time, nice and, when SKIP_SUDO, sudo
   and its options; -1 when there is none.  */
int lint_cmd_program(const struct lint_cmd *cmd, bool skip_sudo);

/* The last path component of WORD ("/usr/bin/apt-get" -> "apt-get").  */
const char *lint_basename(const char *word);

/* Whether the program word WORD names a POSIX-like shell ("sh", "bash",
   "/bin/dash"...).  */
bool lint_is_shell(const char *word);

/* The command of a RUN, CMD or ENTRYPOINT as shell text, for
   lint_script_parse().  Shell form: the command, plus the heredoc bodies
   when they are the script ("RUN <<EOF", "RUN bash <<EOF"; not a body
   whose "#!" line names another interpreter).  Exec form: the script of
   ["sh", "-c", SCRIPT], else the words quoted so that they parse back as
   one command.  Returns a new string.  */
char *lint_instr_script(const struct instr *in);

/* --- rules (lint_rules.c) --- */

/* Rules an inline comment silences for the instruction at LINE.  */
struct lint_suppress {
  int line;
  uint64_t rules; /* bit i: rule index i */
};

struct lint_ctx {
  const struct build_plan *plan;
  const struct lint_opts *opts;
  size_t target;    /* the stage that becomes the image */
  bool *in_image;   /* per stage: the target or a stage it is built FROM,
                       so its layers and config end up in the image; owned */
  uint64_t ignored; /* lint_opts.ignore as bits */
  struct lint_suppress *suppress; /* owned */
  size_t nsuppress, suppress_alloc;
  struct lint_report *report;
};

/* Record a finding of RULE (an index into the rule table) at LINE.  */
void lint_add(struct lint_ctx *c, size_t rule, int line, const char *fmt, ...)
    CB_PRINTF(4, 5);

/* The rules, as indexes into the table (lint_rules.c keeps both in this
   order).  */
enum lint_rule_index {
  LINT_R_ROOT_USER,
  LINT_R_BASE_UNPINNED,
  LINT_R_ADD_NOT_COPY,
  LINT_R_ADD_URL_CHECKSUM,
  LINT_R_SECRET_ARG_ENV,
  LINT_R_APT_RECOMMENDS,
  LINT_R_APT_LISTS,
  LINT_R_APK_CACHE,
  LINT_R_PIPE_TO_SHELL,
  LINT_R_PKG_IN_CMD,
  LINT_R_MULTI_PROCESS,
  LINT_R_SUDO,
  LINT_R_EXPOSE_SSH,
  LINT_R_WORLD_WRITABLE,
  LINT_R_SENSITIVE_VOLUME,
  LINT_R_MAINTAINER,
  LINT_R_SHELL_FORM_CMD,
  LINT_R_NO_HEALTHCHECK,
  LINT_R_RELATIVE_WORKDIR,
  LINT_R_COPY_ALL_NO_IGNORE,
  LINT_R_BAD_COMMENT,
  LINT_R_COUNT,
};

extern const struct lint_rule lint_rule_table[LINT_R_COUNT];

/* Each rule's check, by index; NULL for bad-lint-comment, which lint.c
   reports while it reads the comments.  */
typedef void (*lint_check_fn)(struct lint_ctx *c);
extern const lint_check_fn lint_checks[LINT_R_COUNT];

/* The index of the stage that stage S is built FROM, or -1 for an image
   (or scratch).  */
int lint_stage_parent(const struct build_plan *plan, size_t s);

#endif
