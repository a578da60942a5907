/* emu_proc.c - processes of emulated sandboxes: the process table, output
 * fan-out to streams, exit and end events, deadlines, stdin, retention, and
 * null mode's synthetic processes. Real ones run in emu_exec.c. */
#include "emu_proc.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_stream.h"

#define PROC_RETAIN_S 30.0

static unsigned pid_slot(uint32_t pid) {
  return pid % EMU_HASH_SIZE;
}

struct emu_proc *emu_proc_find(struct emu_sandbox *sb, uint32_t pid, const char *tag) {
  if (tag) {
    for (struct emu_proc *p = sb->procs; p; p = p->sb_next)
      if (p->pid && p->tag && strcmp(p->tag, tag) == 0) return p;
    return NULL;
  }
  for (struct emu_proc *p = sb->app->proc_hash[pid_slot(pid)]; p; p = p->hnext)
    if (p->pid == pid) return p->sb == sb ? p : NULL;
  return NULL;
}

static void unlink_pid(struct emu_proc *p) {
  struct emu_proc **pp = &p->app->proc_hash[pid_slot(p->pid)];
  while (*pp && *pp != p)
    pp = &(*pp)->hnext;
  if (*pp) *pp = p->hnext;
  p->hnext = NULL;
}

static void unlink_sb(struct emu_proc *p) {
  if (!p->sb) return;
  if (p->sb_prev)
    p->sb_prev->sb_next = p->sb_next;
  else
    p->sb->procs = p->sb_next;
  if (p->sb_next) p->sb_next->sb_prev = p->sb_prev;
  p->sb_prev = p->sb_next = NULL;
}

void emu_proc_free(struct emu_proc *p) {
  struct ev_loop *loop = p->app->loop;
  if (!p->exited && p->sb) p->app->n_procs_live--;
  unlink_pid(p);
  unlink_sb(p);
  ev_timer_stop(loop, &p->deadline);
  ev_timer_stop(loop, &p->work);
  json_decref(p->config);
  free(p->tag);
  free(p);
}

void emu_proc_subscribe(struct emu_proc *p, struct emu_stream *st) {
  st->proc = p;
  st->next_sub = p->subs;
  p->subs = st;
}

void emu_proc_unsubscribe(struct emu_proc *p, struct emu_stream *st) {
  struct emu_stream **pp = &p->subs;
  while (*pp && *pp != st)
    pp = &(*pp)->next_sub;
  if (*pp) *pp = st->next_sub;
  if (p->starter == st) p->starter = NULL;
  st->proc = NULL;
  st->next_sub = NULL;
}

/* Send one message to every subscriber; a stream may vanish meanwhile. */
static void broadcast(struct emu_proc *p, const char *json) {
  struct emu_stream *st = p->subs;
  while (st) {
    struct emu_stream *next = st->next_sub;
    emu_stream_send(st, json);
    st = next;
  }
}

int emu_proc_send_start(struct emu_stream *st, uint32_t pid) {
  char msg[64];
  snprintf(msg, sizeof msg, "{\"event\":{\"start\":{\"pid\":%u}}}", pid);
  return emu_stream_send(st, msg);
}

void emu_proc_set_signal(struct emu_proc *p, const char *name) {
  size_t i = 0;
  for (; name && name[i] && i + 1 < sizeof p->signame; i++)
    p->signame[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
  p->signame[i] = '\0';
  p->signaled = 1;
}

char *emu_proc_end_json(const struct emu_proc *p) {
  struct emu_buf b = {0};
  int rc;
  if (p->signaled) {
    rc = emu_buf_printf(&b,
                        "{\"event\":{\"end\":{\"exitCode\":-1,\"status\":\"signal: %s\","
                        "\"error\":\"signal: %s\"}}}",
                        p->signame, p->signame);
  } else if (p->exit_code == 0) {
    rc = emu_buf_printf(&b, "{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit status 0\"}}}");
  } else {
    rc = emu_buf_printf(&b,
                        "{\"event\":{\"end\":{\"exitCode\":%d,\"exited\":true,"
                        "\"status\":\"exit status %d\",\"error\":\"exit status %d\"}}}",
                        p->exit_code, p->exit_code, p->exit_code);
  }
  if (rc < 0) {
    emu_buf_free(&b);
    return NULL;
  }
  return b.data;
}

static void retain_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  emu_proc_free(w->data);
}

