/* multipart.h - a multipart/form-data reply body (RFC 2046 5.1, RFC 7578)
 * parsed incrementally, sans-I/O: Daytona's POST /files/bulk-download answer,
 * one part per path, name="file" with filename="<the path>" and the raw
 * bytes, or name="error" with a JSON error.
 *
 * The preamble and the epilogue are ignored; the CRLF before a delimiter
 * belongs to the delimiter (so "--boundary" right after a part's blank line
 * is data, as RFC 2046 has it; Go's reader would end the part there); a
 * "--boundary" not followed by "--", or by at most SBX_MP_PAD_MAX blanks and
 * CRLF, is data. Part bodies are never buffered: bytes go out as they
 * arrive, less a lookbehind of at most one delimiter line (under 100 bytes)
 * held while it may still be the next delimiter. Only a part's header block
 * is buffered, up to SBX_MP_HEADER_MAX. */
#ifndef SBX_PROTOCOL_MULTIPART_H
#define SBX_PROTOCOL_MULTIPART_H

#include "alloc.h"
#include <stddef.h>

enum {
  SBX_MP_BOUNDARY_MAX = 70, /* RFC 2046 */
  SBX_MP_HEADER_MAX = 8192, /* a part's header block, blank line included */
  SBX_MP_PAD_MAX = 16,      /* blanks after a boundary still taken as padding */
  SBX_MP_LOOK_MAX = 4 + SBX_MP_BOUNDARY_MAX + SBX_MP_PAD_MAX + 1
};

/* The boundary parameter of a Content-Type value ("multipart/form-data;
 * boundary=X", quoted or not) into out, NUL-terminated. 0, or SBX_EPROTO
 * with a one-line reason in err: not multipart, no boundary, a malformed
 * parameter list, a boundary empty, over 70 characters or with control
 * characters. */
int sbx_mp_boundary(const char *content_type, char out[SBX_MP_BOUNDARY_MAX + 1], char *err,
                    size_t errlen);

/* A part's headers, valid during the part_begin call only. */
struct sbx_mp_part {
  unsigned index;             /* 0 for the first part */
  const char *name;           /* Content-Disposition's name, NULL when absent */
  const char *filename;       /* its filename, unescaped, NULL when absent */
  const char *content_type;   /* NULL when absent */
  const char *content_length; /* as sent, NULL when absent */
};

/* Each returns 0 to go on; non-zero stops the feed, which returns that value.
 * Any may be NULL. */
struct sbx_mp_callbacks {
  int (*part_begin)(void *ud, const struct sbx_mp_part *part);
  int (*part_data)(void *ud, const char *data, size_t len); /* never empty */
  int (*part_end)(void *ud);
};

struct sbx_mp {
  struct sbx_mp_callbacks cb;
  void *ud;
  int state;
  int result;                          /* final: an error or a stop value; 0 while parsing */
  unsigned part;                       /* index of the current (or next) part */
  unsigned long long off;              /* body offset of the next byte fed */
  char delim[4 + SBX_MP_BOUNDARY_MAX]; /* "\r\n--" boundary */
  size_t dlen;
  char look[SBX_MP_LOOK_MAX]; /* bytes that may be a delimiter line */
  size_t n_look;
  int tail;  /* how the bytes after a whole "\r\n--boundary" went */
  char *hdr; /* the header block being collected */
  size_t n_hdr, hdr_cap;
  int hdr_end;                /* how much of the blank line's CRLF CRLF was seen */
  unsigned long long hdr_at;  /* body offset of the header block */
  const sbx_allocator *alloc; /* for hdr */
};

/* 0, or SBX_EINVAL when the boundary is empty, over 70 characters or holds
 * control characters. cb is copied. */
int sbx_mp_init(struct sbx_mp *m, const char *boundary, const struct sbx_mp_callbacks *cb, void *ud,
                const sbx_allocator *a);
/* Feed the next bytes of the body. 0, a callback's stop value, or SBX_EPROTO
 * (SBX_ENOMEM) with a one-line reason naming the part and body offset in err
 * (errlen bytes, may be NULL/0). Errors and stops are final. */
int sbx_mp_feed(struct sbx_mp *m, const char *data, size_t len, char *err, size_t errlen);
/* The body ended: 0 after the closing delimiter, else SBX_EPROTO (no opening
 * delimiter, or a part cut off with no closing delimiter). */
int sbx_mp_finish(struct sbx_mp *m, char *err, size_t errlen);
/* Free what the parser holds; call once done with it (finish or not). */
void sbx_mp_release(struct sbx_mp *m);

#endif
