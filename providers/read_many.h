/* read_many.h - what every sbx_file_read_many op shares: the files asked for
 * (copied), each file's outcome settled exactly once (its part file renamed
 * or removed, its file_done called), and the completion rule of sbx.h.
 *
 * Daytona's bulk op (daytona_bulk.c) writes the bytes itself through
 * rm_file_data; the generic op (read_many_op.c) lets the provider's single
 * file_read do that and only settles outcomes. */
#ifndef SBX_PROVIDERS_READ_MANY_H
#define SBX_PROVIDERS_READ_MANY_H

#include "../protocol/errinfo.h"
#include "sbx.h"

struct sbx_op;

#define RM_CONCURRENCY 8 /* single reads in flight in the generic op */

struct rm_file {
  char *path;
  char *local_path; /* NULL: bytes go to on_data */
  char *part_path;  /* "<local_path>.sbx-part" while being written, else NULL */
  char *user;
  void (*on_data)(sbx_client *c, sbx_op_id op, const char *data, size_t len, void *ud);
  sbx_done_cb file_done;
  void *file_ud;
  uint64_t max_bytes, got;
  int fd;          /* the part file, -1 when not open */
  int settled;     /* the outcome was delivered */
  sbx_op_id child; /* generic op: the single read in flight, 0 when none */
};

struct rm_set {
  const char *prov; /* "daytona", for messages */
  int writes;       /* 1: rm_file_data writes the local files; 0: single reads do */
  char *sandbox;
  struct rm_file *f;
  size_t n, n_settled, n_failed;
  size_t first_failed; /* lowest failed index; n when none */
  struct sbx_errinfo first_err;
  const sbx_allocator *a; /* the client's: every copy above */
};

/* Copy dls (validated by api.c) into s, with a. 0 or SBX_ENOMEM (s then
 * empty). */
int rm_set_init(struct rm_set *s, const sbx_allocator *a, const char *prov, int writes,
                const char *sandbox, const sbx_download *dls, size_t n);
/* Close and remove part files still open, free the copies. */
void rm_set_free(struct rm_set *s);

/* The ud file i's callbacks receive. */
void *rm_file_ud(const struct sbx_op *op, const struct rm_file *f);

/* Bytes of file i: its cap, then its part file (created on the first
 * bytes) or on_data. 0, or the file's error in e (the caller settles it). */
int rm_file_data(struct sbx_op *op, struct rm_set *s, size_t i, const char *data, size_t len,
                 struct sbx_errinfo *e);

/* File i is over (once; later calls are ignored). e NULL: it arrived, so
 * (when s->writes) its part file becomes local_path, a failure there being
 * its error; else the part file goes. Records the outcome, calls file_done. */
void rm_settle(struct sbx_op *op, struct rm_set *s, size_t i, const struct sbx_errinfo *e);
/* The same with a public error (a single read's completion). */
void rm_settle_public(struct sbx_op *op, struct rm_set *s, size_t i, const sbx_error *err);

/* The op completes: files not settled get err (the reason it stopped), then
 * cb gets err, or else the first failed file's error, or NULL. */
void rm_complete(struct sbx_op *op, struct rm_set *s, const sbx_error *err, sbx_done_cb cb);

/* The generic op: the provider's file_read for each file, RM_CONCURRENCY at
 * a time. */
sbx_status sbx__read_many_generic(sbx_client *c, const char *id, const sbx_download *dls, size_t n,
                                  sbx_done_cb cb, void *ud, sbx_op_id *out);

#endif
