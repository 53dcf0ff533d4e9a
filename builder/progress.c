#include "config.h"

#include "builder/progress.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/mem.h"
#include "common/banned.h"

struct progress {
  enum progress_mode mode;
  FILE *out;
  pthread_mutex_t lock; /* log lines come from a reader thread */
  int step;
  char *header; /* "[2/4] RUN make", for tty's end line */
  struct timespec started;
  char *tail[PROGRESS_TAIL_LINES]; /* a ring of the step's last lines */
  size_t tail_next, tail_count;
};

int
progress_mode_parse(const char *s)
{
  static const char *const names[] = { "auto", "plain", "tty", "json",
                                       "quiet" };

  for (size_t i = 0; i < CB_N_ELEMENTS(names); i++)
    if (strcmp(s, names[i]) == 0)
      return (int)i;
  return -1;
}

struct progress *
progress_new(enum progress_mode mode, FILE *out)
{
  struct progress *p = cb_xcalloc(1, sizeof(*p));

  if (mode == PROGRESS_AUTO)
    mode = isatty(fileno(out)) ? PROGRESS_TTY : PROGRESS_PLAIN;
  p->mode = mode;
  p->out = out;
  pthread_mutex_init(&p->lock, NULL);
  return p;
}

static void
tail_clear(struct progress *p)
{
  for (size_t i = 0; i < PROGRESS_TAIL_LINES; i++) {
    free(p->tail[i]);
    p->tail[i] = NULL;
  }
  p->tail_next = p->tail_count = 0;
}

void
progress_free(struct progress *p)
{
  if (p == NULL)
    return;
  tail_clear(p);
  free(p->header);
  pthread_mutex_destroy(&p->lock);
  free(p);
}

/* One JSON event per line; FIELDS is stolen.  */
static void
emit_json(struct progress *p, const char *event, int step, json_t *fields)
{
  char *text;

  json_object_set_new(fields, "event", json_string(event));
  if (step > 0)
    json_object_set_new(fields, "step", json_integer(step));
  text = json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(fields);
  if (text != NULL) {
    fprintf(p->out, "%s\n", text);
    fflush(p->out);
  }
  free(text);
}

static double
seconds_since(const struct timespec *t0)
{
  struct timespec now;

  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - t0->tv_sec) +
         (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

void
progress_step_start(struct progress *p, int step, const char *where,
                    const char *text)
{
  pthread_mutex_lock(&p->lock);
  p->step = step;
  free(p->header);
  p->header = cb_xasprintf("[%s] %s", where, text);
  tail_clear(p);
  clock_gettime(CLOCK_MONOTONIC, &p->started);
  if (p->mode == PROGRESS_PLAIN)
    fprintf(p->out, "#%d %s\n", step, p->header);
  else if (p->mode == PROGRESS_JSON)
    emit_json(p, "step-start", step,
              json_pack("{s:s, s:s}", "stage", where, "instruction", text));
  fflush(p->out);
  pthread_mutex_unlock(&p->lock);
}

void
progress_cache(struct progress *p, int step, bool hit, const char *reason)
{
  if (p->mode == PROGRESS_PLAIN && hit)
    fprintf(p->out, "#%d CACHED\n", step);
  else if (p->mode == PROGRESS_PLAIN && reason != NULL)
    fprintf(p->out, "#%d cache miss: %s\n", step, reason);
  else if (p->mode == PROGRESS_JSON)
    emit_json(p, "cache", step,
              json_pack("{s:b, s:s?}", "hit", hit, "reason", reason));
  else if (p->mode == PROGRESS_TTY && hit)
    fprintf(p->out, "=> CACHED %s\n", p->header);
  fflush(p->out);
}

void
progress_log(struct progress *p, int step, const char *line, size_t len)
{
  pthread_mutex_lock(&p->lock);
  free(p->tail[p->tail_next]);
  p->tail[p->tail_next] = cb_xstrndup(line, len);
  p->tail_next = (p->tail_next + 1) % PROGRESS_TAIL_LINES;
  if (p->tail_count < PROGRESS_TAIL_LINES)
    p->tail_count++;
  if (p->mode == PROGRESS_PLAIN) {
    fprintf(p->out, "#%d %.*s\n", step, (int)len, line);
    fflush(p->out);
  } else if (p->mode == PROGRESS_JSON) {
    emit_json(p, "log", step, json_pack("{s:s%}", "line", line, len));
  }
  pthread_mutex_unlock(&p->lock);
}

void
progress_layer(struct progress *p, int step, const struct cb_digest *d,
               uint64_t size)
{
  char s[CB_DIGEST_STR_LEN];

  cb_digest_str(d, s);
  if (p->mode == PROGRESS_JSON)
    emit_json(p, "layer", step,
              json_pack("{s:s, s:I}", "digest", s, "size", (json_int_t)size));
  else if (p->mode == PROGRESS_PLAIN)
    fprintf(p->out, "#%d layer %s %llu bytes\n", step, s,
            (unsigned long long)size);
  fflush(p->out);
}

static void
print_tail(struct progress *p)
{
  size_t first = (p->tail_next + PROGRESS_TAIL_LINES - p->tail_count) %
                 PROGRESS_TAIL_LINES;

  if (p->tail_count == 0)
    return;
  fprintf(p->out, "%s: last %zu line%s of output:\n", p->header,
          p->tail_count, p->tail_count == 1 ? "" : "s");
  for (size_t i = 0; i < p->tail_count; i++)
    fprintf(p->out, "  > %s\n", p->tail[(first + i) % PROGRESS_TAIL_LINES]);
}

void
progress_step_end(struct progress *p, int step, bool ok)
{
  double secs;

  pthread_mutex_lock(&p->lock);
  secs = seconds_since(&p->started);
  switch (p->mode) {
  case PROGRESS_PLAIN:
    if (ok)
      fprintf(p->out, "#%d DONE %.1fs\n", step, secs);
    else
      fprintf(p->out, "#%d ERROR after %.1fs\n", step, secs);
    break;
  case PROGRESS_TTY:
    fprintf(p->out, "=> %s%s %.1fs\n", ok ? "" : "ERROR ", p->header, secs);
    if (!ok)
      print_tail(p);
    break;
  case PROGRESS_JSON:
    emit_json(p, "step-end", step,
              json_pack("{s:b, s:f}", "ok", ok, "seconds", secs));
    break;
  default:
    if (!ok)
      print_tail(p);
    break;
  }
  fflush(p->out);
  pthread_mutex_unlock(&p->lock);
}

void
progress_note(struct progress *p, const char *fmt, ...)
{
  char *text;
  va_list ap;

  va_start(ap, fmt);
  text = cb_xvasprintf(fmt, ap);
  va_end(ap);
  if (p->mode == PROGRESS_JSON)
    emit_json(p, "note", 0, json_pack("{s:s}", "text", text));
  else if (p->mode != PROGRESS_QUIET)
    fprintf(p->out, "%s\n", text);
  fflush(p->out);
  free(text);
}
