/* The publish gate of 'cbuild build' and 'cbuild push': the scanner
   options (builder/scan.h), build's --push, and pushing scan reports as
   referrers of the image.

   Where things run in 'cbuild build': the build happens in cbuild's
   user-namespace child (a re-executed cbuild), but the scanners must run
   with the caller's own privileges and pushing needs no namespace, so
   both happen in the parent, outside it.  When there is something to
   gate (a scanner, or --push), the parent hands the child one end of a
   socket pair (CBUILD_PUBLISH_FD).  The child builds, stores the image,
   sends "MANIFEST-DIGEST ID\n" and waits; the parent scans the stored
   image and answers 'y' (publish) or 'n'.  On 'y' the child writes the
   -o outputs and the --iidfile and prints the ID, as without a gate (so
   -o local still applies the image's owners inside the namespace); on
   'n' it exits 0 without them and the parent reports the scan's failure.
   Once the child has exited 0, the parent pushes each -t name and the
   reports.  */
#ifndef CBUILD_CLI_PUBLISH_H
#define CBUILD_CLI_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>

#include "builder/mounts.h"
#include "builder/sbom.h"
#include "builder/scan.h"
#include "cli/cli.h"
#include "common/digest.h"
#include "common/error.h"
#include "layers/image.h"
#include "layers/store.h"
#include "registry/client.h"
#include "registry/reference.h"

struct cli_publish {
  struct scan_config scan;
  bool push; /* build --push */
  bool sbom; /* --sbom: push the image's SBOM as a referrer too */
  enum sbom_format sbom_format;
};

/* Option ids for cli_parse(), out of the range of characters.  */
enum {
  CLI_PUBLISH_OPT_SCAN = 0x200,
  CLI_PUBLISH_OPT_TIMEOUT,
  CLI_PUBLISH_OPT_REPORT_TYPE,
  CLI_PUBLISH_OPT_ENV,
  CLI_PUBLISH_OPT_PUSH,
  CLI_PUBLISH_OPT_SBOM,
  CLI_PUBLISH_OPT_SBOM_FORMAT,
};

/* The scanner options, for a command's cli_opt table.  */
#define CLI_PUBLISH_SCAN_OPTS                                                  \
  { "scan", 0, true, CLI_PUBLISH_OPT_SCAN },                                   \
      { "scan-timeout", 0, true, CLI_PUBLISH_OPT_TIMEOUT },                    \
      { "scan-report-type", 0, true, CLI_PUBLISH_OPT_REPORT_TYPE },            \
      { "scan-env", 0, true, CLI_PUBLISH_OPT_ENV },                            \
      { "sbom", 0, false, CLI_PUBLISH_OPT_SBOM },                              \
      { "sbom-format", 0, true, CLI_PUBLISH_OPT_SBOM_FORMAT }

#define CLI_PUBLISH_SCAN_USAGE                                                 \
  "      --scan CMD           run CMD (with /bin/sh -c) on the image before\n" \
  "                           anything is pushed or exported; exit 0\n"        \
  "                           publishes, else nothing is (repeatable; see\n"   \
  "                           README: CBUILD_IMAGE_ARCHIVE, {} and more;\n"    \
  "                           also $CBUILD_SCAN and cbuild.conf)\n"            \
  "      --scan-timeout DURATION\n"                                            \
  "                           kill a scanner after this (default 10m)\n"       \
  "      --scan-report-type TYPE\n"                                            \
  "                           artifactType of the pushed reports (default\n"   \
  "                           " SCAN_REPORT_TYPE ")\n"                         \
  "      --scan-env NAME      pass NAME to scanners although its name\n"       \
  "                           looks like a credential (repeatable)\n"         \
  "      --sbom               push the image's SBOM (cbuild sbom) as a\n"     \
  "                           referrer of it, beside the scan reports\n"      \
  "      --sbom-format FMT    spdx-json (default) or cyclonedx-json\n"

/* Set P up: the configuration file and $CBUILD_SCAN (builder/scan.h).
   In build's namespace child, this also takes over the gate's socket
   (close-on-exec from here on).  */
int cli_publish_init(struct cli_publish *p, struct cb_error **err);
void cli_publish_release(struct cli_publish *p);

/* Whether ID is one of P's options, and handle it (CMD for messages).  */
bool cli_publish_is_opt(int id);
int cli_publish_opt(struct cli_publish *p, const struct cli_command *cmd,
                    int id, const char *arg, struct cb_error **err);

/* Build's start, in place of userns_reexec(): when P has nothing to
   gate, exactly userns_reexec(ARGV).  Else the parent side described
   above, for the image named TAGS (NTAGS store names; pushed with
   --push) built with SECRETS.  Returns 0 in the child (build there),
   1 in the parent with *STATUS the exit status once all is done, -1 on
   an error (a failed scan: the scanner's line; a failed push).  */
int cli_publish_build(struct cli_publish *p, char **argv, char **tags,
                      size_t ntags, const struct build_secrets *secrets,
                      int *status, struct cb_error **err);

/* In build's namespace child, after the image is stored: hand MANIFEST
   and ID to the parent and wait for its word.  *GO is true when the
   outputs may be written (always, without a gate).  */
int cli_publish_gate(const struct cb_digest *manifest,
                     const struct cb_digest *id, bool *go,
                     struct cb_error **err);

/* 'cbuild push': scan IMG (from S) as P says, then push it to DEST with
   CFG and the reports as its referrers.  */
int cli_publish_push(struct cli_publish *p, struct layer_store *s,
                     const struct store_image *img,
                     const struct image_ref *dest,
                     const struct registry_client_config *cfg,
                     struct cb_error **err);

#endif
