/* mime_params.h - a MIME header value taken apart: its first item (a media
 * type, a disposition type) and its "; name=value" parameters (RFC 2045 5.1,
 * RFC 2183), a value being a token or a quoted string with backslash escapes
 * (how Go's mime/multipart writes a filename holding '"' or '\'). Lenient on
 * token characters; strict on structure. */
#ifndef SBX_PROTOCOL_MIME_PARAMS_H
#define SBX_PROTOCOL_MIME_PARAMS_H

#include <stddef.h>

struct sbx_mime_span {
  const char *p;
  size_t n;
};

/* The first item of the NUL-terminated value s; returns where its parameters
 * start. */
const char *sbx_mime_first(const char *s, struct sbx_mime_span *item);
/* The next parameter at *s: 1 with its name and raw value (quotes and
 * escapes kept) and *s moved past it; 0 at the end; -1 when malformed (no
 * ';', no '=', an empty name or value, an unterminated quoted string). */
int sbx_mime_next_param(const char **s, struct sbx_mime_span *name, struct sbx_mime_span *value);
/* A raw value's text, without quotes and escapes, into dst (cap bytes, no NUL
 * added). dst may be value->p itself: the text is never longer than the raw
 * value and writing never overtakes reading. Returns the length, -1 when it
 * does not fit. */
long sbx_mime_unquote(const struct sbx_mime_span *value, char *dst, size_t cap);
/* Is the span, case aside, the NUL-terminated word w? */
int sbx_mime_is(const struct sbx_mime_span *s, const char *w);

#endif
