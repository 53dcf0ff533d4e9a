#include "config.h"

#include "builder/lint-internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/mem.h"
#include "parser/dockerfile.h"
#include "common/banned.h"

/* A here-document seen on the current line, skipped at its end.  */
struct pending_doc {
  char *delim; /* owned */
  bool strip_tabs;
};

enum redirect {
  REDIR_NONE,
  REDIR_TARGET,  /* the next word is a file or fd: dropped */
  REDIR_HEREDOC, /* the next word is a here-document delimiter */
  REDIR_HEREDOC_TABS,
};

struct lexer {
  const char *p;
  struct cb_buf word;
  bool in_word; /* a word has started (it may still be empty: '') */
  bool word_quoted;
  enum redirect redir;
  char **words;
  size_t nwords, words_alloc;
  struct pending_doc *docs;
  size_t ndocs, docs_alloc;
  struct lint_script *out;
  size_t cmds_alloc;
};

static bool
all_digits(const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9')
      return false;
  }
  return true;
}

static void
end_word(struct lexer *lx)
{
  char *w;

  if (!lx->in_word)
    return;
  w = cb_buf_detach(&lx->word, NULL);
  lx->in_word = false;
  if (lx->redir == REDIR_NONE) {
    CB_GROW(lx->words, lx->words_alloc, lx->nwords + 2);
    lx->words[lx->nwords++] = w;
    lx->words[lx->nwords] = NULL;
    return;
  }
  if (lx->redir != REDIR_TARGET) {
    CB_GROW(lx->docs, lx->docs_alloc, lx->ndocs + 1);
    lx->docs[lx->ndocs].delim = w;
    lx->docs[lx->ndocs++].strip_tabs = lx->redir == REDIR_HEREDOC_TABS;
    w = NULL;
  }
  free(w);
  lx->redir = REDIR_NONE;
}

static void
end_cmd(struct lexer *lx, enum lint_sep sep)
{
  struct lint_script *s = lx->out;

  end_word(lx);
  if (lx->nwords == 0)
    return;
  CB_GROW(s->cmds, lx->cmds_alloc, s->n + 1);
  s->cmds[s->n].words = lx->words;
  s->cmds[s->n].nwords = lx->nwords;
  s->cmds[s->n++].sep = sep;
  lx->words = NULL;
  lx->nwords = 0;
  lx->words_alloc = 0;
}

/* Copy a balanced "(...)" or "{...}" starting at lx->p (the opening
   character) into the word, quotes inside respected.  */
static void
copy_balanced(struct lexer *lx, char open, char close)
{
  int depth = 0;

  do {
    char c = *lx->p;

    if (c == '\0')
      return;
    if (c == '\\' && lx->p[1] != '\0') {
      cb_buf_add(&lx->word, lx->p, 2);
      lx->p += 2;
      continue;
    }
    if (c == '\'' || c == '"') {
      const char *end = strchr(lx->p + 1, c);

      if (end == NULL)
        end = lx->p + strlen(lx->p) - 1;
      cb_buf_add(&lx->word, lx->p, (size_t)(end - lx->p) + 1);
      lx->p = end + 1;
      continue;
    }
    if (c == open)
      depth++;
    else if (c == close)
      depth--;
    cb_buf_addc(&lx->word, c);
    lx->p++;
  } while (depth > 0);
}

/* `...` as written, into the word.  */
static void
copy_backquoted(struct lexer *lx)
{
  cb_buf_addc(&lx->word, *lx->p++);
  while (*lx->p != '\0' && *lx->p != '`') {
    if (*lx->p == '\\' && lx->p[1] != '\0')
      cb_buf_addc(&lx->word, *lx->p++);
    cb_buf_addc(&lx->word, *lx->p++);
  }
  if (*lx->p == '`')
    cb_buf_addc(&lx->word, *lx->p++);
}

/* "$(", "${", "<(", ">(" and "`" keep their text in the word.  Returns
   whether one was copied.  */
static bool
copy_substitution(struct lexer *lx)
{
  const char *p = lx->p;

  if (*p == '`') {
    copy_backquoted(lx);
    return true;
  }
  if (*p == '$' && (p[1] == '(' || p[1] == '{')) {
    cb_buf_addc(&lx->word, *lx->p++);
    copy_balanced(lx, *lx->p, *lx->p == '(' ? ')' : '}');
    return true;
  }
  return false;
}

