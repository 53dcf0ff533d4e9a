/* UTF-8 decoding and the few Unicode classes the Dockerfile frontend needs,
   with the rules of Go's unicode and utf8 packages (BuildKit is written in
   Go, and its test corpora encode those rules).  */
#ifndef CBUILD_COMMON_UNICODE_H
#define CBUILD_COMMON_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CB_UTF8_INVALID 0xFFFFFFFFu
#define CB_RUNE_ERROR 0xFFFDu

/* Decode one code point from S (N > 0 bytes available).  Returns the number
   of bytes used (1 to 4).  Invalid UTF-8 (bad lead or continuation byte,
   overlong form, surrogate, > U+10FFFF, truncated) sets *CP to
   CB_UTF8_INVALID and uses 1 byte, as Go does.  */
size_t cb_utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Encode CP (a valid scalar value; others become U+FFFD) into OUT.
   Returns the length, 1 to 4.  */
size_t cb_utf8_encode(uint32_t cp, char out[4]);

/* Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and
   the ASCII space.  */
bool cb_unicode_is_print(uint32_t cp);
/* Go's unicode.IsLetter (category L) and unicode.IsDigit (category Nd). */
bool cb_unicode_is_letter(uint32_t cp);
bool cb_unicode_is_digit(uint32_t cp);
/* Go's unicode.IsSpace: the White_Space property.  */
bool cb_unicode_is_space(uint32_t cp);

struct cb_unicode_range {
  uint32_t lo, hi;
};

#endif
