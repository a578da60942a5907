/* multipart.c - see multipart.h.
 *
 * The body is read as if it began with CRLF, so that a first delimiter at
 * its very start looks like every other one: "\r\n--" boundary, then "--"
 * (the close delimiter) or blanks and CRLF. Bytes that may be a delimiter
 * are held in look; on a mismatch they were data (dropped in the preamble)
 * and the byte that broke the match is looked at afresh. No held byte but
 * the first can start another delimiter: a boundary holds no CR, and a CR
 * after it broke the match only by not being followed by LF. */
#include "multipart.h"

#include "errinfo.h"
#include "mime_params.h"
#include "sbx.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { ST_PREAMBLE, ST_HEADERS, ST_BODY, ST_EPILOGUE };
enum { T_NONE, T_START, T_DASH, T_PAD, T_CR }; /* after a whole "\r\n--boundary" */
enum { M_MORE, M_MISS, M_PART, M_CLOSE };

static int boundary_ok(const char *b, size_t n) {
  if (n == 0 || n > SBX_MP_BOUNDARY_MAX) return 0;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)b[i] < 0x20 || b[i] == 0x7f) return 0;
  return 1;
}

int sbx_mp_boundary(const char *content_type, char out[SBX_MP_BOUNDARY_MAX + 1], char *err,
                    size_t errlen) {
  struct sbx_mime_span item, name, value;
  const char *s = sbx_mime_first(content_type ? content_type : "", &item);
  if (item.n < 10 || strncasecmp(item.p, "multipart/", 10) != 0)
    return sbx_errbuf_set(err, errlen, SBX_EPROTO,
                          "multipart: Content-Type \"%.*s\" is not multipart",
                          (int)(item.n > 60 ? 60 : item.n), item.p);
  long got = -2;
  int r;
  while ((r = sbx_mime_next_param(&s, &name, &value)) == 1)
    if (sbx_mime_is(&name, "boundary")) got = sbx_mime_unquote(&value, out, SBX_MP_BOUNDARY_MAX);
  if (r < 0)
    return sbx_errbuf_set(err, errlen, SBX_EPROTO,
                          "multipart: malformed Content-Type parameters at \"%.40s\"", s);
  if (got == -2)
    return sbx_errbuf_set(err, errlen, SBX_EPROTO, "multipart: no boundary in the Content-Type");
  if (got == -1)
    return sbx_errbuf_set(err, errlen, SBX_EPROTO, "multipart: boundary over %d characters",
                          SBX_MP_BOUNDARY_MAX);
  out[got] = '\0';
  if (!boundary_ok(out, (size_t)got))
    return sbx_errbuf_set(err, errlen, SBX_EPROTO,
                          "multipart: boundary empty or with control characters");
  return 0;
}

int sbx_mp_init(struct sbx_mp *m, const char *boundary, const struct sbx_mp_callbacks *cb, void *ud,
                const sbx_allocator *a) {
  memset(m, 0, sizeof *m);
  m->alloc = a;
  size_t n = boundary ? strlen(boundary) : 0;
  if (!boundary_ok(boundary, n)) return SBX_EINVAL;
  if (cb) m->cb = *cb;
  m->ud = ud;
  memcpy(m->delim, "\r\n--", 4);
  memcpy(m->delim + 4, boundary, n);
  m->dlen = 4 + n;
  memcpy(m->look, "\r\n", 2); /* as if the body began with CRLF */
  m->n_look = 2;
  m->state = ST_PREAMBLE;
  return 0;
}

void sbx_mp_release(struct sbx_mp *m) {
  sbx__free(m->alloc, m->hdr);
  m->hdr = NULL;
  m->n_hdr = m->hdr_cap = 0;
}

static int emit(struct sbx_mp *m, const char *p, size_t n) {
  if (!n || m->state != ST_BODY || !m->cb.part_data) return 0;
  return m->cb.part_data(m->ud, p, n);
}

