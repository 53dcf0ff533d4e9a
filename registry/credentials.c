#include "config.h"

#include "registry/credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/mem.h"
#include "common/banned.h"

void
registry_free_secret(char *s)
{
  if (s != NULL)
    explicit_bzero(s, strlen(s));
  free(s);
}

/* cbuild's auth file: a new string.  */
static char *
auth_file_path(struct cb_error **err)
{
  const char *f = getenv("REGISTRY_AUTH_FILE");
  const char *run = getenv("XDG_RUNTIME_DIR");

  if (f != NULL && *f != '\0')
    return cb_xstrdup(f);
  if (run != NULL && *run != '\0')
    return cb_xasprintf("%s/containers/auth.json", run);
  return cb_fail_null(err, CB_ERR_USAGE, 0,
                      "no auth file: set REGISTRY_AUTH_FILE or "
                      "XDG_RUNTIME_DIR");
}

static bool
have_auth_file(void)
{
  const char *f = getenv("REGISTRY_AUTH_FILE");
  const char *run = getenv("XDG_RUNTIME_DIR");

  return (f != NULL && *f != '\0') || (run != NULL && *run != '\0');
}

/* Read the JSON object at PATH into *OUT (a new reference), or an empty
   object when there is no such file.  */
static int
load_json(const char *path, json_t **out, struct cb_error **err)
{
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  char *buf = NULL;
  size_t len;
  json_error_t je;
  json_t *j;

  if (fd < 0 && errno == ENOENT) {
    *out = json_object();
    return 0;
  }
  if (fd < 0)
    return cb_fail_errno(err, "cannot open '%s'", path);
  if (cb_read_all(fd, REGISTRY_MAX_AUTH_FILE, &buf, &len, err) < 0)
    return cb_wrap(err, "'%s'", path);
  j = json_loadb(buf, len, 0, &je);
  explicit_bzero(buf, len);
  free(buf);
  if (j == NULL)
    return cb_fail(err, CB_ERR_PARSE, 0, "'%s': line %d: %s", path, je.line,
                   je.text);
  if (!json_is_object(j)) {
    json_decref(j);
    return cb_fail(err, CB_ERR_PARSE, 0, "'%s': not a JSON object", path);
  }
  *out = j;
  return 0;
}

/* Split the base64 "user:pass" B64 into new strings.  */
static int
decode_auth(const char *b64, char **user, char **pass, const char *path,
            const char *domain, struct cb_error **err)
{
  size_t n = strlen(b64), pad = 0;
  unsigned char *raw;
  int m;
  char *colon;

  if (n == 0 || n % 4 != 0 || n / 4 * 3 > REGISTRY_MAX_CREDENTIALS)
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "'%s': invalid \"auth\" for '%s'", path, domain);
  raw = cb_xmalloc(n / 4 * 3 + 1);
  m = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n);
  if (b64[n - 1] == '=')
    pad++;
  if (b64[n - 2] == '=')
    pad++;
  if (m < 0 || (size_t)m < pad) {
    free(raw);
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "'%s': invalid \"auth\" for '%s'", path, domain);
  }
  m -= (int)pad;
  raw[m] = '\0';
  colon = memchr(raw, ':', (size_t)m);
  if (colon == NULL || colon == (char *)raw ||
      strlen((char *)raw) != (size_t)m) {
    explicit_bzero(raw, (size_t)m);
    free(raw);
    return cb_fail(err, CB_ERR_PARSE, 0,
                   "'%s': the \"auth\" of '%s' is not user:password", path,
                   domain);
  }
  *user = cb_xstrndup((char *)raw, (size_t)(colon - (char *)raw));
  *pass = cb_xstrdup(colon + 1);
  explicit_bzero(raw, (size_t)m);
  free(raw);
  return 0;
}

/* The entry of DOMAIN in "auths" of J: docker.io is also found under
   the key docker writes for it.  */
static json_t *
auths_entry(json_t *j, const char *domain)
{
  json_t *auths = json_object_get(j, "auths");
  json_t *e = json_object_get(auths, domain);

  if (e == NULL && strcmp(domain, "docker.io") == 0)
    e = json_object_get(auths, "https://index.docker.io/v1/");
  return json_is_object(e) ? e : NULL;
}

static int
find_in(const char *path, const char *domain, char **user, char **pass,
        bool *found, char **helper, struct cb_error **err)
{
  json_t *j = NULL;
  json_t *e, *a, *h;
  int rc = 0;

  if (load_json(path, &j, err) < 0)
    return -1;
  e = auths_entry(j, domain);
  a = json_object_get(e, "auth");
  if (json_is_string(a) && json_string_length(a) > 0) {
    rc = decode_auth(json_string_value(a), user, pass, path, domain, err);
    *found = rc == 0;
  } else if (helper != NULL && *helper == NULL) {
    h = json_object_get(json_object_get(j, "credHelpers"), domain);
    if (!json_is_string(h))
      h = json_object_get(j, "credsStore");
    if (json_is_string(h) && json_string_length(h) > 0)
      *helper = cb_xstrdup(json_string_value(h));
  }
  json_decref(j);
  return rc;
}

