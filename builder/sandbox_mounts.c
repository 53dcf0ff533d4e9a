#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/sandbox-internal.h"
#include "common/cleanup.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/banned.h"

#define NO_STUB ((size_t)-1)

/* Where the child stages the files of SANDBOX_MOUNT_FILE mounts, on a
   tmpfs of their own inside the sandbox's /dev (a tmpfs too, so nothing
   is written to the layer); gone before the command starts.  */
#define STAGING "dev/.cbuild-mounts"

/* What the child created for one mount, written into memory shared with
   the parent.  */
struct mount_stub {
  char path[PATH_MAX];      /* the resolved target, relative to the root */
  size_t created;           /* offset in PATH of the first component we made */
  bool file;                /* the last component was made as a file */
  struct timespec times[2]; /* of the directory the first one went into */
};

struct shared {
  size_t failed; /* index of the mount the child failed on, or NO_STUB */
  struct mount_stub stubs[];
};

struct sandbox_mounts {
  const struct sandbox_mount *v; /* borrowed from the spec */
  size_t n;
  bool *file_target; /* the target is a file (the source is not a dir) */
  bool have_files;
  uint64_t staging_size;
  struct shared *sh; /* MAP_SHARED */
  size_t map_len;
  /* Scratch for the child.  */
  char walk[2 * PATH_MAX];
  char link[PATH_MAX];
  char name[NAME_MAX + 1];
  char src[PATH_MAX];
  char opts[256];
};

/* ---- the child: async-signal-safe only ------------------------------- */

/* Append the decimal N to BUF at *LEN (BUF has room: callers size it).  */
static void
add_uint(char *buf, size_t *len, uint64_t n)
{
  char d[24];
  size_t k = 0;

  do
    d[k++] = (char)('0' + n % 10);
  while ((n /= 10) > 0);
  while (k > 0)
    buf[(*len)++] = d[--k];
  buf[*len] = '\0';
}

static void
add_str(char *buf, size_t *len, const char *s)
{
  size_t l = strlen(s);

  memcpy(buf + *len, s, l + 1);
  *len += l;
}

/* "/proc/self/fd/FD" into OUT (32 bytes).  */
static void
fd_path(char out[32], int fd)
{
  size_t len = 0;

  add_str(out, &len, "/proc/self/fd/");
  add_uint(out, &len, (uint64_t)fd);
}

static void
close_keep_errno(int fd)
{
  int e = errno;

  if (fd >= 0)
    close(fd);
  errno = e;
}

/* An fd in our mount namespace for the object FD names.  FD was opened
   before clone, so its mount belongs to the parent's namespace, and the
   kernel refuses to bind it here (EINVAL: open_tree and mount(2) both
   want a mount of the caller's namespace).  Our namespace is a copy of
   the parent's, so the path the kernel reports for FD leads to the same
   object; it is opened without following a symlink at the end and must
   be the same inode, so a tree changed in between cannot substitute
   anything.  */
static int
reopen_here(struct sandbox_mounts *m, int fd)
{
  char proc[32];
  struct stat a, b;
  ssize_t n;
  int nfd;

  fd_path(proc, fd);
  n = readlink(proc, m->src, sizeof(m->src));
  if (n < 0)
    return -1;
  if ((size_t)n >= sizeof(m->src) || m->src[0] != '/') {
    errno = ESTALE; /* too long, or not reachable from our root */
    return -1;
  }
  m->src[n] = '\0';
  nfd = open(m->src, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (nfd < 0)
    return -1;
  if (fstat(fd, &a) < 0 || fstat(nfd, &b) < 0)
    goto fail;
  if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
    errno = ESTALE;
    goto fail;
  }
  return nfd;
fail:
  close_keep_errno(nfd);
  return -1;
}

/* Add NAME (NLEN bytes) to the resolved path *LEN bytes long.  */
static int
path_push(struct mount_stub *st, size_t *len, const char *name, size_t nlen)
{
  if (*len + 1 + nlen + 1 > sizeof(st->path)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  if (*len > 0)
    st->path[(*len)++] = '/';
  memcpy(st->path + *len, name, nlen);
  *len += nlen;
  st->path[*len] = '\0';
  return 0;
}

/* Drop the last component of the resolved path; at the root, stay.  */
static void
path_pop(struct mount_stub *st, size_t *len)
{
  while (*len > 0 && st->path[*len - 1] != '/')
    (*len)--;
  if (*len > 0)
    (*len)--;
  st->path[*len] = '\0';
}

/* Open PATH (resolved: only directories, no "." or "..") below ROOT one
   component at a time, following no symlink.  NAME is scratch.  */
static int
open_resolved(int root, const char *path, char *name)
{
  int cur = openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);

  while (cur >= 0 && *path != '\0') {
    size_t l = strcspn(path, "/");
    int next;

    memcpy(name, path, l);
    name[l] = '\0';
    next = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close_keep_errno(cur);
    cur = next;
    path += l;
    if (*path == '/')
      path++;
  }
  return cur;
}

