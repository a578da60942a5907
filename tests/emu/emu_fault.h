/* emu_fault.h - one fault-injection rule (POST /_emu/faults). */
#ifndef SBX_EMU_FAULT_H
#define SBX_EMU_FAULT_H

enum emu_fault_action {
  EMU_FAULT_STATUS = 0,
  EMU_FAULT_DROP,
  EMU_FAULT_RST,
  EMU_FAULT_GOAWAY,
  EMU_FAULT_TRUNCATE,
  EMU_FAULT_MALFORMED,
  EMU_FAULT_LOST /* the route runs (a create creates), then its reply is lost: RST_STREAM */
};

/* What /_emu/stats counts under "faults": each injected fault once, when it
 * takes effect (a stream rule only when its stream reaches after_messages). */
enum emu_fault_kind {
  EMU_FK_5XX = 0,
  EMU_FK_429,
  EMU_FK_OTHER_STATUS,
  EMU_FK_DELAY,
  EMU_FK_DROP,
  EMU_FK_RST,
  EMU_FK_GOAWAY,
  EMU_FK_TRUNCATE,
  EMU_FK_MALFORMED,
  EMU_FK_LOST,
  EMU_FK_COUNT
};

#define EMU_FAULT_MAX_HEADERS 4

/* Held by value: rules are copied when taken. */
struct emu_fault_header {
  char name[64];
  char value[128];
};

struct emu_fault {
  struct emu_fault *next;
  char method[16]; /* "" matches any */
  char *path;      /* prefix */
  int status;
  int retry_after;    /* seconds; 0: no header */
  long count;         /* hits left; < 0: unlimited */
  long every;         /* > 1: only every Nth matching request is hit */
  unsigned long seen; /* matching requests so far, for every */
  long delay_ms;
  enum emu_fault_action action;
  unsigned long after_messages;
  struct emu_fault_header headers[EMU_FAULT_MAX_HEADERS]; /* extra reply headers of a status rule */
  int n_headers;
};

#endif
