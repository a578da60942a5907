/* cli_core.c - the loop, the client, op bookkeeping, signals and error
 * reporting shared by every command. */
#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_output.h"

static void oom(void) {
  fputs("sbx: out of memory\n", stderr);
  exit(CLI_EXIT_FAIL);
}

void *cli_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) oom();
  return p;
}

void *cli_xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) oom();
  return q;
}

char *cli_xstrdup(const char *s) {
  char *d = strdup(s);
  if (!d) oom();
  return d;
}

char *cli_xasprintf(const char *fmt, ...) {
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  int r = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (r < 0) oom();
  return s;
}

/* Print {"error":{...}} on stdout: machine readers get every failure in the
 * same stream as the results. */
static void json_error(const char *status, int http_status, const char *provider_code,
                       const char *message, const char *cmd, const char *what) {
  json_t *e = json_object();
  json_object_set_new(e, "status", json_string(status));
  json_object_set_new(e, "http_status", json_integer(http_status));
  if (provider_code && *provider_code)
    json_object_set_new(e, "provider_code", out_jstr(provider_code));
  json_object_set_new(e, "message", out_jstr(message));
  if (cmd) json_object_set_new(e, "command", out_jstr(cmd));
  if (what) json_object_set_new(e, "target", out_jstr(what));
  json_t *o = json_object();
  json_object_set_new(o, "error", e);
  out_json_line(o);
}

int cli_usage(struct cli *cli, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  out_one_line(msg);
  if (cli->cmd)
    fprintf(stderr, "sbx: %s: %s (see 'sbx help %s')\n", cli->cmd, msg, cli->cmd);
  else
    fprintf(stderr, "sbx: %s (see 'sbx help')\n", msg);
  if (cli->json) json_error("usage", 0, NULL, msg, cli->cmd, NULL);
  return CLI_EXIT_USAGE;
}

static void report(struct cli *cli, const char *what, int status, int http_status,
                   const char *provider_code, const char *message) {
  /* After a signal, the cancellations it caused are expected, not errors. */
  if ((cli->interrupted || cli->out_broken) && (status == SBX_ECANCELED || status == SBX_ECLOSED))
    return;
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", message && *message ? message : sbx_strerror(status));
  out_one_line(msg);
  fprintf(stderr, "sbx: %s: %s: %s: %s\n", cli->cmd, what, sbx_status_name(status), msg);
  if (cli->json)
    json_error(sbx_status_name(status), http_status, provider_code, msg, cli->cmd, what);
  if (cli->exit_code == CLI_EXIT_OK) cli->exit_code = CLI_EXIT_FAIL;
}

void cli_fail(struct cli *cli, const char *what, const sbx_error *err) {
  report(cli, what, err->code, err->http_status, err->provider_code, err->message);
}

void cli_fail_status(struct cli *cli, const char *what, int status, const char *msg) {
  report(cli, what, status, 0, NULL, msg);
}

static const char *level_name(int level) {
  switch (level) {
  case SBX_LOG_ERROR: return "error";
  case SBX_LOG_WARN: return "warn";
  case SBX_LOG_INFO: return "info";
  case SBX_LOG_DEBUG: return "debug";
  default: return "trace";
  }
}

static void log_cb(void *ud, int level, const char *component, sbx_op_id op, const char *msg) {
  const struct cli *cli = ud;
  /* -v: up to info, -vv: debug, -vvv or SBX_TRACE=1: everything. */
  int max = cli->trace ? SBX_LOG_TRACE : cli->verbose + SBX_LOG_WARN;
  if (level > max) return;
  if (op)
    fprintf(stderr, "sbx: %s: %s: op %llu: %s\n", level_name(level), component ? component : "",
            (unsigned long long)op, msg ? msg : "");
  else
    fprintf(stderr, "sbx: %s: %s: %s\n", level_name(level), component ? component : "",
            msg ? msg : "");
}

/* A copy of the pending op ids: a completion may run inside sbx_cancel and
 * edit the list. */
static sbx_op_id *pending_copy(const struct cli *cli, size_t *n) {
  *n = cli->n_ops;
  if (!*n) return NULL;
  sbx_op_id *ids = cli_xmalloc(*n * sizeof *ids);
  memcpy(ids, cli->ops, *n * sizeof *ids);
  return ids;
}

static void cancel_ids(struct cli *cli, sbx_op_id *ids, size_t n) {
  for (size_t i = 0; i < n; i++)
    sbx_cancel(cli->client, ids[i]);
  free(ids);
}

static void cancel_all(struct cli *cli) {
  size_t n;
  sbx_op_id *ids = pending_copy(cli, &n);
  cancel_ids(cli, ids, n);
}

