/* json_pick.h - load only the members of a JSON object a caller reads.
 *
 * jansson builds every member of a reply (about 11 ns a byte: 8 us for a
 * 700-byte Daytona Sandbox DTO, of which sbx reads a handful). This scans
 * the object, checks the members it skips and builds only the named ones.
 * Whatever the scanner is not sure of (\u escapes, non-ASCII bytes,
 * exponents, deep nesting, malformed input, a value that is not an object)
 * goes to jansson whole, so the result and the error text are jansson's. */
#ifndef SBX_PROTOCOL_JSON_PICK_H
#define SBX_PROTOCOL_JSON_PICK_H

#include <jansson.h>
#include <stddef.h>

/* Like sbx_json_loadb, but when buf is an object the result may hold only
 * the top-level members named in keys (NULL-terminated); the others may be
 * missing. NULL on invalid JSON, with jansson's reason in why. */
json_t *sbx_json_load_keys(const char *buf, size_t len, const char *const *keys, char *why,
                           size_t why_len);

#endif
