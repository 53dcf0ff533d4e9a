/* libFuzzer target: the Dockerfile parser, its dump, and the instruction
   checks, on arbitrary bytes.  Built with -Dfuzz=true (clang); seeds come
   from the conformance corpora and tests/corpus.  */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "parser/dockerfile.h"
#include "parser/instructions.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct dockerfile *df = NULL;
  struct build_plan *plan = NULL;
  struct cb_error *err = NULL;
  struct cb_buf out = CB_BUF_INIT;

  if (dockerfile_parse("Dockerfile", (const char *)data, size, &df, &err) <
      0) {
    cb_error_free(err);
    return 0;
  }
  dockerfile_dump(df, &out);
  cb_buf_release(&out);
  if (build_plan_new(df, &plan, &err) < 0)
    cb_error_free(err);
  build_plan_free(plan);
  dockerfile_free(df);
  return 0;
}
