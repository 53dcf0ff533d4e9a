#include "config.h"

#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum cb_log_level cb_log_threshold = CB_LOG_WARN;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int
cb_log_parse_level(const char *name, enum cb_log_level *level,
                   struct cb_error **err)
{
  for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
    if (strcmp(name, level_names[i]) == 0) {
      *level = (enum cb_log_level)i;
      return 0;
    }
  }
  if (strcmp(name, "warning") == 0) {
    *level = CB_LOG_WARN;
    return 0;
  }
  return cb_fail(err, CB_ERR_USAGE, 0,
                 "unknown log level '%s' (error, warn, info, debug)", name);
}

void
cb_log_set_level(enum cb_log_level level)
{
  cb_log_threshold = level;
}

void
cb_log_(enum cb_log_level level, const char *fmt, ...)
{
  char line[4096];
  va_list ap;
  int n;

  /* One write per line so that concurrent writers do not interleave.  */
  n = snprintf(line, sizeof(line), "cbuild: %s: ",
               level == CB_LOG_WARN ? "warning" : level_names[level]);
  va_start(ap, fmt);
  vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
  va_end(ap);
  n = (int)strlen(line);
  line[n++] = '\n';
  fwrite(line, 1, (size_t)n, stderr);
}
