#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/lint-internal.h"
#include "common/cleanup.h"
#include "common/mem.h"
#include "parser/shell.h"
#include "common/banned.h"

/* The rules.  Each check reads the plan and calls lint_add(); the
   severities are chosen so that "error" (what --lint=error refuses) stays
   for findings that are almost never right in an image that is shipped:
   secrets in the config, world-writable system paths, host-sensitive
   volumes.  */
/* clang-format off */
const struct lint_rule lint_rule_table[LINT_R_COUNT] = {
  [LINT_R_ROOT_USER] = { "CB001", "root-user", LINT_WARNING,
    "the final stage runs as root (no USER, or USER root/0)" },
  [LINT_R_BASE_UNPINNED] = { "CB002", "base-image-unpinned", LINT_INFO,
    "a base image without a tag or with :latest, and without a digest" },
  [LINT_R_ADD_NOT_COPY] = { "CB003", "add-instead-of-copy", LINT_WARNING,
    "ADD of local files that are no archive: COPY does the same" },
  [LINT_R_ADD_URL_CHECKSUM] = { "CB004", "add-url-without-checksum",
    LINT_WARNING, "ADD of an http(s) URL without --checksum" },
  [LINT_R_SECRET_ARG_ENV] = { "CB005", "secret-in-arg-env", LINT_ERROR,
    "a secret-looking name (PASSWORD, TOKEN, SECRET, API_KEY, PRIVATE_KEY) "
    "passed as ARG or ENV" },
  [LINT_R_APT_RECOMMENDS] = { "CB006", "apt-install-recommends", LINT_WARNING,
    "apt-get install without --no-install-recommends" },
  [LINT_R_APT_LISTS] = { "CB007", "apt-lists-not-removed", LINT_WARNING,
    "apt-get update/install without rm -rf /var/lib/apt/lists/* in the "
    "same RUN" },
  [LINT_R_APK_CACHE] = { "CB008", "apk-add-cache", LINT_WARNING,
    "apk add without --no-cache" },
  [LINT_R_PIPE_TO_SHELL] = { "CB009", "pipe-to-shell", LINT_WARNING,
    "curl or wget output piped into a shell" },
  [LINT_R_PKG_IN_CMD] = { "CB010", "package-manager-in-cmd", LINT_WARNING,
    "a package manager installing software in ENTRYPOINT or CMD" },
  [LINT_R_MULTI_PROCESS] = { "CB011", "multiple-processes", LINT_WARNING,
    "several processes in one container (supervisord, 'a & b' in CMD)" },
  [LINT_R_SUDO] = { "CB012", "sudo", LINT_WARNING, "sudo in RUN" },
  [LINT_R_EXPOSE_SSH] = { "CB013", "expose-ssh", LINT_WARNING,
    "EXPOSE of port 22 (an SSH server in the container)" },
  [LINT_R_WORLD_WRITABLE] = { "CB014", "world-writable", LINT_ERROR,
    "chmod 777 / a+w / o+w on a broad path (/, a top-level or system "
    "directory, ., *)" },
  [LINT_R_SENSITIVE_VOLUME] = { "CB015", "sensitive-volume", LINT_ERROR,
    "VOLUME of a host-sensitive path (/, /etc, /proc, /sys, /dev, /boot, "
    "the docker socket)" },
  [LINT_R_MAINTAINER] = { "CB016", "maintainer-deprecated", LINT_WARNING,
    "MAINTAINER is deprecated (use LABEL org.opencontainers.image.authors)" },
  [LINT_R_SHELL_FORM_CMD] = { "CB017", "shell-form-cmd", LINT_WARNING,
    "shell-form ENTRYPOINT or CMD (the process gets no signals)" },
  [LINT_R_NO_HEALTHCHECK] = { "CB018", "no-healthcheck", LINT_INFO,
    "the final stage has no HEALTHCHECK" },
  [LINT_R_RELATIVE_WORKDIR] = { "CB019", "relative-workdir", LINT_WARNING,
    "WORKDIR with a relative path before any absolute one" },
  [LINT_R_COPY_ALL_NO_IGNORE] = { "CB020", "copy-context-without-dockerignore",
    LINT_INFO, "COPY of the whole context (COPY . .) with no .dockerignore" },
  [LINT_R_BAD_COMMENT] = { "CB021", "bad-lint-comment", LINT_WARNING,
    "a cbuild-lint comment that names no known rule" },
};
/* clang-format on */

/* --- walking the plan --- */

enum each_flags {
  EACH_IMAGE_ONLY = 1u << 0, /* only stages that end up in the image */
  EACH_TRIGGERS = 1u << 1,   /* also the instructions of ONBUILD */
};

typedef void (*instr_fn)(struct lint_ctx *c, const struct instr *in);

static void
each_instr(struct lint_ctx *c, unsigned flags, instr_fn fn)
{
  const struct build_plan *plan = c->plan;

  for (size_t s = 0; s < plan->nstages; s++) {
    const struct stage *st = &plan->stages[s];

    if ((flags & EACH_IMAGE_ONLY) && !c->in_image[s])
      continue;
    for (size_t i = 0; i < st->ninstrs; i++) {
      fn(c, &st->instrs[i]);
      if ((flags & EACH_TRIGGERS) && st->instrs[i].trigger != NULL)
        fn(c, st->instrs[i].trigger);
    }
  }
}

