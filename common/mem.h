/* Allocation that cannot fail: out of memory aborts (as in git, crun and
   bubblewrap).  Sizes that come from input are bounded before they get
   here (common/limits.h), so input cannot force a huge allocation.  */
#ifndef CBUILD_COMMON_MEM_H
#define CBUILD_COMMON_MEM_H

#include <stdarg.h>
#include <stddef.h>

#include "common/error.h"

void *cb_xmalloc(size_t size);
void *cb_xcalloc(size_t nmemb, size_t size);
void *cb_xrealloc(void *ptr, size_t size);
/* realloc to NMEMB * SIZE, aborting on overflow.  */
void *cb_xreallocarray(void *ptr, size_t nmemb, size_t size);
char *cb_xstrdup(const char *s);
char *cb_xstrndup(const char *s, size_t n);
char *cb_xasprintf(const char *fmt, ...) CB_PRINTF(1, 2);
char *cb_xvasprintf(const char *fmt, va_list ap) CB_PRINTF(1, 0);

/* Grow *ARR (of *ALLOC elements of SIZE) so that it holds at least NEED.  */
void cb_grow(void **arr, size_t *alloc, size_t need, size_t size);
#define CB_GROW(arr, alloc, need)                                              \
  cb_grow((void **)&(arr), &(alloc), (need), sizeof(*(arr)))

/* Free a NULL-terminated array of strings and the array; NULL is a no-op. */
void cb_strv_free(char **v);
size_t cb_strv_len(char *const *v);
/* Append S (taken over) to the NULL-terminated *V of *N strings.  */
void cb_strv_push(char ***v, size_t *n, char *s);
/* cb_strv_free() after overwriting every string with zeros (an
   environment that held secrets).  */
void cb_strv_wipe_free(char **v);
/* A deep copy of the NULL-terminated V (NULL gives an empty array).  */
char **cb_strv_dup(char *const *v);

#define CB_N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

#endif
