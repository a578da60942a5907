/* errinfo.h - an owned error description, filled by the sans-I/O mappers and
 * turned into the public, borrowed sbx_error when an op completes. */
#ifndef SBX_PROTOCOL_ERRINFO_H
#define SBX_PROTOCOL_ERRINFO_H

#include <stdarg.h>
#include <stddef.h>

#define SBX_ERRINFO_MSG_MAX 256
#define SBX_ERRINFO_CODE_MAX 32

struct sbx_errinfo {
  int status;          /* sbx_status, negative; 0 = no error */
  int http_status;     /* 0 when none */
  int curl_code;       /* 0 when none */
  int retryable;       /* 1 when the same call may succeed later */
  long retry_after_ms; /* -1 when absent */
  char provider_code[SBX_ERRINFO_CODE_MAX];
  char message[SBX_ERRINFO_MSG_MAX];
};

void sbx_errinfo_clear(struct sbx_errinfo *e);
/* Set status and a printf-style message (truncated to fit). */
void sbx_errinfo_set(struct sbx_errinfo *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sbx_errinfo_vset(struct sbx_errinfo *e, int status, const char *fmt, va_list ap);
/* The same formatting into a caller's plain buffer (buf may be NULL or n 0),
 * for sans-I/O parsers that report "<status> + one line"; returns status. */
int sbx_errbuf_set(char *buf, size_t n, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prepend "<prefix>: " to the message (truncating the end to fit). */
void sbx_errinfo_prefix(struct sbx_errinfo *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
