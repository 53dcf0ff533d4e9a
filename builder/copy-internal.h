/* Shared inside the COPY/ADD engine (builder/copy*.c) and its unit
   tests.  */
#ifndef CBUILD_BUILDER_COPY_INTERNAL_H
#define CBUILD_BUILDER_COPY_INTERNAL_H

#ifndef CB_IN_BUILDER
#error "copy-internal.h is private to builder/"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "builder/copy.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/digest.h"
#include "common/error.h"

/* --- patterns (copy_match.c) --- */

/* Whether the LEN bytes at S hold '*', '?' or '[' not escaped by '\'.  */
bool copy_has_wildcard(const char *s, size_t len);

/* Check PATTERN (one path component, LEN bytes) against Go's
   filepath.Match syntax: classes closed, ranges in order, nothing after a
   trailing '\'.  CB_ERR_USAGE quoting it otherwise.  */
int copy_pattern_check(const char *pattern, size_t len,
                       struct cb_error **err);

/* Go's filepath.Match of NAME against PATTERN (LEN bytes, one component,
   checked): '*' any run of bytes, '?' one character (UTF-8), '[...]' and
   '[^...]' classes with ranges, '\' escapes.  */
bool copy_match(const char *pattern, size_t len, const char *name);

/* --chmod: octal ("755", "0644", at most 07777) or symbolic clauses
   "[ugoa]*[-+=][rwxXst]*|[ugo]" separated by ',' (chmod(1); a clause
   without u, g, o or a applies to all, umask ignored).  */
struct copy_chmod {
  bool octal;
  mode_t mode;  /* octal */
  char *clauses; /* symbolic, as given; owned */
};

int copy_chmod_parse(const char *s, struct copy_chmod *cm,
                     struct cb_error **err);
/* The permission bits (07777) for an entry whose current mode is MODE.  */
mode_t copy_chmod_apply(const struct copy_chmod *cm, mode_t mode, bool is_dir);
void copy_chmod_release(struct copy_chmod *cm);

/* --chown "user[:group]" in the image at DEST_ROOT (see copy_apply).  */
int copy_chown_resolve(const char *spec, int dest_root, uid_t *uid,
                       gid_t *gid, struct cb_error **err);

/* --- selecting sources (copy_select.c) --- */

enum copy_item_kind {
  COPY_ITEM_PATH,
  COPY_ITEM_HEREDOC,
  COPY_ITEM_URL,
};

/* One thing a step copies, after wildcards are expanded.  */
struct copy_item {
  enum copy_item_kind kind;
  char *path; /* PATH: clean, relative to the source root, "" = root */
  char *name; /* the name it takes inside a directory dest; owned */
  /* --parents: the path kept below the dest (relative to the pivot).  */
  char *keep;
  /* PATH: the real path (symlinks resolved) relative to the source root,
     for the .dockerignore matcher; NULL without one.  Owned.  */
  char *real;
  struct stat st;    /* PATH: of the entry, a top-level symlink followed */
  bool from_pattern; /* PATH: selected by a wildcard */
  const struct df_heredoc *heredoc; /* HEREDOC: borrowed from the request */
  const char *url;                  /* URL: borrowed from the request */
};

struct copy_plan {
  struct copy_item *items; /* owned */
  size_t n, alloc;
  size_t nargs;          /* source arguments, heredocs included */
  size_t pattern_hits;   /* entries selected by wildcards */
  bool pattern_non_dir;  /* one of them is not a directory */
};

/* Select what REQ copies from SRC.  Errors: see copy_apply().  */
int copy_plan_build(const struct copy_request *req,
                    const struct copy_source *src, struct copy_plan *plan,
                    struct cb_error **err);
void copy_plan_release(struct copy_plan *plan);
#define cleanup_copy_plan CB_CLEANUP(copy_plan_release)

/* Reopen ITEM (a PATH item) with FLAGS, checking that it is still the
   entry that was selected.  */
int copy_item_open(const struct copy_source *src, const struct copy_item *it,
                   int flags, struct cb_error **err);

/* Whether an ADD source word names a git repository.  */
bool copy_is_git_url(const char *s);
/* Whether a source word is an http(s) URL.  */
bool copy_is_url(const char *s);

/* --- walking a source tree (copy_walk.c) --- */

/* The names in directory FD (opened for reading), sorted, in one buffer:
   two allocations per directory, not one per name.  */
struct copy_dirlist {
  char *names;    /* NUL-separated; owned */
  size_t *offs;   /* offsets into names; owned */
  size_t n;
};

int copy_dirlist_read(int fd, struct copy_dirlist *dl, struct cb_error **err);
void copy_dirlist_release(struct copy_dirlist *dl);
#define cleanup_copy_dirlist CB_CLEANUP(copy_dirlist_release)

/* The filters a walk applies below a selected source.  */
struct copy_filter {
  const struct ignore_matcher *ignore; /* .dockerignore, on real paths */
  struct ignore_matcher *excludes;     /* --exclude, on item paths; owned */
  struct cb_buf real;                  /* real path of the walk position */
  struct cb_buf rel; /* path below the item (or kept path, --parents) */
};

enum copy_verdict {
  COPY_TAKE,     /* copy it */
  COPY_SKIP,     /* leave it (and what is below) out */
  COPY_DESCEND,  /* excluded directory: only entries an exception keeps */
};

