/* cli.h - the state one `sbx` invocation shares between its commands: the
 * loop, the client, the pending ops (so SIGINT can cancel them) and the exit
 * code. One struct cli lives on main's stack; there is no global state. */
#ifndef SBX_CLI_H
#define SBX_CLI_H

#include <ev.h>
#include <stddef.h>

#include "sbx.h"

/* Exit codes. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

struct cli {
  /* Global options. */
  const char *provider;
  const char *api_url;
  const char *sandbox_url;
  const char *domain;
  const char *ca_file;
  long request_timeout_ms; /* 0: library default */
  int http1;
  int json;
  int verbose; /* -v count */
  int trace;   /* SBX_TRACE=1 */

  const char *cmd; /* "exec", "fs ls": the prefix of every message */
  struct ev_loop *loop;
  sbx_client *client;
  int exit_code;   /* CLI_EXIT_* or a command's own code */
  int interrupted; /* the first SIGINT/SIGTERM received, 0 when none */
  int hard_stop;   /* a second signal: stop waiting for cancellations */
  int out_broken;  /* stdout hit EPIPE: stop quietly, like a SIGPIPE death */

  sbx_op_id *ops; /* started and not yet completed */
  size_t n_ops, cap_ops;

  /* Called once on the first signal, just before the pending ops are
   * cancelled (exec uses it to kill the remote process). */
  void (*on_interrupt)(struct cli *cli, void *ud);
  void *interrupt_ud;

  /* Optional: adjust the client's config before it is built (sbx run). */
  void (*configure)(struct cli *cli, sbx_config *cfg);
  void *configure_ud;

  ev_signal sigint_w, sigterm_w;
  ev_timer grace_w; /* after a signal: how long cancellations may take */
};

/* Seconds the cancelled ops get to complete after SIGINT/SIGTERM before the
 * client is freed anyway (a second signal skips the wait). */
#define CLI_CANCEL_GRACE_S 5.0

/* Allocation that exits with a message instead of returning NULL: a CLI
 * cannot do anything useful without memory. */
void *cli_xmalloc(size_t n);
void *cli_xrealloc(void *p, size_t n);
char *cli_xstrdup(const char *s);
char *cli_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print a usage error (one line naming the bad argument and pointing to
 * `sbx help`) and return CLI_EXIT_USAGE. */
int cli_usage(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Create the loop and the client, start the signal watchers. Returns 0, or
 * CLI_EXIT_USAGE after printing the client's error (bad configuration). */
int cli_open(struct cli *cli);

/* Record a started op: *id is read here, after the start call returned
 * (taking the id by value would read it in unspecified order relative to a
 * start call written in the same argument list). When st is not SBX_OK,
 * report it as a failure of `what` and return -1 (no callback follows). */
int cli_track(struct cli *cli, sbx_status st, const sbx_op_id *id, const char *what);
/* An op completed: forget it; the loop stops once none is left. */
void cli_done(struct cli *cli, sbx_op_id id);

/* Report a failed op on stderr (and as JSON on stdout with --json) and set
 * the exit code to 1. Quiet for the cancellations a signal caused. */
void cli_fail(struct cli *cli, const char *what, const sbx_error *err);
void cli_fail_status(struct cli *cli, const char *what, int status, const char *msg);

/* Run the loop until every tracked op completed, then free the client. */
void cli_run(struct cli *cli);

/* The process exit code: 128+signal when interrupted. */
int cli_exit_code(const struct cli *cli);

/* Write all of buf to fd (retrying short writes, EINTR and EAGAIN). Returns
 * 0, or -1 with errno set. */
int cli_write_all(int fd, const void *buf, size_t len);

/* Stdout went away (EPIPE): cancel everything and exit 141 quietly. */
void cli_stdout_broken(struct cli *cli);

#endif
