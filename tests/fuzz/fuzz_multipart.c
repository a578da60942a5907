/* fuzz_multipart.c - the multipart/form-data parser and Daytona's bulk-
 * download matcher on top of it, fed in random pieces. Input: the cut seed
 * byte, a Content-Type line, then the body (no line: a fixed boundary).
 * The parts seen must not depend on where the body was cut, and every
 * requested path ends at most once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../protocol/dt_bulk.h"
#include "../../protocol/multipart.h"
#include "fuzz_chunks.h"

struct log {
  char *b;
  size_t n;
  int in_part;
};

static void add(struct log *l, const char *p, size_t n) {
  char *q = realloc(l->b, l->n + n + 1);
  if (!q) abort();
  memcpy(q + l->n, p, n);
  l->b = q;
  l->n += n;
}

static size_t slen(const char *s) {
  return s ? strlen(s) : 0;
}

static int part_begin(void *ud, const struct sbx_mp_part *p) {
  struct log *l = ud;
  if (l->in_part) abort();
  l->in_part = 1;
  char head[64];
  int k = snprintf(head, sizeof head, "<%u %zu %zu %zu %zu>", p->index, slen(p->name),
                   slen(p->filename), slen(p->content_type), slen(p->content_length));
  add(l, head, (size_t)k);
  if (p->name) add(l, p->name, strlen(p->name));
  if (p->filename) add(l, p->filename, strlen(p->filename));
  return 0;
}

static int part_data(void *ud, const char *data, size_t len) {
  struct log *l = ud;
  if (!l->in_part || len == 0) abort();
  add(l, data, len);
  return 0;
}

static int part_end(void *ud) {
  struct log *l = ud;
  if (!l->in_part) abort();
  l->in_part = 0;
  add(l, "</>", 3);
  return 0;
}

static const struct sbx_mp_callbacks mp_cbs = {part_begin, part_data, part_end};

/* Parse body in the pieces ch gives (all at once when ch is NULL). */
static int run_mp(const char *boundary, struct fuzz_chunks *ch, const char *body, size_t n,
                  struct log *l) {
  struct sbx_mp m;
  if (sbx_mp_init(&m, boundary, &mp_cbs, l, NULL) != 0) abort(); /* sbx_mp_boundary vetted it */
  char err[200];
  int rc = 0;
  if (ch) {
    const char *piece;
    size_t k;
    while (rc == 0 && (k = fuzz_chunks_next(ch, &piece)))
      rc = sbx_mp_feed(&m, piece, k, err, sizeof err);
  } else if (n) {
    rc = sbx_mp_feed(&m, body, n, err, sizeof err);
  }
  if (rc == 0) rc = sbx_mp_finish(&m, err, sizeof err);
  sbx_mp_release(&m);
  return rc;
}

/* ---- the bulk-download matcher ---- */

static const char *const paths[] = {"/a", "/home/daytona/b.txt", "/a", "c"};
enum { NPATHS = sizeof paths / sizeof paths[0] };

struct bulk {
  int ended[NPATHS];
};

static int on_data(void *ud, size_t i, const char *data, size_t len) {
  struct bulk *b = ud;
  if (i >= NPATHS || b->ended[i] || len == 0) abort();
  if (data[0] != '!') return 0;
  b->ended[i] = 1; /* the caller gives up on this file: no end may follow */
  return 1;
}

static void on_end(void *ud, size_t i, const struct sbx_errinfo *e) {
  struct bulk *b = ud;
  if (i >= NPATHS || b->ended[i]++) abort();
  if (e && (e->status >= 0 || !e->message[0])) abort();
}

static const struct sbx_dtb_callbacks dtb_cbs = {on_data, on_end};

static void run_bulk(const char *ct, struct fuzz_chunks *ch) {
  struct bulk b = {{0}};
  struct sbx_dtb d;
  struct sbx_errinfo e;
  sbx_errinfo_clear(&e);
  if (sbx_dtb_init(&d, ct, paths, NPATHS, "sb-1", &dtb_cbs, &b, NULL, &e) != 0) return;
  int rc = 0;
  const char *piece;
  size_t k;
  while (rc == 0 && (k = fuzz_chunks_next(ch, &piece)))
    rc = sbx_dtb_feed(&d, piece, k, &e);
  if (rc == 0) rc = sbx_dtb_finish(&d, &e);
  if (rc != 0 && (rc != e.status || !e.message[0])) abort();
  if (rc == 0)
    for (size_t i = 0; i < NPATHS; i++)
      if (!b.ended[i]) abort(); /* a clean finish ends every path */
  sbx_dtb_release(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_chunks ch;
  fuzz_chunks_init(&ch, data, size);
  /* the Content-Type line, when the input has one */
  char ct[256] = "multipart/form-data; boundary=DAYTONA-FILE-BOUNDARY";
  const char *nl = memchr(ch.p, '\n', ch.n < sizeof ct ? ch.n : sizeof ct - 1);
  if (nl) {
    size_t k = (size_t)(nl - ch.p);
    memcpy(ct, ch.p, k);
    ct[k] = '\0';
    ch.p += k + 1;
    ch.n -= k + 1;
  }
  const char *body = ch.p;
  size_t n = ch.n;
  struct fuzz_chunks again = ch;

  char boundary[SBX_MP_BOUNDARY_MAX + 1], err[200];
  if (sbx_mp_boundary(ct, boundary, err, sizeof err) == 0) {
    struct log cut = {0}, whole = {0};
    int rc_cut = run_mp(boundary, &ch, NULL, 0, &cut);
    int rc_whole = run_mp(boundary, NULL, body, n, &whole);
    if (rc_cut != rc_whole) abort(); /* the cuts changed the outcome */
    /* after an error, bytes held as a possible delimiter may differ */
    if (rc_cut == 0 && (cut.n != whole.n || (cut.n && memcmp(cut.b, whole.b, cut.n))))
      abort(); /* the cuts changed what was parsed */
    free(cut.b);
    free(whole.b);
  } else if (!err[0]) {
    abort();
  }
  run_bulk(ct, &again);
  return 0;
}
