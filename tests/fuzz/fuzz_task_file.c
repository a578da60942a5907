/* fuzz_task_file.c - the task file of `sbx run` (JSON Lines) parsed and
 * validated from memory. Relative local paths point into a directory that
 * does not exist, so only absolute ones reach the filesystem (stat and
 * glob, nothing is read). A load either fails with errors or gives tasks
 * with valid ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../harness/run_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static FILE *sink;
  if (!sink && !(sink = fopen("/dev/null", "w"))) abort();
  if (size == 0) return 0;
  FILE *f = fmemopen((void *)data, size, "r");
  if (!f) abort();
  struct run_specs specs;
  int errors = run_specs_read(f, "no-such-dir.fuzz/tasks.jsonl", &specs, sink, 5);
  fclose(f);
  if (errors == 0) {
    if (specs.n == 0) abort();
    for (size_t i = 0; i < specs.n; i++) {
      const struct run_spec *t = &specs.v[i];
      if (!run_valid_task_id(t->id) || t->line < 1) abort();
      for (size_t k = 0; k < t->n_uploads; k++)
        if (!t->uploads[k].path ||
            (!t->uploads[k].local && !t->uploads[k].content && t->uploads[k].content_len))
          abort();
      for (size_t k = 0; k < t->n_cmds; k++)
        if (!t->cmds[k].run) abort();
    }
  } else if (specs.n != 0 || specs.v) {
    abort(); /* a failed load leaves nothing behind */
  }
  run_specs_free(&specs);
  return 0;
}
