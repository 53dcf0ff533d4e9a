#include "config.h"

#include "common/num.h"

#include "common/banned.h"

bool
cb_parse_u32(const char *s, size_t len, uint32_t max, uint32_t *out)
{
  uint64_t v = 0;

  if (len == 0 || len > 10)
    return false;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (v > max)
    return false;
  *out = (uint32_t)v;
  return true;
}
