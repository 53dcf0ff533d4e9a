/* Applying a layer: a (gzip, zstd or plain) tar changeset extracted onto a
   directory, with OCI whiteouts (image-spec "Applying Changesets",
   "Whiteouts"), verifying the blob digest and the diff_id as it reads.

   Every entry is treated as hostile.  Names are checked lexically, each
   entry's parent is resolved inside the root (cb_open_in_root), and the
   leaf is created with *at() calls that never follow a symlink, so no
   entry, link target or whiteout can reach outside ROOT_FD.

   Contract for atomicity: the caller extracts into a fresh staging
   directory (for a layer above others, a copy or overlay of the lower
   content), deletes it if layer_apply() fails, and renames it into place
   only on success.  layer_apply() itself just stops at the first error,
   leaving whatever it had written.  The digests are known only at the end
   of the stream, so a layer whose digest does not match has already been
   written by then: never use the staging directory of a failed apply.  */
#ifndef CBUILD_LAYERS_APPLY_H
#define CBUILD_LAYERS_APPLY_H

#include <stdint.h>

#include "common/digest.h"
#include "common/error.h"
#include "layers/layer.h"

enum layer_apply_flags {
  /* fchown() failing with EPERM or EINVAL (not privileged, or an id that
     is not mapped in this user namespace) is counted in
     owner_failures instead of failing the apply; the caller warns.  */
  LAYER_APPLY_IGNORE_OWNER_ERRORS = 1u << 0,
  /* Keep whiteouts in overlayfs' form instead of applying them, for a
     layer extracted on its own to serve as an overlay lower dir
     (userxattr): ".wh.NAME" becomes a char 0/0 device NAME and
     ".wh..wh..opq" the xattr user.overlay.opaque=y on its directory.  A
     whiteout of an entry this layer made itself is dropped (the entry
     stays, as the spec wants).  */
  LAYER_APPLY_OVERLAY_WHITEOUTS = 1u << 1,
  /* With LAYER_APPLY_IGNORE_OWNER_ERRORS: an owner that cannot be set is
     also recorded in LAYER_OWNER_XATTR (layer.h) where the file takes a
     user xattr, for the store's unpacked layers, whose copies in a RUN's
     upper dir must keep it.  */
  LAYER_APPLY_RECORD_OWNERS = 1u << 2,
};

struct layer_apply_opts {
  const struct cb_digest *expected_blob;    /* NULL: not checked */
  const struct cb_digest *expected_diff_id; /* NULL: not checked */
  /* Names the layer in error messages ("layer LABEL: ..."); NULL uses the
     first 12 hex digits of expected_blob, else "(unnamed)".  Borrowed. */
  const char *label;
  unsigned flags; /* enum layer_apply_flags */
};

struct layer_apply_result {
  struct cb_digest blob;    /* sha256 of every byte read from BLOB_FD */
  struct cb_digest diff_id; /* sha256 of the uncompressed tar */
  enum layer_compression compression;
  uint64_t blob_size, tar_size;
  uint64_t entries;         /* tar entries read, whiteouts included */
  uint64_t bytes;           /* regular file data written */
  uint64_t whiteouts;       /* .wh.NAME and opaque markers applied */
  uint64_t devices_skipped; /* mknod refused with EPERM (rootless) */
  uint64_t owner_failures;  /* see LAYER_APPLY_IGNORE_OWNER_ERRORS */
  uint64_t xattrs_skipped;  /* refused or not applicable, see below */
};

/* Apply the layer blob read from BLOB_FD (borrowed, read from its current
   offset to its end) onto the directory ROOT_FD (borrowed; O_PATH is
   enough).

   Names: a leading "/" is dropped, so "/etc/x" lands at ROOT/etc/x (as
   Docker and containerd do); "." parts and repeated slashes are dropped;
   a ".." part anywhere, an empty name, or a name of PATH_MAX bytes or
   more is CB_ERR_UNSAFE.  An entry naming the root itself ("./") must be
   a directory and is skipped: the root's own mode and owner belong to the
   caller.  Missing parents are created (0755, owned by the caller).

   Entries: a later entry replaces an existing one, except that a
   directory over a directory keeps it and takes the new attributes
   (image-spec "Changeset over existing files").  Regular files,
   directories, symlinks and FIFOs are created; character and block
   devices too, or counted in devices_skipped when mknod(2) says EPERM.
   Owners are the numeric uid/gid of the tar (names are ignored); modes
   are set after owners so set-id bits survive; directory modes and times
   are set at the end, after their contents.  Hard links must name an
   existing non-directory, non-symlink entry inside the root
   (CB_ERR_UNSAFE otherwise); they share the target's attributes.
   xattrs are set on files and directories; "trusted.*" and "security.*"
   refused with EPERM, xattrs on a file system without them, and xattrs
   on other types are counted in xattrs_skipped.  "trusted.overlay.*" and
   "user.overlay.*" are always skipped (counted): they steer overlayfs
   when the result is used as a lower dir.

   Whiteouts: ".wh.NAME" removes NAME, ".wh..wh..opq" in DIR removes all of
   DIR's children, but only content from lower layers: entries this layer
   created (before or after the marker) stay.  Markers never appear in the
   result (with LAYER_APPLY_OVERLAY_WHITEOUTS they become overlayfs'
   whiteouts instead).  ".wh." names for "", "." or ".." are CB_ERR_UNSAFE; other
   ".wh..wh." names (aufs metadata) are ignored.

   After the tar ends, the rest of the stream is read, then the digests
   are checked against OPTS (CB_ERR_DIGEST naming both).  *RES is written
   only on success.  Errors: CB_ERR_UNSAFE (see above, and sizes over
   CB_MAX_LAYER_ENTRY_SIZE), CB_ERR_PARSE (a corrupt or truncated stream,
   a bad tar header, an unknown entry type), CB_ERR_DIGEST, CB_ERR_SYSTEM.
   Messages read "layer LABEL: 'ENTRY': what failed".  */
int layer_apply(int root_fd, int blob_fd, const struct layer_apply_opts *opts,
                struct layer_apply_result *res, struct cb_error **err);

#endif
