/* Numbers in text that comes from outside (/etc/subuid, /etc/passwd,
   --chown): plain decimal digits, no sign, no spaces, no overflow.  */
#ifndef CBUILD_COMMON_NUM_H
#define CBUILD_COMMON_NUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The LEN digits at S as a number of at most MAX into *OUT; false (and
   *OUT untouched) for anything else.  */
bool cb_parse_u32(const char *s, size_t len, uint32_t max, uint32_t *out);

/* A user or group id: as cb_parse_u32 below UINT32_MAX, which chown(2)
   and setuid(2) take as "no id".  */
static inline bool
cb_parse_id(const char *s, size_t len, uint32_t *out)
{
  return cb_parse_u32(s, len, UINT32_MAX - 1, out);
}

#endif