/* Cancelled ops did not all complete in time: stop waiting for them. */
static void grace_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct cli *cli = w->data;
  cli->hard_stop = 1;
  ev_break(loop, EVBREAK_ALL);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents) {
  struct cli *cli = w->data;
  if (cli->interrupted) {
    /* A second signal: stop waiting; freeing the client closes what is left. */
    cli->hard_stop = 1;
    ev_break(loop, EVBREAK_ALL);
    return;
  }
  cli->interrupted = w->signum;
  ev_timer_start(loop, &cli->grace_w);
  /* The hook runs before the cancellations (a cancelled exec may complete at
   * once and forget its pid), and the ops it starts are not cancelled. */
  size_t n;
  sbx_op_id *ids = pending_copy(cli, &n);
  if (cli->on_interrupt) cli->on_interrupt(cli, cli->interrupt_ud);
  cancel_ids(cli, ids, n);
  if (!cli->n_ops) ev_break(loop, EVBREAK_ALL);
}

int cli_open(struct cli *cli) {
  cli->loop = ev_default_loop(0);
  if (!cli->loop) {
    fprintf(stderr, "sbx: %s: cannot initialise the event loop\n", cli->cmd);
    return CLI_EXIT_FAIL;
  }
  sbx_config cfg;
  sbx_config_init(&cfg);
  if (cli->provider) cfg.provider = cli->provider;
  if (cli->api_url) cfg.api_url = cli->api_url;
  if (cli->sandbox_url) cfg.sandbox_url = cli->sandbox_url;
  if (cli->domain) cfg.domain = cli->domain;
  if (cli->ca_file) cfg.ca_file = cli->ca_file;
  if (cli->http1) cfg.http_version = SBX_HTTP_1_1;
  if (cli->request_timeout_ms > 0) cfg.request_timeout_ms = cli->request_timeout_ms;
  if (cli->trace) cfg.trace = 1;
  if (cli->verbose || cli->trace) {
    cfg.log = log_cb;
    cfg.log_ud = cli;
  }
  if (cli->configure) cli->configure(cli, &cfg);
  sbx_status st = SBX_OK;
  char errbuf[512] = "";
  cli->client = sbx_client_new(cli->loop, &cfg, &st, errbuf, sizeof errbuf);
  if (!cli->client) {
    /* A client that cannot be built is a configuration problem: exit 2. */
    if (st == SBX_OK) st = SBX_EINVAL;
    report(cli, "client", st, 0, NULL, errbuf[0] ? errbuf : sbx_strerror(st));
    return CLI_EXIT_USAGE;
  }
  ev_signal_init(&cli->sigint_w, signal_cb, SIGINT);
  cli->sigint_w.data = cli;
  ev_signal_start(cli->loop, &cli->sigint_w);
  ev_signal_init(&cli->sigterm_w, signal_cb, SIGTERM);
  cli->sigterm_w.data = cli;
  ev_signal_start(cli->loop, &cli->sigterm_w);
  ev_timer_init(&cli->grace_w, grace_cb, CLI_CANCEL_GRACE_S, 0.);
  cli->grace_w.data = cli;
  return 0;
}

int cli_track(struct cli *cli, sbx_status st, const sbx_op_id *id, const char *what) {
  if (st != SBX_OK) {
    cli_fail_status(cli, what, st, sbx_last_error(cli->client));
    return -1;
  }
  if (cli->n_ops == cli->cap_ops) {
    cli->cap_ops = cli->cap_ops ? cli->cap_ops * 2 : 8;
    cli->ops = cli_xrealloc(cli->ops, cli->cap_ops * sizeof *cli->ops);
  }
  cli->ops[cli->n_ops++] = *id;
  return 0;
}

void cli_done(struct cli *cli, sbx_op_id id) {
  for (size_t i = 0; i < cli->n_ops; i++) {
    if (cli->ops[i] == id) {
      cli->ops[i] = cli->ops[--cli->n_ops];
      break;
    }
  }
  if (!cli->n_ops && cli->loop) ev_break(cli->loop, EVBREAK_ALL);
}

void cli_run(struct cli *cli) {
  /* Loop again after a break if a callback started a follow-up op (next
   * page, stdin chunk) after the last one completed. The signal watchers
   * stay active, so ev_run never returns on its own with ops pending. */
  while (cli->n_ops && !cli->hard_stop)
    ev_run(cli->loop, 0);
  if (cli->client) {
    ev_signal_stop(cli->loop, &cli->sigint_w);
    ev_signal_stop(cli->loop, &cli->sigterm_w);
    ev_timer_stop(cli->loop, &cli->grace_w);
    sbx_client_free(cli->client); /* completes leftovers with SBX_ECLOSED */
    cli->client = NULL;
  }
  free(cli->ops);
  cli->ops = NULL;
  cli->n_ops = cli->cap_ops = 0;
}

int cli_exit_code(const struct cli *cli) {
  if (cli->interrupted) return 128 + cli->interrupted;
  if (cli->out_broken) return 128 + SIGPIPE;
  return cli->exit_code;
}

int cli_write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        /* An inherited non-blocking descriptor: wait until it drains. */
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR) return -1;
        continue;
      }
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

void cli_stdout_broken(struct cli *cli) {
  if (cli->out_broken) return;
  cli->out_broken = 1;
  cancel_all(cli);
}