/* The process is over: end every stream, keep the record for Connect. */
void emu_proc_finish(struct emu_proc *p) {
  if (p->exited) return;
  p->exited = 1;
  p->app->n_procs_live--;
  struct ev_loop *loop = p->app->loop;
  ev_timer_stop(loop, &p->deadline);
  ev_timer_stop(loop, &p->work);
  char *end = emu_proc_end_json(p);
  while (p->subs) {
    struct emu_stream *st = p->subs;
    emu_proc_unsubscribe(p, st);
    if (!end) {
      emu_stream_finish(st, "internal", "out of memory");
    } else if (emu_stream_send(st, end) == 0) {
      emu_stream_finish(st, NULL, NULL);
    }
  }
  free(end);
  json_decref(p->config); /* List shows live processes only */
  p->config = NULL;
  ev_timer_init(&p->work, retain_cb, PROC_RETAIN_S, 0.);
  p->work.data = p;
  ev_timer_start(loop, &p->work);
}

/* ---- output and start ---- */

void emu_proc_output(struct emu_proc *p, const char *stream, const char *data, size_t len) {
  char *b64 = emu_b64_encode(data, len, NULL);
  struct emu_buf b = {0};
  if (b64 && emu_buf_printf(&b, "{\"event\":{\"data\":{\"%s\":\"%s\"}}}", stream, b64) == 0)
    broadcast(p, b.data);
  emu_buf_free(&b);
  free(b64);
}

/* The pid is known: index it and tell the subscribers (the Start stream). */
void emu_proc_started(struct emu_proc *p, uint32_t pid) {
  struct emu_app *app = p->app;
  p->pid = pid;
  for (struct emu_proc *q = app->proc_hash[pid_slot(pid)]; q; q = q->hnext)
    if (q->pid == pid && q->exited) { /* a retained record with a reused pid */
      emu_proc_free(q);
      break;
    }
  unsigned s = pid_slot(pid);
  p->hnext = app->proc_hash[s];
  app->proc_hash[s] = p;
  struct emu_stream *st = p->subs;
  while (st) {
    struct emu_stream *next = st->next_sub;
    emu_proc_send_start(st, pid); /* a faulted stream may be gone now; the process lives on */
    st = next;
  }
}

/* ---- deadlines and signals ---- */

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct emu_proc *p = w->data;
  if (p->starter) {
    struct emu_stream *st = p->starter;
    emu_proc_unsubscribe(p, st);
    emu_stream_finish(st, "deadline_exceeded", "context deadline exceeded");
  }
  emu_proc_signal(p, SIGKILL);
}

int emu_proc_signal(struct emu_proc *p, int sig) {
  if (p->exited) return -1;
  if (!p->app->exec_null) {
    emu_exec_signal(p, sig);
    return 0;
  }
  /* null mode: a synthetic process dies at once */
  emu_proc_set_signal(p, strsignal(sig));
  emu_proc_finish(p);
  return 0;
}

void emu_procs_sandbox_gone(struct emu_sandbox *sb) {
  while (sb->procs) {
    struct emu_proc *p = sb->procs;
    while (p->subs) {
      struct emu_stream *st = p->subs;
      emu_proc_unsubscribe(p, st);
      emu_stream_finish(st, "unavailable", "The sandbox was not found");
    }
    if (!p->op) {
      emu_proc_free(p);
      continue;
    }
    /* Its exec op is live: the local kill ends it, then it is freed. */
    if (!p->exited) p->app->n_procs_live--;
    p->exited = 1;
    ev_timer_stop(p->app->loop, &p->deadline);
    ev_timer_stop(p->app->loop, &p->work);
    unlink_pid(p);
    unlink_sb(p);
    p->sb = NULL;
  }
}

