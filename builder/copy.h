/* The COPY/ADD engine: copy what a step selects from a source root (the
   build context, or a stage's or image's root) into a destination root
   (the image so far, usually an overlay whose upper dir becomes the
   layer), with the rules of Docker's Dockerfile reference and BuildKit.
   Both roots are directory fds and every path below them is resolved
   inside them (cb_open_in_root), so no source, destination, symlink or
   archive entry reaches outside.  Pure file-system work: it knows nothing
   of the store, the cache or the Dockerfile beyond the request.

   Sources.  Each source is relative to the source root: a leading "/" and
   ".." that would climb above the root are clamped to it, "." parts and a
   trailing "/" are dropped (reference, "Copying from the build context").
   A path component holding '*', '?' or '[' (not escaped with '\') is a
   Go filepath.Match pattern for the names in its directory; a wildcard
   that matches nothing selects nothing (BuildKit's AllowEmptyWildcard),
   while a missing literal path, or a missing directory above a wildcard,
   is an error naming the source.  A selected source that is a symlink is
   followed (inside the root); symlinks below it are copied as symlinks.
   A directory source copies its contents, not itself, and merges them
   with what is there.  From the build context (COPY_SOURCE has an ignore
   matcher), what .dockerignore excludes is not there at all.

   Destination.  Relative to REQ->workdir when not absolute.  A dest ending
   in "/" (or "." or the root) is a directory; so is a dest that exists as
   a directory (symlinks in it followed inside the destination root).
   Otherwise a single non-directory source is written under the dest's
   name.  Two or more source arguments need a dest ending in "/"; so does
   a wildcard that selects more than one entry unless all of them are
   directories (their contents merge, as BuildKit does).  Missing parent
   directories are created 0755, owned by the --chown owner or 0:0.

   Metadata.  Modes and times (atime, mtime) are kept, clamped to
   REQ->timestamp when it is >= 0.  Owners are 0:0 from the build context
   and kept from other sources (COPY --from keeps a stage's owners), unless
   --chown gives one for everything copied or created.  --chmod applies to
   every file and directory copied (and to the dest directory a directory
   source creates), not to symlinks and not to missing parents it creates.
   Hard links among the copied files stay hard links; xattrs "user.*"
   (but "user.overlay.*") and "security.capability" are copied.  FIFOs are
   copied, devices are made where mknod(2) is allowed and counted as
   skipped where not, sockets are counted as skipped.  An existing
   non-directory at a target is replaced (a symlink is replaced, never
   written through); a directory in the way of a file, or a file in the
   way of a directory, is an error.  */
#ifndef CBUILD_BUILDER_COPY_H
#define CBUILD_BUILDER_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"
#include "parser/dockerfile.h"
#include "parser/ignore.h"

enum copy_flags {
  /* fchown() failing with EPERM or EINVAL (unprivileged, or an id with no
     mapping in this user namespace) does not fail the step: the owner is
     recorded in LAYER_OWNER_XATTR, or where the file takes no user xattr
     (a symlink) counted in owner_failures, which the caller warns
     about.  */
  COPY_IGNORE_OWNER_ERRORS = 1u << 0,
};

struct copy_request {
  bool add; /* ADD: archives are unpacked, URLs fetched */
  /* The sources as written, after variable expansion.  A source word that
     opens a heredoc ("<<EOF", "<<-EOF", "3<<'EOF'"...) and names the next
     unused entry of HEREDOCS is that heredoc's file.  */
  char *const *srcs;
  size_t nsrcs;
  const char *dest;    /* after expansion */
  const char *workdir; /* the image's WorkingDir; NULL or "" is "/" */
  const char *chown;   /* --chown "user[:group]" or NULL */
  const char *chmod;   /* --chmod: octal, or symbolic ("u+x,go=rX"); NULL */
  char *const *excludes; /* --exclude patterns, NULL-terminated, or NULL */
  /* --parents: each source keeps its path below the destination, from the
     root or from a "/./" pivot in it ("x/./y/a.txt" keeps "y/a.txt"); "**"
     then matches any number of directories.  */
  bool parents;
  /* --link: copying into an empty tree then merging gives the same files,
     so it changes nothing here (the caller may cache it differently).  */
  bool link;
  const char *checksum; /* ADD --checksum "sha256:<hex>" for a URL, or NULL */
  int unpack;           /* ADD --unpack: -1 default, 0 or 1 */
  /* ADD --keep-git-dir: only meaningful for git sources, which are not
     supported (an error says so).  */
  bool keep_git_dir;
  /* The instruction's heredocs in order.  Their content is used as is: the
     caller expands variables first where the heredoc's expand flag says so
     (the parser has already removed tabs for "<<-").  Written 0644.  */
  const struct df_heredoc *heredocs;
  size_t nheredocs;
  int64_t timestamp; /* SOURCE_DATE_EPOCH: mtimes are clamped to it; -1 */
  unsigned flags;    /* enum copy_flags */
};

