#include "config.h"

#include "builder/context.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/banned.h"

static int
read_dockerfile(struct build_context *ctx, const char *dockerfile,
                char **text, size_t *len, struct cb_error **err)
{
  cleanup_close int fd = -1;

  if (dockerfile != NULL && strcmp(dockerfile, "-") == 0) {
    if (cb_read_all(STDIN_FILENO, CB_MAX_DOCKERFILE_SIZE, text, len, err) <
        0)
      return cb_wrap(err, "cannot read the Dockerfile from stdin");
    return 0;
  }
  if (dockerfile != NULL)
    return cb_read_file_at(AT_FDCWD, dockerfile, CB_MAX_DOCKERFILE_SIZE, text,
                           len, err);
  fd = cb_open_in_root(ctx->root_fd, "Dockerfile", O_RDONLY | O_NOCTTY, 0,
                       err);
  if (fd < 0)
    return cb_wrap(err, "context '%s'", ctx->dir);
  if (cb_read_all(fd, CB_MAX_DOCKERFILE_SIZE, text, len, err) < 0)
    return cb_wrap(err, "'%s'", ctx->dockerfile_name);
  return 0;
}

/* Read an ignore file if it exists: returns 1 with *TEXT, 0 if absent. */
static int
try_read(int dir_fd, const char *name, bool in_root, char **text,
         size_t *len, struct cb_error **err)
{
  cleanup_error struct cb_error *open_err = NULL;
  cleanup_close int fd = -1;

  if (in_root)
    fd = cb_open_in_root(dir_fd, name, O_RDONLY | O_NOCTTY, 0, &open_err);
  else
    fd = openat(dir_fd, name, O_RDONLY | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    int e = open_err != NULL ? open_err->errnum : errno;

    if (e == ENOENT)
      return 0;
    return cb_fail(err, CB_ERR_SYSTEM, e, "cannot open '%s'", name);
  }
  if (cb_read_all(fd, CB_MAX_DOCKERFILE_SIZE, text, len, err) < 0)
    return cb_wrap(err, "'%s'", name);
  return 1;
}

static int
read_ignore(struct build_context *ctx, const char *dockerfile,
            struct cb_error **err)
{
  cleanup_free char *text = NULL;
  size_t len = 0;
  int rc = 0;

  /* BuildKit: "<name>.dockerignore" next to the Dockerfile wins.  */
  if (dockerfile != NULL && strcmp(dockerfile, "-") != 0) {
    cleanup_free char *own = cb_xasprintf("%s.dockerignore", dockerfile);

    rc = try_read(AT_FDCWD, own, false, &text, &len, err);
    if (rc > 0)
      ctx->ignore_name = steal_ptr(&own);
  } else if (dockerfile == NULL) {
    rc = try_read(ctx->root_fd, "Dockerfile.dockerignore", true, &text, &len,
                  err);
    if (rc > 0)
      ctx->ignore_name = cb_xasprintf("%s/Dockerfile.dockerignore", ctx->dir);
  }
  if (rc == 0) {
    rc = try_read(ctx->root_fd, ".dockerignore", true, &text, &len, err);
    if (rc > 0)
      ctx->ignore_name = cb_xasprintf("%s/.dockerignore", ctx->dir);
  }
  if (rc < 0)
    return -1;
  ctx->ignore_patterns = dockerignore_parse(text != NULL ? text : "", len, err);
  if (ctx->ignore_patterns != NULL)
    ctx->ignore = ignore_matcher_new(ctx->ignore_patterns, err);
  if (ctx->ignore == NULL)
    return cb_wrap(err, "%s", ctx->ignore_name ? ctx->ignore_name
                                               : ".dockerignore");
  return 0;
}

struct build_context *
build_context_open(const char *dir, const char *dockerfile, char **df_text,
                   size_t *df_len, struct cb_error **err)
{
  cleanup_build_context struct build_context *ctx =
    cb_xcalloc(1, sizeof(*ctx));
  cleanup_free char *text = NULL;
  size_t len = 0;

  ctx->dir = cb_xstrdup(dir);
  ctx->root_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (ctx->root_fd < 0)
    return cb_fail_null(err, CB_ERR_SYSTEM, errno,
                        "cannot open build context '%s'", dir);
  ctx->dockerfile_name =
    dockerfile != NULL ? cb_xstrdup(strcmp(dockerfile, "-") ? dockerfile
                                                            : "<stdin>")
                       : cb_xasprintf("%s/Dockerfile", dir);
  if (read_dockerfile(ctx, dockerfile, &text, &len, err) < 0 ||
      read_ignore(ctx, dockerfile, err) < 0)
    return NULL;
  *df_text = steal_ptr(&text);
  *df_len = len;
  return steal_ptr(&ctx);
}

void
build_context_free(struct build_context *ctx)
{
  if (ctx == NULL)
    return;
  if (ctx->root_fd >= 0)
    close(ctx->root_fd);
  free(ctx->dir);
  free(ctx->dockerfile_name);
  free(ctx->ignore_name);
  cb_strv_free(ctx->ignore_patterns);
  ignore_matcher_free(ctx->ignore);
  free(ctx);
}

void
build_context_freep(struct build_context **ctx)
{
  build_context_free(*ctx);
  *ctx = NULL;
}