static void
lex_double_quoted(struct lexer *lx)
{
  lx->p++;
  while (*lx->p != '\0' && *lx->p != '"') {
    if (*lx->p == '\\' && lx->p[1] == '\n') {
      lx->p += 2;
    } else if (*lx->p == '\\' && strchr("$`\"\\", lx->p[1]) != NULL &&
               lx->p[1] != '\0') {
      cb_buf_addc(&lx->word, lx->p[1]);
      lx->p += 2;
    } else if (!copy_substitution(lx)) {
      cb_buf_addc(&lx->word, *lx->p++);
    }
  }
  if (*lx->p == '"')
    lx->p++;
}

static void
lex_single_quoted(struct lexer *lx)
{
  const char *end = strchr(lx->p + 1, '\'');

  if (end == NULL)
    end = lx->p + strlen(lx->p);
  cb_buf_add(&lx->word, lx->p + 1, (size_t)(end - lx->p - 1));
  lx->p = *end == '\'' ? end + 1 : end;
}

/* Skip the bodies of the here-documents opened on the line just ended
   (lx->p is at the start of the next line).  */
static void
skip_heredoc_bodies(struct lexer *lx)
{
  for (size_t i = 0; i < lx->ndocs; i++) {
    const char *delim = lx->docs[i].delim;

    while (*lx->p != '\0') {
      const char *line = lx->p;
      const char *nl = strchr(line, '\n');
      size_t len = nl != NULL ? (size_t)(nl - line) : strlen(line);

      lx->p = nl != NULL ? nl + 1 : line + len;
      if (lx->docs[i].strip_tabs) {
        while (len > 0 && *line == '\t')
          line++, len--;
      }
      if (len > 0 && line[len - 1] == '\r')
        len--;
      if (len == strlen(delim) && memcmp(line, delim, len) == 0)
        break;
    }
    free(lx->docs[i].delim);
  }
  lx->ndocs = 0;
}

/* A redirection operator at lx->p ('<' or '>', or "&>").  */
static void
lex_redirect(struct lexer *lx)
{
  const char *p = lx->p;

  /* "2>file": the fd number is no word of the command.  */
  if (lx->in_word && !lx->word_quoted && all_digits(cb_buf_str(&lx->word))) {
    cb_buf_truncate(&lx->word, 0);
    lx->in_word = false;
  }
  end_word(lx);
  lx->redir = REDIR_TARGET;
  if (p[0] == '<' && p[1] == '<' && p[2] == '<') {
    p += 3;
  } else if (p[0] == '<' && p[1] == '<') {
    lx->redir = p[2] == '-' ? REDIR_HEREDOC_TABS : REDIR_HEREDOC;
    p += p[2] == '-' ? 3 : 2;
  } else {
    if (*p == '&')
      p++;
    p++;
    if (*p == '>' || *p == '&' || *p == '|')
      p++;
  }
  lx->p = p;
}

/* One operator or blank at lx->p.  Returns false when lx->p is at an
   ordinary character of a word.  */
static bool
lex_operator(struct lexer *lx)
{
  const char *p = lx->p;

  switch (*p) {
  case ' ':
  case '\t':
  case '\r':
    end_word(lx);
    lx->p++;
    return true;
  case '\n':
    end_cmd(lx, LINT_SEP_END);
    lx->p++;
    skip_heredoc_bodies(lx);
    return true;
  case ';':
  case '(':
  case ')':
    end_cmd(lx, LINT_SEP_END);
    lx->p++;
    return true;
  case '&':
    if (p[1] == '>') {
      lex_redirect(lx);
      return true;
    }
    end_cmd(lx, p[1] == '&' ? LINT_SEP_END : LINT_SEP_BG);
    lx->p += p[1] == '&' ? 2 : 1;
    return true;
  case '|':
    end_cmd(lx, p[1] == '|' ? LINT_SEP_END : LINT_SEP_PIPE);
    lx->p += p[1] == '|' || p[1] == '&' ? 2 : 1;
    return true;
  case '<':
  case '>':
    if (p[1] == '(') /* process substitution: part of the word */
      return false;
    lex_redirect(lx);
    return true;
  default:
    return false;
  }
}

