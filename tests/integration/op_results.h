/* op_results.h - one record of what an operation's callbacks reported, and
 * the completion callbacks the integration tests pass to libsbx to fill it.
 * Header-only: each test is its own binary. Set `returned` once the start
 * call has returned; `early` then tells whether a callback fired before. */
#ifndef SBX_OP_RESULTS_H
#define SBX_OP_RESULTS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sbx.h"

struct res {
  int done, calls, code, http, retryable;
  int returned; /* set after the start call returned */
  int early;    /* a callback fired before its start call returned */
  char msg[300];
  /* sandboxes (info, create, connect, list) */
  char id[64], state[32], tmpl[256], started[64], end[64];
  char meta[128]; /* the "user" label */
  int n_meta;
  size_t n;
  char next[256];
  char ids[8][64];
  /* files and entries */
  char names[1024], paths[2048];
  int64_t size0;
  int type0;
  char perms0[16], mtime0[40];
  /* commands; out also holds what a read returned */
  uint32_t pid;
  int have_res, exit_code, exited;
  char out[8192], err[4096];
  size_t out_len, err_len;
  uint64_t total; /* output bytes seen, kept or not */
};

static inline const char *res_str(const char *s) {
  return s ? s : "";
}

static inline void note(struct res *r, const sbx_error *err) {
  r->calls++;
  r->done = 1;
  if (!r->returned) r->early = 1;
  if (!err) return;
  r->code = err->code;
  r->http = err->http_status;
  r->retryable = err->retryable;
  snprintf(r->msg, sizeof r->msg, "%s", err->message);
}

static inline void on_sandbox(sbx_client *c, sbx_op_id op, const sbx_error *err,
                              const sbx_sandbox_info *info, void *ud) {
  struct res *r = ud;
  note(r, err);
  if (!info) return;
  snprintf(r->id, sizeof r->id, "%s", res_str(info->id));
  snprintf(r->state, sizeof r->state, "%s", res_str(info->state));
  snprintf(r->tmpl, sizeof r->tmpl, "%s", res_str(info->template_id));
  snprintf(r->started, sizeof r->started, "%s", res_str(info->started_at));
  snprintf(r->end, sizeof r->end, "%s", res_str(info->end_at));
  r->n_meta = (int)info->n_metadata;
  for (size_t i = 0; i < info->n_metadata; i++)
    if (strcmp(info->metadata[i].key, "user") == 0)
      snprintf(r->meta, sizeof r->meta, "%s", info->metadata[i].value);
}

static inline void on_done(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  note(ud, err);
}

static inline void on_list(sbx_client *c, sbx_op_id op, const sbx_error *err,
                           const sbx_sandbox_info *items, size_t n, const char *next, void *ud) {
  struct res *r = ud;
  note(r, err);
  r->n = n;
  for (size_t i = 0; i < n && i < 8; i++)
    snprintf(r->ids[i], sizeof r->ids[i], "%s", res_str(items[i].id));
  snprintf(r->next, sizeof r->next, "%s", res_str(next));
}

/* names and paths: each entry's followed by ","; the rest from the first. */
static inline void on_entries(sbx_client *c, sbx_op_id op, const sbx_error *err,
                              const sbx_file_entry *e, size_t n, void *ud) {
  struct res *r = ud;
  note(r, err);
  r->n = n;
  r->names[0] = 0;
  r->paths[0] = 0;
  for (size_t i = 0; i < n; i++) {
    strncat(r->names, res_str(e[i].name), sizeof r->names - strlen(r->names) - 2);
    strncat(r->names, ",", sizeof r->names - strlen(r->names) - 1);
    strncat(r->paths, res_str(e[i].path), sizeof r->paths - strlen(r->paths) - 2);
    strncat(r->paths, ",", sizeof r->paths - strlen(r->paths) - 1);
  }
  if (n) {
    r->size0 = e[0].size;
    r->type0 = e[0].type;
    snprintf(r->perms0, sizeof r->perms0, "%s", res_str(e[0].permissions));
    snprintf(r->mtime0, sizeof r->mtime0, "%s", res_str(e[0].modified_time));
  }
}

/* A read's bytes into out as far as they fit; out_len counts them all. */
static inline void on_bytes(sbx_client *c, sbx_op_id op, const char *d, size_t n, void *ud) {
  struct res *r = ud;
  if (r->out_len + n < sizeof r->out) {
    memcpy(r->out + r->out_len, d, n);
    r->out[r->out_len + n] = 0;
  }
  r->out_len += n;
}

static inline void x_start(sbx_client *c, sbx_op_id op, uint32_t pid, void *ud) {
  ((struct res *)ud)->pid = pid;
}

/* stdout into out, stderr into err, each cut to fit; total counts it all. */
static inline void x_out(sbx_client *c, sbx_op_id op, int fd, const char *d, size_t n, void *ud) {
  struct res *r = ud;
  r->total += n;
  char *buf = fd == SBX_STDOUT ? r->out : r->err;
  size_t *len = fd == SBX_STDOUT ? &r->out_len : &r->err_len;
  size_t cap = fd == SBX_STDOUT ? sizeof r->out : sizeof r->err;
  if (*len + n >= cap) n = cap - *len - 1;
  memcpy(buf + *len, d, n);
  *len += n;
  buf[*len] = 0;
}

static inline void x_done(sbx_client *c, sbx_op_id op, const sbx_error *err,
                          const sbx_exec_result *res, void *ud) {
  struct res *r = ud;
  note(r, err);
  if (res) {
    r->have_res = 1;
    r->pid = res->pid;
    r->exit_code = res->exit_code;
    r->exited = res->exited;
  }
}

static const sbx_exec_cbs exec_cbs = {x_start, x_out, x_done};

#endif
