/* dt_demux.h - Daytona's session log stream, demultiplexed incrementally
 * (sans-I/O). Every stdout chunk is preceded by the marker "\x01\x01\x01"
 * and every stderr chunk by "\x02\x02\x02" (daytona-protocol.md 4.3): the
 * latest marker decides the stream, a marker split across reads is held
 * until it is complete, bytes before the first marker are dropped, and
 * one or two marker bytes followed by anything else are data. */
#ifndef SBX_PROTOCOL_DT_DEMUX_H
#define SBX_PROTOCOL_DT_DEMUX_H

#include <stddef.h>

enum { SBX_DT_NONE = 0, SBX_DT_STDOUT = 1, SBX_DT_STDERR = 2 };

struct sbx_dt_demux {
  int stream;         /* SBX_DT_*: where data goes now */
  unsigned char held; /* the marker byte being collected (1 or 2) */
  size_t n_held;      /* how many of it (1 or 2), 0 when none */
  size_t dropped;     /* bytes that came before the first marker */
};

/* Called with each run of bytes of one stream (never empty). */
typedef void (*sbx_dt_demux_cb)(void *ud, int stream, const char *data, size_t len);

void sbx_dt_demux_init(struct sbx_dt_demux *d);
/* Feed the next bytes of the stream. */
void sbx_dt_demux_feed(struct sbx_dt_demux *d, const char *data, size_t len, sbx_dt_demux_cb cb,
                       void *ud);
/* The stream ended: held marker bytes were data after all. */
void sbx_dt_demux_finish(struct sbx_dt_demux *d, sbx_dt_demux_cb cb, void *ud);

#endif
