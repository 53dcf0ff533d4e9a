/* Registry credentials kept in an auth file, in the format podman and
   docker share: {"auths": {"HOST": {"auth": base64("user:pass")}}}.

   cbuild writes $REGISTRY_AUTH_FILE, else
   $XDG_RUNTIME_DIR/containers/auth.json (podman's default), created 0600
   and replaced atomically.  Lookups read that file (skipped when neither
   variable is set) and then docker's $DOCKER_CONFIG/config.json (default
   ~/.docker/config.json): its "auths", else the credential helper its
   "credHelpers" names for the registry, else its "credsStore", run as
   docker does (registry_credentials_from_helper).  Passwords are never
   logged; buffers that held one are wiped.  */
#ifndef CBUILD_REGISTRY_CREDENTIALS_H
#define CBUILD_REGISTRY_CREDENTIALS_H

#include <stdbool.h>

#include "common/error.h"

/* Longest "user:pass" accepted, and the largest auth file read.  */
#define REGISTRY_MAX_CREDENTIALS 4096
#define REGISTRY_MAX_AUTH_FILE (1024u * 1024)

/* The credentials stored for registry DOMAIN ("host:port").  When there
   are some, *USER and *PASS are new strings and *FOUND is true.  When
   there are none, *FOUND is false and *HELPER is a new string naming the
   credential helper docker's config has for DOMAIN, or NULL.  */
int registry_credentials_find(const char *domain, char **user, char **pass,
                              bool *found, char **helper,
                              struct cb_error **err);

/* Ask the credential helper HELPER for DOMAIN's credentials, by the
   docker-credential-helpers protocol: run "docker-credential-HELPER get"
   (found on $PATH) with the server URL on its stdin (DOMAIN, or
   "https://index.docker.io/v1/" for docker.io); it prints
   {"ServerURL": .., "Username": .., "Secret": ..}.  On success *USER and
   *PASS are new strings and *FOUND is true; when the helper says
   "credentials not found", *FOUND is false.  A helper that cannot be
   run, fails otherwise or prints something else is CB_ERR_REGISTRY (or
   CB_ERR_SYSTEM) naming it, never quoting its output; its stderr is
   discarded.  */
int registry_credentials_from_helper(const char *helper, const char *domain,
                                     char **user, char **pass, bool *found,
                                     struct cb_error **err);

/* Store USER and PASS for DOMAIN in cbuild's auth file.  */
int registry_credentials_store(const char *domain, const char *user,
                               const char *pass, struct cb_error **err);

/* Remove DOMAIN's entry from cbuild's auth file; *FOUND says whether
   there was one.  */
int registry_credentials_remove(const char *domain, bool *found,
                                struct cb_error **err);

/* Wipe and free S (NULL is fine).  */
void registry_free_secret(char *s);

#endif