/* One more byte of a possible delimiter line. */
static int advance(struct sbx_mp *m, char c) {
  if (m->n_look < m->dlen) {
    if (c != m->delim[m->n_look]) return M_MISS;
    m->look[m->n_look++] = c;
    if (m->n_look == m->dlen) m->tail = T_START;
    return M_MORE;
  }
  int blank = c == ' ' || c == '\t';
  switch (m->tail) {
  case T_START:
    if (c == '-')
      m->tail = T_DASH;
    else if (blank)
      m->tail = T_PAD;
    else if (c == '\r')
      m->tail = T_CR;
    else
      return M_MISS;
    break;
  case T_DASH: return c == '-' ? M_CLOSE : M_MISS;
  case T_PAD:
    if (c == '\r')
      m->tail = T_CR;
    else if (!blank || m->n_look - m->dlen == SBX_MP_PAD_MAX)
      return M_MISS;
    break;
  default: return c == '\n' ? M_PART : M_MISS; /* T_CR */
  }
  m->look[m->n_look++] = c;
  return M_MORE;
}

/* The held bytes were no delimiter: data. */
static int miss(struct sbx_mp *m) {
  int rc = emit(m, m->look, m->n_look);
  m->n_look = 0;
  m->tail = T_NONE;
  return rc;
}

/* A whole delimiter line ends at body offset at. */
static int delimiter(struct sbx_mp *m, int last, unsigned long long at) {
  int rc = 0;
  if (m->state == ST_BODY) {
    if (m->cb.part_end) rc = m->cb.part_end(m->ud);
    m->part++;
  }
  m->state = last ? ST_EPILOGUE : ST_HEADERS;
  m->n_look = 0;
  m->tail = T_NONE;
  m->n_hdr = 0;
  m->hdr_end = 2; /* the delimiter line's CRLF: a CRLF now is the blank line */
  m->hdr_at = at;
  return rc;
}

/* Preamble or part body from p[*pi] up to the next delimiter line. */
static int scan(struct sbx_mp *m, const char *p, size_t n, size_t *pi) {
  size_t i = *pi, run = i; /* p[run, i) is data not yet handed out */
  int rc = 0;
  while (i < n) {
    if (m->n_look == 0 && p[i] != '\r') {
      const char *cr = memchr(p + i, '\r', n - i);
      i = cr ? (size_t)(cr - p) : n;
      continue;
    }
    if (m->n_look == 0 && (rc = emit(m, p + run, i - run)) != 0) break;
    int a = advance(m, p[i]);
    if (a == M_MISS) {
      run = i; /* p[i] is looked at again */
      if ((rc = miss(m)) != 0) break;
      continue;
    }
    run = ++i;
    if (a != M_MORE) {
      rc = delimiter(m, a == M_CLOSE, m->off + i);
      break;
    }
  }
  if (!rc) rc = emit(m, p + run, i - run);
  *pi = i;
  return rc;
}

/* The text of a parameter, NUL-terminated, over its raw bytes in the header
 * block. */
static char *text_in_place(char *block, const struct sbx_mime_span *v) {
  char *d = block + (v->p - block);
  long n = sbx_mime_unquote(v, d, v->n);
  d[n] = '\0';
  return d;
}

static int disposition(char *block, const char *v, struct sbx_mp_part *part) {
  struct sbx_mime_span type, pname, pvalue, name = {NULL, 0}, file = {NULL, 0};
  const char *s = sbx_mime_first(v, &type);
  int r;
  while ((r = sbx_mime_next_param(&s, &pname, &pvalue)) == 1) {
    if (sbx_mime_is(&pname, "name")) name = pvalue;
    if (sbx_mime_is(&pname, "filename")) file = pvalue;
  }
  if (r < 0 || !type.n) return -1;
  if (name.p) part->name = text_in_place(block, &name);
  if (file.p) part->filename = text_in_place(block, &file);
  return 0;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    s[--n] = '\0';
  return s;
}

/* The header block is whole (it ends with CRLF CRLF, or is one CRLF): take
 * it apart in place and start the part. */
