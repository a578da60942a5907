/* emu_h2.h - the HTTP/2 side of the response API. emu_req.c dispatches
 * emu_resp_*() here when req->proto is EMU_PROTO_H2; the contracts are the
 * ones of emu_resp_*() in emu_http.h. emu_h2_conn_new() is declared there. */
#ifndef SBX_EMU_H2_H
#define SBX_EMU_H2_H

#include "emu_http.h"

/* Submit :status, hdrs and content-length (when >= 0). Returns 0, or -1 when
 * the connection is gone or the response was already started. */
int emu_h2_resp_start(struct emu_req *req, int status, const struct emu_header *hdrs, size_t n,
                      int64_t content_length);
/* Queue body bytes (copied) on the stream. Returns 0, or -1 when the
 * connection is gone, the response is not started, or it has ended. */
int emu_h2_resp_write(struct emu_req *req, const void *data, size_t len);
/* End the body (END_STREAM once the queue drains); req is freed when the
 * stream closes. Without a prior start, answers an empty 500. */
void emu_h2_resp_end(struct emu_req *req);
/* RST_STREAM, GOAWAY or drop the connection; req is freed now. */
void emu_h2_resp_abort(struct emu_req *req, enum emu_abort how);

#endif
