/* status.c - status names and texts. */
#include "sbx.h"

struct status_text {
  int code;
  const char *name;
  const char *text;
};

static const struct status_text texts[] = {
    {SBX_OK, "SBX_OK", "success"},
    {SBX_EINVAL, "SBX_EINVAL", "invalid argument"},
    {SBX_ENOMEM, "SBX_ENOMEM", "out of memory"},
    {SBX_ECANCELED, "SBX_ECANCELED", "operation cancelled"},
    {SBX_ETIMEDOUT, "SBX_ETIMEDOUT", "operation timed out"},
    {SBX_ETRANSPORT, "SBX_ETRANSPORT", "connection failed"},
    {SBX_EHTTP, "SBX_EHTTP", "unexpected HTTP status"},
    {SBX_EPROTO, "SBX_EPROTO", "malformed reply"},
    {SBX_EPROVIDER, "SBX_EPROVIDER", "provider error"},
    {SBX_ERATELIMIT, "SBX_ERATELIMIT", "rate limited"},
    {SBX_ENOTFOUND, "SBX_ENOTFOUND", "not found"},
    {SBX_ECLOSED, "SBX_ECLOSED", "client closed"},
    {SBX_EAUTH, "SBX_EAUTH", "authentication failed"},
    {SBX_ENOTSUP, "SBX_ENOTSUP", "not supported by the provider"},
    {SBX_ECONFLICT, "SBX_ECONFLICT", "conflicting sandbox state"},
    {SBX_EUNAVAIL, "SBX_EUNAVAIL", "service unavailable"},
    {SBX_ETOOBIG, "SBX_ETOOBIG", "size limit exceeded"},
    {SBX_EIO, "SBX_EIO", "local I/O error"},
};

static const struct status_text *find(int code) {
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
    if (texts[i].code == code) return &texts[i];
  return 0;
}

const char *sbx_strerror(int status) {
  const struct status_text *t = find(status);
  return t ? t->text : "unknown status";
}

const char *sbx_status_name(int status) {
  const struct status_text *t = find(status);
  return t ? t->name : "SBX_E?";
}

const char *sbx_version(void) {
  return SBX_VERSION;
}
