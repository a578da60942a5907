/* emu_proc.c - processes of emulated sandboxes: the process table, output
 * fan-out to streams, exit and end events, deadlines, stdin, retention. */
#include "emu_proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu_spawn.h"
#include "emu_stream.h"

#define PROC_RETAIN_S 30.0
#define PROC_READ_CHUNK 32768

static unsigned pid_slot(uint32_t pid) {
  return pid % EMU_HASH_SIZE;
}

struct emu_proc *emu_proc_find(struct emu_sandbox *sb, uint32_t pid, const char *tag) {
  if (tag) {
    for (struct emu_proc *p = sb->procs; p; p = p->sb_next)
      if (p->tag && strcmp(p->tag, tag) == 0) return p;
    return NULL;
  }
  for (struct emu_proc *p = sb->app->proc_hash[pid_slot(pid)]; p; p = p->hnext)
    if (p->pid == pid) return p->sb == sb ? p : NULL;
  return NULL;
}

static void proc_unlink(struct emu_proc *p) {
  struct emu_app *app = p->app;
  struct emu_proc **pp = &app->proc_hash[pid_slot(p->pid)];
  while (*pp && *pp != p)
    pp = &(*pp)->hnext;
  if (*pp) *pp = p->hnext;
  if (p->sb_prev)
    p->sb_prev->sb_next = p->sb_next;
  else
    p->sb->procs = p->sb_next;
  if (p->sb_next) p->sb_next->sb_prev = p->sb_prev;
}

static void close_fd(struct emu_proc *p, int *fd, ev_io *w) {
  if (*fd < 0) return;
  ev_io_stop(p->app->loop, w);
  close(*fd);
  *fd = -1;
}

