/* fuzz_emu_request.c - sbx-emu's HTTP/1.1 request parsing (libhttp-parser
 * under emu_h1.c: URL, headers, Content-Length and chunked bodies, keep-
 * alive) fed in random pieces, and what the routes then read of a request:
 * headers, query parameters, the percent-decoded path, the JSON body. */
#include <stdlib.h>
#include <string.h>

#include "../emu/emu_h1.h"
#include "../emu/emu_util.h"
#include "fuzz_chunks.h"

static void on_parsed(void *ud, const struct emu_req *req) {
  size_t *sum = ud;
  if (!req->method || !req->path || !req->query || !req->body) abort();
  if (req->body[req->body_len] != '\0') abort(); /* routes rely on the NUL */
  for (size_t i = 0; i < req->n_headers; i++)
    for (const char *p = req->headers[i].name; *p; p++)
      if (*p >= 'A' && *p <= 'Z') abort(); /* names are lower-case */
  static const char *const hdrs[] = {"host", "content-type", "e2b-sandbox-id", "x-api-key",
                                     "authorization"};
  for (size_t i = 0; i < sizeof hdrs / sizeof *hdrs; i++) {
    const char *v = emu_req_header(req, hdrs[i]);
    if (v) *sum += strlen(v);
  }
  static const char *const params[] = {"path", "username", "signature", "limit", "nextToken"};
  for (size_t i = 0; i < sizeof params / sizeof *params; i++) {
    char *v = emu_query_get(req->query, params[i]);
    if (v) *sum += strlen(v);
    free(v);
  }
  char *path = emu_pct_decode(req->path, strlen(req->path), 0);
  if (path) *sum += strlen(path);
  free(path);
  json_t *body = emu_req_json(req);
  if (body) json_decref(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct fuzz_chunks ch;
  fuzz_chunks_init(&ch, data, size);
  size_t sum = 0;
  struct h1_conn *c = emu_h1_parser_new(on_parsed, &sum);
  if (!c) abort();
  const char *piece;
  size_t n;
  int rc = 0;
  while ((n = fuzz_chunks_next(&ch, &piece)))
    if ((rc = emu_h1_parser_feed(c, piece, n)) != 0) break;
  if (rc != 0 && rc != -1 && rc != 400 && rc != 413 && rc != 431 && rc != 500) abort();
  emu_h1_parser_free(c);
  return 0;
}
