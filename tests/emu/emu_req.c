/* emu_req.c - the transport-neutral response API: routes call emu_resp_*,
 * which forwards to the HTTP/1.1 or the HTTP/2 transport. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu_h1.h"
#include "emu_http.h"

#if defined(__has_include) && __has_include("emu_h2.h")
#include "emu_h2.h"
#else
int emu_h2_resp_start(struct emu_req *req, int status, const struct emu_header *hdrs, size_t n_hdrs,
                      int64_t content_length);
int emu_h2_resp_write(struct emu_req *req, const void *data, size_t len);
void emu_h2_resp_end(struct emu_req *req);
void emu_h2_resp_abort(struct emu_req *req, enum emu_abort how);
#endif

/* Weak references: sbx-emu still links while the HTTP/2 transport is absent;
 * then no request can have proto H2 anyway. */
#pragma weak emu_h2_resp_start
#pragma weak emu_h2_resp_write
#pragma weak emu_h2_resp_end
#pragma weak emu_h2_resp_abort

const char *emu_req_header(const struct emu_req *req, const char *name) {
  for (size_t i = 0; i < req->n_headers; i++)
    if (strcasecmp(req->headers[i].name, name) == 0) return req->headers[i].value;
  return NULL;
}

static int is_h2(const struct emu_req *req) {
  return req->proto == EMU_PROTO_H2;
}

int emu_resp_start(struct emu_req *req, int status, const struct emu_header *hdrs, size_t n_hdrs,
                   int64_t content_length) {
  if (req->lose_reply) return 0;
  if (is_h2(req))
    return emu_h2_resp_start ? emu_h2_resp_start(req, status, hdrs, n_hdrs, content_length) : -1;
  return emu_h1_resp_start(req, status, hdrs, n_hdrs, content_length);
}

int emu_resp_write(struct emu_req *req, const void *data, size_t len) {
  if (req->lose_reply) return 0;
  if (is_h2(req)) return emu_h2_resp_write ? emu_h2_resp_write(req, data, len) : -1;
  return emu_h1_resp_write(req, data, len);
}

void emu_resp_end(struct emu_req *req) {
  if (req->lose_reply) {
    emu_resp_abort(req, EMU_ABORT_RST_STREAM);
  } else if (!is_h2(req)) {
    emu_h1_resp_end(req);
  } else if (emu_h2_resp_end) {
    emu_h2_resp_end(req);
  }
}

void emu_resp_abort(struct emu_req *req, enum emu_abort how) {
  if (!is_h2(req)) {
    emu_h1_resp_abort(req, how);
  } else if (emu_h2_resp_abort) {
    emu_h2_resp_abort(req, how);
  }
}

struct emu_raw *emu_resp_upgrade(struct emu_req *req, const struct emu_header *hdrs, size_t n_hdrs,
                                 const struct emu_raw_ops *ops, void *ud) {
  return is_h2(req) ? NULL : emu_h1_upgrade(req, hdrs, n_hdrs, ops, ud);
}

void emu_resp_simple(struct emu_req *req, int status, const char *content_type, const char *body,
                     size_t len) {
  struct emu_header h = {(char *)"content-type", (char *)content_type};
  if (emu_resp_start(req, status, &h, content_type ? 1 : 0, (int64_t)len) == 0 && len > 0)
    emu_resp_write(req, body, len);
  emu_resp_end(req);
}

struct emu_hold {
  struct emu_req *req; /* NULL once the peer went away */
};

static void hold_peer_gone(struct emu_req *req) {
  struct emu_hold *h = req->route_data;
  h->req = NULL; /* the transport frees req; the hold waits for its owner */
}

struct emu_hold *emu_req_hold(struct emu_req *req) {
  struct emu_hold *h = malloc(sizeof *h);
  if (!h) return NULL;
  h->req = req;
  req->route_data = h;
  req->on_close = hold_peer_gone;
  return h;
}

struct emu_req *emu_req_resume(struct emu_hold *h) {
  struct emu_req *req = h->req;
  free(h);
  if (req) {
    req->route_data = NULL;
    req->on_close = NULL;
  }
  return req;
}