int
registry_credentials_find(const char *domain, char **user, char **pass,
                          bool *found, char **helper, struct cb_error **err)
{
  cleanup_free char *own = NULL;
  cleanup_free char *docker = NULL;
  const char *dc = getenv("DOCKER_CONFIG");
  const char *home = getenv("HOME");

  *found = false;
  *helper = NULL;
  own = have_auth_file() ? auth_file_path(err) : NULL;
  if (own != NULL && find_in(own, domain, user, pass, found, NULL, err) < 0)
    return -1;
  if (*found)
    return 0;
  if (dc != NULL && *dc != '\0')
    docker = cb_xasprintf("%s/config.json", dc);
  else if (home != NULL && *home != '\0')
    docker = cb_xasprintf("%s/.docker/config.json", home);
  if (docker != NULL &&
      find_in(docker, domain, user, pass, found, helper, err) < 0) {
    free(*helper);
    *helper = NULL;
    return -1;
  }
  if (*found) {
    free(*helper);
    *helper = NULL;
  }
  return 0;
}

/* Create the directory of PATH (one level) when missing.  */
static int
make_parent(const char *path, struct cb_error **err)
{
  cleanup_free char *dir = cb_xstrdup(path);
  char *slash = strrchr(dir, '/');

  if (slash == NULL || slash == dir)
    return 0;
  *slash = '\0';
  if (mkdir(dir, 0700) < 0 && errno != EEXIST)
    return cb_fail_errno(err, "cannot create '%s'", dir);
  return 0;
}

/* Write J to PATH atomically (a 0600 file beside it, renamed over it).  */
static int
save_json(const char *path, json_t *j, struct cb_error **err)
{
  cleanup_free char *tmp = cb_xasprintf("%s.XXXXXX", path);
  char *text;
  int fd, rc;

  if (make_parent(path, err) < 0)
    return -1;
  text = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS);
  if (text == NULL)
    abort();
  fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    registry_free_secret(text);
    return cb_fail_errno(err, "cannot create a file beside '%s'", path);
  }
  rc = fchmod(fd, 0600) < 0 ? cb_fail_errno(err, "chmod '%s'", tmp) : 0;
  if (rc == 0)
    rc = cb_write_all(fd, text, strlen(text), err);
  if (rc == 0)
    rc = cb_write_all(fd, "\n", 1, err);
  if (rc == 0 && fsync(fd) < 0)
    rc = cb_fail_errno(err, "fsync '%s'", tmp);
  registry_free_secret(text);
  if (close(fd) < 0 && rc == 0)
    rc = cb_fail_errno(err, "close '%s'", tmp);
  if (rc == 0 && rename(tmp, path) < 0)
    rc = cb_fail_errno(err, "cannot replace '%s'", path);
  if (rc < 0)
    unlink(tmp);
  return rc;
}

int
registry_credentials_store(const char *domain, const char *user,
                           const char *pass, struct cb_error **err)
{
  cleanup_free char *path = auth_file_path(err);
  size_t ul = strlen(user), pl = strlen(pass);
  json_t *j = NULL, *auths, *entry;
  unsigned char *b64;
  char *plain;
  int rc;

  if (path == NULL)
    return -1;
  if (ul + pl + 1 > REGISTRY_MAX_CREDENTIALS)
    return cb_fail(err, CB_ERR_USAGE, 0, "the credentials are too long");
  if (load_json(path, &j, err) < 0)
    return -1;
  auths = json_object_get(j, "auths");
  if (!json_is_object(auths)) {
    auths = json_object();
    json_object_set_new(j, "auths", auths);
  }
  plain = cb_xasprintf("%s:%s", user, pass);
  b64 = cb_xmalloc((ul + pl + 1 + 2) / 3 * 4 + 1);
  EVP_EncodeBlock(b64, (unsigned char *)plain, (int)(ul + pl + 1));
  registry_free_secret(plain);
  entry = json_object();
  json_object_set_new(entry, "auth", json_string((char *)b64));
  registry_free_secret((char *)b64);
  json_object_set_new(auths, domain, entry);
  rc = save_json(path, j, err);
  json_decref(j);
  return rc;
}

int
registry_credentials_remove(const char *domain, bool *found,
                            struct cb_error **err)
{
  cleanup_free char *path = auth_file_path(err);
  json_t *j = NULL;
  json_t *auths;
  int rc = 0;

  if (path == NULL)
    return -1;
  if (load_json(path, &j, err) < 0)
    return -1;
  auths = json_object_get(j, "auths");
  *found = json_object_get(auths, domain) != NULL;
  if (*found) {
    json_object_del(auths, domain);
    rc = save_json(path, j, err);
  }
  json_decref(j);
  return rc;
}

/* A helper name goes into a program name looked up on $PATH: no
   slashes, nothing a shell or a path would read differently.  */
