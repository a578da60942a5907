/* global.c - process-wide setup: libcurl's global state, which sbx does not
 * duplicate. curl_global_init counts its calls, so sbx_global_init and every
 * client take one reference each and the last release tears it down. */
#include <curl/curl.h>

#include "client.h"

static sbx_status from_curl(CURLcode rc) {
  if (rc == CURLE_OK) return SBX_OK;
  return rc == CURLE_OUT_OF_MEMORY ? SBX_ENOMEM : SBX_EINVAL;
}

sbx_status sbx__global_ref(void) {
  return from_curl(curl_global_init(CURL_GLOBAL_DEFAULT));
}

void sbx__global_unref(void) {
  curl_global_cleanup();
}

sbx_status sbx_global_init(long flags) {
  if (flags & ~(long)SBX_GLOBAL_DEFAULT) return SBX_EINVAL;
  return sbx__global_ref();
}

void sbx_global_cleanup(void) {
  sbx__global_unref();
}
