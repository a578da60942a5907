/* dt_bulk.h - Daytona's POST /files/bulk-download reply, sans-I/O: its
 * multipart/form-data parts (multipart.h) matched to the requested paths.
 *
 * The daemon answers each path with one part whose filename is the path
 * echoed verbatim, so a part is matched by exact string (never normalised;
 * a path asked for twice takes two parts). A name="file" part's bytes are
 * handed out as they arrive; a name="error" part's JSON body
 * ({"statusCode","message","code",...}, the first SBX_DTB_ERROR_MAX bytes
 * kept) becomes that path's error, mapped like the toolbox's other replies
 * (404 -> SBX_ENOTFOUND, 403 -> SBX_EAUTH, 400 -> SBX_EINVAL, ...).
 *
 * A file part whose byte count disagrees with its Content-Length (when it
 * has one) fails its path with SBX_EPROTO: the daemon's boundary is fixed,
 * so a file holding the delimiter line ends its part early.
 *
 * Every path ends at most once through `end`: after its part, or at finish
 * (SBX_EPROTO) when the reply had none for it. Fatal, from feed or finish
 * with SBX_EPROTO: a part for a path not asked for (or asked for fewer
 * times), a part named neither "file" nor "error" or without a filename,
 * and a malformed body (the parser's message); paths not ended by then are
 * the caller's to fail. */
#ifndef SBX_PROTOCOL_DT_BULK_H
#define SBX_PROTOCOL_DT_BULK_H

#include <stddef.h>

#include "errinfo.h"
#include "multipart.h"

enum { SBX_DTB_ERROR_MAX = 4096 };

struct sbx_dtb_callbacks {
  /* Bytes of paths[i], never empty. Non-zero: paths[i] failed and the
   * caller has settled it; the rest of its part is skipped, no end follows. */
  int (*data)(void *ud, size_t i, const char *data, size_t len);
  /* paths[i] is over: e NULL when its bytes came whole, else its error. */
  void (*end)(void *ud, size_t i, const struct sbx_errinfo *e);
};

struct sbx_dtb {
  struct sbx_mp mp;
  struct sbx_dtb_callbacks cb;
  void *ud;
  const char *const *paths; /* borrowed */
  size_t n;
  const char *sandbox;                  /* borrowed, for messages */
  unsigned char *seen;                  /* per path: its part has begun */
  size_t next;                          /* every path before it has begun */
  size_t cur;                           /* the current part's path, n between parts */
  int cur_kind;                         /* how the current part's bytes go */
  unsigned long long cur_len, cur_want; /* its bytes so far; its Content-Length */
  int cur_has_want;
  char *ebody; /* an error part's body so far */
  size_t n_ebody;
  struct sbx_errinfo *err; /* where callbacks report a fatal error, during feed */
};

/* Start on a reply whose Content-Type header is content_type (NULL when it
 * had none). 0, or SBX_EPROTO (no multipart boundary) / SBX_ENOMEM in e. */
int sbx_dtb_init(struct sbx_dtb *d, const char *content_type, const char *const *paths, size_t n,
                 const char *sandbox, const struct sbx_dtb_callbacks *cb, void *ud,
                 const sbx_allocator *a, struct sbx_errinfo *e);
/* The next bytes of the body. 0, or a fatal status in e (final). */
int sbx_dtb_feed(struct sbx_dtb *d, const char *data, size_t len, struct sbx_errinfo *e);
/* The body ended: the paths with no part end with SBX_EPROTO. 0, or a fatal
 * status in e (the body was cut off or never began). */
int sbx_dtb_finish(struct sbx_dtb *d, struct sbx_errinfo *e);
void sbx_dtb_release(struct sbx_dtb *d);

#endif
