/* Benchmark, not a test: write DIR as a layer into a sink that counts and
   drops the bytes (or into FILE with -o), and print the digests, sizes and
   throughput in MB/s of tar input.
   usage: bench_layer [-c none|gzip|zstd] [-l LEVEL] [-t THREADS]
                      [--overlay] [--timestamp T] [-o FILE] DIR  */
#include "config.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "common/error.h"
#include "common/fs.h"
#include "layers/writer.h"

#include "common/banned.h"

struct out {
  int fd; /* -1: drop */
};

static int
out_write(void *data, const void *buf, size_t len, struct cb_error **err)
{
  struct out *o = data;

  if (o->fd < 0)
    return 0;
  return cb_write_all(o->fd, buf, len, err);
}

static void
usage(void)
{
  fprintf(stderr, "usage: bench_layer [-c none|gzip|zstd] [-l LEVEL] "
                  "[-t THREADS] [--overlay] [--timestamp T] [-o FILE] DIR\n");
  exit(2);
}

static int
parse_args(int argc, char **argv, struct layer_write_opts *opts,
           const char **file)
{
  static const struct option longopts[] = {
    { "overlay", no_argument, NULL, 'O' },
    { "timestamp", required_argument, NULL, 'T' },
    { NULL, 0, NULL, 0 },
  };
  struct cb_error *err = NULL;
  int c;

  while ((c = getopt_long(argc, argv, "c:l:t:o:", longopts, NULL)) != -1) {
    switch (c) {
    case 'c':
      if (layer_compression_parse(optarg, &opts->compression, &err) < 0) {
        fprintf(stderr, "bench_layer: %s\n", err->msg);
        exit(2);
      }
      break;
    case 'l':
      opts->level = atoi(optarg);
      break;
    case 't':
      opts->threads = atoi(optarg);
      break;
    case 'O':
      opts->mode = TARWRITE_OVERLAY;
      break;
    case 'T':
      opts->timestamp = strtoll(optarg, NULL, 10);
      break;
    case 'o':
      *file = optarg;
      break;
    default:
      usage();
    }
  }
  if (optind != argc - 1)
    usage();
  return optind;
}

int
main(int argc, char **argv)
{
  struct layer_write_opts opts = LAYER_WRITE_OPTS_INIT;
  struct layer_write_result res;
  cleanup_close int dir = -1;
  struct out o = { -1 };
  struct cb_sink sink = { out_write, &o };
  struct cb_error *err = NULL;
  const char *file = NULL;
  char diff_id[CB_DIGEST_STR_LEN], digest[CB_DIGEST_STR_LEN];
  struct timespec t0, t1;
  double secs;
  int i = parse_args(argc, argv, &opts, &file);

  dir = open(argv[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    perror(argv[i]);
    return 1;
  }
  if (file != NULL) {
    o.fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o.fd < 0) {
      perror(file);
      return 1;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (layer_write(dir, &opts, &sink, &res, &err) < 0) {
    char *text = cb_error_text(err);

    fprintf(stderr, "bench_layer: %s\n", text);
    free(text);
    cb_error_free(err);
    return 1;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (o.fd >= 0)
    close(o.fd);
  secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  cb_digest_str(&res.diff_id, diff_id);
  cb_digest_str(&res.digest, digest);
  printf("diff_id %s\ndigest %s\nmedia_type %s\n", diff_id, digest,
         res.media_type);
  printf("tar_bytes %llu\nblob_bytes %llu\nseconds %.3f\nMB/s %.1f\n",
         (unsigned long long)res.tar_size, (unsigned long long)res.size, secs,
         secs > 0 ? (double)res.tar_size / 1e6 / secs : 0.0);
  return 0;
}
