/* base64.h - standard base64 (RFC 4648) for Connect-JSON bytes fields. */
#ifndef SBX_PROTOCOL_BASE64_H
#define SBX_PROTOCOL_BASE64_H

#include <stddef.h>

/* Output size for encoding n bytes, with padding, without NUL. */
size_t sbx_base64_encoded_len(size_t n);
/* Encode; out must hold sbx_base64_encoded_len(n) + 1 bytes (NUL added). */
size_t sbx_base64_encode(const void *in, size_t n, char *out);
/* Decode standard or URL-safe alphabet, padded or not. out must hold
 * (n / 4 + 1) * 3 bytes. Returns the decoded length, or -1 on bad input. */
long sbx_base64_decode(const char *in, size_t n, unsigned char *out);

#endif
