/* The scanner hook: the gate an image passes before it is published
   (pushed, or exported with 'build -o').

   Each scanner is a shell command.  For a scan, the image is written to
   a private directory (mode 0700, in $TMPDIR or /tmp) as an OCI layout
   directory and as an oci-archive, and each command runs in turn through
   "/bin/sh -c" with the caller's privileges, outside any sandbox, its
   stdin /dev/null, its stdout and stderr cbuild's stderr, and in the
   environment:

     CBUILD_IMAGE_LAYOUT   the OCI layout directory
     CBUILD_IMAGE_ARCHIVE  the oci-archive
     CBUILD_IMAGE_REF      the image's name ("" when it has none)
     CBUILD_IMAGE_DIGEST   its manifest digest
     CBUILD_IMAGE_ID       its config digest (the image ID)
     CBUILD_REPORT         where the scanner may write its report

   "{}" in a command stands for the archive's path.  Exit 0 passes; any
   other status, a kill by a signal, or a run past the timeout (the
   scanner's whole process group is then killed) fails the gate, and the
   scanners after it do not run.

   Credentials stay out of the scanner's environment: every variable
   whose value is the value of a build secret (--secret), and every one
   whose name says it holds a credential (it contains PASSWORD, PASSWD,
   TOKEN, SECRET, CREDENTIAL, API_KEY, APIKEY, ACCESS_KEY or PRIVATE_KEY,
   ends in _AUTH, or is DOCKER_AUTH_CONFIG) unless the configuration
   names it with scan-env, is left out.  Registry credentials are read by
   cbuild from files (registry/credentials.h) and never put in the
   environment.

   Configuration, lowest first: the file $XDG_CONFIG_HOME/cbuild/cbuild.conf
   (~/.config/cbuild/cbuild.conf), or /etc/cbuild/cbuild.conf when that
   does not exist; then $CBUILD_SCAN (one command a line); then the
   command line.  Scanners from all three run; a later timeout or report
   type replaces an earlier one.  The file has one "KEY = VALUE" a line;
   blank lines and lines whose first non-blank character is '#' are
   skipped; blanks around KEY and VALUE are dropped.  Keys:

     scan = COMMAND            a scanner (repeatable)
     scan-timeout = DURATION   per scanner: N, Ns, Nm or Nh (default 10m)
     scan-report-type = TYPE   the artifactType of pushed reports
     scan-env = NAME           pass NAME to scanners although its name
                               looks like a credential (repeatable)  */
#ifndef CBUILD_BUILDER_SCAN_H
#define CBUILD_BUILDER_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder/mounts.h"
#include "common/error.h"
#include "layers/image.h"
#include "layers/store.h"

#define SCAN_DEFAULT_TIMEOUT_MS (10 * 60 * 1000)
#define SCAN_REPORT_TYPE "application/vnd.cbuild.scan-report.v1+json"
/* The largest configuration file read.  */
#define SCAN_MAX_CONFIG (64 * 1024)

struct scan_config {
  char **cmds; /* owned, NULL-terminated (NULL when empty) */
  size_t ncmds;
  int64_t timeout_ms;
  char *report_type; /* owned; NULL means SCAN_REPORT_TYPE */
  char **keep_env;   /* owned, NULL-terminated names (NULL when empty) */
  size_t nkeep;
};

void scan_config_init(struct scan_config *c);
void scan_config_release(struct scan_config *c);

/* Set KEY (one of the file's keys above) to VALUE.  A bad duration, an
   invalid media type, an empty command or an unknown key is
   CB_ERR_USAGE.  */
int scan_config_set(struct scan_config *c, const char *key, const char *value,
                    struct cb_error **err);

/* Read the file format above from TEXT (LEN bytes) into C.  Errors are
   CB_ERR_PARSE "FILE:LINE: ...".  */
int scan_config_parse(struct scan_config *c, const char *text, size_t len,
                      const char *file, struct cb_error **err);

/* The configuration file (if any) and $CBUILD_SCAN, into C.  */
int scan_config_load(struct scan_config *c, struct cb_error **err);

/* A duration: decimal digits and an optional unit, s, m or h (seconds
   without one), at most a day.  */
int scan_parse_duration(const char *s, int64_t *ms, struct cb_error **err);

/* TYPE/SUBTYPE as RFC 6838 allows them (restricted names of at most 127
   characters each), else CB_ERR_USAGE naming S.  */
int scan_check_media_type(const char *s, struct cb_error **err);

/* What a passed scan leaves: the reports the scanners wrote.  */
struct scan_outcome {
  char *dir;      /* owned: the private directory holding them */
  char **reports; /* owned, NULL-terminated paths of non-empty reports */
  size_t nreports;
};

/* Run every scanner of C on IMG (from S), named REF (may be NULL).
   SECRETS (may be NULL) are the build's secrets, kept out of the
   scanners' environment by value.  Returns 0 when there are no scanners
   (*OUT empty) or all of them exited 0; the image copies are removed
   then, the reports kept in *OUT.  When one fails: -1 with CB_ERR_STEP
   "scanner 'CMD' exited with status N (report: PATH)" (or "was killed
   after DURATION", "was killed by signal N", "no report"); its report
   stays where the message says, the rest of the directory is removed.
   Other errors (writing the image, starting the shell) are -1 as
   well, and remove the whole directory.  */
int scan_run(const struct scan_config *c, struct layer_store *s,
             const struct store_image *img, const char *ref,
             const struct build_secrets *secrets, struct scan_outcome *out,
             struct cb_error **err);

/* Remove the reports and their directory (unless KEEP) and free O.  */
void scan_outcome_release(struct scan_outcome *o, bool keep);

#endif
