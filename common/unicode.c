#include "config.h"

#include "common/unicode.h"

extern const struct cb_unicode_range cb_unicode_print[];
extern const size_t cb_unicode_print_len;
extern const struct cb_unicode_range cb_unicode_letter[];
extern const size_t cb_unicode_letter_len;
extern const struct cb_unicode_range cb_unicode_digit[];
extern const size_t cb_unicode_digit_len;

size_t
cb_utf8_decode(const char *str, size_t n, uint32_t *cp)
{
  const unsigned char *s = (const unsigned char *)str;
  uint32_t c;
  size_t len;
  uint32_t min;

  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  if (s[0] >= 0xC2 && s[0] <= 0xDF) {
    c = s[0] & 0x1F;
    len = 2;
    min = 0x80;
  } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
    c = s[0] & 0x0F;
    len = 3;
    min = 0x800;
  } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
    c = s[0] & 0x07;
    len = 4;
    min = 0x10000;
  } else {
    *cp = CB_UTF8_INVALID;
    return 1;
  }
  if (n < len) {
    *cp = CB_UTF8_INVALID;
    return 1;
  }
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) {
      *cp = CB_UTF8_INVALID;
      return 1;
    }
    c = (c << 6) | (s[i] & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
    *cp = CB_UTF8_INVALID;
    return 1;
  }
  *cp = c;
  return len;
}

size_t
cb_utf8_encode(uint32_t cp, char out[4])
{
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    cp = CB_RUNE_ERROR;
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

static bool
in_table(const struct cb_unicode_range *t, size_t n, uint32_t cp)
{
  size_t lo = 0, hi = n;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;

    if (cp < t[mid].lo)
      hi = mid;
    else if (cp > t[mid].hi)
      lo = mid + 1;
    else
      return true;
  }
  return false;
}

bool
cb_unicode_is_print(uint32_t cp)
{
  if (cp < 0x80)
    return cp >= 0x20 && cp < 0x7F;
  return in_table(cb_unicode_print, cb_unicode_print_len, cp);
}

bool
cb_unicode_is_letter(uint32_t cp)
{
  if (cp < 0x80)
    return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  return in_table(cb_unicode_letter, cb_unicode_letter_len, cp);
}

bool
cb_unicode_is_digit(uint32_t cp)
{
  if (cp < 0x80)
    return cp >= '0' && cp <= '9';
  return in_table(cb_unicode_digit, cb_unicode_digit_len, cp);
}

bool
cb_unicode_is_space(uint32_t cp)
{
  switch (cp) {
  case '\t':
  case '\n':
  case '\v':
  case '\f':
  case '\r':
  case ' ':
  case 0x85:
  case 0xA0:
  case 0x1680:
  case 0x2028:
  case 0x2029:
  case 0x202F:
  case 0x205F:
  case 0x3000:
    return true;
  default:
    return cp >= 0x2000 && cp <= 0x200A;
  }
}