struct copy_source {
  int root_fd; /* O_PATH directory fd of the source root; borrowed */
  /* The context's .dockerignore matcher, or NULL for a stage or image.
     Paths are matched as the context holds them (symlinks resolved).  */
  const struct ignore_matcher *ignore;
  /* Keep the source's owners when there is no --chown (stages and
     images); false gives 0:0 (the build context, as BuildKit sends it).  */
  bool keep_owners;
};

struct copy_stats {
  uint64_t files, dirs, symlinks, hardlinks, specials; /* made */
  uint64_t bytes;            /* regular file data written */
  uint64_t archives;         /* ADD: archives unpacked */
  uint64_t devices_skipped;  /* mknod refused (rootless), or sockets */
  uint64_t owner_failures;   /* see COPY_IGNORE_OWNER_ERRORS */
  uint64_t xattrs_skipped;   /* refused by the destination */
};

/* Remembered content digests of regular files, keyed by (device, inode,
   size, mtime, ctime), so that an unchanged context is not read again on
   a rebuild.  A file whose ctime is within two seconds of the moment it
   was hashed is not remembered: it may still be changing within the
   timestamp granularity.  */
struct copy_hash_cache;

struct copy_hash_cache *copy_hash_cache_new(void);
void copy_hash_cache_free(struct copy_hash_cache *hc);
void copy_hash_cache_freep(struct copy_hash_cache **hc);
#define cleanup_copy_hash_cache __attribute__((cleanup(copy_hash_cache_freep)))

/* Add the entries saved in FD (read from its current offset to the end)
   to HC.  A file that is not a whole cache file of this version (wrong
   magic, truncated, checksum mismatch, over CB_MAX_HASH_CACHE_FILE) is
   CB_ERR_PARSE and adds nothing: the caller drops it and starts empty.  */
int copy_hash_cache_load(struct copy_hash_cache *hc, int fd,
                         struct cb_error **err);

/* Write HC to FD (at its current offset; the caller writes a temporary
   file and renames it).  Only entries looked up or added since HC was made
   or loaded are written, so files that are gone do not pile up.  */
int copy_hash_cache_save(const struct copy_hash_cache *hc, int fd,
                         struct cb_error **err);

/* Lookups answered from the cache and files read, since HC was made.  */
void copy_hash_cache_counts(const struct copy_hash_cache *hc, uint64_t *hits,
                            uint64_t *misses);

/* The digest of everything REQ would copy from SRC, for the executor's
   cache key: for each selected source in order, its name or kept path,
   then for it and every entry below it (sorted, filtered as the copy
   filters them) the relative path, type, permission bits, owner (only
   when kept and no --chown), size, content digest, link target, device
   number and copied xattrs; heredocs by name and content; URLs by URL and
   checksum.  Never mtimes.  HC (may be NULL) supplies and remembers file
   digests.  Returns 0, or 1 when a source is a URL without --checksum:
   its content is unknown without fetching it, so a cache hit on this key
   must not be trusted.  Errors are those of source selection (see
   copy_apply) and reading.  */
int copy_sources_digest(const struct copy_request *req,
                        const struct copy_source *src,
                        struct copy_hash_cache *hc, struct cb_digest *out,
                        struct cb_error **err);

/* Copy what REQ selects from SRC into DEST_ROOT (an O_PATH directory fd,
   borrowed), adding counts to *ST (may be NULL).  --chown names are looked
   up in DEST_ROOT's etc/passwd and etc/group: a user name gives its uid
   and primary gid, a numeric uid without a group gives gid = uid
   (reference, "COPY --chown").

   ADD: a local source that is a tar archive (plain, gzip, bzip2, xz or
   zstd, known by its content, not its name) is extracted into the dest
   directory unless REQ->unpack is 0: entries are checked like layer
   entries (no ".." parts, a leading "/" dropped, links resolved inside the
   extraction dir, hard links only to files already extracted), owners
   come from the archive unless --chown, --chmod does not apply.  An
   http(s) URL is fetched: the file is named by the last part of the URL
   path when the dest is a directory, is 0600 (before --chmod), gets the
   Last-Modified time when the server sends one, is checked against
   --checksum (CB_ERR_DIGEST naming the URL), and is extracted only with
   --unpack=1.  Git sources are CB_ERR_UNSUPPORTED.

   Errors carry no file or line: the caller prefixes "Dockerfile:LINE:".
   CB_ERR_USAGE: a bad --chown, --chmod or --exclude value, a user or group
   not in the image, several sources with a dest not ending in "/", a URL
   for COPY, --checksum on a local source.  CB_ERR_SYSTEM: a source not
   found (naming it), and I/O.  CB_ERR_UNSAFE: an archive entry that would
   leave its directory.  On error the destination holds whatever was
   written so far: the caller discards the upper dir.  */
int copy_apply(const struct copy_request *req, const struct copy_source *src,
               int dest_root, struct copy_stats *st, struct cb_error **err);

#endif
