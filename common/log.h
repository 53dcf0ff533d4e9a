/* Logging to stderr.  stdout carries results only.  The level comes from
   --log-level or CBUILD_LOG (error, warn, info, debug); the default is
   warn.  The level is checked before anything is formatted.  */
#ifndef CBUILD_COMMON_LOG_H
#define CBUILD_COMMON_LOG_H

#include <stdbool.h>

#include "common/error.h"

enum cb_log_level {
  CB_LOG_ERROR = 0,
  CB_LOG_WARN,
  CB_LOG_INFO,
  CB_LOG_DEBUG,
};

extern enum cb_log_level cb_log_threshold;

/* Parse "error", "warn", "info" or "debug" into *level.  */
int cb_log_parse_level(const char *name, enum cb_log_level *level,
                       struct cb_error **err);
void cb_log_set_level(enum cb_log_level level);

static inline bool
cb_log_enabled(enum cb_log_level level)
{
  return level <= cb_log_threshold;
}

void cb_log_(enum cb_log_level level, const char *fmt, ...) CB_PRINTF(2, 3);
#define cb_log(level, ...)                                                     \
  do {                                                                         \
    if (cb_log_enabled(level))                                                 \
      cb_log_(level, __VA_ARGS__);                                             \
  } while (0)

#endif
