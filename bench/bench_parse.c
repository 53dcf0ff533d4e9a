/* Parser benchmark: parse one Dockerfile N times and report the median
   time, and how much the process's peak RSS grew while parsing (parse
   memory).  Not a test: run bench/parse.sh.  */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "common/fs.h"
#include "common/limits.h"
#include "parser/dockerfile.h"
#include "parser/instructions.h"

static long
peak_rss_kib(void)
{
  char line[256];
  long kib = -1;
  FILE *f = fopen("/proc/self/status", "r");

  if (f == NULL)
    return -1;
  while (fgets(line, sizeof(line), f) != NULL) {
    if (strncmp(line, "VmHWM:", 6) == 0)
      kib = strtol(line + 6, NULL, 10);
  }
  fclose(f);
  return kib;
}

static double
now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return (x > y) - (x < y);
}

static int
parse_once(const char *text, size_t len, bool plan)
{
  struct dockerfile *df = NULL;
  struct build_plan *bp = NULL;
  struct cb_error *err = NULL;

  if (dockerfile_parse("Dockerfile", text, len, &df, &err) < 0 ||
      (plan && build_plan_new(df, &bp, &err) < 0)) {
    fprintf(stderr, "bench: %s\n", err->msg);
    cb_error_free(err);
    dockerfile_free(df);
    return -1;
  }
  build_plan_free(bp);
  dockerfile_free(df);
  return 0;
}

int
main(int argc, char **argv)
{
  struct cb_error *err = NULL;
  char *text = NULL;
  size_t len = 0;
  int runs = argc > 2 ? atoi(argv[2]) : 20;
  double *ms;
  long before, after;

  if (argc < 2 || runs < 1) {
    fprintf(stderr, "usage: bench_parse FILE [RUNS]\n");
    return 2;
  }
  if (cb_read_file_at(AT_FDCWD, argv[1], CB_MAX_DOCKERFILE_SIZE, &text, &len,
                      &err) < 0) {
    fprintf(stderr, "bench: %s\n", err->msg);
    return 1;
  }
  before = peak_rss_kib();
  if (parse_once(text, len, false) < 0)
    return 1;
  after = peak_rss_kib();
  ms = calloc((size_t)runs, sizeof(*ms));
  for (int i = 0; i < runs; i++) {
    double t0 = now_ms();

    if (parse_once(text, len, true) < 0)
      return 1;
    ms[i] = now_ms() - t0;
  }
  qsort(ms, (size_t)runs, sizeof(*ms), cmp_double);
  printf("file: %zu bytes\n", len);
  printf("parse+check: median %.2f ms, min %.2f ms, max %.2f ms over %d "
         "runs\n",
         ms[runs / 2], ms[0], ms[runs - 1], runs);
  printf("parse memory: peak RSS grew by %ld KiB (%.2fx the file size)\n",
         after - before, (double)(after - before) * 1024.0 / (double)len);
  free(ms);
  free(text);
  return 0;
}
