/* A client for one registry of the OCI distribution spec ("/v2/" API),
   on libcurl.  It fetches and uploads manifests and blobs; it knows
   nothing of the store: blob bodies are streamed into a sink the caller
   hands it, and uploads are read from an fd the caller opened.

   Transport: HTTPS with the system CAs, plus the CAs and client
   certificate of the registry's certs.d directory.  A registry on the
   loopback host ("localhost", "127.0.0.1" or "[::1]", with any port), or
   one configured with tls_verify false, is tried over HTTPS first and
   spoken to over plain HTTP when it does not speak TLS.  "docker.io" is
   served by "registry-1.docker.io".  A TLS failure names the registry.
   Redirects (blob downloads often go to a CDN) are followed, over HTTP(S)
   only.  A request that fails in a way that may pass (connection refused
   or dropped, a timeout, HTTP 429, 500, 502, 503 or 504) is tried up to 3
   times in all, 0.25 s and then 1 s apart; a blob download only while
   nothing of it has reached the sink, an upload from the start of its
   fd's offset.

   Authentication: when a registry answers 401 with a Bearer challenge
   (Www-Authenticate: Bearer realm=..,service=..,scope=..), a token is
   fetched from the realm (with the credentials as Basic auth when there
   are some, else anonymously), kept by scope for the life of the client
   and its clones (one token request per scope), and the request is
   tried again once with it.
   A Basic challenge is answered with the credentials.  libcurl sends
   them to the registry's host only, never where a redirect leads, and
   neither tokens nor passwords are logged.  A 401 that cannot be
   answered is reported like any other status.

   Errors are CB_ERR_REGISTRY and name what was asked and the HTTP status
   with the registry's own error text when it sent one ("manifest 'v1':
   HTTP 404 Not Found (MANIFEST_UNKNOWN: manifest unknown)"); a transport
   failure names the URL and libcurl's reason.  Callers add the
   reference being pulled or pushed.  */
#ifndef CBUILD_REGISTRY_CLIENT_H
#define CBUILD_REGISTRY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"
#include "common/stream.h"

/* The manifest types a pull accepts (the Accept header), and a
   registry's reply should be one of them.  */
#define REGISTRY_ACCEPT_MANIFESTS                                              \
  "application/vnd.oci.image.manifest.v1+json, "                               \
  "application/vnd.oci.image.index.v1+json, "                                  \
  "application/vnd.docker.distribution.manifest.v2+json, "                     \
  "application/vnd.docker.distribution.manifest.list.v2+json"

struct registry_client;

/* A client for the registry DOMAIN ("host", "host:port", "[v6]:port").
   CB_ERR_USAGE if DOMAIN is empty or holds characters a host cannot.  */
struct registry_client *registry_client_new(const char *domain,
                                            struct cb_error **err);
void registry_client_free(struct registry_client *c);
void registry_client_freep(struct registry_client **c);
#define cleanup_registry_client __attribute__((cleanup(registry_client_freep)))

/* True when DOMAIN may be spoken to over plain HTTP (the loopback
   host).  */
bool registry_domain_is_insecure(const char *domain);

struct registry_client_config {
  bool tls_verify;  /* false: --tls-verify=false */
  const char *user; /* credentials to use (login); NULL: the stored ones */
  const char *pass;
};

/* Set up C as CFG says, before its first request: TLS verification, the
   CA and client certificates of C's certs.d directory (see
   load_certs() in client.c), and credentials, given or stored
   (registry/credentials.h).  */
int registry_client_configure(struct registry_client *c,
                              const struct registry_client_config *cfg,
                              struct cb_error **err);

/* Check C's credentials against the registry (GET /v2/, answering its
   challenge): CB_ERR_REGISTRY "login to HOST failed: HTTP 401
   Unauthorized" when they do not do.  */
int registry_login(struct registry_client *c, struct cb_error **err);

/* GET the manifest REFERENCE (a tag or "sha256:<hex>") of repository
   REPO ("library/busybox").  At most OCI_MAX_MANIFEST_SIZE (4 MiB) bytes
   are read (CB_ERR_UNSAFE beyond).  On success *BUF is a new
   NUL-terminated copy of the body, *LEN its length, *MEDIA_TYPE a new
   string with the Content-Type (parameters stripped; "" when the
   registry sent none) and *DIGEST the sha256 of the body.  When
   REFERENCE is a digest the body must match it, and so must the
   Docker-Content-Digest header when the registry sends a sha256 one
   (CB_ERR_DIGEST).  */
int registry_get_manifest(struct registry_client *c, const char *repo,
                          const char *reference, char **buf, size_t *len,
                          char **media_type, struct cb_digest *digest,
                          struct cb_error **err);

/* GET blob DIGEST of REPO, which the manifest says has SIZE bytes, and
   write its body into SINK as it arrives, hashing it.  A body longer
   than SIZE is cut off (CB_ERR_UNSAFE); one shorter, or whose digest
   differs, is CB_ERR_DIGEST.  On any failure the sink has been given
   part of the blob: the caller drops what it wrote (blob_writer_abort).  */
int registry_get_blob(struct registry_client *c, const char *repo,
                      const struct cb_digest *digest, uint64_t size,
                      const struct cb_sink *sink, struct cb_error **err);

/* HEAD blob DIGEST of REPO: *EXISTS says whether the registry has it
   (200) or not (404); any other status is an error.  */
int registry_blob_exists(struct registry_client *c, const char *repo,
                         const struct cb_digest *digest, bool *exists,
                         struct cb_error **err);

/* Upload SIZE bytes read from FD (from its current offset) as blob DIGEST
   of REPO.  First, when MOUNT_FROM (a NULL-terminated list of
   repositories of the same registry that hold the blob, or NULL) names
   some, ask the registry to mount it from each in turn (POST
   "?mount=&from="): a registry that does (201) gets no bytes.  Else
   start an upload session (POST, or the one the last refused mount
   opened) and send the bytes: in one PUT with "?digest=" up to 32 MiB
   ($CBUILD_PUSH_CHUNK_SIZE bytes when set, at least 1024), in PATCH
   chunks of that size with Content-Range beyond, then a PUT with
   "?digest=".  Memory use does not depend on SIZE.  The bytes are
   hashed as they are read: if FD yields fewer than SIZE bytes or
   another digest, the upload is aborted before its last byte
   (CB_ERR_DIGEST) and the registry never commits it.  A retry starts
   the upload again from the start.  */
int registry_put_blob(struct registry_client *c, const char *repo,
                      const struct cb_digest *digest, uint64_t size, int fd,
                      const char *const *mount_from, struct cb_error **err);

/* PUT the LEN bytes at BUF as manifest REFERENCE (a tag or the digest of
   BUF) of REPO, with Content-Type MEDIA_TYPE.  The registry must answer
   201 Created.  */
int registry_put_manifest(struct registry_client *c, const char *repo,
                          const char *reference, const char *media_type,
                          const char *buf, size_t len, struct cb_error **err);

#endif
