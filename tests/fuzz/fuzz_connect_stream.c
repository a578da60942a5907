/* fuzz_connect_stream.c - envd's Connect stream as e2b_exec.c reads it: the
 * envelope decoder fed in random pieces, each message's process event
 * (start, data with base64 output, end) or the end-stream JSON; then the
 * whole input as a unary Connect error body. */
#include <stdlib.h>
#include <string.h>

#include "../../protocol/connect.h"
#include "../../protocol/json_util.h"
#include "../../providers/e2b.h"
#include "fuzz_chunks.h"

struct seen {
  unsigned long out_bytes;
  int ended;
};

static int on_message(void *ud, unsigned flags, const char *payload, size_t len) {
  struct seen *s = ud;
  if (flags & SBX_CONNECT_FLAG_END_STREAM) {
    struct sbx_errinfo e;
    sbx_errinfo_clear(&e);
    if (sbx_connect_parse_end_stream(payload, len, &e) != 0 && !e.message[0]) abort();
    s->ended = 1;
    return 0;
  }
  char why[160];
  json_t *doc = e2b_exec_event_doc(payload, len, why, sizeof why);
  if (!doc) return why[0] ? 0 : 1; /* a reason is always given */
  const json_t *ev = json_object_get(doc, "event"), *v;
  if ((v = json_object_get(ev, "start"))) {
    (void)sbx_json_int(v, "pid", 0);
  } else if ((v = json_object_get(ev, "data"))) {
    int fd;
    long n;
    unsigned char *buf = e2b_exec_event_output(NULL, v, &fd, &n);
    if (buf) {
      /* every decoded byte is readable: ASan checks the bound */
      for (long i = 0; i < n; i++)
        s->out_bytes += buf[i] == 0;
      s->out_bytes += (unsigned long)n;
    } else if (n > 0) {
      abort(); /* bytes claimed with no buffer */
    }
    free(buf);
  } else if ((v = json_object_get(ev, "end"))) {
    (void)sbx_json_bool(v, "exited", 0);
    (void)sbx_json_int(v, "exitCode", 0);
    (void)sbx_json_str(v, "status");
  }
  json_decref(doc);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_chunks ch;
  fuzz_chunks_init(&ch, data, size);
  struct sbx_connect_decoder d;
  sbx_connect_decoder_init(&d, 1u << 16, NULL);
  struct seen s = {0, 0};
  struct sbx_errinfo e;
  sbx_errinfo_clear(&e);
  const char *piece;
  size_t n;
  int rc = 0;
  while (rc == 0 && (n = fuzz_chunks_next(&ch, &piece)))
    rc = sbx_connect_decoder_feed(&d, piece, n, on_message, &s, &e);
  if (rc < 0 && !e.message[0]) abort(); /* errors say why */
  if (rc == 0) {
    sbx_errinfo_clear(&e);
    if (sbx_connect_decoder_finish(&d, &e) == 0 && !s.ended) abort(); /* clean only with end */
  }
  sbx_connect_decoder_free(&d);

  sbx_errinfo_clear(&e);
  int http = size ? 400 + data[0] % 200 : 500;
  if (sbx_connect_parse_unary_error(http, size ? (const char *)data + 1 : "", size ? size - 1 : 0,
                                    &e) >= 0)
    abort(); /* always a failure */
  return 0;
}
