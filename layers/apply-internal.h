/* Helpers shared by layers/apply*.c and their unit tests.  */
#ifndef CBUILD_LAYERS_APPLY_INTERNAL_H
#define CBUILD_LAYERS_APPLY_INTERNAL_H

#ifndef CB_IN_LAYERS
#error "apply-internal.h is private to layers/"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/error.h"

/* A tar entry name after the lexical check.  */
struct entry_path {
  char *path;       /* clean and relative; "" for the root itself; owned */
  char *dir;        /* its parent; "." at the top; owned */
  const char *base; /* last component, points into path; "" for the root */
};

/* Check NAME lexically and split it.  A leading "/" is dropped, as are "."
   parts, repeated and trailing slashes.  Empty names, ".." parts and
   names of PATH_MAX bytes or more fail: CB_ERR_PARSE for an empty name,
   CB_ERR_UNSAFE for the others.  *EP is written only on success; release
   it with entry_path_release().  */
int entry_path_parse(const char *name, struct entry_path *ep,
                     struct cb_error **err);
void entry_path_release(struct entry_path *ep);
#define cleanup_entry_path CB_CLEANUP(entry_path_release)

/* The inodes this layer created or declared (a directory entry merged
   into an existing directory): whiteouts leave them alone (image-spec
   "Whiteouts": they apply to lower layers only).  */
struct inode_set {
  struct inode_key *keys; /* owned; open addressing */
  size_t n, alloc;
};

struct inode_key {
  dev_t dev;
  ino_t ino;
};

void inode_set_add(struct inode_set *s, const struct stat *st);
bool inode_set_has(const struct inode_set *s, const struct stat *st);
void inode_set_release(struct inode_set *s);

/* Open DIR (a clean relative path, "." for the root) below ROOT_FD as an
   O_PATH directory, resolving it inside the root.  With CREATED not NULL,
   missing components are made (0755) and their inodes added to it.  */
int open_dir_in_root(int root_fd, const char *dir, struct inode_set *created,
                     struct cb_error **err);


/* Remove NAME in DIR_FD as a whiteout does: lower content goes, entries
   whose inode is in KEEP stay, and so do directories still holding them.
   A missing NAME is not an error.  */
int remove_lower_at(int dir_fd, const char *name, const struct inode_set *keep,
                    struct cb_error **err);

/* Call remove_lower_at() on each child of DIR_FD (an opaque whiteout).  */
int remove_lower_children(int dir_fd, const struct inode_set *keep,
                          struct cb_error **err);

#endif
