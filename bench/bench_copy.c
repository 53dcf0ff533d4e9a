/* Time the COPY engine: bench_copy SRC_DIR DEST_DIR SOURCE...
   copies SOURCE... (relative to SRC_DIR) into DEST_DIR/out/, then
   digests them twice with one hash cache (the second pass is what an
   unchanged rebuild costs).  Prints seconds and counts on stdout.  */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "builder/copy.h"
#include "common/error.h"

static double
now(void)
{
  struct timespec t;

  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
fail(struct cb_error *err)
{
  char *t = cb_error_text(err);

  fprintf(stderr, "bench_copy: %s\n", t);
  free(t);
  return 1;
}

int
main(int argc, char **argv)
{
  struct copy_request req = { 0 };
  struct copy_stats st = { 0 };
  struct copy_hash_cache *hc = copy_hash_cache_new();
  struct cb_error *err = NULL;
  struct copy_source src = { 0 };
  struct cb_digest d;
  uint64_t hits, misses;
  int dest;
  double t0, t1, t2, t3;

  if (argc < 4) {
    fprintf(stderr, "usage: bench_copy SRC_DIR DEST_DIR SOURCE...\n");
    return 2;
  }
  src.root_fd = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
  dest = open(argv[2], O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (src.root_fd < 0 || dest < 0) {
    perror("bench_copy: open");
    return 1;
  }
  req.srcs = argv + 3;
  req.nsrcs = (size_t)(argc - 3);
  req.dest = "/out/";
  req.unpack = -1;
  req.timestamp = -1;
  req.flags = COPY_IGNORE_OWNER_ERRORS;
  t0 = now();
  if (copy_apply(&req, &src, dest, &st, &err) < 0)
    return fail(err);
  t1 = now();
  if (copy_sources_digest(&req, &src, hc, &d, &err) < 0)
    return fail(err);
  t2 = now();
  if (copy_sources_digest(&req, &src, hc, &d, &err) < 0)
    return fail(err);
  t3 = now();
  copy_hash_cache_counts(hc, &hits, &misses);
  printf("copy: %.3f s, %llu files, %llu dirs, %llu bytes\n", t1 - t0,
         (unsigned long long)st.files, (unsigned long long)st.dirs,
         (unsigned long long)st.bytes);
  printf("digest, cold cache: %.3f s; warm cache: %.3f s (%llu hits, "
         "%llu misses)\n", t2 - t1, t3 - t2, (unsigned long long)hits,
         (unsigned long long)misses);
  copy_hash_cache_free(hc);
  return 0;
}
