#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_store.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/mem.h"
#include "layers/image.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild export [--root DIR] -o DEST IMAGE\n"
  "\n"
  "Write the flattened root filesystem of IMAGE (every layer applied, base\n"
  "first) to DEST: a directory that must not exist yet, or, when DEST ends\n"
  "in .tar, a tar file.\n";

static void
warn_stats(const struct flatten_stats *st)
{
  if (st->owner_failures > 0)
    cb_log(CB_LOG_WARN,
           "%llu files keep the caller's ownership: their owners cannot be "
           "set without privileges",
           (unsigned long long)st->owner_failures);
  if (st->devices_skipped > 0)
    cb_log(CB_LOG_WARN, "%llu device nodes were skipped (not permitted)",
           (unsigned long long)st->devices_skipped);
}

/* Flatten into a staging dir beside DEST and rename it into place, so
   DEST appears complete or not at all.  */
int
cli_export_dir(struct layer_store *s, const struct store_image *img,
           const char *dest, struct cb_error **err)
{
  cleanup_free char *tmp = cb_xasprintf("%s.tmp-XXXXXX", dest);
  struct flatten_stats st = { 0, 0, 0, 0 };
  cleanup_close int fd = -1;
  struct stat sb;
  int rc;

  if (lstat(dest, &sb) == 0)
    return cb_fail(err, CB_ERR_USAGE, 0, "'%s' already exists", dest);
  if (mkdtemp(tmp) == NULL)
    return cb_fail_errno(err, "cannot create '%s'", dest);
  chmod(tmp, 0755);
  fd = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
  rc = fd < 0 ? cb_fail_errno(err, "cannot open '%s'", tmp)
              : store_image_flatten(s, img, fd, &st, err);
  if (rc == 0 && rename(tmp, dest) < 0)
    rc = cb_fail_errno(err, "cannot rename to '%s'", dest);
  if (rc < 0) {
    cb_remove_tree_at(AT_FDCWD, tmp, NULL);
    return -1;
  }
  warn_stats(&st);
  return 0;
}

static int
fd_write(void *data, const void *buf, size_t len, struct cb_error **err)
{
  return cb_write_all(*(int *)data, buf, len, err);
}

/* The flattened tree as one uncompressed tar, merged straight from the
   layer blobs (owners and devices as the image holds them), written to a
   temporary file beside DEST and renamed into place.  */
struct flatten_job {
  struct layer_store *s;
  const struct store_image *img;
};

static int
fill_flat_tar(int fd, void *data, struct cb_error **err)
{
  struct flatten_job *j = data;
  struct cb_sink sink = { fd_write, &fd };

  return store_image_flatten_tar(j->s, j->img, &sink, err);
}

int
cli_export_tar(struct layer_store *s, const struct store_image *img,
               const char *dest, struct cb_error **err)
{
  struct flatten_job j = { s, img };

  return cb_replace_file(dest, 0644, fill_flat_tar, &j, err);
}

static bool
ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), m = strlen(suffix);

  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int
set_output(void *data, int id, const char *arg, struct cb_error **err)
{
  *(const char **)data = arg;
  return 0;
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  static const struct cli_opt opts[] = {
    { "output", 'o', true, 0 },
    { NULL, 0, false, 0 },
  };
  cleanup_layer_store struct layer_store *s = NULL;
  const char *output = NULL;
  struct store_image img;
  int first = 0;
  int rc = cli_parse(&cli_cmd_export, argc, argv, opts, true, set_output,
                     &output, &first, err);

  if (rc != 0)
    return rc < 0 ? -1 : 0;
  if (output == NULL || argc - first != 1)
    return cli_usage_error(&cli_cmd_export, err,
                           "expected -o DEST and one IMAGE");
  s = cli_store_open(err);
  if (s == NULL || layer_store_resolve(s, argv[first], &img, err) < 0)
    return -1;
  if (ends_with(output, ".tar"))
    rc = cli_export_tar(s, &img, output, err);
  else
    rc = cli_export_dir(s, &img, output, err);
  store_image_release(&img);
  return rc;
}


const struct cli_command cli_cmd_export = {
  .name = "export",
  .summary = "write an image's flattened root filesystem",
  .usage = usage,
  .run = run,
};
