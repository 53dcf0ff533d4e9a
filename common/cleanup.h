/* Scope-bound cleanup (GCC/Clang cleanup attribute), as in crun and
   bubblewrap.  Initialize every cleanup variable (= NULL, = -1) and hand
   ownership out with steal_ptr()/steal_fd() as the last step.  */
#ifndef CBUILD_COMMON_CLEANUP_H
#define CBUILD_COMMON_CLEANUP_H

#include <stdio.h>

#define CB_CLEANUP(fn) __attribute__((cleanup(fn)))

void cb_freep(void *p);   /* free(*(void **)p) */
void cb_closep(int *fd);  /* close(*fd) if >= 0; errno kept */
void cb_fclosep(FILE **f);
void cb_strv_freep(char ***v);

#define cleanup_free CB_CLEANUP(cb_freep)
#define cleanup_close CB_CLEANUP(cb_closep)
#define cleanup_fclose CB_CLEANUP(cb_fclosep)
#define cleanup_strv CB_CLEANUP(cb_strv_freep)

void *cb_steal_ptr_(void *pp);
#define steal_ptr(pp) ((__typeof__(*(pp)))cb_steal_ptr_(pp))

static inline int
steal_fd(int *fd)
{
  int r = *fd;

  *fd = -1;
  return r;
}

#endif
