/* fuzz_dt_demux.c - Daytona's log-marker demuxer fed in random pieces. The
 * output must not depend on where the input was cut: the same bytes fed
 * whole give the same stdout and stderr. */
#include <stdlib.h>
#include <string.h>

#include "../../protocol/dt_demux.h"
#include "fuzz_chunks.h"

struct out {
  char *b[3];
  size_t n[3];
};

static void on_data(void *ud, int stream, const char *data, size_t len) {
  struct out *o = ud;
  if (len == 0 || (stream != SBX_DT_STDOUT && stream != SBX_DT_STDERR)) abort();
  char *p = realloc(o->b[stream], o->n[stream] + len);
  if (!p) abort();
  memcpy(p + o->n[stream], data, len);
  o->b[stream] = p;
  o->n[stream] += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_chunks ch;
  fuzz_chunks_init(&ch, data, size);
  struct out cut = {{0}, {0}}, whole = {{0}, {0}};
  struct sbx_dt_demux d;
  sbx_dt_demux_init(&d);
  const char *piece;
  size_t n;
  while ((n = fuzz_chunks_next(&ch, &piece)))
    sbx_dt_demux_feed(&d, piece, n, on_data, &cut);
  sbx_dt_demux_finish(&d, on_data, &cut);
  size_t dropped = d.dropped;

  sbx_dt_demux_init(&d);
  if (size > 1) sbx_dt_demux_feed(&d, (const char *)data + 1, size - 1, on_data, &whole);
  sbx_dt_demux_finish(&d, on_data, &whole);
  if (d.dropped != dropped) abort();
  for (int s = 1; s <= 2; s++) {
    if (cut.n[s] != whole.n[s] || (cut.n[s] && memcmp(cut.b[s], whole.b[s], cut.n[s]))) abort();
    if (cut.n[s] > size) abort(); /* never more out than in */
    free(cut.b[s]);
    free(whole.b[s]);
  }
  return 0;
}