static void
lex_word_char(struct lexer *lx)
{
  const char *p = lx->p;

  if (!lx->in_word)
    lx->word_quoted = false;
  lx->in_word = true;
  if (*p == '\\') {
    if (p[1] != '\0' && p[1] != '\n')
      cb_buf_addc(&lx->word, p[1]);
    lx->word_quoted = true;
    lx->p += p[1] != '\0' ? 2 : 1;
  } else if (*p == '\'') {
    lx->word_quoted = true;
    lex_single_quoted(lx);
  } else if (*p == '"') {
    lx->word_quoted = true;
    lex_double_quoted(lx);
  } else if ((*p == '<' || *p == '>') && p[1] == '(') {
    cb_buf_addc(&lx->word, *lx->p++);
    copy_balanced(lx, '(', ')');
  } else if (!copy_substitution(lx)) {
    cb_buf_addc(&lx->word, *lx->p++);
  }
}

void
lint_script_parse(const char *text, struct lint_script *out)
{
  struct lexer lx;

  memset(&lx, 0, sizeof(lx));
  memset(out, 0, sizeof(*out));
  lx.p = text;
  lx.out = out;
  while (*lx.p != '\0') {
    if (*lx.p == '\\' && lx.p[1] == '\n') { /* a line continuation */
      lx.p += 2;
      continue;
    }
    if (*lx.p == '#' && !lx.in_word) {
      lx.p += strcspn(lx.p, "\n");
      continue;
    }
    if (!lex_operator(&lx))
      lex_word_char(&lx);
  }
  end_cmd(&lx, LINT_SEP_END);
  for (size_t i = 0; i < lx.ndocs; i++)
    free(lx.docs[i].delim);
  free(lx.docs);
  cb_strv_free(lx.words);
  cb_buf_release(&lx.word);
}

void
lint_script_release(struct lint_script *s)
{
  for (size_t i = 0; i < s->n; i++)
    cb_strv_free(s->cmds[i].words);
  free(s->cmds);
  memset(s, 0, sizeof(*s));
}

const char *
lint_basename(const char *word)
{
  const char *slash = strrchr(word, '/');

  return slash != NULL ? slash + 1 : word;
}

static bool
in_list(const char *s, const char *const *list)
{
  for (; *list != NULL; list++) {
    if (strcmp(s, *list) == 0)
      return true;
  }
  return false;
}

bool
lint_is_shell(const char *word)
{
  static const char *const shells[] = { "sh",  "bash", "dash", "ash",
                                        "zsh", "ksh",  "mksh", NULL };

  return in_list(lint_basename(word), shells);
}

static bool
is_assignment(const char *w)
{
  if (!((*w >= 'A' && *w <= 'Z') || (*w >= 'a' && *w <= 'z') || *w == '_'))
    return false;
  w += strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                 "0123456789_");
  return *w == '=';
}

/* Skip the options of sudo at WORDS[I]; returns the index after them.  */
static size_t
skip_sudo_options(char *const *words, size_t i, size_t n)
{
  static const char *const with_arg[] = { "-u", "-g", "-p", "-C", "-D", "-r",
                                          "-t", "-U", "-T", "-h", NULL };

  for (i++; i < n && words[i][0] == '-'; i++) {
    if (strcmp(words[i], "--") == 0)
      return i + 1;
    if (in_list(words[i], with_arg))
      i++;
  }
  return i;
}

int
lint_cmd_program(const struct lint_cmd *cmd, bool skip_sudo)
{
  static const char *const keywords[] = { "!",       "{",     "}",    "if",
                                          "then",    "else",  "elif", "do",
                                          "while",   "until", "time", "exec",
                                          "command", "nohup", NULL };
  static const char *const not_programs[] = { "for",      "case", "select",
                                              "function", "fi",   "done",
                                              "esac",     NULL };
  size_t i = 0, n = cmd->nwords;

  while (i < n) {
    const char *w = cmd->words[i];
    const char *base = lint_basename(w);

    if (is_assignment(w) || in_list(w, keywords)) {
      i++;
    } else if (strcmp(base, "env") == 0 || strcmp(base, "nice") == 0) {
      /* env -i, nice -n 10: options, then the command */
      for (i++;
           i < n && (cmd->words[i][0] == '-' || is_assignment(cmd->words[i]) ||
                     all_digits(cmd->words[i]));)
        i++;
    } else if (skip_sudo && strcmp(base, "sudo") == 0) {
      i = skip_sudo_options(cmd->words, i, n);
    } else if (w[0] == '-' && i > 0) {
      i++; /* "command -v", "time -p" */
    } else {
      return in_list(w, not_programs) ? -1 : (int)i;
    }
  }
  return -1;
}

