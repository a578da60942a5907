/* dt_demux.c - see dt_demux.h. */
#include "dt_demux.h"

#include <string.h>

void sbx_dt_demux_init(struct sbx_dt_demux *d) {
  memset(d, 0, sizeof *d);
}

static void emit(struct sbx_dt_demux *d, const char *p, size_t n, sbx_dt_demux_cb cb, void *ud) {
  if (n && d->stream != SBX_DT_NONE)
    cb(ud, d->stream, p, n);
  else
    d->dropped += n;
}

/* The held marker bytes turned out to be data. */
static void release_held(struct sbx_dt_demux *d, sbx_dt_demux_cb cb, void *ud) {
  char bytes[2] = {(char)d->held, (char)d->held};
  size_t n = d->n_held;
  d->n_held = 0;
  emit(d, bytes, n, cb, ud);
}

void sbx_dt_demux_feed(struct sbx_dt_demux *d, const char *data, size_t len, sbx_dt_demux_cb cb,
                       void *ud) {
  const unsigned char *u = (const unsigned char *)data;
  size_t i = 0;
  /* finish a marker the previous read cut */
  while (d->n_held && i < len) {
    if (u[i] != d->held) {
      release_held(d, cb, ud);
      break;
    }
    i++;
    if (++d->n_held == 3) {
      d->stream = d->held;
      d->n_held = 0;
    }
  }
  size_t start = i;
  while (i < len) {
    unsigned char c = u[i];
    if (c != SBX_DT_STDOUT && c != SBX_DT_STDERR) {
      i++;
      continue;
    }
    size_t run = 1;
    while (run < 3 && i + run < len && u[i + run] == c)
      run++;
    if (run == 3) { /* a marker: what came before belongs to the old stream */
      emit(d, data + start, i - start, cb, ud);
      d->stream = c;
      i += 3;
      start = i;
    } else if (i + run == len) { /* maybe the start of a marker: hold it */
      emit(d, data + start, i - start, cb, ud);
      d->held = c;
      d->n_held = run;
      return;
    } else {
      i += run; /* one or two marker bytes, then something else: data */
    }
  }
  emit(d, data + start, len - start, cb, ud);
}

void sbx_dt_demux_finish(struct sbx_dt_demux *d, sbx_dt_demux_cb cb, void *ud) {
  if (d->n_held) release_held(d, cb, ud);
}
