/* failmalloc.h - an sbx_allocator for tests that counts every call, fails
 * the Nth (or every one from the Nth on), and keeps a header on each block
 * so it can tell what is still live and catch a free of memory it never
 * gave (nghttp2's failmalloc, curl's torture mode). Header-only: each test
 * is its own binary. */
#ifndef SBX_TEST_FAILMALLOC_H
#define SBX_TEST_FAILMALLOC_H

#include <execinfo.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx.h"

struct failmalloc {
  long calls;     /* malloc_fn and realloc_fn calls so far */
  long fail_at;   /* the call (1-based) that fails; 0: none */
  int persistent; /* 1: every call from fail_at on fails (memory stays short) */
  long failed;    /* calls failed so far */
  long live;      /* blocks given and not yet freed */
  size_t live_bytes;
  long bad_frees; /* frees of a block it never gave, or gave back already */
  long zero_size; /* calls asking for 0 bytes (the contract says never) */
};

#define FM_MAGIC 0x5342584d414c4cULL /* "SBXMALL" */
#define FM_FREED 0x4652454544ULL

/* 16 bytes, so the block keeps malloc's alignment. */
struct fm_head {
  uint64_t magic;
  uint64_t size;
};

static inline int fm_should_fail(struct failmalloc *fm) {
  fm->calls++;
  int fail =
      fm->fail_at && (fm->calls == fm->fail_at || (fm->persistent && fm->calls > fm->fail_at));
  if (fail) fm->failed++;
  if (fail && fm->failed == 1 && getenv("SBX_FAILMALLOC_TRACE")) { /* where it failed */
    void *frames[16];
    fprintf(stderr, "failmalloc: failing call %ld from:\n", fm->calls);
    backtrace_symbols_fd(frames, backtrace(frames, 16), 2);
  }
  return fail;
}

static inline void *fm_malloc(size_t size, void *ud) {
  struct failmalloc *fm = ud;
  if (!size) fm->zero_size++;
  if (fm_should_fail(fm)) return NULL;
  struct fm_head *h = malloc(sizeof *h + size);
  if (!h) return NULL;
  h->magic = FM_MAGIC;
  h->size = size;
  fm->live++;
  fm->live_bytes += size;
  return h + 1;
}

static inline void fm_free(void *p, void *ud) {
  struct failmalloc *fm = ud;
  if (!p) { /* the contract: never NULL */
    fm->bad_frees++;
    return;
  }
  struct fm_head *h = (struct fm_head *)p - 1;
  if (h->magic != FM_MAGIC) {
    fm->bad_frees++;
    return;
  }
  h->magic = FM_FREED;
  fm->live--;
  fm->live_bytes -= h->size;
  free(h);
}

static inline void *fm_realloc(void *p, size_t size, void *ud) {
  struct failmalloc *fm = ud;
  if (!size) fm->zero_size++;
  if (!p) {
    fm->bad_frees++; /* the contract: never NULL */
    return NULL;
  }
  struct fm_head *old = (struct fm_head *)p - 1;
  if (old->magic != FM_MAGIC) {
    fm->bad_frees++;
    return NULL;
  }
  if (fm_should_fail(fm)) return NULL;
  size_t old_size = old->size;
  struct fm_head *h = realloc(old, sizeof *h + size);
  if (!h) return NULL;
  h->size = size;
  fm->live_bytes = fm->live_bytes - old_size + size;
  return h + 1;
}

static inline sbx_allocator fm_allocator(struct failmalloc *fm) {
  return (sbx_allocator){fm_malloc, fm_realloc, fm_free, fm};
}

/* Fresh counters that fail call n (0: never), once or from then on. */
static inline void fm_reset(struct failmalloc *fm, long n, int persistent) {
  memset(fm, 0, sizeof *fm);
  fm->fail_at = n;
  fm->persistent = persistent;
}

#endif
