/* Helpers of registry/client.c that parse what a registry sends, shared
   with the unit tests.  */
#ifndef CBUILD_REGISTRY_CLIENT_INTERNAL_H
#define CBUILD_REGISTRY_CLIENT_INTERNAL_H

#ifndef CB_IN_REGISTRY
#error "registry/client-internal.h is internal to registry/"
#endif

#include <stdbool.h>
#include <stddef.h>

/* What is quoted of the registry's own error text.  */
#define REGISTRY_MAX_ERROR_TEXT 200

/* The registry's own words from an error body of LEN bytes
   (distribution spec: {"errors": [{"code": C, "message": M}, ...]}):
   "C: M" of the first error, or what it has of the two, cut to
   REGISTRY_MAX_ERROR_TEXT bytes, control characters replaced by '?'.
   A new string, or NULL when BODY says nothing usable.  */
char *registry_error_text(const char *body, size_t len);

/* The reason phrase of an HTTP status line with its leading space
   (" Not Found" for "HTTP/1.1 404 Not Found"), borrowed from LINE; for
   a line without one (HTTP/2) the standard phrase of common statuses;
   "" otherwise, or when it holds control characters.  LINE may
   be NULL.  */
const char *registry_status_reason(const char *line);

/* One challenge of a Www-Authenticate header (RFC 9110 "Challenge and
   Response"), with the parameters the distribution token flow uses.  */
struct registry_challenge {
  char *scheme;  /* "Bearer", "Basic", as sent; owned */
  char *realm;   /* owned; NULL when absent */
  char *service; /* owned; NULL when absent */
  char *scope;   /* owned; NULL when absent */
};

/* Parse the Www-Authenticate value VALUE: the Bearer challenge when
   there is one, else the first.  Parameter names are case-insensitive,
   values tokens or quoted strings (backslash escapes undone); unknown
   parameters are skipped, a repeated one keeps its first value.
   Returns -1, with *OUT untouched, when VALUE has no challenge or is
   malformed (an unterminated quote, a control character, junk after a
   value).  Release *OUT with registry_challenge_release().  */
int registry_parse_challenge(const char *value,
                             struct registry_challenge *out);
void registry_challenge_release(struct registry_challenge *ch);

#endif
