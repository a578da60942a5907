/* http_errors.h - provider REST error mapping (E2B flavour) and Retry-After. */
#ifndef SBX_PROTOCOL_HTTP_ERRORS_H
#define SBX_PROTOCOL_HTTP_ERRORS_H

#include <stddef.h>

#include "errinfo.h"

/* Parse a Retry-After value (delta seconds or an HTTP-date, relative to
 * now_unix). Returns milliseconds >= 0, or -1 when absent or invalid. */
long sbx_parse_retry_after(const char *value, long now_unix);

/* SBX_DAYTONA: the Daytona API and toolbox ({"statusCode","message","error",
 * "code"}): like the E2B API, but 408 -> SBX_ETIMEDOUT and the code comes
 * from "code" when "error_code" is absent. */
enum sbx_e2b_plane { SBX_E2B_API = 0, SBX_E2B_ENVD = 1, SBX_DAYTONA = 2 };

/* Map a non-2xx reply of the E2B control plane or envd REST to an error:
 *   401 -> SBX_EAUTH, 403 -> SBX_EAUTH, 404 -> SBX_ENOTFOUND, 409 -> SBX_ECONFLICT,
 *   429 -> SBX_ERATELIMIT (retryable), 500 -> SBX_EPROVIDER,
 *   502 from envd -> SBX_ENOTFOUND ("sandbox not found"), other 502/503/504 ->
 *   SBX_EUNAVAIL (retryable), 400 -> SBX_EINVAL, 507 -> SBX_EPROVIDER, else SBX_EHTTP.
 * The message is "<what>: <status>: <server message>" where the server message
 * comes from the JSON body's "message", else its "error", else the body text (first line,
 * printable, truncated), else the status text. retry_after_ms is stored. */
int sbx_e2b_map_http_error(enum sbx_e2b_plane plane, int http_status, const char *body, size_t len,
                           long retry_after_ms, const char *what, struct sbx_errinfo *err);

#endif