/* A heredoc body that is a script for the shell: no "#!" line, or one
   naming a shell ("#!/bin/bash", "#!/usr/bin/env sh").  */
static bool
body_is_shell(const char *body)
{
  cleanup_free char *line = NULL;
  struct lint_script s;
  bool shell = false;

  if (strncmp(body, "#!", 2) != 0)
    return true;
  line = cb_xstrndup(body + 2, strcspn(body + 2, "\n"));
  lint_script_parse(line, &s);
  if (s.n > 0) {
    const struct lint_cmd *c = &s.cmds[0];
    size_t i = strcmp(lint_basename(c->words[0]), "env") == 0 ? 1 : 0;

    shell = i < c->nwords && lint_is_shell(c->words[i]);
  }
  lint_script_release(&s);
  return shell;
}

/* Whether the shell-form command TEXT hands its heredocs to a shell: it
   is only heredoc markers, or a shell program reading them.  */
static bool
heredocs_are_script(const char *text)
{
  struct lint_script s;
  bool script;
  int prog;

  lint_script_parse(text, &s);
  prog = s.n == 1 ? lint_cmd_program(&s.cmds[0], true) : -1;
  script = s.n == 0 || (prog >= 0 && lint_is_shell(s.cmds[0].words[prog]));
  lint_script_release(&s);
  return script;
}

/* Single-quote WORD for the shell.  */
static void
add_quoted(struct cb_buf *b, const char *word)
{
  cb_buf_addc(b, '\'');
  for (; *word != '\0'; word++) {
    if (*word == '\'')
      cb_buf_adds(b, "'\\''");
    else
      cb_buf_addc(b, *word);
  }
  cb_buf_addc(b, '\'');
}

/* The index of the script in an exec-form ["sh", "-c", SCRIPT], or 0.  */
static size_t
exec_script_index(const struct instr *in)
{
  if (in->nargs < 3 || !lint_is_shell(in->args[0]))
    return 0;
  for (size_t i = 1; i + 1 < in->nargs && in->args[i][0] == '-'; i++) {
    const char *o = in->args[i];

    if (o[1] != '-' && strchr(o, 'c') != NULL)
      return i + 1;
  }
  return 0;
}

char *
lint_instr_script(const struct instr *in)
{
  struct cb_buf b = CB_BUF_INIT;
  size_t script;

  if (in->json) {
    script = exec_script_index(in);
    if (script > 0)
      return cb_xstrdup(in->args[script]);
    for (size_t i = 0; i < in->nargs; i++) {
      if (i > 0)
        cb_buf_addc(&b, ' ');
      add_quoted(&b, in->args[i]);
    }
    return cb_buf_detach(&b, NULL);
  }
  for (size_t i = 0; i < in->nargs; i++) {
    if (i > 0)
      cb_buf_addc(&b, ' ');
    cb_buf_adds(&b, in->args[i]);
  }
  if (in->kind != INSTR_RUN || in->node->nheredocs == 0 ||
      !heredocs_are_script(cb_buf_str(&b)))
    return cb_buf_detach(&b, NULL);
  /* The bodies are the script; the command line only names the shell
     (and its "<<EOF" would make the lexer skip what follows).  */
  cb_buf_truncate(&b, 0);
  for (size_t i = 0; i < in->node->nheredocs; i++) {
    const char *body = in->node->heredocs[i].content;

    if (body_is_shell(body)) {
      cb_buf_adds(&b, body);
      cb_buf_addc(&b, '\n');
    }
  }
  return cb_buf_detach(&b, NULL);
}
