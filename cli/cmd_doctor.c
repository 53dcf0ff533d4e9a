#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/probe.h"
#include "builder/rootfs.h"
#include "builder/userns.h"
#include "cli/cli.h"
#include "cli/cli_store.h"
#include "common/cleanup.h"
#include "common/mem.h"
#include "common/banned.h"

static const char usage[] =
  "usage: cbuild doctor [--root DIR] [--format text|json]\n"
  "\n"
  "Check what rootless building needs on this machine, by trying each\n"
  "thing: user namespaces, your subuid/subgid ranges, newuidmap and\n"
  "newgidmap, an overlay mount (userxattr) inside a user namespace next\n"
  "to the store, openat2, seccomp and the cgroup version.  One line each,\n"
  "yes or no and why, then the id mapping and storage driver cbuild will\n"
  "use, and why: CBUILD_STORAGE_DRIVER when set, else overlay when the\n"
  "overlay check passes, else vfs.  Exits 0 when the checks ran, whatever\n"
  "they found.\n"
  "\n"
  "  --root DIR           the store whose file system the overlay check uses\n"
  "  --format text|json   output format (default text)\n";

enum { N_CHECKS = 10 };

struct doctor {
  struct probe_result r[N_CHECKS];
  size_t n;
  char *userns;  /* owned; the mapping, or NULL when it fails */
  char *storage; /* owned; "overlay" or "vfs" */
  char *storage_why; /* owned */
};

/* The directory the overlay check works in: the store, or the nearest
   existing directory above it that we can write to, else $TMPDIR.  */
static char *
overlay_dir(void)
{
  cleanup_free char *p =
    cli_root != NULL ? cb_xstrdup(cli_root) : layer_store_default_root();
  const char *tmp = getenv("TMPDIR");

  for (;;) {
    struct stat st;
    char *slash;

    if (stat(p, &st) == 0 && S_ISDIR(st.st_mode) && access(p, W_OK) == 0)
      return steal_ptr(&p);
    slash = strrchr(p, '/');
    if (slash == NULL || slash == p)
      break;
    *slash = '\0';
  }
  return cb_xstrdup(tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
}

/* The storage driver `cbuild run` would use, as rootfs_driver_choose()
   decides it, from the overlay check OVL.  */
static void
pick_storage(struct doctor *d, const struct probe_result *ovl)
{
  struct cb_error *err = NULL;
  enum rootfs_driver req, got;
  const char *source = NULL;
  char *why = NULL;

  if (rootfs_driver_requested(NULL, NULL, &req, &source, &err) < 0) {
    cleanup_free char *text = cb_error_text(err);
    cleanup_free char *auto_why = NULL;

    cb_error_free(err);
    got = rootfs_driver_decide(ROOTFS_DRIVER_AUTO, NULL, ovl->ok, ovl->detail,
                               &auto_why);
    why = cb_xasprintf("%s; %s", text, auto_why);
  } else {
    got = rootfs_driver_decide(req, source, ovl->ok, ovl->detail, &why);
  }
  d->storage = cb_xstrdup(rootfs_driver_name(got));
  d->storage_why = why;
}

static void
run_checks(struct doctor *d, const struct userns_plan *plan)
{
  cleanup_free char *dir = overlay_dir();
  const struct probe_result *map, *ovl;

  probe_userns(&d->r[d->n++]);
  probe_subid(&d->r[d->n++], plan, false);
  probe_subid(&d->r[d->n++], plan, true);
  probe_helper(&d->r[d->n++], plan, false);
  probe_helper(&d->r[d->n++], plan, true);
  map = &d->r[d->n];
  probe_mapping(&d->r[d->n++], plan);
  ovl = &d->r[d->n];
  probe_overlay(&d->r[d->n++], plan, dir);
  probe_openat2(&d->r[d->n++]);
  probe_seccomp(&d->r[d->n++]);
  probe_cgroup(&d->r[d->n++]);
  if (map->ok)
    d->userns = userns_plan_describe(plan);
  pick_storage(d, ovl);
}

static void
print_text(const struct doctor *d)
{
  for (size_t i = 0; i < d->n; i++)
    printf("%-22s %s: %s\n", d->r[i].name, d->r[i].ok ? "yes" : "no",
           d->r[i].detail);
  if (d->userns != NULL)
    printf("%-22s userns: %s; storage driver: %s", "cbuild will use",
           d->userns, d->storage);
  else
    printf("%-22s no user namespace (see above); storage driver: %s",
           "cbuild will use", d->storage);
  printf(" (%s)\n", d->storage_why);
}

static void
print_json(const struct doctor *d)
{
  json_t *checks = json_array();
  json_t *o = json_object();
  char *s;

  for (size_t i = 0; i < d->n; i++) {
    json_t *c = json_object();

    json_object_set_new(c, "name", json_string(d->r[i].name));
    json_object_set_new(c, "ok", json_boolean(d->r[i].ok));
    json_object_set_new(c, "detail", json_string(d->r[i].detail));
    json_array_append_new(checks, c);
  }
  json_object_set_new(o, "checks", checks);
  json_object_set_new(o, "userns",
                      d->userns != NULL ? json_string(d->userns)
                                        : json_null());
  json_object_set_new(o, "storage_driver", json_string(d->storage));
  json_object_set_new(o, "storage_reason", json_string(d->storage_why));
  s = json_dumps(o, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
  printf("%s\n", s);
  free(s);
  json_decref(o);
}

static int
doctor_opt(void *data, int id, const char *arg, struct cb_error **err)
{
  bool *json = data;

  if (strcmp(arg, "json") != 0 && strcmp(arg, "text") != 0)
    return cli_usage_error(&cli_cmd_doctor, err,
                           "unknown format '%s' (text, json)", arg);
  *json = strcmp(arg, "json") == 0;
  return 0;
}

static int
run(int argc, char **argv, struct cb_error **err)
{
  static const struct cli_opt opts[] = {
    { "format", 0, true, 'F' },
    { NULL, 0, false, 0 },
  };
  struct doctor d;
  struct userns_plan plan;
  bool json = false;
  int first = 0;
  int rc = cli_parse(&cli_cmd_doctor, argc, argv, opts, true, doctor_opt,
                     &json, &first, err);

  if (rc != 0)
    return rc < 0 ? -1 : 0;
  if (first != argc)
    return cli_usage_error(&cli_cmd_doctor, err, "unexpected argument '%s'",
                           argv[first]);
  if (userns_plan_init(&plan, err) < 0)
    return -1;
  memset(&d, 0, sizeof(d));
  run_checks(&d, &plan);
  if (json)
    print_json(&d);
  else
    print_text(&d);
  for (size_t i = 0; i < d.n; i++)
    probe_result_release(&d.r[i]);
  free(d.userns);
  free(d.storage);
  free(d.storage_why);
  userns_plan_release(&plan);
  return 0;
}

const struct cli_command cli_cmd_doctor = {
  .name = "doctor",
  .summary = "check what rootless building needs on this machine",
  .usage = usage,
  .run = run,
};