static int begin_part(struct sbx_mp *m, char *err, size_t errlen) {
  struct sbx_mp_part part = {m->part, NULL, NULL, NULL, NULL};
  char *h = m->hdr, *end = m->hdr + m->n_hdr;
  for (char *q = h; q + 2 < end; q++) /* unfold obsolete folded lines */
    if (q[0] == '\r' && q[1] == '\n' && (q[2] == ' ' || q[2] == '\t')) q[0] = q[1] = ' ';
  for (char *line = h; line < end;) {
    char *eol = line;
    while (eol[0] != '\r' || eol[1] != '\n')
      eol++;
    *eol = '\0';
    char *colon = strchr(line, ':');
    if (eol > line && !colon)
      return sbx_errbuf_set(err, errlen, SBX_EPROTO,
                            "multipart: part %u: header line without ':' (header block at byte "
                            "%llu)",
                            m->part, m->hdr_at);
    if (colon) {
      *colon = '\0';
      char *hname = trim(line);
      struct sbx_mime_span name = {hname, strlen(hname)};
      char *value = trim(colon + 1);
      if (sbx_mime_is(&name, "content-type")) part.content_type = value;
      if (sbx_mime_is(&name, "content-length")) part.content_length = value;
      if (sbx_mime_is(&name, "content-disposition") && disposition(h, value, &part) != 0)
        return sbx_errbuf_set(err, errlen, SBX_EPROTO,
                              "multipart: part %u: malformed Content-Disposition (header block "
                              "at byte %llu)",
                              m->part, m->hdr_at);
    }
    line = eol + 2;
  }
  m->state = ST_BODY;
  return m->cb.part_begin ? m->cb.part_begin(m->ud, &part) : 0;
}

static int grow_hdr(struct sbx_mp *m, char *err, size_t errlen) {
  size_t cap = m->hdr_cap ? m->hdr_cap * 2 : 256;
  if (cap > SBX_MP_HEADER_MAX) cap = SBX_MP_HEADER_MAX;
  char *h = sbx__realloc(m->alloc, m->hdr, cap);
  if (!h)
    return sbx_errbuf_set(err, errlen, SBX_ENOMEM, "multipart: out of memory for part %u's headers",
                          m->part);
  m->hdr = h;
  m->hdr_cap = cap;
  return 0;
}

/* Collect a part's header block from p[*pi] up to its blank line. */
static int headers(struct sbx_mp *m, const char *p, size_t n, size_t *pi, char *err,
                   size_t errlen) {
  size_t i = *pi;
  int rc = 0;
  while (i < n && m->hdr_end < 4 && !rc) {
    char c = p[i];
    if (c == '\0')
      rc = sbx_errbuf_set(err, errlen, SBX_EPROTO,
                          "multipart: part %u: NUL byte in the header block at byte %llu", m->part,
                          m->off + i);
    else if (m->n_hdr == SBX_MP_HEADER_MAX)
      rc = sbx_errbuf_set(err, errlen, SBX_EPROTO,
                          "multipart: part %u: header block over %d bytes (from byte %llu)",
                          m->part, SBX_MP_HEADER_MAX, m->hdr_at);
    else if (m->n_hdr < m->hdr_cap || (rc = grow_hdr(m, err, errlen)) == 0) {
      m->hdr[m->n_hdr++] = c;
      i++;
      /* how far into CRLF CRLF: 1 "\r", 2 "\r\n", 3 "\r\n\r", 4 all */
      if (c == '\r')
        m->hdr_end = m->hdr_end == 2 ? 3 : 1;
      else
        m->hdr_end = c == '\n' && m->hdr_end % 2 ? m->hdr_end + 1 : 0;
    }
  }
  *pi = i;
  if (!rc && m->hdr_end == 4) rc = begin_part(m, err, errlen);
  return rc;
}

int sbx_mp_feed(struct sbx_mp *m, const char *data, size_t len, char *err, size_t errlen) {
  if (m->result)
    return sbx_errbuf_set(err, errlen, m->result, "multipart: parser already failed or stopped");
  size_t i = 0;
  int rc = 0;
  while (i < len && !rc) {
    if (m->state == ST_HEADERS)
      rc = headers(m, data, len, &i, err, errlen);
    else if (m->state == ST_EPILOGUE)
      i = len;
    else
      rc = scan(m, data, len, &i);
  }
  m->off += i;
  m->result = rc;
  return rc;
}

int sbx_mp_finish(struct sbx_mp *m, char *err, size_t errlen) {
  if (m->result)
    return sbx_errbuf_set(err, errlen, m->result, "multipart: parser already failed or stopped");
  if (m->state == ST_EPILOGUE) return 0;
  if (m->state == ST_PREAMBLE)
    return sbx_errbuf_set(err, errlen, SBX_EPROTO,
                          "multipart: no opening delimiter \"--%.*s\" in %llu bytes",
                          (int)(m->dlen - 4), m->delim + 4, m->off);
  return sbx_errbuf_set(err, errlen, SBX_EPROTO,
                        "multipart: body ends in part %u%s at byte %llu, with no closing delimiter",
                        m->part, m->state == ST_HEADERS ? "'s header block" : "", m->off);
}