static bool
valid_helper_name(const char *name)
{
  if (*name == '\0' || *name == '.')
    return false;
  for (const char *p = name; *p != '\0'; p++) {
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
      return false;
  }
  return true;
}

/* Write S to the socket FD, as far as the reader takes it.  */
static void
send_all(int fd, const char *s)
{
  size_t left = strlen(s);

  while (left > 0) {
    ssize_t n = send(fd, s, left, MSG_NOSIGNAL);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    s += n;
    left -= (size_t)n;
  }
}

/* Run PROG "get" with INPUT on its stdin and its stdout read into *OUT
   (at most REGISTRY_MAX_AUTH_FILE bytes); stderr goes to /dev/null, so
   whatever it says stays out of cbuild's output.  *STATUS is its wait
   status.  */
static int
run_helper(const char *prog, const char *input, char **out, size_t *len,
           int *status, struct cb_error **err)
{
  char *argv[] = { (char *)prog, (char *)"get", NULL };
  posix_spawn_file_actions_t fa;
  int in[2] = { -1, -1 }, outp[2] = { -1, -1 };
  pid_t pid;
  int rc;

  /* stdin is a socket so that a helper that exits without reading
     gives EPIPE (MSG_NOSIGNAL), not a SIGPIPE for the whole process.  */
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 ||
      pipe2(outp, O_CLOEXEC) < 0) {
    rc = cb_fail_errno(err, "pipe");
    goto close_pipes;
  }
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  rc = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    rc = cb_fail(err, CB_ERR_SYSTEM, rc, "cannot run '%s'", prog);
    goto close_pipes;
  }
  close(in[0]);
  close(outp[1]);
  in[0] = outp[1] = -1;
  send_all(in[1], input);
  close(in[1]);
  in[1] = -1;
  rc = cb_read_all(outp[0], REGISTRY_MAX_AUTH_FILE, out, len, err);
  while (waitpid(pid, status, 0) < 0 && errno == EINTR)
    ;
  if (rc < 0)
    cb_wrap(err, "output of '%s'", prog);
close_pipes:
  for (int i = 0; i < 2; i++) {
    if (in[i] >= 0)
      close(in[i]);
    if (outp[i] >= 0)
      close(outp[i]);
  }
  return rc < 0 ? -1 : 0;
}

/* The credentials in a helper's answer {"ServerURL": .., "Username": ..,
   "Secret": ..}.  */
static int
parse_helper_answer(const char *prog, const char *buf, size_t len,
                    char **user, char **pass, struct cb_error **err)
{
  json_t *j = json_loadb(buf, len, 0, NULL);
  json_t *u = json_object_get(j, "Username");
  json_t *p = json_object_get(j, "Secret");
  int rc = 0;

  if (!json_is_string(u) || !json_is_string(p) ||
      json_string_length(u) == 0 ||
      json_string_length(u) + json_string_length(p) + 1 >
        REGISTRY_MAX_CREDENTIALS)
    rc = cb_fail(err, CB_ERR_REGISTRY, 0,
                 "'%s' gave no usable credentials", prog);
  else if (strcmp(json_string_value(u), "<token>") == 0)
    rc = cb_fail(err, CB_ERR_REGISTRY, 0,
                 "'%s' gave an identity token, which cbuild cannot use",
                 prog);
  if (rc == 0) {
    *user = cb_xstrdup(json_string_value(u));
    *pass = cb_xstrdup(json_string_value(p));
  }
  if (p != NULL && json_is_string(p))
    explicit_bzero((char *)json_string_value(p), json_string_length(p));
  json_decref(j);
  return rc;
}

int
registry_credentials_from_helper(const char *helper, const char *domain,
                                 char **user, char **pass, bool *found,
                                 struct cb_error **err)
{
  cleanup_free char *prog = NULL;
  /* Docker's key for Docker Hub.  */
  const char *server = strcmp(domain, "docker.io") == 0
                         ? "https://index.docker.io/v1/"
                         : domain;
  char *out = NULL;
  size_t len = 0;
  int status = 0;
  int rc;

  *found = false;
  if (!valid_helper_name(helper))
    return cb_fail(err, CB_ERR_PARSE, 0, "invalid credential helper '%.100s'",
                   helper);
  prog = cb_xasprintf("docker-credential-%s", helper);
  if (run_helper(prog, server, &out, &len, &status, err) < 0)
    return cb_wrap(err, "credential helper '%s'", helper);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    rc = parse_helper_answer(prog, out, len, user, pass, err);
    *found = rc == 0;
  } else if (WIFEXITED(status) && out != NULL && len > 0 &&
             memmem(out, len, "credentials not found", 21) != NULL) {
    rc = 0; /* the protocol's "not found": go on without */
  } else {
    rc = cb_fail(err, CB_ERR_REGISTRY, 0, "'%s get' failed (%s %d)", prog,
                 WIFEXITED(status) ? "exit status" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
  }
  if (out != NULL)
    explicit_bzero(out, len);
  free(out);
  return rc;
}
