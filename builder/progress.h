/* What a build tells its user while it runs (--progress).

     plain  every step's header, its output lines and its end, as they
            happen ("#3 [2/4] RUN make", "#3 CACHED", "#3 DONE 1.2s")
     tty    one line per finished step with its time; a step's output is
            shown only when it fails
     json   one JSON object per line: step-start, cache (hit or miss, and
            why), log, layer (digest, size), step-end
     quiet  nothing (-q); a failing step still shows its last lines

   auto is tty when stderr is a terminal, else plain.  Everything goes to
   the stream given at creation (stderr); stdout is left for results.  */
#ifndef CBUILD_BUILDER_PROGRESS_H
#define CBUILD_BUILDER_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/digest.h"
#include "common/error.h"

enum progress_mode {
  PROGRESS_AUTO,
  PROGRESS_PLAIN,
  PROGRESS_TTY,
  PROGRESS_JSON,
  PROGRESS_QUIET,
};

/* "auto", "plain", "tty", "json" (and "quiet"); -1 for anything else.  */
int progress_mode_parse(const char *s);

/* How many output lines of a step are kept to show when it fails.  */
#define PROGRESS_TAIL_LINES 12

struct progress;

struct progress *progress_new(enum progress_mode mode, FILE *out);
void progress_free(struct progress *p);

/* A step begins: its number in the build (1-based), where it is ("stage
   2/3", or the stage name), and the instruction as the user reads it.  */
void progress_step_start(struct progress *p, int step, const char *where,
                         const char *text);
/* The cache verdict: a hit, or a miss and why (may be NULL).  */
void progress_cache(struct progress *p, int step, bool hit,
                    const char *reason);
/* One line of the step's output (without its newline).  Safe to call
   from one thread other than the one calling the rest.  */
void progress_log(struct progress *p, int step, const char *line, size_t len);
void progress_layer(struct progress *p, int step, const struct cb_digest *d,
                    uint64_t size);
/* The step is over: OK or failed.  A failure prints the kept last lines
   (in every mode but json, where they were already sent).  */
void progress_step_end(struct progress *p, int step, bool ok);
/* A note that is not a step ("writing image sha256:...").  */
void progress_note(struct progress *p, const char *fmt, ...) CB_PRINTF(2, 3);

#endif