/* Create the missing component NAME in CUR (the first one of the chain
   gets CUR's times recorded, so the parent can put them back).  */
static int
create_component(int cur, const char *name, bool as_file, struct mount_stub *st,
                 size_t rlen_before)
{
  int fd;

  if (st->created == NO_STUB) {
    struct stat ds;

    if (fstat(cur, &ds) < 0)
      return -1;
    st->times[0] = ds.st_atim;
    st->times[1] = ds.st_mtim;
    st->created = rlen_before > 0 ? rlen_before + 1 : 0;
  }
  if (!as_file)
    return mkdirat(cur, name, 0755);
  st->file = true;
  fd = openat(cur, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0755);
  if (fd < 0)
    return -1;
  return close(fd);
}

/* Splice the target of the symlink NAME in CUR in front of the rest of
   the walk (W from POS, *WLEN long).  Returns 1 when it is absolute.  */
static int
splice_link(struct sandbox_mounts *m, int cur, size_t *wlen, size_t pos)
{
  char *w = m->walk;
  ssize_t n = readlinkat(cur, m->name, m->link, sizeof(m->link));
  size_t rest = *wlen - pos;

  if (n < 0)
    return -1;
  if ((size_t)n >= sizeof(m->link) ||
      (size_t)n + 1 + rest + 1 > sizeof(m->walk)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memmove(w + n + 1, w + pos, rest + 1);
  memcpy(w, m->link, (size_t)n);
  w[n] = '/';
  *wlen = (size_t)n + 1 + rest;
  return m->link[0] == '/';
}

/* The next component of the walk W at *POS into M->name; sets *LAST when
   nothing but slashes follows.  0 when the walk is over.  */
static int
next_component(struct sandbox_mounts *m, size_t *pos, bool *last)
{
  const char *w = m->walk;
  size_t l, q;

  while (w[*pos] == '/')
    (*pos)++;
  if (w[*pos] == '\0')
    return 0;
  l = strcspn(w + *pos, "/");
  if (l > NAME_MAX) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(m->name, w + *pos, l);
  m->name[l] = '\0';
  *pos += l;
  for (q = *pos; w[q] == '/'; q++)
    ;
  *last = w[q] == '\0';
  return 1;
}

/* Follow the symlink M->name in CUR: splice its target into the walk and,
   when it is absolute, start again from ROOT.  Returns the new CUR.  */
static int
follow_link(struct sandbox_mounts *m, int root, int cur, size_t *wlen,
            size_t *pos, struct mount_stub *st, size_t *rlen)
{
  int rc = splice_link(m, cur, wlen, *pos);

  *pos = 0;
  if (rc < 0) {
    close_keep_errno(cur);
    return -1;
  }
  if (rc == 0)
    return cur;
  close(cur);
  *rlen = 0;
  st->path[0] = '\0';
  return openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* Resolve TARGET inside ROOT as if ROOT were "/" (a symlink's ".." stops
   at ROOT, an absolute symlink starts again from it), creating what is
   missing, the last component as a file when AS_FILE.  Returns an O_PATH
   fd for the mount point; ST records the resolved path and what was
   created.  Once a component has been created every later one is missing
   too (the target has no ".." of its own), so the created ones are
   always the tail of ST->path.  */
static int
resolve_target(struct sandbox_mounts *m, int root, const char *target,
               bool as_file, struct mount_stub *st)
{
  size_t wlen = strlen(target), pos = 0, rlen = 0;
  int cur, links = 0, rc;
  bool last = false;

  if (wlen >= sizeof(m->walk)) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(m->walk, target, wlen + 1);
  st->path[0] = '\0';
  cur = openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  while (cur >= 0 && (rc = next_component(m, &pos, &last)) != 0) {
    size_t before = rlen;
    bool missing = false;
    struct stat sb;
    int next;

    if (rc < 0)
      goto fail;
    if (strcmp(m->name, ".") == 0)
      continue;
    if (strcmp(m->name, "..") == 0) {
      path_pop(st, &rlen);
      close(cur);
      cur = open_resolved(root, st->path, m->name);
      continue;
    }
    if (fstatat(cur, m->name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno != ENOENT)
        goto fail;
      missing = true;
    } else if (S_ISLNK(sb.st_mode)) {
      if (++links > CB_MAX_SYMLINKS) {
        errno = ELOOP;
        goto fail;
      }
      cur = follow_link(m, root, cur, &wlen, &pos, st, &rlen);
      continue;
    }
    if (path_push(st, &rlen, m->name, strlen(m->name)) < 0 ||
        (missing &&
         create_component(cur, m->name, last && as_file, st, before) < 0))
      goto fail;
    next = openat(cur, m->name,
                  O_PATH | O_NOFOLLOW | O_CLOEXEC | (last ? 0 : O_DIRECTORY));
    close_keep_errno(cur);
    cur = next;
    if (last)
      return cur;
  }
  if (cur >= 0) {
    /* The walk ended on the root itself: a mount there would hide the
       new root from pivot_root.  */
    close(cur);
    errno = EINVAL;
  }
  return -1;
fail:
  close_keep_errno(cur);
  return -1;
}

/* Bind the object SRC (of our namespace) onto LEAF: a detached copy of
   just that mount (no submounts), made read-only before it is attached,
   so that it is never writable in the root, not even for a moment.  The
   flags the kernel locks (nosuid, nodev...) stay as they were.  */
static int
bind_onto(int src, int leaf, bool readonly)
{
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
  int t =
      open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);

  if (t < 0)
    return -1;
  if ((readonly &&
       mount_setattr(t, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) ||
      move_mount(t, "", leaf, "",
                 MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
    close_keep_errno(t);
    return -1;
  }
  return close(t);
}

/* A writable view of the directory SRC whose writes go to UPPER (through
   WORK) and are thrown away with them: an overlay with SRC as its only
   lower dir.  Fds are of our namespace; overlayfs resolves the
   /proc/self/fd names to them.  */
static int
overlay_onto(struct sandbox_mounts *m, int src, int upper, int work, int leaf)
{
  char target[32], p[32];
  size_t len = 0;

  fd_path(p, src);
  add_str(m->opts, &len, "lowerdir=");
  add_str(m->opts, &len, p);
  fd_path(p, upper);
  add_str(m->opts, &len, ",upperdir=");
  add_str(m->opts, &len, p);
  fd_path(p, work);
  add_str(m->opts, &len, ",workdir=");
  add_str(m->opts, &len, p);
  add_str(m->opts, &len, ",userxattr,volatile"); /* writes are thrown away */
  fd_path(target, leaf);
  return mount("overlay", target, "overlay", 0, m->opts);
}

static int
tmpfs_onto(struct sandbox_mounts *m, uint64_t size, int leaf)
{
  char target[32];
  size_t len = 0;

  m->opts[0] = '\0';
  if (size > 0) {
    add_str(m->opts, &len, "size=");
    add_uint(m->opts, &len, size);
  }
  fd_path(target, leaf);
  return mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV,
               len > 0 ? m->opts : NULL);
}

/* The staging tmpfs for file mounts, below the new root (the cwd).  */
static int
staging_mount(struct sandbox_mounts *m)
{
  size_t len = 0;

  add_str(m->opts, &len, "mode=700,size=");
  add_uint(m->opts, &len, m->staging_size);
  if (mkdir(STAGING, 0700) < 0)
    return -1;
  return mount("tmpfs", STAGING, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
               m->opts);
}

/* Write mount I's data into a file of the staging tmpfs; returns an
   O_PATH fd for it.  */
static int
staging_file(struct sandbox_mounts *m, size_t i)
{
  const struct sandbox_mount *sm = &m->v[i];
  size_t len = 0, off = 0;
  int fd;

  add_str(m->src, &len, STAGING "/");
  add_uint(m->src, &len, i);
  fd = open(m->src, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return -1;
  while (off < sm->len) {
    ssize_t n = write(fd, sm->data + off, sm->len - off);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      goto fail;
    off += (size_t)n;
  }
  /* Owner first: chown clears set-id bits that a mode may ask for.  */
  if (fchown(fd, sm->uid, sm->gid) < 0 || fchmod(fd, sm->mode) < 0)
    goto fail;
  close(fd);
  return open(m->src, O_PATH | O_NOFOLLOW | O_CLOEXEC);
fail:
  close_keep_errno(fd);
  return -1;
}

/* The source of mount I as an fd of our namespace.  */
static int
mount_source(struct sandbox_mounts *m, size_t i, const char **step)
{
  const struct sandbox_mount *sm = &m->v[i];

  if (sm->kind == SANDBOX_MOUNT_FILE) {
    *step = "write the file of a mount";
    return staging_file(m, i);
  }
  *step = "open the source of a mount";
  return reopen_here(m, sm->source_fd);
}

/* Mount I onto LEAF.  */
static int
mount_one(struct sandbox_mounts *m, size_t i, int leaf, const char **step)
{
  const struct sandbox_mount *sm = &m->v[i];
  int src = -1, upper = -1, work = -1, rc = -1;

  if (sm->kind == SANDBOX_MOUNT_TMPFS) {
    *step = "mount a tmpfs";
    return tmpfs_onto(m, sm->size, leaf);
  }
  src = mount_source(m, i, step);
  if (src < 0)
    return -1;
  if (sm->kind == SANDBOX_MOUNT_BIND && !sm->readonly && sm->upper_fd >= 0) {
    *step = "open the scratch dirs of a mount";
    upper = reopen_here(m, sm->upper_fd);
    work = upper >= 0 ? reopen_here(m, sm->work_fd) : -1;
    *step = "mount an overlay on the source of a mount";
    if (work >= 0)
      rc = overlay_onto(m, src, upper, work, leaf);
  } else {
    *step = "bind the source of a mount";
    rc = bind_onto(src, leaf, sm->readonly);
  }
  close_keep_errno(work);
  close_keep_errno(upper);
  close_keep_errno(src);
  return rc;
}

int
sandbox_mounts_setup(struct sandbox_mounts *m, const char **step)
{
  int root = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);

  *step = "open the new root";
  if (root < 0)
    return -1;
  *step = "mount the staging tmpfs";
  if (m->have_files && staging_mount(m) < 0)
    goto fail;
  for (size_t i = 0; i < m->n; i++) {
    int leaf;

    m->sh->failed = i;
    *step = "resolve the mount target";
    leaf = resolve_target(m, root, m->v[i].target, m->file_target[i],
                          &m->sh->stubs[i]);
    if (leaf < 0 || mount_one(m, i, leaf, step) < 0) {
      close_keep_errno(leaf);
      goto fail;
    }
    close(leaf);
  }
  m->sh->failed = NO_STUB;
  /* The files stay reachable through their bind mounts only.  */
  *step = "remove the staging tmpfs";
  if (m->have_files && (umount2(STAGING, MNT_DETACH) < 0 || rmdir(STAGING) < 0))
    goto fail;
  return close(root);
fail:
  close_keep_errno(root);
  return -1;
}

/* ---- the parent ------------------------------------------------------ */

/* An absolute target without "", "." or ".." components: the child
   creates components as it goes and relies on that (resolve_target).  */
static bool
target_ok(const char *t)
{
  if (t == NULL || t[0] != '/' || strlen(t) >= PATH_MAX)
    return false;
  for (const char *p = t + 1; *p != '\0';) {
    size_t l = strcspn(p, "/");

    if (l == 0 || (l == 1 && p[0] == '.') ||
        (l == 2 && p[0] == '.' && p[1] == '.'))
      return false;
    p += l;
    if (*p == '/')
      p++;
  }
  return t[1] != '\0' && t[strlen(t) - 1] != '/';
}

/* Whether mount SM is complete; sets *FILE when its target is a file.  */
static int
check_mount(const struct sandbox_mount *sm, bool *file, struct cb_error **err)
{
  struct stat sb;

  if (!target_ok(sm->target))
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "sandbox: mount target '%s' is not an absolute, clean "
                   "path below /",
                   sm->target != NULL ? sm->target : "");
  *file = sm->kind == SANDBOX_MOUNT_FILE;
  if (sm->kind != SANDBOX_MOUNT_BIND)
    return 0;
  if (sm->source_fd < 0 || fstat(sm->source_fd, &sb) < 0)
    return cb_fail(err, CB_ERR_USAGE, 0, "sandbox: mount '%s' has no source",
                   sm->target);
  *file = !S_ISDIR(sb.st_mode);
  if (!sm->readonly && sm->upper_fd >= 0 && (*file || sm->work_fd < 0))
    return cb_fail(err, CB_ERR_USAGE, 0,
                   "sandbox: mount '%s': a throwaway upper dir needs a "
                   "directory source and a work dir",
                   sm->target);
  return 0;
}

int
sandbox_mounts_new(const struct sandbox_spec *spec, struct sandbox_mounts **out,
                   struct cb_error **err)
{
  struct sandbox_mounts *m;
  void *map;

  *out = NULL;
  if (spec->n_mounts == 0)
    return 0;
  m = cb_xcalloc(1, sizeof(*m));
  m->v = spec->mounts;
  m->n = spec->n_mounts;
  m->file_target = cb_xcalloc(m->n, sizeof(bool));
  m->staging_size = 65536;
  for (size_t i = 0; i < m->n; i++) {
    const struct sandbox_mount *sm = &m->v[i];

    if (check_mount(sm, &m->file_target[i], err) < 0) {
      sandbox_mounts_free(m);
      return -1;
    }
    if (sm->kind == SANDBOX_MOUNT_FILE) {
      m->have_files = true;
      m->staging_size += (sm->len + 4095) / 4096 * 4096 + 4096;
    }
  }
  m->map_len = sizeof(struct shared) + m->n * sizeof(struct mount_stub);
  map = mmap(NULL, m->map_len, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) {
    m->map_len = 0;
    sandbox_mounts_free(m);
    return cb_fail_errno(err, "sandbox: mmap");
  }
  m->sh = map;
  m->sh->failed = NO_STUB;
  for (size_t i = 0; i < m->n; i++)
    m->sh->stubs[i].created = NO_STUB;
  *out = m;
  return 0;
}

const char *
sandbox_mounts_failed_target(const struct sandbox_mounts *m)
{
  if (m == NULL || m->sh->failed >= m->n)
    return NULL;
  return m->v[m->sh->failed].target;
}

/* The components of PATH (copied into BUF, which is cut up) as an array
   of at most MAX.  Returns how many.  */
static size_t
split_path(char *buf, char **v, size_t max)
{
  size_t n = 0;

  for (char *p = buf; *p != '\0' && n < max;) {
    size_t l = strcspn(p, "/");

    v[n++] = p;
    p += l;
    if (*p == '/')
      *p++ = '\0';
  }
  return n;
}

/* Remove NAME in D if it is still what we made: an empty directory, or
   an empty file when AS_FILE.  EEXIST when it is something else.  */
static int
remove_one(int d, const char *name, bool as_file)
{
  struct stat sb;

  if (fstatat(d, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
    return -1;
  if (as_file ? !S_ISREG(sb.st_mode) || sb.st_size != 0
              : !S_ISDIR(sb.st_mode)) {
    errno = EEXIST;
    return -1;
  }
  return unlinkat(d, name, as_file ? 0 : AT_REMOVEDIR);
}

/* Remove the stub ST below ROOT: its created components, deepest first,
   each only while it is an empty directory (or an empty file, for the
   last one made as a file).  Nothing is followed: a component that is
   not what we made ends it.  Returns true when all of them went.  */
static bool
remove_created(int root, const struct mount_stub *st, int *base_out)
{
  cleanup_free char *buf = cb_xstrdup(st->path);
  cleanup_free char **v = cb_xcalloc(PATH_MAX / 2 + 1, sizeof(char *));
  cleanup_free int *fds = NULL;
  size_t n = split_path(buf, v, PATH_MAX / 2 + 1), first = 0, opened;
  bool all = true;

  /* Which component is the first created one.  */
  for (size_t off = 0; first < n && off < st->created; first++)
    off += strlen(v[first]) + 1;
  fds = cb_xcalloc(n + 1, sizeof(int));
  fds[0] = openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  for (opened = 0; opened < n - 1 && fds[opened] >= 0; opened++)
    fds[opened + 1] = openat(fds[opened], v[opened],
                             O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fds[opened] < 0 || opened < first) {
    all = false; /* not in this tree (made inside another mount) */
    goto out;
  }
  for (size_t k = n; k-- > first;) {
    if (remove_one(fds[k], v[k], k == n - 1 && st->file) < 0) {
      if (errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT)
        cb_log(CB_LOG_WARN, "cannot remove the mount point '/%s': %s", st->path,
               strerror(errno));
      all = false;
      break;
    }
  }
  if (all)
    *base_out = openat(fds[first], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
out:
  for (size_t k = 0; k <= opened && k < n; k++)
    if (fds[k] >= 0)
      close(fds[k]);
  return all;
}

void
sandbox_mounts_cleanup(struct sandbox_mounts *m, int changes_fd)
{
  if (m == NULL)
    return;
  /* Last first: a later target may have been made inside an earlier
     one's parents.  */
  for (size_t i = m->n; i-- > 0;) {
    const struct mount_stub *st = &m->sh->stubs[i];
    int base = -1;

    if (st->created == NO_STUB || st->path[0] == '\0')
      continue;
    if (remove_created(changes_fd, st, &base) && base >= 0) {
      (void)futimens(base, st->times);
      close(base);
    }
  }
}

void
sandbox_mounts_free(struct sandbox_mounts *m)
{
  if (m == NULL)
    return;
  if (m->map_len > 0)
    munmap(m->sh, m->map_len);
  free(m->file_target);
  free(m);
}

void
sandbox_mounts_freep(struct sandbox_mounts **m)
{
  sandbox_mounts_free(*m);
}
