/* version.c - the smallest program against libsbx: print the version of
 * the library that was loaded next to the header's, then create a client
 * on the default libev loop and free it. Exits 1 when the two versions
 * differ or the client cannot be created.
 *
 *   cc version.c $(pkg-config --cflags --libs sbx) -o version */
#include <ev.h>
#include <stdio.h>
#include <string.h>

#include "sbx.h"

int main(void) {
  if (sbx_global_init(SBX_GLOBAL_DEFAULT) != SBX_OK) return 1;
  printf("libsbx %s (header %s)\n", sbx_version(), SBX_VERSION);
  int rc = strcmp(sbx_version(), SBX_VERSION) != 0;
  sbx_config cfg;
  sbx_config_init(&cfg);
  cfg.provider = "local";
  sbx_status st;
  char err[256];
  sbx_client *c = sbx_client_new(ev_default_loop(0), &cfg, &st, err, sizeof err);
  if (c) {
    printf("provider %s\n", sbx_client_provider(c));
    sbx_client_free(c);
  } else {
    fprintf(stderr, "sbx_client_new: %s: %s\n", sbx_status_name(st), err);
    rc = 1;
  }
  sbx_global_cleanup();
  return rc;
}
