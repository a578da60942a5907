/* run_journal.h - the append-only journal of a run (DIR/journal.jsonl) and
 * the append-only results file (DIR/results.jsonl).
 *
 * Journal records, one JSON object per line, each written with one write(2)
 * on an O_APPEND descriptor:
 *   {"ev":"start","run":ID,...}                      a runner (re)started
 *   {"ev":"intent","task":T,"attempt":N}             before each create
 *   {"ev":"created","task":T,"attempt":N,"sandbox":S} after it
 *   {"ev":"killed","task":T,"sandbox":S}             the sandbox is gone
 * A task is done when results.jsonl has its line. A crash can only tear the
 * last line of either file; opening drops a torn tail (no newline) before
 * appending, so both always read back as whole lines. */
#ifndef SBX_RUN_JOURNAL_H
#define SBX_RUN_JOURNAL_H

#include <jansson.h>
#include <stddef.h>

/* What an earlier runner left for one task. */
struct run_past {
  char *task;
  int attempts;    /* intents seen */
  char *sandbox;   /* the last created sandbox not yet killed, or NULL */
  int done;        /* a results line exists */
  char status[16]; /* its status ("ok", "failed", ...) */
};

struct run_journal {
  int fd, results_fd;
  char *pending; /* journal lines not yet written (run_journal_flush) */
  size_t n_pending, cap_pending;
  char *run_id; /* from the first start record, or new */
  struct run_past *past;
  size_t n_past;
};

/* Open (creating) DIR/journal.jsonl and DIR/results.jsonl, read back what
 * is there and repair torn tails. run_id is used when the journal is new.
 * 0, or -1 with a message (naming the file and line) printed on stderr. */
int run_journal_open(struct run_journal *j, const char *dir, const char *new_run_id);
void run_journal_close(struct run_journal *j);

/* The past of a task, or NULL. */
struct run_past *run_journal_past(struct run_journal *j, const char *task);

/* Append a record (obj is released) to the pending lines, written by the
 * next run_journal_flush: the runner flushes before every poll of its loop,
 * so an intent is on disk before its create can be sent (a request starts
 * no earlier than the next loop turn). 0, or -1 with errno. */
int run_journal_append(struct run_journal *j, json_t *obj);
int run_journal_flush(struct run_journal *j);
/* The same for a line already formatted (without its newline). */
int run_journal_append_line(struct run_journal *j, const char *line, size_t n);
/* s as the inside of a JSON string (quotes, backslashes and control
 * characters escaped); caller frees. */
char *run_json_escape(const char *s);
/* Append one result line (obj is released). */
int run_results_append(struct run_journal *j, json_t *obj);
/* fdatasync both files. */
void run_journal_sync(struct run_journal *j);

#endif
