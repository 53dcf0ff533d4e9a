/* Helpers of registry/client.c that parse what a registry sends, shared
   with the unit tests.  */
#ifndef CBUILD_REGISTRY_CLIENT_INTERNAL_H
#define CBUILD_REGISTRY_CLIENT_INTERNAL_H

#ifndef CB_IN_REGISTRY
#error "registry/client-internal.h is internal to registry/"
#endif

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
   (" Not Found" for "HTTP/1.1 404 Not Found"), borrowed from LINE; ""
   when there is none (HTTP/2) or it holds control characters.  LINE may
   be NULL.  */
const char *registry_status_reason(const char *line);

#endif
