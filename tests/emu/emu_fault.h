/* emu_fault.h - one fault-injection rule (POST /_emu/faults). */
#ifndef SBX_EMU_FAULT_H
#define SBX_EMU_FAULT_H

enum emu_fault_action {
  EMU_FAULT_STATUS = 0,
  EMU_FAULT_DROP,
  EMU_FAULT_RST,
  EMU_FAULT_GOAWAY,
  EMU_FAULT_TRUNCATE,
  EMU_FAULT_MALFORMED
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
};

#endif