int copy_filter_init(struct copy_filter *f, const struct copy_request *req,
                     const struct copy_source *src, struct cb_error **err);
void copy_filter_release(struct copy_filter *f);
/* Push NAME on both paths; pop with copy_filter_pop(F, MARK).  */
void copy_filter_push(struct copy_filter *f, const char *name, size_t mark[2]);
void copy_filter_pop(struct copy_filter *f, const size_t mark[2]);
/* The verdict for the entry at the current position (IS_DIR: a
   directory).  */
enum copy_verdict copy_filter_check(const struct copy_filter *f, bool is_dir);
/* Set the paths for the top of ITEM.  */
void copy_filter_start(struct copy_filter *f, const struct copy_item *it);

/* xattrs we carry over: "user.*" but "user.overlay.*", and
   "security.capability".  */
bool copy_xattr_wanted(const char *name);

/* --- the digest and its cache (copy_digest.c) --- */

/* Files whose ctime or mtime is this close to now are not remembered
   (2 s; tests set 0).  */
extern int64_t copy_hash_racy_ns;

int copy_hash_cache_lookup(struct copy_hash_cache *hc, const struct stat *st,
                           struct cb_digest *d);
void copy_hash_cache_store(struct copy_hash_cache *hc, const struct stat *st,
                           const struct cb_digest *d);

/* --- writing (copy_tree.c, copy_archive.c, copy_url.c) --- */

struct copy_links; /* hard links seen: (dev, ino) -> dest path */
void copy_links_free(struct copy_links *l);

struct copy_ctx {
  const struct copy_request *req;
  const struct copy_source *src;
  int dest_root;
  struct copy_stats *st; /* never NULL: copy_apply gives a local one */
  bool chown;
  uid_t uid;
  gid_t gid;
  bool has_chmod;
  struct copy_chmod chmod;
  struct copy_filter filter;
  struct copy_links *links;
  struct cb_buf dpath; /* dest path of the walk position, from dest_root */
  char **made;         /* directories made for missing parents; owned */
  size_t nmade, made_alloc;
  bool no_clone, no_cfr, no_sendfile; /* fast paths found unusable */
  char *iobuf;                        /* COPY_IO_BUF bytes; owned */
};

#define COPY_IO_BUF (256u * 1024)

/* Open (as O_PATH) the directory PATH below ROOT_FD, symlinks followed
   inside ROOT_FD, making what is missing: 0755, owned by the --chown owner
   or 0:0.  BASE is ROOT_FD's path below the dest root ("" for the dest
   root itself), so that made directories can be given the timestamp at
   the end.  */
int copy_mkdir_p(struct copy_ctx *ctx, int root_fd, const char *base,
                 const char *path, struct cb_error **err);
/* S made relative to "/" and cleaned: "." and empty parts dropped, ".."
   stops at the root; "" is the root.  New string.  */
char *copy_clean_path(const char *s);

/* Set owner (when OWN), mode (when MODE != (mode_t)-1), times on an open
   FD or, with FD < 0, on DIR_FD + NAME (never followed).  */
int copy_set_meta(struct copy_ctx *ctx, int fd, int dir_fd, const char *name,
                  bool own, uid_t uid, gid_t gid, mode_t mode,
                  const struct timespec times[2], struct cb_error **err);

/* Make room for a new non-directory NAME in DIR_FD: a non-directory there
   is removed, a directory is an error.  */
int copy_clear_target(int dir_fd, const char *name, const char *shown,
                      struct cb_error **err);

/* Copy LEN bytes from IN to OUT (both at offset 0): reflink, then
   copy_file_range, then sendfile, then read/write.  */
int copy_data(struct copy_ctx *ctx, int in, int out, uint64_t len,
              struct cb_error **err);

/* Times for a created entry: now, or the clamp timestamp.  */
void copy_now(const struct copy_ctx *ctx, struct timespec ts[2]);

/* Copy ITEM (a PATH item) to NAME in DIR_FD; DEST_SHOWN names it in
   messages.  A directory's contents merge into NAME when it exists, else
   NAME is made (0755 with --chmod applied).  With --parents the directory
   itself is copied (its metadata too).  */
int copy_tree_item(struct copy_ctx *ctx, const struct copy_item *it,
                   int dir_fd, const char *name, struct cb_error **err);

/* Copy the selected top-level directory ITEM's contents into DIR (an
   existing directory fd).  */
int copy_tree_contents(struct copy_ctx *ctx, const struct copy_item *it,
                       int dir_fd, struct cb_error **err);

/* ADD: whether FD (a regular file) is a tar archive, compressed or not.  */
int copy_archive_probe(int fd, bool *is_tar, struct cb_error **err);
/* Extract the archive in FD into DIR_FD (the extraction root).  LABEL
   names it in messages.  */
int copy_archive_extract(struct copy_ctx *ctx, int fd, int dir_fd,
                         const char *label, struct cb_error **err);

/* ADD <url>: fetch into a new file NAME in DIR_FD (replacing a
   non-directory there), or, with UNPACK, extract into DIR_FD.  */
int copy_url_fetch(struct copy_ctx *ctx, const char *url, int dir_fd,
                   const char *name, bool unpack, struct cb_error **err);
/* The file name an URL gives (last part of its path, %-decoded), or NULL
   when it has none.  */
char *copy_url_name(const char *url);

#endif
