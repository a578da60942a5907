/* local_procs.c - what /proc says of a sandbox's process groups: whether
 * every process in them has stopped (a pause completes only then: SIGSTOP
 * is delivered when its target next runs, not when kill() returns). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "local.h"

/* The state letter and group of /proc/<pid>/stat, or 0 when unreadable. */
static char proc_state(const char *pid, long *pgrp) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%s/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the command name may hold spaces and ')' */
  char state = 0;
  long ppid = 0;
  if (!p || sscanf(p + 1, " %c %ld %ld", &state, &ppid, pgrp) != 3) return 0;
  return state;
}

static int in_groups(const json_t *pgids, long pg) {
  size_t i;
  const json_t *v;
  json_array_foreach(pgids, i, v) if (json_integer_value(v) == pg) return 1;
  return 0;
}

int local_groups_stopped(const json_t *pgids) {
  if (!json_array_size(pgids)) return 1;
  DIR *d = opendir("/proc");
  if (!d) return 1; /* nothing to wait on: the signal was sent */
  int stopped = 1;
  struct dirent *e;
  while (stopped && (e = readdir(d))) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    long pg = 0;
    char st = proc_state(e->d_name, &pg);
    /* T: stopped; t: traced; Z, X: gone; D: stops when it wakes, not waited on */
    if (st && pg > 1 && in_groups(pgids, pg) && !strchr("TtZXD", st)) stopped = 0;
  }
  closedir(d);
  return stopped;
}
