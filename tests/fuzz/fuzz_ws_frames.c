/* fuzz_ws_frames.c - the WebSocket reader (libwslay's frame layer plus the
 * client's checks) on server bytes fed in random pieces. The payload seen
 * and the outcome must not depend on where the bytes were cut. */
#include <stdlib.h>
#include <string.h>

#include "../../include/sbx.h"
#include "../../protocol/ws_reader.h"
#include "fuzz_chunks.h"

/* The payload, each run of one opcode after that opcode's byte: pieces of
 * a message merge, so any cut gives the same bytes. */
struct out {
  char *b;
  size_t n;
  int op;
};

static int on_data(void *ud, int opcode, const char *data, size_t len) {
  struct out *o = ud;
  if ((opcode != 1 && opcode != 2) || len == 0) abort();
  char *p = realloc(o->b, o->n + len + 1);
  if (!p) abort();
  if (opcode != o->op) p[o->n++] = (char)opcode;
  o->op = opcode;
  memcpy(p + o->n, data, len);
  o->b = p;
  o->n += len;
  return 0;
}

struct run {
  struct out out;
  int rc, code, mid;
};

static void run(struct fuzz_chunks *ch, const char *all, size_t n, struct run *r) {
  struct sbx_ws_reader *w = sbx_ws_reader_new(NULL);
  if (!w) abort();
  char err[200] = "";
  r->rc = 0;
  if (ch) {
    const char *piece;
    size_t k;
    while (r->rc == 0 && (k = fuzz_chunks_next(ch, &piece)))
      r->rc = sbx_ws_reader_feed(w, piece, k, on_data, &r->out, err, sizeof err);
  } else if (n) {
    r->rc = sbx_ws_reader_feed(w, all, n, on_data, &r->out, err, sizeof err);
  }
  if (r->rc == SBX_EPROTO && !err[0]) abort();
  if (r->rc != 0 && r->rc != SBX_WS_CLOSED && r->rc != SBX_EPROTO) abort();
  /* errors and stops are final */
  if (r->rc != 0 && sbx_ws_reader_feed(w, "\x81\x01x", 3, on_data, &r->out, NULL, 0) != r->rc)
    abort();
  r->code = sbx_ws_reader_close_code(w);
  r->mid = sbx_ws_reader_mid_frame(w);
  (void)sbx_ws_reader_pings(w);
  sbx_ws_reader_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_chunks ch;
  fuzz_chunks_init(&ch, data, size);
  struct run cut = {{0}, 0, 0, 0}, whole = {{0}, 0, 0, 0};
  run(&ch, NULL, 0, &cut);
  run(NULL, size ? (const char *)data + 1 : "", size ? size - 1 : 0, &whole);
  if (cut.rc != whole.rc || cut.code != whole.code) abort();
  /* payload pieces before a failure may differ by what was buffered */
  if (cut.rc != SBX_EPROTO &&
      (cut.out.n != whole.out.n || (cut.out.n && memcmp(cut.out.b, whole.out.b, cut.out.n))))
    abort();
  if (cut.rc == 0 && cut.mid != whole.mid) abort();
  free(cut.out.b);
  free(whole.out.b);
  return 0;
}
