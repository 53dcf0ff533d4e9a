/* Image references: "[domain[:port]/]path[:tag][@sha256:hex]", with the
   grammar of the distribution project's reference package and Docker's
   normalisation (busybox -> docker.io/library/busybox:latest).  */
#ifndef CBUILD_REGISTRY_REFERENCE_H
#define CBUILD_REGISTRY_REFERENCE_H

#include <stdbool.h>

#include "common/error.h"

struct image_ref {
  char *domain; /* "registry.example:5000", or NULL when not given; owned */
  char *path;   /* "library/busybox"; owned */
  char *tag;    /* NULL when not given; owned */
  char *digest; /* "sha256:<hex>", or NULL; owned */
};

/* Parse S strictly (no normalisation).  Errors (CB_ERR_USAGE, since
   references come from the command line or a Dockerfile) quote S and say
   what is wrong: upper case in the path, a bad tag, a bad digest, a name
   over 255 characters.  */
int image_ref_parse(const char *s, struct image_ref *ref,
                    struct cb_error **err);

/* Docker's normalisation: no domain -> "docker.io"; docker.io with a
   one-component path -> "library/" prefix; no tag and no digest ->
   "latest".  */
void image_ref_normalize(struct image_ref *ref);

/* The local store's name for REF: as written, plus ":latest" when it has
   neither tag nor digest ("app" -> "app:latest", "app:1" stays).  */
char *image_ref_local_name(const struct image_ref *ref);

/* "domain/path:tag@digest" with the parts that are set.  New string.  */
char *image_ref_string(const struct image_ref *ref);

void image_ref_release(struct image_ref *ref);

#endif