/* ---- stdin ---- */

int emu_proc_input(struct emu_proc *p, const void *data, size_t len, const char **why) {
  if (p->exited) {
    *why = "process has exited";
    return -1;
  }
  if (p->app->exec_null) return 0; /* null mode swallows input */
  if (!p->want_stdin || p->stdin_closed) {
    *why = "stdin is not open for this process";
    return -1;
  }
  emu_exec_input(p, data, len);
  return 0;
}

int emu_proc_close_stdin(struct emu_proc *p, const char **why) {
  if (p->exited) {
    *why = "process has exited";
    return -1;
  }
  if (!p->want_stdin || p->stdin_closed) return 0;
  p->stdin_closed = 1;
  emu_exec_close_stdin(p);
  return 0;
}

/* ---- start ---- */

struct emu_proc *emu_proc_start(struct emu_sandbox *sb, const struct emu_proc_spec *spec,
                                json_t *config, const char **why) {
  struct emu_app *app = sb->app;
  struct emu_proc *p = calloc(1, sizeof *p);
  if (!p || (spec->tag && !(p->tag = strdup(spec->tag)))) {
    free(p);
    json_decref(config);
    *why = "out of memory";
    return NULL;
  }
  p->app = app;
  p->sb = sb;
  p->config = config;
  p->want_stdin = spec->want_stdin;
  ev_timer_init(&p->deadline, deadline_cb, 0., 0.);
  p->deadline.data = p;
  ev_timer_init(&p->work, retain_cb, 0., 0.);
  p->work.data = p;
  p->sb_next = sb->procs;
  if (sb->procs) sb->procs->sb_prev = p;
  sb->procs = p;
  app->n_procs_live++;
  if (app->exec_null) {
    emu_proc_started(p, app->next_null_pid++);
    if (app->next_null_pid == 0) app->next_null_pid = 1000;
  } else if (emu_exec_start(p, spec, why) < 0) {
    emu_proc_free(p);
    return NULL;
  }
  if (spec->timeout_ms > 0) {
    ev_timer_set(&p->deadline, (double)spec->timeout_ms / 1000.0, 0.);
    ev_timer_start(app->loop, &p->deadline);
  }
  return p;
}

/* ---- null mode: a tiny interpreter for sleep / echo / exit ---- */

static void null_sleep_done(struct ev_loop *loop, ev_timer *w, int revents) {
  emu_proc_finish(w->data);
}

static const char *null_script(const struct emu_proc *p) {
  json_t *args = json_object_get(p->config, "args");
  size_t n = json_array_size(args);
  for (size_t i = 0; i + 1 < n; i++) {
    const char *a = json_string_value(json_array_get(args, i));
    if (a && strcmp(a, "-c") == 0) return json_string_value(json_array_get(args, i + 1));
  }
  return json_string_value(json_object_get(p->config, "cmd"));
}

void emu_proc_run_null(struct emu_proc *p) {
  const char *s = null_script(p);
  if (!s) s = "";
  while (*s == ' ')
    s++;
  if (strncmp(s, "sleep ", 6) == 0) {
    char *end = NULL;
    double secs = strtod(s + 6, &end);
    if (end != s + 6 && secs > 0 && secs < 1e7) {
      ev_timer_init(&p->work, null_sleep_done, secs, 0.);
      p->work.data = p;
      ev_timer_start(p->app->loop, &p->work);
      return;
    }
  } else if (strncmp(s, "echo ", 5) == 0 || strcmp(s, "echo") == 0) {
    const char *text = s[4] ? s + 5 : "";
    size_t n = strlen(text);
    char *line = malloc(n + 2);
    if (line) {
      memcpy(line, text, n);
      line[n] = '\n';
      emu_proc_output(p, "stdout", line, n + 1);
      free(line);
    }
  } else if (strncmp(s, "exit ", 5) == 0) {
    p->exit_code = atoi(s + 5) & 255;
  }
  emu_proc_finish(p);
}
