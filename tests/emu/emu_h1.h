/* emu_h1.h - the HTTP/1.1 transport's response side, called by emu_req.c. */
#ifndef SBX_EMU_H1_H
#define SBX_EMU_H1_H

#include "emu_http.h"

int emu_h1_resp_start(struct emu_req *req, int status, const struct emu_header *hdrs, size_t n_hdrs,
                      int64_t content_length);
int emu_h1_resp_write(struct emu_req *req, const void *data, size_t len);
void emu_h1_resp_end(struct emu_req *req);
void emu_h1_resp_abort(struct emu_req *req, enum emu_abort how);
struct emu_raw *emu_h1_upgrade(struct emu_req *req, const struct emu_header *hdrs, size_t n_hdrs,
                               const struct emu_raw_ops *ops, void *ud);

/* The request parser alone, without a socket or routes (for the fuzz
 * target): each whole request goes to fn (borrowed for the call), then is
 * freed. feed returns 0 while requests may follow, the status the server
 * would answer a refused one with before closing (400, 413, 431, 500), or
 * -1 once a request asked to close; later feeds do nothing. */
struct h1_conn;
typedef void (*emu_h1_parsed_fn)(void *ud, const struct emu_req *req);
struct h1_conn *emu_h1_parser_new(emu_h1_parsed_fn fn, void *ud);
int emu_h1_parser_feed(struct h1_conn *c, const char *data, size_t len);
void emu_h1_parser_free(struct h1_conn *c);

#endif
