#include "config.h"

#include "cli/cli_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/banned.h"

const char *cli_root;

struct layer_store *
cli_store_open(struct cb_error **err)
{
  cleanup_free char *def = NULL;

  if (cli_root == NULL)
    def = layer_store_default_root();
  return layer_store_open(cli_root != NULL ? cli_root : def, err);
}

void
cli_format_size(uint64_t bytes, char *out, size_t len)
{
  static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
  double v = (double)bytes;
  size_t u = 0;

  while (v >= 1000 && u + 1 < sizeof(units) / sizeof(units[0])) {
    v /= 1000;
    u++;
  }
  if (u == 0)
    snprintf(out, len, "%llu %s", (unsigned long long)bytes, units[0]);
  else
    snprintf(out, len, "%.3g %s", v, units[u]);
}

static void
plural(char *out, size_t len, long n, const char *unit)
{
  snprintf(out, len, "%ld %s%s ago", n, unit, n == 1 ? "" : "s");
}

void
cli_format_ago(const char *rfc3339, char *out, size_t len)
{
  struct tm tm;
  const char *rest;
  time_t t, now = time(NULL);
  long d;

  memset(&tm, 0, sizeof(tm));
  out[0] = '\0';
  if (rfc3339 == NULL)
    return;
  rest = strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == NULL)
    return;
  t = timegm(&tm);
  d = (long)(now - t);
  if (d < 60)
    snprintf(out, len, "%s", d < 2 ? "About a second ago" : "Seconds ago");
  else if (d < 3600)
    plural(out, len, d / 60, "minute");
  else if (d < 86400)
    plural(out, len, d / 3600, "hour");
  else if (d < 86400 * 365)
    plural(out, len, d / 86400, "day");
  else
    plural(out, len, d / (86400 * 365), "year");
}