static void proc_free(struct emu_proc *p) {
  struct ev_loop *loop = p->app->loop;
  if (!p->exited) p->app->n_procs_live--;
  proc_unlink(p);
  ev_timer_stop(loop, &p->deadline);
  ev_timer_stop(loop, &p->work);
  if (p->child_running) ev_child_stop(loop, &p->child);
  close_fd(p, &p->out_fd, &p->out_io);
  close_fd(p, &p->err_fd, &p->err_io);
  close_fd(p, &p->in_fd, &p->in_io);
  emu_buf_free(&p->in_pending);
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

char *emu_proc_end_json(const struct emu_proc *p) {
  struct emu_buf b = {0};
  int rc;
  if (p->signaled) {
    char name[48];
    const char *s = strsignal(p->sig);
    size_t i = 0;
    for (; s && s[i] && i + 1 < sizeof name; i++)
      name[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    name[i] = '\0';
    rc = emu_buf_printf(&b,
                        "{\"event\":{\"end\":{\"exitCode\":-1,\"status\":\"signal: %s\","
                        "\"error\":\"signal: %s\"}}}",
                        name, name);
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
  proc_free(w->data);
}

/* The process is over: end every stream, keep the record for Connect. */
static void proc_finish(struct emu_proc *p) {
  if (p->exited) return;
  p->exited = 1;
  p->app->n_procs_live--;
  struct ev_loop *loop = p->app->loop;
  ev_timer_stop(loop, &p->deadline);
  ev_timer_stop(loop, &p->work);
  close_fd(p, &p->in_fd, &p->in_io);
  emu_buf_free(&p->in_pending);
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

/* ---- output pipes ---- */

static void send_output(struct emu_proc *p, const char *stream, const char *data, size_t len) {
  char *b64 = emu_b64_encode(data, len, NULL);
  struct emu_buf b = {0};
  if (b64 && emu_buf_printf(&b, "{\"event\":{\"data\":{\"%s\":\"%s\"}}}", stream, b64) == 0)
    broadcast(p, b.data);
  emu_buf_free(&b);
  free(b64);
}

/* Read once (or until dry when drain). 1 when the pipe reached EOF. */
static int pump(struct emu_proc *p, int *fd, ev_io *w, const char *stream, int drain) {
  char buf[PROC_READ_CHUNK];
  while (*fd >= 0) {
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n > 0) {
      send_output(p, stream, buf, (size_t)n);
      if (!drain) return 0;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    close_fd(p, fd, w);
    return 1;
  }
  return 1;
}

static void out_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct emu_proc *p = w->data;
  pump(p, &p->out_fd, &p->out_io, "stdout", 0);
}

static void err_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct emu_proc *p = w->data;
  pump(p, &p->err_fd, &p->err_io, "stderr", 0);
}

static void child_cb(struct ev_loop *loop, ev_child *w, int revents) {
  struct emu_proc *p = w->data;
  ev_child_stop(loop, w);
  p->child_running = 0;
  int status = w->rstatus;
  if (WIFSIGNALED(status)) {
    p->signaled = 1;
    p->sig = WTERMSIG(status);
  } else {
    p->exit_code = WEXITSTATUS(status);
    /* bubblewrap reports a signal death of its child as 128 + signal */
    if (p->app->use_bwrap && p->exit_code > 128 && p->exit_code <= 128 + 64 &&
        (p->exit_code - 128 == SIGKILL || p->exit_code - 128 == SIGTERM)) {
      p->signaled = 1;
      p->sig = p->exit_code - 128;
    }
  }
  /* output written before the exit is already in the pipes */
  pump(p, &p->out_fd, &p->out_io, "stdout", 1);
  pump(p, &p->err_fd, &p->err_io, "stderr", 1);
  close_fd(p, &p->out_fd, &p->out_io);
  close_fd(p, &p->err_fd, &p->err_io);
  proc_finish(p);
}

static void in_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct emu_proc *p = w->data;
  while (p->in_pending.len > 0) {
    ssize_t n = write(p->in_fd, p->in_pending.data, p->in_pending.len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) { /* the reader is gone */
      emu_buf_free(&p->in_pending);
      close_fd(p, &p->in_fd, &p->in_io);
      return;
    }
    emu_buf_consume(&p->in_pending, (size_t)n);
  }
  ev_io_stop(loop, w);
  if (p->in_close_pending) close_fd(p, &p->in_fd, &p->in_io);
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
  if (p->pgid > 0) return kill(-p->pgid, sig);
  /* null mode: a synthetic process dies at once */
  p->signaled = 1;
  p->sig = sig;
  proc_finish(p);
  return 0;
}

void emu_procs_sandbox_signal(struct emu_sandbox *sb, int sig) {
  for (struct emu_proc *p = sb->procs; p; p = p->sb_next)
    if (!p->exited && p->pgid > 0) kill(-p->pgid, sig);
}

void emu_procs_sandbox_gone(struct emu_sandbox *sb) {
  while (sb->procs) {
    struct emu_proc *p = sb->procs;
    if (!p->exited && p->pgid > 0) {
      kill(-p->pgid, SIGCONT); /* a stopped group must wake up to die */
      kill(-p->pgid, SIGKILL);
    }
    while (p->subs) {
      struct emu_stream *st = p->subs;
      emu_proc_unsubscribe(p, st);
      emu_stream_finish(st, "unavailable", "The sandbox was not found");
    }
    proc_free(p);
  }
}

/* ---- stdin ---- */

int emu_proc_input(struct emu_proc *p, const void *data, size_t len, const char **why) {
  if (p->exited) {
    *why = "process has exited";
    return -1;
  }
  if (p->pgid == 0) return 0; /* null mode swallows input */
  if (p->in_fd < 0 || p->in_close_pending) {
    *why = "stdin is not open for this process";
    return -1;
  }
  if (emu_buf_add(&p->in_pending, data, len) < 0) {
    *why = "out of memory";
    return -1;
  }
  in_cb(p->app->loop, &p->in_io, 0);
  if (p->in_pending.len > 0 && p->in_fd >= 0) ev_io_start(p->app->loop, &p->in_io);
  return 0;
}

int emu_proc_close_stdin(struct emu_proc *p, const char **why) {
  if (p->exited) {
    *why = "process has exited";
    return -1;
  }
  if (p->in_fd < 0) return 0;
  p->in_close_pending = 1;
  if (p->in_pending.len == 0) close_fd(p, &p->in_fd, &p->in_io);
  return 0;
}

/* ---- start ---- */

static void link_proc(struct emu_sandbox *sb, struct emu_proc *p) {
  struct emu_app *app = sb->app;
  struct emu_proc *old = emu_proc_find(sb, p->pid, NULL);
  if (!old) /* a pid reused in another sandbox */
    for (struct emu_proc *q = app->proc_hash[pid_slot(p->pid)]; q; q = q->hnext)
      if (q->pid == p->pid) old = q;
  if (old && old->exited) proc_free(old); /* a retained record with a reused pid */
  unsigned s = pid_slot(p->pid);
  p->hnext = app->proc_hash[s];
  app->proc_hash[s] = p;
  p->sb_next = sb->procs;
  if (sb->procs) sb->procs->sb_prev = p;
  sb->procs = p;
  app->n_procs_live++;
}

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
  p->out_fd = p->err_fd = p->in_fd = -1;
  ev_timer_init(&p->deadline, deadline_cb, 0., 0.);
  p->deadline.data = p;
  ev_timer_init(&p->work, retain_cb, 0., 0.);
  p->work.data = p;
  if (app->exec_null) {
    p->pid = app->next_null_pid++;
    if (app->next_null_pid == 0) app->next_null_pid = 1000;
  } else {
    struct emu_spawned sp;
    if (emu_spawn(app, sb, spec, &sp, why) < 0) {
      json_decref(config);
      free(p->tag);
      free(p);
      return NULL;
    }
    p->pid = (uint32_t)sp.pid;
    p->pgid = sp.pid;
    p->out_fd = sp.out_fd;
    p->err_fd = sp.err_fd;
    p->in_fd = sp.in_fd;
    ev_io_init(&p->out_io, out_cb, p->out_fd, EV_READ);
    ev_io_init(&p->err_io, err_cb, p->err_fd, EV_READ);
    ev_io_init(&p->in_io, in_cb, p->in_fd, EV_WRITE);
    p->out_io.data = p->err_io.data = p->in_io.data = p;
    ev_io_start(app->loop, &p->out_io);
    ev_io_start(app->loop, &p->err_io);
    ev_child_init(&p->child, child_cb, sp.pid, 0);
    p->child.data = p;
    ev_child_start(app->loop, &p->child);
    p->child_running = 1;
    if (sb->state == EMU_SB_PAUSED) kill(-p->pgid, SIGSTOP);
  }
  link_proc(sb, p);
  if (spec->timeout_ms > 0) {
    ev_timer_set(&p->deadline, (double)spec->timeout_ms / 1000.0, 0.);
    ev_timer_start(app->loop, &p->deadline);
  }
  return p;
}

/* ---- null mode: a tiny interpreter for sleep / echo / exit ---- */

static void null_sleep_done(struct ev_loop *loop, ev_timer *w, int revents) {
  proc_finish(w->data);
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
      send_output(p, "stdout", line, n + 1);
      free(line);
    }
  } else if (strncmp(s, "exit ", 5) == 0) {
    p->exit_code = atoi(s + 5) & 255;
  }
  proc_finish(p);
}
