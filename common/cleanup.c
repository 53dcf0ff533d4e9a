#include "config.h"

#include "common/cleanup.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/mem.h"

void
cb_freep(void *p)
{
  void **pp = p;

  free(*pp);
  *pp = NULL;
}

void
cb_closep(int *fd)
{
  int saved = errno;

  if (*fd >= 0)
    close(*fd);
  *fd = -1;
  errno = saved;
}

void
cb_fclosep(FILE **f)
{
  int saved = errno;

  if (*f != NULL)
    fclose(*f);
  *f = NULL;
  errno = saved;
}

void
cb_strv_freep(char ***v)
{
  cb_strv_free(*v);
  *v = NULL;
}

void *
cb_steal_ptr_(void *pp)
{
  void **p = pp;
  void *r = *p;

  *p = NULL;
  return r;
}