static void
parse_script(const struct instr *in, struct lint_script *s)
{
  cleanup_free char *text = lint_instr_script(in);

  lint_script_parse(text, s);
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

static bool
has_word(const struct lint_cmd *cmd, const char *word)
{
  for (size_t i = 0; i < cmd->nwords; i++) {
    if (strcmp(cmd->words[i], word) == 0)
      return true;
  }
  return false;
}

/* The program of CMD (its basename, sudo skipped), or NULL.  *AT gets its
   index when AT is not NULL.  */
static const char *
program(const struct lint_cmd *cmd, int *at)
{
  int i = lint_cmd_program(cmd, true);

  if (at != NULL)
    *at = i;
  return i >= 0 ? lint_basename(cmd->words[i]) : NULL;
}

/* The first word after the program that is no option: a subcommand
   ("install").  Options in WITH_ARG take the next word.  */
static const char *
subcommand(const struct lint_cmd *cmd, const char *const *with_arg)
{
  int at;

  if (program(cmd, &at) == NULL)
    return NULL;
  for (size_t i = (size_t)at + 1; i < cmd->nwords; i++) {
    const char *w = cmd->words[i];

    if (w[0] != '-')
      return w;
    if (with_arg != NULL && in_list(w, with_arg))
      i++;
  }
  return NULL;
}

static bool
path_under(const char *path, const char *dir)
{
  size_t n = strlen(dir);

  return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* A RUN --mount (cache or tmpfs) that keeps DIR out of the layer.  */
static bool
mount_covers(const struct instr *in, const char *dir)
{
  for (size_t i = 0; i < in->nmounts; i++) {
    const struct instr_mount *m = &in->mounts[i];

    if (m->target != NULL &&
        (m->type == MOUNT_CACHE || m->type == MOUNT_TMPFS) &&
        (path_under(dir, m->target) || path_under(m->target, dir)))
      return true;
  }
  return false;
}

/* An rm in S of a path under DIR.  */
static bool
script_removes(const struct lint_script *s, const char *dir)
{
  for (size_t i = 0; i < s->n; i++) {
    const char *p = program(&s->cmds[i], NULL);

    if (p == NULL || strcmp(p, "rm") != 0)
      continue;
    for (size_t w = 1; w < s->cmds[i].nwords; w++) {
      if (path_under(s->cmds[i].words[w], dir) ||
          strncmp(s->cmds[i].words[w], dir, strlen(dir)) == 0)
        return true;
    }
  }
  return false;
}

/* --- CB001 root-user --- */

static bool
is_root_user(const char *u)
{
  size_t n = strcspn(u, ":");

  if (n == 4 && strncmp(u, "root", 4) == 0)
    return true;
  return n > 0 && strspn(u, "0") == n;
}

static void
check_root_user(struct lint_ctx *c)
{
  const struct build_plan *plan = c->plan;
  const struct instr *user = NULL;

  for (int s = (int)c->target; s >= 0 && user == NULL;
       s = lint_stage_parent(plan, (size_t)s)) {
    const struct stage *st = &plan->stages[s];

    for (size_t i = st->ninstrs; i-- > 0 && user == NULL;) {
      if (st->instrs[i].kind == INSTR_USER)
        user = &st->instrs[i];
    }
  }
  if (user == NULL)
    lint_add(c, LINT_R_ROOT_USER, plan->stages[c->target].from->line,
             "no USER in the final stage: the container runs as root "
             "unless the base image sets a user");
  else if (is_root_user(user->args[0]))
    lint_add(c, LINT_R_ROOT_USER, user->line,
             "USER %s: the container runs as root; end with an "
             "unprivileged USER",
             user->args[0]);
}

/* --- CB002 base-image-unpinned --- */

/* The meta ARGs (before the first FROM) with their defaults, as FROM
   sees them when no --build-arg is given.  */
static void
meta_env(const struct build_plan *plan, struct shell_env *env)
{
  struct shell_opts so = { plan->df->escape, SHELL_SKIP_UNSET };

  for (size_t i = 0; i < plan->nmeta_args; i++) {
    const struct instr *a = &plan->meta_args[i];

    for (size_t k = 0; k < a->nkvs; k++) {
      cleanup_error struct cb_error *e = NULL;
      cleanup_free char *v = NULL;

      if (a->kvs[k].value == NULL)
        continue;
      v = shell_expand_word(a->kvs[k].value, env, &so, &e);
      if (v != NULL)
        shell_env_set(env, a->kvs[k].key, v);
    }
  }
}

static void
check_base_image(struct lint_ctx *c, size_t s, const struct shell_env *env)
{
  const struct instr *from = c->plan->stages[s].from;
  struct shell_opts so = { c->plan->df->escape, SHELL_SKIP_UNSET };
  cleanup_error struct cb_error *e = NULL;
  cleanup_free char *image = NULL;
  const char *last, *colon;

  if (lint_stage_parent(c->plan, s) >= 0)
    return;
  image = shell_expand_word(from->args[0], env, &so, &e);
  /* Unknown until --build-arg gives it, or no image at all.  */
  if (image == NULL || image[0] == '\0' || strchr(image, '$') != NULL ||
      strcasecmp(image, "scratch") == 0 || strchr(image, '@') != NULL)
    return;
  last = strrchr(image, '/');
  colon = strchr(last != NULL ? last : image, ':');
  if (colon == NULL)
    lint_add(c, LINT_R_BASE_UNPINNED, from->line,
             "base image '%s' has no tag and no digest: the build may "
             "change under you; pin a tag and a digest (@sha256:...)",
             image);
  else if (strcmp(colon + 1, "latest") == 0)
    lint_add(c, LINT_R_BASE_UNPINNED, from->line,
             "base image '%s' uses :latest and no digest: the build may "
             "change under you; pin a tag and a digest (@sha256:...)",
             image);
}

static void
check_base_unpinned(struct lint_ctx *c)
{
  struct shell_env env = SHELL_ENV_INIT;

  meta_env(c->plan, &env);
  for (size_t s = 0; s < c->plan->nstages; s++)
    check_base_image(c, s, &env);
  shell_env_release(&env);
}

/* --- CB003 add-instead-of-copy, CB004 add-url-without-checksum --- */

static bool
is_url(const char *src)
{
  return strstr(src, "://") != NULL || strncmp(src, "git@", 4) == 0;
}

static bool
is_git_url(const char *src)
{
  size_t n = strcspn(src, "#");

  return strncmp(src, "git@", 4) == 0 || strncmp(src, "git://", 6) == 0 ||
         (n >= 4 && strncmp(src + n - 4, ".git", 4) == 0);
}

/* A name ADD may unpack: a tar, maybe compressed (ADD looks at the
   content, so any compressed-looking name counts).  */
static bool
maybe_archive(const char *src)
{
  static const char *const exts[] = { ".tar", ".tgz",  ".tbz", ".tbz2",
                                      ".txz", ".tzst", ".tlz", ".taz",
                                      ".gz",  ".bz2",  ".xz",  ".zst",
                                      ".lz",  ".lzma", ".z",   NULL };
  size_t n = strlen(src);

  for (const char *const *e = exts; *e != NULL; e++) {
    size_t k = strlen(*e);

    if (n > k && strcasecmp(src + n - k, *e) == 0)
      return true;
  }
  return false;
}

static void
add_not_copy(struct lint_ctx *c, const struct instr *in)
{
  if (in->kind != INSTR_ADD || in->checksum != NULL || in->keep_git_dir ||
      in->unpack >= 0)
    return;
  for (size_t i = 0; i + 1 < in->nargs; i++) {
    const char *src = in->args[i];

    /* A URL, an archive, or a name only known later (a variable, a
       wildcard that may match an archive): ADD may be needed.  */
    if (is_url(src) || maybe_archive(src) || strpbrk(src, "$*?[") != NULL)
      return;
  }
  lint_add(c, LINT_R_ADD_NOT_COPY, in->line,
           "ADD of local files: use COPY, which does not unpack archives "
           "or fetch URLs behind your back");
}

static void
add_url_checksum(struct lint_ctx *c, const struct instr *in)
{
  if (in->kind != INSTR_ADD || in->checksum != NULL)
    return;
  for (size_t i = 0; i + 1 < in->nargs; i++) {
    const char *src = in->args[i];

    if ((strncasecmp(src, "http://", 7) == 0 ||
         strncasecmp(src, "https://", 8) == 0) &&
        !is_git_url(src)) {
      lint_add(c, LINT_R_ADD_URL_CHECKSUM, in->line,
               "ADD of '%s' without --checksum=sha256:...: the download "
               "is not verified",
               src);
      return;
    }
  }
}

static void
check_add_not_copy(struct lint_ctx *c)
{
  each_instr(c, EACH_TRIGGERS, add_not_copy);
}

static void
check_add_url(struct lint_ctx *c)
{
  each_instr(c, EACH_TRIGGERS, add_url_checksum);
}

/* --- CB005 secret-in-arg-env --- */

/* Whether one '_'-separated word of a name says "secret": it is or ends
   with PASSWORD, TOKEN...  ("DBPASSWORD" yes, "TOKENIZERS" no).  */
static bool
secret_word(const char *w, size_t n, const char *next, size_t next_n)
{
  static const char *const ends[] = { "PASSWORD",   "PASSWD",      "PASSPHRASE",
                                      "SECRET",     "TOKEN",       "APIKEY",
                                      "PRIVATEKEY", "CREDENTIALS", "CREDENTIAL",
                                      NULL };
  static const char *const key_pairs[] = { "API", "PRIVATE", "ACCESS", "SECRET",
                                           NULL };

  for (const char *const *e = ends; *e != NULL; e++) {
    size_t k = strlen(*e);

    if (n >= k && strncmp(w + n - k, *e, k) == 0)
      return true;
  }
  if (next_n == 3 && strncmp(next, "KEY", 3) == 0) {
    for (const char *const *p = key_pairs; *p != NULL; p++) {
      if (n == strlen(*p) && strncmp(w, *p, n) == 0)
        return true;
    }
  }
  return false;
}

static bool
secret_name(const char *name)
{
  static const char *const not_values[] = {
    "FILE", "PATH", "DIR",  "URL",    "URI",     "ENDPOINT", "HOST",
    "PORT", "NAME", "TYPE", "LENGTH", "VERSION", NULL
  };
  cleanup_free char *up = cb_xstrdup(name);
  const char *last;
  char *w;

  for (char *p = up; *p != '\0'; p++)
    *p = *p == '-' || *p == '.' ? '_' : (char)toupper((unsigned char)*p);
  /* PASSWORD_FILE, TOKEN_URL: where the secret is, not the secret.  */
  last = strrchr(up, '_');
  if (in_list(last != NULL ? last + 1 : up, not_values))
    return false;
  for (w = up; *w != '\0';) {
    size_t n = strcspn(w, "_");
    const char *next = w[n] == '_' ? w + n + 1 : w + n;

    if (n > 0 && secret_word(w, n, next, strcspn(next, "_")))
      return true;
    w = (char *)next;
  }
  return false;
}

static void
secret_arg_env(struct lint_ctx *c, const struct instr *in)
{
  if (in->kind != INSTR_ARG && in->kind != INSTR_ENV)
    return;
  for (size_t i = 0; i < in->nkvs; i++) {
    const char *v = in->kvs[i].value;

    if (!secret_name(in->kvs[i].key))
      continue;
    /* ENV X_PASSWORD="" sets nothing; a path under /run/secrets names
       a mounted secret.  */
    if (in->kind == INSTR_ENV &&
        (v == NULL || v[0] == '\0' || strcmp(v, "\"\"") == 0 ||
         strncmp(v, "/run/secrets/", 13) == 0))
      continue;
    lint_add(c, LINT_R_SECRET_ARG_ENV, in->line,
             "%s %s looks like a secret: build args and ENV are kept in the "
             "image's history and config; use RUN --mount=type=secret",
             instr_kind_name(in->kind), in->kvs[i].key);
  }
}

static void
check_secrets(struct lint_ctx *c)
{
  for (size_t i = 0; i < c->plan->nmeta_args; i++)
    secret_arg_env(c, &c->plan->meta_args[i]);
  each_instr(c, EACH_TRIGGERS, secret_arg_env);
}

/* --- CB006, CB007 apt-get; CB008 apk --- */

static const char *const apt_with_arg[] = {
  "-o", "-t", "-c", "--option", "--target-release", "--config-file", NULL
};

/* The apt subcommand of CMD ("install"), or NULL for another program. */
static const char *
apt_verb(const struct lint_cmd *cmd)
{
  const char *p = program(cmd, NULL);

  if (p == NULL || (strcmp(p, "apt-get") != 0 && strcmp(p, "apt") != 0))
    return NULL;
  return subcommand(cmd, apt_with_arg);
}

static bool
apt_recommends_off(const struct lint_cmd *cmd)
{
  for (size_t i = 0; i < cmd->nwords; i++) {
    const char *w = cmd->words[i];

    if (strcmp(w, "--no-install-recommends") == 0 ||
        strstr(w, "Install-Recommends=false") != NULL ||
        strstr(w, "Install-Recommends=0") != NULL)
      return true;
  }
  return false;
}

/* Some RUN of the image writes an apt.conf that turns recommends off.  */
static bool
apt_configured(struct lint_ctx *c)
{
  for (size_t s = 0; s < c->plan->nstages; s++) {
    const struct stage *st = &c->plan->stages[s];

    for (size_t i = 0; c->in_image[s] && i < st->ninstrs; i++) {
      cleanup_free char *text = NULL;

      if (st->instrs[i].kind != INSTR_RUN)
        continue;
      text = lint_instr_script(&st->instrs[i]);
      if (strstr(text, "Install-Recommends") != NULL)
        return true;
    }
  }
  return false;
}

static void
apt_recommends(struct lint_ctx *c, const struct instr *in)
{
  struct lint_script s;

  if (in->kind != INSTR_RUN)
    return;
  parse_script(in, &s);
  for (size_t i = 0; i < s.n; i++) {
    const char *verb = apt_verb(&s.cmds[i]);

    if (verb != NULL && strcmp(verb, "install") == 0 &&
        !apt_recommends_off(&s.cmds[i])) {
      lint_add(c, LINT_R_APT_RECOMMENDS, in->line,
               "%s install without --no-install-recommends pulls in "
               "packages nobody asked for",
               program(&s.cmds[i], NULL));
      break;
    }
  }
  lint_script_release(&s);
}

static void
check_apt_recommends(struct lint_ctx *c)
{
  if (!apt_configured(c))
    each_instr(c, EACH_IMAGE_ONLY, apt_recommends);
}

static void
apt_lists(struct lint_ctx *c, const struct instr *in)
{
  struct lint_script s;
  const char *verb = NULL;

  if (in->kind != INSTR_RUN || mount_covers(in, "/var/lib/apt/lists"))
    return;
  parse_script(in, &s);
  for (size_t i = 0; i < s.n && verb == NULL; i++) {
    const char *v = apt_verb(&s.cmds[i]);

    if (v != NULL && (strcmp(v, "install") == 0 || strcmp(v, "update") == 0))
      verb = v;
  }
  if (verb != NULL && !script_removes(&s, "/var/lib/apt/lists"))
    lint_add(c, LINT_R_APT_LISTS, in->line,
             "apt-get %s without 'rm -rf /var/lib/apt/lists/*' in the same "
             "RUN: the package lists stay in the layer",
             verb);
  lint_script_release(&s);
}

static void
check_apt_lists(struct lint_ctx *c)
{
  each_instr(c, EACH_IMAGE_ONLY, apt_lists);
}

static void
apk_cache(struct lint_ctx *c, const struct instr *in)
{
  static const char *const with_arg[] = {
    "-X",         "--repository",        "-p",     "--root",
    "-t",         "--virtual",           "--arch", "--cache-dir",
    "--keys-dir", "--repositories-file", NULL
  };
  struct lint_script s;

  if (in->kind != INSTR_RUN || mount_covers(in, "/var/cache/apk") ||
      mount_covers(in, "/etc/apk/cache"))
    return;
  parse_script(in, &s);
  for (size_t i = 0; i < s.n; i++) {
    const char *p = program(&s.cmds[i], NULL);
    const char *verb = subcommand(&s.cmds[i], with_arg);

    if (p != NULL && strcmp(p, "apk") == 0 && verb != NULL &&
        strcmp(verb, "add") == 0 && !has_word(&s.cmds[i], "--no-cache") &&
        !script_removes(&s, "/var/cache/apk")) {
      lint_add(c, LINT_R_APK_CACHE, in->line,
               "apk add without --no-cache leaves the package index in the "
               "layer");
      break;
    }
  }
  lint_script_release(&s);
}

static void
check_apk_cache(struct lint_ctx *c)
{
  each_instr(c, EACH_IMAGE_ONLY, apk_cache);
}

/* --- CB009 pipe-to-shell --- */

static bool
is_downloader(const char *p)
{
  return p != NULL && (strcmp(p, "curl") == 0 || strcmp(p, "wget") == 0);
}

/* sh -c "$(curl ...)", bash <(wget ...), . <(curl ...)  */
static bool
runs_fetched_text(const struct lint_cmd *cmd)
{
  static const char *const marks[] = { "$(curl", "$(wget", "`curl", "`wget",
                                       "<(curl", "<(wget", NULL };
  int at;
  const char *p = program(cmd, &at);

  if (p == NULL ||
      !(lint_is_shell(p) || strcmp(p, ".") == 0 || strcmp(p, "source") == 0))
    return false;
  for (size_t i = (size_t)at + 1; i < cmd->nwords; i++) {
    for (const char *const *m = marks; *m != NULL; m++) {
      if (strstr(cmd->words[i], *m) != NULL)
        return true;
    }
  }
  return false;
}

/* The downloader whose output a later command of the same pipeline runs
   as a script, or NULL.  */
static const char *
piped_download(const struct lint_script *s)
{
  for (size_t i = 0; i < s->n; i++) {
    const char *p = program(&s->cmds[i], NULL);

    if (runs_fetched_text(&s->cmds[i]))
      return "a download";
    if (!is_downloader(p))
      continue;
    for (size_t j = i; j + 1 < s->n && s->cmds[j].sep == LINT_SEP_PIPE; j++) {
      const char *q = program(&s->cmds[j + 1], NULL);

      if (q != NULL && lint_is_shell(q))
        return p;
    }
  }
  return NULL;
}

static void
pipe_to_shell(struct lint_ctx *c, const struct instr *in)
{
  struct lint_script s;
  const char *what;

  if (in->kind != INSTR_RUN)
    return;
  parse_script(in, &s);
  what = piped_download(&s);
  if (what != NULL)
    lint_add(c, LINT_R_PIPE_TO_SHELL, in->line,
             "%s run by a shell executes unverified code from the network; "
             "download, check a checksum or signature, then run it",
             what);
  lint_script_release(&s);
}

static void
check_pipe_to_shell(struct lint_ctx *c)
{
  each_instr(c, EACH_TRIGGERS, pipe_to_shell);
}

/* --- CB010 package-manager-in-cmd, CB011 multiple-processes,
   CB017 shell-form-cmd --- */

/* A command that installs packages: "apt-get install", "pip install",
   "python3 -m pip install"...; returns the program or NULL.  */
static const char *
installs_packages(const struct lint_cmd *cmd)
{
  static const struct {
    const char *prog;
    const char *verbs[7];
  } pms[] = {
    { "apt-get",
      { "install", "update", "upgrade", "dist-upgrade", "full-upgrade",
        NULL } },
    { "apt", { "install", "update", "upgrade", "full-upgrade", NULL } },
    { "apk", { "add", "update", "upgrade", NULL } },
    { "yum", { "install", "update", "upgrade", "groupinstall", NULL } },
    { "dnf", { "install", "update", "upgrade", "groupinstall", NULL } },
    { "microdnf", { "install", "update", "upgrade", NULL } },
    { "zypper",
      { "install", "in", "update", "up", "dist-upgrade", "dup", NULL } },
    { "pip", { "install", NULL } },
    { "pip3", { "install", NULL } },
    { "npm", { "install", "i", "ci", NULL } },
    { "yarn", { "add", "install", NULL } },
    { "gem", { "install", NULL } },
  };
  int at;
  const char *p = program(cmd, &at);
  const char *verb;

  if (p == NULL)
    return NULL;
  if (strncmp(p, "python", 6) == 0 && (size_t)at + 2 < cmd->nwords &&
      strcmp(cmd->words[at + 1], "-m") == 0 &&
      strncmp(cmd->words[at + 2], "pip", 3) == 0) {
    verb = (size_t)at + 3 < cmd->nwords ? cmd->words[at + 3] : "";
    return strcmp(verb, "install") == 0 ? "pip" : NULL;
  }
  if (strcmp(p, "pacman") == 0) {
    for (size_t i = (size_t)at + 1; i < cmd->nwords; i++) {
      if (strncmp(cmd->words[i], "-S", 2) == 0)
        return p;
    }
    return NULL;
  }
  verb = subcommand(cmd, apt_with_arg);
  for (size_t i = 0; verb != NULL && i < CB_N_ELEMENTS(pms); i++) {
    if (strcmp(p, pms[i].prog) == 0 && in_list(verb, pms[i].verbs))
      return p;
  }
  return NULL;
}

static bool
is_command(const struct instr *in)
{
  return in->kind == INSTR_CMD || in->kind == INSTR_ENTRYPOINT;
}

static void
pkg_in_cmd(struct lint_ctx *c, const struct instr *in)
{
  struct lint_script s;

  if (!is_command(in))
    return;
  parse_script(in, &s);
  for (size_t i = 0; i < s.n; i++) {
    const char *pm = installs_packages(&s.cmds[i]);

    if (pm != NULL) {
      lint_add(c, LINT_R_PKG_IN_CMD, in->line,
               "%s installs software with %s each time the container "
               "starts; install it at build time with RUN",
               instr_kind_name(in->kind), pm);
      break;
    }
  }
  lint_script_release(&s);
}

static void
check_pkg_in_cmd(struct lint_ctx *c)
{
  each_instr(c, EACH_IMAGE_ONLY, pkg_in_cmd);
}

static void
multi_process(struct lint_ctx *c, const struct instr *in)
{
  struct lint_script s;

  if (!is_command(in))
    return;
  parse_script(in, &s);
  for (size_t i = 0; i < s.n; i++) {
    const char *p = program(&s.cmds[i], NULL);

    if (p != NULL && strcmp(p, "supervisord") == 0) {
      lint_add(c, LINT_R_MULTI_PROCESS, in->line,
               "%s starts supervisord: one container, one process; run "
               "each service in a container of its own",
               instr_kind_name(in->kind));
      break;
    }
    if (s.cmds[i].sep == LINT_SEP_BG) {
      lint_add(c, LINT_R_MULTI_PROCESS, in->line,
               "%s starts '%s' in the background with '&': its exit and "
               "signals are lost; run each process in a container of its "
               "own",
               instr_kind_name(in->kind), s.cmds[i].words[0]);
      break;
    }
  }
  lint_script_release(&s);
}

static void
check_multi_process(struct lint_ctx *c)
{
  each_instr(c, EACH_IMAGE_ONLY, multi_process);
}

/* "CMD exec prog ...": the shell replaces itself, signals reach prog.  */
static bool
execs_itself(const struct instr *in)
{
  struct lint_script s;
  bool execs;

  parse_script(in, &s);
  execs = s.n == 1 && strcmp(s.cmds[0].words[0], "exec") == 0;
  lint_script_release(&s);
  return execs;
}

static void
shell_form_cmd(struct lint_ctx *c, const struct instr *in)
{
  if (is_command(in) && !in->json && !execs_itself(in))
    lint_add(c, LINT_R_SHELL_FORM_CMD, in->line,
             "shell-form %s runs under /bin/sh -c: the process is not PID 1 "
             "and gets no SIGTERM; use the JSON form [\"prog\", \"arg\"]",
             instr_kind_name(in->kind));
}

static void
check_shell_form(struct lint_ctx *c)
{
  each_instr(c, EACH_IMAGE_ONLY, shell_form_cmd);
}

/* --- CB012 sudo --- */

static void
sudo(struct lint_ctx *c, const struct instr *in)
{
  struct lint_script s;

  if (in->kind != INSTR_RUN)
    return;
  parse_script(in, &s);
  for (size_t i = 0; i < s.n; i++) {
    int at = lint_cmd_program(&s.cmds[i], false);

    if (at >= 0 && strcmp(lint_basename(s.cmds[i].words[at]), "sudo") == 0) {
      lint_add(c, LINT_R_SUDO, in->line,
               "sudo in RUN: RUN already runs as the current USER; switch "
               "users with USER, and leave sudo out of the image");
      break;
    }
  }
  lint_script_release(&s);
}

static void
check_sudo(struct lint_ctx *c)
{
  each_instr(c, EACH_TRIGGERS, sudo);
}

/* --- CB013 expose-ssh --- */

static bool
port_range_has(const char *spec, long port)
{
  char *end = NULL;
  long lo = strtol(spec, &end, 10), hi = lo;

  if (end == spec || *spec < '0' || *spec > '9')
    return false;
  if (*end == '-') {
    const char *h = end + 1;

    hi = strtol(h, &end, 10);
    if (end == h)
      return false;
  }
  return *end == '\0' && lo <= port && port <= hi;
}

static void
expose_ssh(struct lint_ctx *c, const struct instr *in)
{
  if (in->kind != INSTR_EXPOSE)
    return;
  for (size_t i = 0; i < in->nargs; i++) {
    cleanup_free char *port = cb_xstrdup(in->args[i]);
    char *proto = strchr(port, '/');

    if (proto != NULL) {
      *proto++ = '\0';
      if (strcasecmp(proto, "tcp") != 0)
        continue;
    }
    if (port_range_has(port, 22)) {
      lint_add(c, LINT_R_EXPOSE_SSH, in->line,
               "EXPOSE %s publishes SSH: use 'cbuild run', exec or a debug "
               "container instead of an SSH server in the image",
               in->args[i]);
      return;
    }
  }
}

static void
check_expose_ssh(struct lint_ctx *c)
{
  each_instr(c, EACH_TRIGGERS, expose_ssh);
}

/* --- CB014 world-writable --- */

/* An octal mode that lets others write, without the sticky bit (1777 on
   /tmp is right).  */
static bool
octal_world_writable(const char *m)
{
  size_t n = strlen(m);

  if (n == 0 || n > 4 || strspn(m, "01234567") != n)
    return false;
  if (n == 4 && ((m[0] - '0') & 1))
    return false;
  return ((m[n - 1] - '0') & 2) != 0;
}

/* A symbolic mode ("a+rwx", "o+w,g-w") that ends up letting others write,
   without +t.  A clause without who ("+w") is masked by the umask:
   not counted.  */
static bool
symbolic_world_writable(const char *m)
{
  bool world = false, sticky = false;

  while (*m != '\0') {
    size_t who = strspn(m, "ugoa");
    bool others = memchr(m, 'a', who) != NULL || memchr(m, 'o', who) != NULL;

    m += who;
    while (*m == '+' || *m == '-' || *m == '=') {
      char op = *m++;
      size_t n = strspn(m, "rwxXstugo");
      bool w = memchr(m, 'w', n) != NULL;

      if (memchr(m, 't', n) != NULL && op != '-')
        sticky = true;
      if (others && (op == '+' || op == '=') && w)
        world = true;
      else if (others && (op == '-' ? w : op == '='))
        world = false;
      m += n;
    }
    if (*m != ',')
      break;
    m++;
  }
  return world && !sticky;
}

/* A path too broad to be world-writable: "/", a top-level directory,
   anything in the system directories, ".", "*".  */
static bool
broad_path(const char *path)
{
  static const char *const system[] = { "etc",  "usr",   "bin",   "sbin",
                                        "lib",  "lib32", "lib64", "libx32",
                                        "boot", "root",  "proc",  "sys",
                                        "dev",  NULL };
  static const char *const shallow[] = { "var", "home", "opt",
                                         "srv", "run",  NULL };
  cleanup_free char *p = cb_xstrdup(path);
  size_t n = strlen(p), depth = 0;
  cleanup_free char *first = NULL;

  /* A glob over the children of a directory is as broad as it.  */
  if (n >= 2 && strcmp(p + n - 2, "/*") == 0)
    p[n -= 2] = '\0';
  while (n > 1 && p[n - 1] == '/')
    p[--n] = '\0';
  if (strcmp(p, ".") == 0 || strcmp(p, "..") == 0 || strcmp(p, "*") == 0 ||
      strcmp(p, "./") == 0 || n == 0 || strcmp(p, "/") == 0)
    return true;
  if (p[0] != '/')
    return false;
  for (const char *s = p; *s != '\0'; s++) {
    if (*s == '/' && s[1] != '\0' && s[1] != '/')
      depth++;
  }
  first = cb_xstrndup(p + 1, strcspn(p + 1, "/"));
  return depth <= 1 || in_list(first, system) ||
         (depth == 2 && in_list(first, shallow));
}

static bool
chmod_option(const char *w)
{
  if (strncmp(w, "--", 2) == 0)
    return true;
  return w[0] == '-' && w[1] != '\0' && strspn(w + 1, "Rcfv") == strlen(w + 1);
}

/* The finding of one chmod command, if any.  */
static void
chmod_world(struct lint_ctx *c, const struct instr *in,
            const struct lint_cmd *cmd, size_t at)
{
  const char *mode = NULL;

  for (size_t i = at + 1; i < cmd->nwords; i++) {
    const char *w = cmd->words[i];

    if (mode == NULL && chmod_option(w))
      continue;
    if (mode == NULL) {
      mode = w;
      if (!octal_world_writable(mode) && !symbolic_world_writable(mode))
        return;
      continue;
    }
    if (!chmod_option(w) && broad_path(w)) {
      lint_add(c, LINT_R_WORLD_WRITABLE, in->line,
               "chmod %s on '%s' lets every user of the container write "
               "there",
               mode, w);
      return;
    }
  }
}

static void
world_writable(struct lint_ctx *c, const struct instr *in)
{
  struct lint_script s;
  size_t before = c->report->n;

  if (in->kind != INSTR_RUN)
    return;
  parse_script(in, &s);
  for (size_t i = 0; i < s.n && c->report->n == before; i++) {
    int at;
    const char *p = program(&s.cmds[i], &at);

    if (p != NULL && strcmp(p, "chmod") == 0)
      chmod_world(c, in, &s.cmds[i], (size_t)at);
  }
  lint_script_release(&s);
}

static void
check_world_writable(struct lint_ctx *c)
{
  each_instr(c, EACH_TRIGGERS, world_writable);
}

/* --- CB015 sensitive-volume --- */

static void
sensitive_volume(struct lint_ctx *c, const struct instr *in)
{
  static const char *const trees[] = { "/etc", "/proc", "/sys",
                                       "/dev", "/boot", NULL };
  static const char *const exact[] = { "/", "/var/run/docker.sock",
                                       "/run/docker.sock", NULL };

  if (in->kind != INSTR_VOLUME)
    return;
  for (size_t i = 0; i < in->nargs; i++) {
    const char *a = in->args[i] + strspn(in->args[i], " \t");
    cleanup_free char *v = cb_xstrndup(a, strcspn(a, " \t"));
    size_t n = strlen(v);
    bool hit = in_list(v, exact);

    while (n > 1 && v[n - 1] == '/')
      v[--n] = '\0';
    hit = hit || in_list(v, exact);
    for (const char *const *t = trees; !hit && *t != NULL; t++)
      hit = path_under(v, *t);
    if (hit) {
      lint_add(c, LINT_R_SENSITIVE_VOLUME, in->line,
               "VOLUME %s is a host-sensitive path: whoever mounts the "
               "host's %s there gives the container the host",
               v, v);
      return;
    }
  }
}

static void
check_sensitive_volume(struct lint_ctx *c)
{
  each_instr(c, EACH_TRIGGERS, sensitive_volume);
}

/* --- CB016 maintainer-deprecated --- */

static void
maintainer(struct lint_ctx *c, const struct instr *in)
{
  if (in->kind == INSTR_MAINTAINER)
    lint_add(c, LINT_R_MAINTAINER, in->line,
             "MAINTAINER is deprecated: use LABEL "
             "org.opencontainers.image.authors=\"...\"");
}

static void
check_maintainer(struct lint_ctx *c)
{
  each_instr(c, 0, maintainer);
}

/* --- CB018 no-healthcheck --- */

static void
check_healthcheck(struct lint_ctx *c)
{
  const struct build_plan *plan = c->plan;

  for (size_t s = 0; s < plan->nstages; s++) {
    for (size_t i = 0; c->in_image[s] && i < plan->stages[s].ninstrs; i++) {
      if (plan->stages[s].instrs[i].kind == INSTR_HEALTHCHECK)
        return;
    }
  }
  lint_add(c, LINT_R_NO_HEALTHCHECK, plan->stages[c->target].from->line,
           "no HEALTHCHECK in the final stage: nothing tells a hung "
           "container from a healthy one");
}

/* --- CB019 relative-workdir --- */

static bool
absolute_workdir(const char *v)
{
  /* A variable may hold an absolute path: not known, not reported.  */
  return v[0] == '/' || v[0] == '\\' || v[0] == '$' ||
         (isalpha((unsigned char)v[0]) && v[1] == ':');
}

static void
check_relative_workdir(struct lint_ctx *c)
{
  const struct build_plan *plan = c->plan;
  cleanup_free bool *set = cb_xcalloc(plan->nstages, sizeof(*set));

  for (size_t s = 0; s < plan->nstages; s++) {
    const struct stage *st = &plan->stages[s];
    int parent = lint_stage_parent(plan, s);

    set[s] = parent >= 0 && set[parent];
    for (size_t i = 0; i < st->ninstrs; i++) {
      const struct instr *in = &st->instrs[i];

      if (in->kind != INSTR_WORKDIR)
        continue;
      if (!set[s] && !absolute_workdir(in->args[0]))
        lint_add(c, LINT_R_RELATIVE_WORKDIR, in->line,
                 "WORKDIR %s is relative to the base image's working "
                 "directory, which this Dockerfile never sets; use an "
                 "absolute path",
                 in->args[0]);
      set[s] = true;
    }
  }
}

/* --- CB020 copy-context-without-dockerignore --- */

/* ".", "./", "/", "./." : the whole context.  */
static bool
whole_context(const char *src)
{
  while (strncmp(src, "./", 2) == 0)
    src += 2;
  while (*src == '/')
    src++;
  return *src == '\0' || strcmp(src, ".") == 0 || strcmp(src, "./") == 0;
}

static void
copy_all(struct lint_ctx *c, const struct instr *in)
{
  if ((in->kind != INSTR_COPY && in->kind != INSTR_ADD) || in->from != NULL)
    return;
  for (size_t i = 0; i + 1 < in->nargs; i++) {
    if (whole_context(in->args[i])) {
      lint_add(c, LINT_R_COPY_ALL_NO_IGNORE, in->line,
               "%s of the whole context with no .dockerignore: .git, "
               "local secrets and build output end up in the image",
               instr_kind_name(in->kind));
      return;
    }
  }
}

static void
check_copy_all(struct lint_ctx *c)
{
  if (!c->opts->has_dockerignore)
    each_instr(c, 0, copy_all);
}

const lint_check_fn lint_checks[LINT_R_COUNT] = {
  [LINT_R_ROOT_USER] = check_root_user,
  [LINT_R_BASE_UNPINNED] = check_base_unpinned,
  [LINT_R_ADD_NOT_COPY] = check_add_not_copy,
  [LINT_R_ADD_URL_CHECKSUM] = check_add_url,
  [LINT_R_SECRET_ARG_ENV] = check_secrets,
  [LINT_R_APT_RECOMMENDS] = check_apt_recommends,
  [LINT_R_APT_LISTS] = check_apt_lists,
  [LINT_R_APK_CACHE] = check_apk_cache,
  [LINT_R_PIPE_TO_SHELL] = check_pipe_to_shell,
  [LINT_R_PKG_IN_CMD] = check_pkg_in_cmd,
  [LINT_R_MULTI_PROCESS] = check_multi_process,
  [LINT_R_SUDO] = check_sudo,
  [LINT_R_EXPOSE_SSH] = check_expose_ssh,
  [LINT_R_WORLD_WRITABLE] = check_world_writable,
  [LINT_R_SENSITIVE_VOLUME] = check_sensitive_volume,
  [LINT_R_MAINTAINER] = check_maintainer,
  [LINT_R_SHELL_FORM_CMD] = check_shell_form,
  [LINT_R_NO_HEALTHCHECK] = check_healthcheck,
  [LINT_R_RELATIVE_WORKDIR] = check_relative_workdir,
  [LINT_R_COPY_ALL_NO_IGNORE] = check_copy_all,
  [LINT_R_BAD_COMMENT] = NULL,
};
