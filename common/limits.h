/* Named bounds for untrusted input.  Every size that comes from outside is
   checked against one of these before anything is allocated for it.  */
#ifndef CBUILD_COMMON_LIMITS_H
#define CBUILD_COMMON_LIMITS_H

/* A Dockerfile (or .dockerignore) larger than this is refused.  */
#define CB_MAX_DOCKERFILE_SIZE (32u * 1024 * 1024)
/* BuildKit refuses physical lines of 64 KiB or more (bufio.Scanner limit). */
#define CB_MAX_DOCKERFILE_LINE (64u * 1024)
/* Nesting of ${...} in word expansion.  */
#define CB_MAX_EXPAND_DEPTH 64
/* Symlinks followed while resolving one path inside a root (as Linux).  */
#define CB_MAX_SYMLINKS 40
/* A layer tar entry claiming more bytes than this is refused before
   anything is created for it (1 TiB; sparse files count their full size). */
#define CB_MAX_LAYER_ENTRY_SIZE (1ull << 40)

/* /etc/subuid and /etc/subgid: a file larger than this is refused (about
   100,000 lines).  */
#define CB_MAX_SUBID_FILE (4u * 1024 * 1024)

/* An image's /etc/passwd or /etc/group, read to resolve a user name: a
   larger file is refused.  */
#define CB_MAX_IMAGE_ID_FILE (4u * 1024 * 1024)

/* Supplementary groups of a RUN user: the kernel's NGROUPS_MAX.  */
#define CB_MAX_GROUPS 65536

/* A build secret (--secret) larger than this is refused (as BuildKit's
   secret provider).  */
#define CB_MAX_SECRET_SIZE (500u * 1024)

/* Directories nested deeper than this are refused when a cache mount is
   seeded from FROM= (each level holds two fds while it is copied).  */
#define CB_MAX_COPY_DEPTH 256

/* The COPY hash cache file (72 bytes per context file remembered): a
   larger one is refused, and the cache starts empty.  */
#define CB_MAX_HASH_CACHE_FILE (512u * 1024 * 1024)

/* The host's /etc/resolv.conf, copied into the sandbox: a larger one is
   not copied (the sandbox gets an empty one).  */
#define CB_MAX_RESOLV_CONF (64u * 1024)

/* Files read from an image for its SBOM (os-release, a package database
   file): a larger one is refused.  The dpkg status of a full desktop
   system is a few MiB.  */
#define CB_MAX_SBOM_FILE (32u * 1024 * 1024)
/* All of them together, and how many files of /var/lib/dpkg/status.d/
   are read.  */
#define CB_MAX_SBOM_TOTAL (128u * 1024 * 1024)
#define CB_MAX_SBOM_STATUS_D 65536
/* Packages in one SBOM (Debian's whole archive has fewer).  */
#define CB_MAX_SBOM_PACKAGES 100000

#endif
