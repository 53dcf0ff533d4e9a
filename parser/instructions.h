/* The instruction layer: the parse tree checked and typed, the way
   BuildKit's instructions package reads it.  Unknown instructions, unknown
   or repeated flags, missing arguments and malformed options are errors
   naming FILE:LINE here.  Variables are not expanded (the builder does
   that per instruction, with the environment of the moment); only the
   form of each value is checked.  No I/O.  */
#ifndef CBUILD_PARSER_INSTRUCTIONS_H
#define CBUILD_PARSER_INSTRUCTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "parser/dockerfile.h"

enum instr_kind {
  INSTR_FROM,
  INSTR_RUN,
  INSTR_CMD,
  INSTR_LABEL,
  INSTR_MAINTAINER,
  INSTR_EXPOSE,
  INSTR_ENV,
  INSTR_ADD,
  INSTR_COPY,
  INSTR_ENTRYPOINT,
  INSTR_VOLUME,
  INSTR_USER,
  INSTR_WORKDIR,
  INSTR_ARG,
  INSTR_ONBUILD,
  INSTR_STOPSIGNAL,
  INSTR_HEALTHCHECK,
  INSTR_SHELL,
};

/* The instruction's name in upper case ("COPY").  */
const char *instr_kind_name(enum instr_kind kind);

/* A key and value of ENV, LABEL or ARG.  */
struct instr_kv {
  char *key;      /* owned */
  char *value;    /* owned; NULL for an ARG without a default */
};

enum mount_type {
  MOUNT_BIND,
  MOUNT_CACHE,
  MOUNT_TMPFS,
  MOUNT_SECRET,
  MOUNT_SSH,
};

enum mount_sharing {
  MOUNT_SHARING_SHARED,
  MOUNT_SHARING_PRIVATE,
  MOUNT_SHARING_LOCKED,
};

/* One RUN --mount, as typed options.  Strings are owned, NULL when not
   given.  A secret's source is also its id (BuildKit takes "source" as
   another name for "id").  */
struct instr_mount {
  enum mount_type type;
  char *target;
  char *source;
  char *from;
  char *id;
  char *env; /* secret: the environment variable to set */
  enum mount_sharing sharing;
  bool readonly;
  bool required;
  bool has_mode, has_uid, has_gid, has_size;
  uint32_t mode;
  uint32_t uid, gid;
  uint64_t size; /* tmpfs size in bytes */
};

/* HEALTHCHECK's options; durations in nanoseconds, 0 = not given.  */
struct instr_health {
  bool none;
  int64_t interval;
  int64_t timeout;
  int64_t start_period;
  int64_t start_interval;
  int retries; /* -1 = not given */
};

struct instr {
  enum instr_kind kind;
  const struct df_node *node; /* borrowed from the dockerfile */
  int line;

  /* Arguments: RUN/CMD/ENTRYPOINT/SHELL the command (json: exec form);
     ADD/COPY the sources then the destination; EXPOSE/VOLUME the items;
     USER/WORKDIR/STOPSIGNAL/MAINTAINER the value; FROM the image.
     Borrowed from the node.  */
  char *const *args;
  size_t nargs;
  bool json;

  /* ENV, LABEL, ARG.  */
  struct instr_kv *kvs;
  size_t nkvs;

  /* FROM.  */
  const char *stage_name; /* lower-cased copy, owned; NULL without AS */
  const char *platform;   /* --platform, borrowed; also RUN has none */

  /* RUN.  */
  struct instr_mount *mounts;
  size_t nmounts;
  const char *network;  /* --network: "default", "none", "host"; or NULL */
  const char *security; /* --security: "sandbox", "insecure"; or NULL */

  /* ADD, COPY.  Strings borrowed from the node.  */
  const char *from;
  const char *chown;
  const char *chmod;
  const char *checksum;
  char **excludes; /* owned array of borrowed strings, NULL-terminated */
  size_t nexcludes;
  bool link;
  bool parents;
  bool keep_git_dir;
  int unpack; /* -1 not given, else 0 or 1 */

  /* HEALTHCHECK.  */
  struct instr_health health;

  /* ONBUILD: the trigger instruction, checked like any other.  */
  struct instr *trigger; /* owned */
};

struct stage {
  char *name;         /* lower-cased AS name, or NULL; borrowed from from */
  struct instr *from; /* the FROM instruction (instrs[0]) */
  struct instr *instrs;
  size_t ninstrs;
};

struct build_plan {
  const struct dockerfile *df; /* borrowed */
  struct instr *meta_args;     /* ARGs before the first FROM */
  size_t nmeta_args;
  struct stage *stages;
  size_t nstages;
};

/* Check and type every instruction of DF.  *OUT (caller frees with
   build_plan_free()) borrows from DF, which must outlive it.  Errors are
   CB_ERR_PARSE, "FILE:LINE: message".  */
int build_plan_new(const struct dockerfile *df, struct build_plan **out,
                   struct cb_error **err);

/* The index of the stage named NAME (case-insensitive) or numbered NAME
   ("0", "1", ...), or -1.  */
int build_plan_find_stage(const struct build_plan *plan, const char *name);

void build_plan_free(struct build_plan *plan);
void build_plan_freep(struct build_plan **plan);
#define cleanup_build_plan __attribute__((cleanup(build_plan_freep)))

/* Where an instruction is, for messages: "FILE:LINE: NAME: ...".  */
struct instr_where {
  const char *file;
  int line;
  const char *name; /* "COPY" */
};

/* Fail with CB_ERR_PARSE "FILE:LINE: NAME: message".  Returns -1.  */
int instr_fail(const struct instr_where *w, struct cb_error **err,
               const char *fmt, ...) CB_PRINTF(3, 4);

/* Check and type one instruction NODE (of a dockerfile from FILE) into
   caller storage IN, as build_plan_new() does for each; release with
   instr_release().  Used for instructions that come from elsewhere
   (import --change).  */
int instr_check(struct instr *in, const struct df_node *node,
                const char *file, struct cb_error **err);
void instr_release(struct instr *in);

/* Parse a Go duration ("1m30s", "500ms", "1.5h") into nanoseconds.  */
int instr_parse_duration(const char *s, int64_t *ns, struct cb_error **err);

/* Parse one --mount value ("type=cache,target=/root/.cache,...").  */
int instr_parse_mount(const char *spec, struct instr_mount *m,
                      struct cb_error **err);
void instr_mount_release(struct instr_mount *m);

#endif
