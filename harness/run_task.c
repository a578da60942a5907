/* run_task.c - one task of `sbx run` as an explicit state machine:
 *
 *   QUEUED -> CREATING -> UPLOADING -> EXECUTING -> [LISTING] -> DOWNLOADING
 *          -> KILL_WAIT -> KILLING -> DONE, or -> BACKOFF -> QUEUED (retry)
 *
 * Each state has one step function that starts that state's next op; op
 * callbacks record the outcome and move the task with set_state(). Every
 * transition is checked against the table and traced (sbx -vv run, or
 * SBX_TRACE=1). A task owns at most one op at a time. */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "run.h"

static const char *const state_names[RT_NSTATES] = {
    "queued",      "backoff", "reconciling", "creating",  "uploading", "executing",
    "reattaching", "listing", "downloading", "kill_wait", "killing",   "done"};

const char *run_state_name(enum run_state s) {
  return s < RT_NSTATES ? state_names[s] : "?";
}

/* Allowed transitions: bit (1 << to) in allowed[from]. */
#define B(s) (1u << (s))
static const unsigned allowed[RT_NSTATES] = {
    [RT_QUEUED] = B(RT_CREATING) | B(RT_DONE),
    [RT_BACKOFF] = B(RT_QUEUED) | B(RT_RECONCILING) | B(RT_DONE),
    [RT_RECONCILING] = B(RT_QUEUED) | B(RT_DONE),
    [RT_CREATING] = B(RT_UPLOADING) | B(RT_BACKOFF) | B(RT_DONE) | B(RT_KILL_WAIT),
    [RT_UPLOADING] = B(RT_UPLOADING) | B(RT_EXECUTING) | B(RT_KILL_WAIT),
    [RT_EXECUTING] =
        B(RT_EXECUTING) | B(RT_REATTACHING) | B(RT_LISTING) | B(RT_DOWNLOADING) | B(RT_KILL_WAIT),
    [RT_REATTACHING] = B(RT_EXECUTING) | B(RT_REATTACHING) | B(RT_KILL_WAIT),
    [RT_LISTING] = B(RT_DOWNLOADING) | B(RT_LISTING) | B(RT_KILL_WAIT),
    [RT_DOWNLOADING] = B(RT_DOWNLOADING) | B(RT_LISTING) | B(RT_KILL_WAIT),
    [RT_KILL_WAIT] = B(RT_KILLING),
    [RT_KILLING] = B(RT_KILLING) | B(RT_BACKOFF) | B(RT_DONE),
    [RT_DONE] = 0,
};
#undef B

static int phase_of(enum run_state s) {
  switch (s) {
  case RT_QUEUED:
  case RT_BACKOFF:
  case RT_RECONCILING: return PH_QUEUE;
  case RT_CREATING: return PH_CREATE;
  case RT_UPLOADING: return PH_UPLOAD;
  case RT_EXECUTING:
  case RT_REATTACHING: return PH_COMMANDS;
  case RT_LISTING:
  case RT_DOWNLOADING: return PH_DOWNLOAD;
  case RT_KILL_WAIT:
  case RT_KILLING: return PH_KILL;
  default: return -1;
  }
}

static void step(struct run_task *t);

static void set_state(struct run_task *t, enum run_state to) {
  struct run *r = t->run;
  enum run_state from = t->state;
  if (!(allowed[from] & (1u << to))) {
    /* A programming error: say so loudly rather than corrupt the counts. */
    fprintf(stderr, "sbx: run: task %s: bad transition %s -> %s\n", t->spec->id,
            run_state_name(from), run_state_name(to));
    abort();
  }
  double now = ev_now(r->loop);
  int ph = phase_of(from);
  if (ph >= 0) t->phase_ms[ph] += (now - t->entered) * 1e3;
  t->entered = now;
  t->state = to;
  if (r->cli->trace || r->cli->verbose >= 2)
    fprintf(stderr, "sbx: run: task %s: %s -> %s\n", t->spec->id, run_state_name(from),
            run_state_name(to));
  step(t);
}

/* ---- errors ---------------------------------------------------------------- */

static enum run_eclass classify(const sbx_error *e) {
  /* a 5xx reply says the server failed, whatever the library mapped it to
   * (a create that got one may or may not exist: the sweep has it) */
  if (e->http_status >= 500 && e->code != SBX_ENOTFOUND) return RE_SERVER;
  switch (e->code) {
  case SBX_ETRANSPORT:
  case SBX_ETIMEDOUT: return RE_TRANSIENT;
  case SBX_EUNAVAIL: return RE_SERVER;
  case SBX_EHTTP: return e->http_status >= 500 ? RE_SERVER : RE_CONFIG;
  case SBX_ERATELIMIT: return RE_RATELIMIT;
  case SBX_ENOTFOUND: return RE_LOST;
  case SBX_EPROTO: return RE_PROTOCOL;
  case SBX_EAUTH: return RE_AUTH;
  case SBX_EIO: return RE_LOCAL;
  case SBX_ETOOBIG: return RE_TOOBIG;
  case SBX_ECANCELED:
  case SBX_ECLOSED: return RE_CANCELLED;
  case SBX_EPROVIDER: return e->retryable ? RE_SERVER : RE_CONFIG;
  default: return RE_CONFIG;
  }
}

static int retryable_class(enum run_eclass c) {
  return c == RE_TRANSIENT || c == RE_SERVER || c == RE_RATELIMIT || c == RE_LOST ||
         c == RE_PROTOCOL;
}

static void set_error(struct run_task *t, enum run_eclass c, const char *what, const char *msg) {
  free(t->error);
  t->eclass = c;
  t->error = cli_xasprintf("%s: %s", what, msg && *msg ? msg : "failed");
}

static void set_op_error(struct run_task *t, const char *what, const sbx_error *e) {
  set_error(t, classify(e), what, e->message && *e->message ? e->message : sbx_strerror(e->code));
}

/* An op failed (or was cancelled): the sandbox goes, then the task either
 * waits for another attempt or ends. */
static void go_kill_or_end(struct run_task *t) {
  if (t->sandbox)
    set_state(t, RT_KILL_WAIT);
  else if (t->state == RT_CREATING && !t->cancelled && !t->timed_out &&
           retryable_class(t->eclass) && t->tries <= t->run->o.retries && !t->run->stopping)
    set_state(t, RT_BACKOFF);
  else
    set_state(t, RT_DONE);
}

/* The op was cancelled by the task timeout or a signal: record why. */
static void note_cancel(struct run_task *t) {
  if (t->timed_out) {
    t->status = RS_TIMEOUT;
    set_error(t, RE_TIMEOUT, "task", "timed out");
  } else {
    t->status = RS_CANCELLED;
    set_error(t, RE_CANCELLED, "task", "cancelled by a signal");
  }
}

/* At the start of a step: a timeout or signal came between two ops. */
static int stopped(struct run_task *t) {
  if (!t->cancelled) return 0;
  note_cancel(t);
  set_state(t, RT_KILL_WAIT);
  return 1;
}

static int op_failed(struct run_task *t, const char *what, const sbx_error *e) {
  t->op = 0;
  if (!e) return 0;
  if (t->cancelled && (e->code == SBX_ECANCELED || e->code == SBX_ECLOSED))
    note_cancel(t);
  else
    set_op_error(t, what, e);
  go_kill_or_end(t);
  return 1;
}

/* A start call refused at once (no callback follows). */
static void start_failed(struct run_task *t, const char *what, sbx_status st) {
  t->op = 0;
  const char *why = sbx_last_error(t->run->c);
  set_error(t, st == SBX_ENOMEM ? RE_LOCAL : RE_CONFIG, what, *why ? why : sbx_strerror(st));
  go_kill_or_end(t);
}

/* ---- the task timeout ------------------------------------------------------ */

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct run_task *t = w->data;
  if (t->state == RT_BACKOFF) {
    set_state(t, t->create_unknown ? RT_RECONCILING : RT_QUEUED);
    return;
  }
  /* The task timeout: stop the op in flight; its callback moves on. */
  t->timed_out = 1;
  t->cancelled = 1;
  if (t->op) sbx_cancel(t->run->c, t->op);
}

/* ---- steps ---------------------------------------------------------------- */

static void create_cb(sbx_client *c, sbx_op_id op, const sbx_error *err,
                      const sbx_sandbox_info *info, void *ud) {
  struct run_task *t = ud;
  struct run *r = t->run;
  r->n_starting--;
  if (!err) {
    t->sandbox = cli_xstrdup(info->id);
    free(t->last_sandbox);
    t->last_sandbox = cli_xstrdup(info->id);
    r->n_live++;
    t->live_since = ev_now(r->loop);
    run_journal_event(r, "created", t, t->sandbox);
  }
  run_sched_changed(r);
  /* A 429 or a 503 was refused before anything was made; after other
   * failures the sandbox may exist: reconcile by label before retrying. */
  t->create_unknown = err && err->code != SBX_ERATELIMIT && err->code != SBX_EUNAVAIL &&
                      err->code != SBX_EAUTH && err->code != SBX_EINVAL;
  if (op_failed(t, "create", err)) return;
  t->op = 0;
  if (stopped(t)) return;
  t->step = 0;
  set_state(t, RT_UPLOADING);
}

static void step_creating(struct run_task *t) {
  struct run *r = t->run;
  const struct run_spec *s = t->spec;
  t->attempt++;
  t->tries++;
  r->n_starting++;
  run_journal_event(r, "intent", t, NULL);
  /* labels: the task's own plus the three the runner reconciles by */
  size_t nm = s->n_labels + 3, ne = s->n_env + s->n_secret;
  sbx_kv *meta = cli_xmalloc(nm * sizeof *meta), *envs = cli_xmalloc((ne + 1) * sizeof *envs);
  char attempt[16];
  snprintf(attempt, sizeof attempt, "%d", t->attempt);
  meta[0] = (sbx_kv){"sbx.run", r->j.run_id};
  meta[1] = (sbx_kv){"sbx.task", s->id};
  meta[2] = (sbx_kv){"sbx.attempt", attempt};
  for (size_t i = 0; i < s->n_labels; i++)
    meta[3 + i] = s->labels[i];
  for (size_t i = 0; i < s->n_env; i++)
    envs[i] = s->env[i];
  for (size_t i = 0; i < s->n_secret; i++) {
    const char *v = getenv(s->secret_from[i]);
    envs[s->n_env + i] = (sbx_kv){s->secret_names[i], v ? v : ""};
  }
  sbx_create_opts o;
  sbx_create_opts_init(&o);
  o.template_id = s->snapshot ? s->snapshot : s->template_id; /* daytona: a snapshot name */
  o.image = s->image;
  o.cpu = s->cpu;
  o.memory_gb = (s->memory_mb + 1023) / 1024;
  o.disk_gb = s->disk_gb;
  o.timeout_s = s->lifetime_s ? s->lifetime_s : r->o.backstop_s;
  o.metadata = meta;
  o.n_metadata = nm;
  o.envs = envs;
  o.n_envs = ne;
  if (s->network != RUN_NET_DEFAULT) o.allow_internet = s->network == RUN_NET_ALLOW;
  o.allow_out = (const char *const *)s->allow_out;
  o.n_allow_out = s->n_allow_out;
  o.deny_out = (const char *const *)s->deny_out;
  o.n_deny_out = s->n_deny_out;
  sbx_status st = sbx_sandbox_create(r->c, &o, create_cb, t, &t->op);
  free(meta);
  free(envs);
  if (st != SBX_OK) {
    r->n_starting--;
    start_failed(t, "create", st);
    return;
  }
  if (s->timeout_s > 0) {
    ev_timer_stop(r->loop, &t->timer);
    ev_timer_set(&t->timer, (double)s->timeout_s, 0.);
    ev_timer_start(r->loop, &t->timer);
  }
}

static void upload_cb(sbx_client *c, sbx_op_id op, const sbx_error *err,
                      const sbx_file_entry *entries, size_t n, void *ud) {
  struct run_task *t = ud;
  if (op_failed(t, "upload", err)) return;
  t->step += t->batch;
  set_state(t, RT_UPLOADING);
}

/* Small files travel together (one request on E2B); a large one alone,
 * streamed from disk. */
#define BATCH_FILE_MAX (256u << 10)
#define BATCH_BYTES_MAX (8u << 20)
#define BATCH_FILES_MAX 256

static size_t upload_size(const struct run_upload *u) {
  struct stat st;
  if (!u->local) return u->content_len;
  return stat(u->local, &st) == 0 ? (size_t)st.st_size : SIZE_MAX;
}

static sbx_upload as_upload(const struct run_upload *u) {
  sbx_upload up = {.path = u->path, .local_path = u->local};
  if (!u->local) {
    up.data = u->content;
    up.len = u->content_len;
  }
  return up;
}

static void step_uploading(struct run_task *t) {
  if (stopped(t)) return;
  const struct run_spec *s = t->spec;
  if (t->step >= s->n_uploads) {
    t->step = 0;
    set_state(t, RT_EXECUTING);
    return;
  }
  size_t n = 0, bytes = 0, sz;
  while (t->step + n < s->n_uploads && n < BATCH_FILES_MAX &&
         (sz = upload_size(&s->uploads[t->step + n])) <= BATCH_FILE_MAX &&
         bytes + sz <= BATCH_BYTES_MAX) {
    bytes += sz;
    n++;
  }
  sbx_status st;
  if (n >= 2) {
    sbx_upload *ups = cli_xmalloc(n * sizeof *ups);
    for (size_t i = 0; i < n; i++)
      ups[i] = as_upload(&s->uploads[t->step + i]);
    t->batch = n;
    st = sbx_file_write_many(t->run->c, t->sandbox, ups, n, upload_cb, t, &t->op);
    free(ups);
  } else {
    sbx_upload up = as_upload(&s->uploads[t->step]);
    t->batch = 1;
    st = sbx_file_write(t->run->c, t->sandbox, &up, upload_cb, t, &t->op);
  }
  if (st != SBX_OK) start_failed(t, "upload", st);
}

static void exec_output(sbx_client *c, sbx_op_id op, int fd, const char *data, size_t len,
                        void *ud) {
  struct run_task *t = ud;
  struct run_cmd_result *cr = &t->cmds[t->step];
  run_tail_append(fd == SBX_STDERR ? &cr->err : &cr->out, data, len);
}

static void exec_done(sbx_client *c, sbx_op_id op, const sbx_error *err, const sbx_exec_result *res,
                      void *ud) {
  struct run_task *t = ud;
  struct run_cmd_result *cr = &t->cmds[t->step];
  cr->ms = (ev_now(t->run->loop) - t->entered) * 1e3;
  if (t->cancelled) {
    /* the command ran until the task timeout or a signal stopped it */
    t->op = 0;
    cr->ran = 1;
    cr->exit_code = -1;
    free(cr->status);
    cr->status = cli_xstrdup(t->timed_out ? "stopped: task timeout" : "stopped: signal");
    note_cancel(t);
    go_kill_or_end(t);
    return;
  }
  if (!res) {
    static const sbx_error none = {.code = SBX_EPROTO, .message = "no exit status"};
    if (!err) err = &none;
    enum run_eclass ec = classify(err);
    /* The stream broke, not the process: it still runs in the sandbox, so
     * reattach by pid instead of running the whole task again. */
    if (cr->pid && cr->reattached < 3 && (ec == RE_TRANSIENT || ec == RE_SERVER)) {
      t->op = 0;
      cr->reattached++;
      set_state(t, RT_REATTACHING);
      return;
    }
    op_failed(t, "command", err);
    return;
  }
  t->op = 0;
  const struct run_command *cmd = &t->spec->cmds[t->step];
  cr->ran = 1;
  cr->exit_code = res->exit_code;
  free(cr->status);
  cr->status = cli_xstrdup(res->status ? res->status : "");
  if (!(res->exited && res->exit_code == 0) && cmd->on_failure != RUN_FAIL_IGNORE) {
    t->status = RS_FAILED;
    if (cmd->on_failure == RUN_FAIL_STOP) t->stop_cmds = 1;
  }
  t->step++;
  set_state(t, RT_EXECUTING);
}

static void exec_started(sbx_client *c, sbx_op_id op, uint32_t pid, void *ud) {
  struct run_task *t = ud;
  t->cmds[t->step].pid = pid;
}

static const sbx_exec_cbs exec_cbs = {
    .on_start = exec_started, .on_output = exec_output, .on_done = exec_done};

static void start_artifacts(struct run_task *t);

static void step_executing(struct run_task *t) {
  if (stopped(t)) return;
  if (t->step >= t->spec->n_cmds || t->stop_cmds) {
    start_artifacts(t);
    return;
  }
  const struct run_command *cmd = &t->spec->cmds[t->step];
  struct run_cmd_result *cr = &t->cmds[t->step];
  run_tail_free(&cr->out);
  run_tail_free(&cr->err);
  cr->out.cap = cr->err.cap = t->run->o.tail_bytes;
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.cmd = cmd->run;
  o.cwd = cmd->cwd;
  o.envs = cmd->env;
  o.n_envs = cmd->n_env;
  o.timeout_ms = cmd->timeout_s * 1000;
  t->entered = ev_now(t->run->loop);
  sbx_status st = sbx_exec_start(t->run->c, t->sandbox, &o, &exec_cbs, t, &t->op);
  if (st != SBX_OK) start_failed(t, "command", st);
}

static void step_reattaching(struct run_task *t) {
  if (stopped(t)) return;
  uint32_t pid = t->cmds[t->step].pid;
  sbx_status st = sbx_exec_connect(t->run->c, t->sandbox, pid, &exec_cbs, t, &t->op);
  if (st != SBX_OK) start_failed(t, "command", st);
}

/* ---- artifacts ---------------------------------------------------------- */

static int is_glob(const char *s) {
  return strpbrk(s, "*?[") != NULL;
}

static void free_matches(struct run_task *t) {
  for (size_t i = 0; i < t->n_matches; i++)
    free(t->matches[i]);
  free(t->matches);
  t->matches = NULL;
  t->n_matches = t->glob = 0;
}

static void next_artifact(struct run_task *t) {
  free_matches(t);
  t->step++;
  if (t->step >= t->spec->n_artifacts) {
    set_state(t, RT_KILL_WAIT);
    return;
  }
  const char *p = t->spec->artifacts[t->step];
  const char *base = strrchr(p, '/');
  set_state(t, is_glob(base ? base + 1 : p) ? RT_LISTING : RT_DOWNLOADING);
}

static void start_artifacts(struct run_task *t) {
  t->step = (size_t)-1;
  next_artifact(t);
}

static void add_str(char ***v, size_t *n, const char *s) {
  *v = cli_xrealloc(*v, (*n + 1) * sizeof **v);
  (*v)[(*n)++] = cli_xstrdup(s);
}

static void list_cb(sbx_client *c, sbx_op_id op, const sbx_error *err, const sbx_file_entry *e,
                    size_t n, void *ud) {
  struct run_task *t = ud;
  const char *p = t->spec->artifacts[t->step];
  if (err && err->code == SBX_ENOTFOUND && !t->cancelled) {
    t->op = 0;
    add_str(&t->missing, &t->n_missing, p);
    next_artifact(t);
    return;
  }
  if (op_failed(t, "list artifacts", err)) return;
  const char *slash = strrchr(p, '/');
  const char *pat = slash ? slash + 1 : p;
  size_t dlen = slash ? (size_t)(slash - p) : 0;
  for (size_t i = 0; i < n; i++) {
    const char *name = e[i].name;
    if (e[i].type != SBX_FILE_REGULAR || !name || fnmatch(pat, name, FNM_PERIOD) != 0) continue;
    if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
      /* a listing cannot name a file that escapes the artifacts dir */
      set_error(t, RE_PROTOCOL, "list artifacts",
                "the provider listed a file name with '/' or '..'; refused");
      go_kill_or_end(t);
      return;
    }
    /* a bare pattern ("*.txt") lists the home: its matches stay relative */
    char *full = slash ? cli_xasprintf("%.*s/%s", (int)dlen, p, name) : cli_xstrdup(name);
    add_str(&t->matches, &t->n_matches, full);
    free(full);
  }
  if (!t->n_matches) {
    add_str(&t->missing, &t->n_missing, p);
    next_artifact(t);
    return;
  }
  t->glob = 0;
  set_state(t, RT_DOWNLOADING);
}

static void step_listing(struct run_task *t) {
  if (stopped(t)) return;
  const char *p = t->spec->artifacts[t->step];
  const char *slash = strrchr(p, '/');
  char *dir = slash ? cli_xasprintf("%.*s", (int)(slash - p), p) : cli_xstrdup(".");
  if (!*dir) {
    free(dir);
    dir = cli_xstrdup("/");
  }
  sbx_status st = sbx_fs_list(t->run->c, t->sandbox, dir, 1, list_cb, t, &t->op);
  free(dir);
  if (st != SBX_OK) start_failed(t, "list artifacts", st);
}

/* mkdir -p of the parents of path (absolute or relative). */
static int mkdir_parents(char *path) {
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    int rc = mkdir(path, 0755);
    *p = '/';
    if (rc != 0 && errno != EEXIST) return -1;
  }
  return 0;
}

/* artifacts/<task>/<sandbox path without its leading '/'>: the validator
 * and list_cb keep ".." out, so this never leaves the task's directory. */
static char *artifact_rel(const struct run_task *t, const char *sandbox_path) {
  while (*sandbox_path == '/')
    sandbox_path++;
  return cli_xasprintf("artifacts/%s/%s", t->spec->id, sandbox_path);
}

/* The local file of an artifact, its parent dirs made; NULL after failing the task. */
static char *artifact_local(struct run_task *t, const char *sandbox_path) {
  char *rel = artifact_rel(t, sandbox_path);
  char *local = cli_xasprintf("%s/%s", t->run->o.results_dir, rel);
  free(rel);
  if (mkdir_parents(local) == 0) return local;
  set_error(t, RE_LOCAL, "download artifact", strerror(errno));
  free(local);
  go_kill_or_end(t);
  return NULL;
}

static void note_saved(struct run_task *t, const char *sandbox_path) {
  char *rel = artifact_rel(t, sandbox_path);
  add_str(&t->saved, &t->n_saved, rel);
  free(rel);
}

/* A literal artifact path: one read; missing is noted, not an error. */
static void download_cb(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct run_task *t = ud;
  const char *p = t->spec->artifacts[t->step];
  if (err && err->code == SBX_ENOTFOUND && !t->cancelled) {
    t->op = 0;
    add_str(&t->missing, &t->n_missing, p);
  } else {
    if (op_failed(t, "download artifact", err)) return;
    note_saved(t, p);
  }
  next_artifact(t);
}

/* A glob's matches (up to SBX_READ_MANY_MAX at a time, from t->glob): one
 * sbx_file_read_many, so one request on Daytona. Outcomes are kept per
 * file and noted in match order once the op completes. */
struct art_batch {
  struct run_task *t;
  size_t n;
  int bad_code; /* the first failure other than "not found", 0 when none */
  char bad_msg[300];
  struct art_file {
    struct art_batch *b;
    int code;
  } f[];
};

static void match_done(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct art_file *f = ud;
  struct art_batch *b = f->b;
  f->code = err ? err->code : 0;
  if (!err || err->code == SBX_ENOTFOUND || b->bad_code) return; /* a match that vanished */
  b->bad_code = err->code;
  snprintf(b->bad_msg, sizeof b->bad_msg, "%s", err->message ? err->message : "");
}

static void matches_cb(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct art_batch *b = ud;
  struct run_task *t = b->t;
  for (size_t i = 0; i < b->n; i++) {
    const char *p = t->matches[t->glob + i];
    if (b->f[i].code == SBX_ENOTFOUND)
      add_str(&t->missing, &t->n_missing, p);
    else if (b->f[i].code == 0)
      note_saved(t, p);
  }
  sbx_error bad = {.code = (sbx_status)b->bad_code, .retry_after_ms = -1, .message = b->bad_msg};
  t->glob += b->n;
  int failed = op_failed(t, "download artifact", b->bad_code ? &bad : NULL);
  free(b); /* after op_failed: bad points into it */
  if (failed) return;
  if (t->glob < t->n_matches)
    set_state(t, RT_DOWNLOADING);
  else
    next_artifact(t);
}

static void download_matches(struct run_task *t) {
  size_t left = t->n_matches - t->glob;
  size_t n = left < SBX_READ_MANY_MAX ? left : SBX_READ_MANY_MAX;
  struct art_batch *b = cli_xmalloc(sizeof *b + n * sizeof b->f[0]);
  sbx_download *dls = cli_xmalloc(n * sizeof *dls);
  char **locals = cli_xmalloc(n * sizeof *locals);
  *b = (struct art_batch){.t = t, .n = n};
  size_t made = 0;
  for (; made < n; made++) {
    const char *p = t->matches[t->glob + made];
    if (!(locals[made] = artifact_local(t, p))) break;
    b->f[made] = (struct art_file){b, 0};
    dls[made] = (sbx_download){.path = p,
                               .local_path = locals[made],
                               .max_bytes = t->run->o.max_artifact_bytes,
                               .file_done = match_done,
                               .file_ud = &b->f[made]};
  }
  sbx_status st = SBX_OK;
  if (made == n) st = sbx_file_read_many(t->run->c, t->sandbox, dls, n, matches_cb, b, &t->op);
  for (size_t i = 0; i < made; i++)
    free(locals[i]);
  free(locals);
  free(dls);
  if (made == n && st == SBX_OK) return;
  free(b);
  if (made == n) start_failed(t, "download artifact", st);
}

static void step_downloading(struct run_task *t) {
  if (stopped(t)) return;
  if (t->n_matches) {
    download_matches(t);
    return;
  }
  const char *p = t->spec->artifacts[t->step];
  char *local = artifact_local(t, p);
  if (!local) return;
  sbx_download dl = {.path = p, .local_path = local, .max_bytes = t->run->o.max_artifact_bytes};
  sbx_status st = sbx_file_read(t->run->c, t->sandbox, &dl, download_cb, t, &t->op);
  free(local);
  if (st != SBX_OK) start_failed(t, "download artifact", st);
}

/* ---- kill, backoff, done ------------------------------------------------ */

static void step_kill_wait(struct run_task *t) {
  ev_timer_stop(t->run->loop, &t->timer); /* the task timeout no longer applies */
  t->killing = t->sandbox;
  t->sandbox = NULL;
  run_queue_push(&t->run->kill_wait, t);
  run_sched_changed(t->run);
}

static void kill_cb(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct run_task *t = ud;
  struct run *r = t->run;
  t->op = 0;
  r->n_deleting--;
  if (err && err->code != SBX_ENOTFOUND && err->code != SBX_ECLOSED && t->kill_tries < 3 &&
      !r->hard) {
    set_state(t, RT_KILLING); /* again: the sweep at the end is the last resort */
    return;
  }
  if (!err || err->code == SBX_ENOTFOUND) run_journal_event(r, "killed", t, t->killing);
  r->n_live--;
  r->sandbox_seconds += ev_now(r->loop) - t->live_since;
  free(t->killing);
  t->killing = NULL;
  run_sched_changed(r);
  /* an infrastructure error with attempts left: start over in a new sandbox */
  if (t->status != RS_TIMEOUT && t->status != RS_CANCELLED && t->eclass != RE_NONE &&
      retryable_class(t->eclass) && t->tries <= r->o.retries && !r->stopping)
    set_state(t, RT_BACKOFF);
  else
    set_state(t, RT_DONE);
}

static void step_killing(struct run_task *t) {
  struct run *r = t->run;
  t->kill_tries++;
  r->n_deleting++;
  sbx_status st = sbx_sandbox_kill(r->c, t->killing, kill_cb, t, &t->op);
  if (st != SBX_OK) {
    /* refused at once: no retry helps; kill_cb gives the slot back */
    const sbx_error e = {.code = st, .message = sbx_strerror(st)};
    t->kill_tries = 3;
    kill_cb(r->c, 0, &e, t);
  }
}

/* Free what an attempt's result line is made of. */
static void free_attempt(struct run_task *t) {
  for (size_t i = 0; i < t->spec->n_cmds; i++) {
    struct run_cmd_result *cr = &t->cmds[i];
    run_tail_free(&cr->out);
    run_tail_free(&cr->err);
    free(cr->status);
    memset(cr, 0, sizeof *cr);
  }
  for (size_t i = 0; i < t->n_saved; i++)
    free(t->saved[i]);
  for (size_t i = 0; i < t->n_missing; i++)
    free(t->missing[i]);
  free(t->saved);
  free(t->missing);
  t->saved = t->missing = NULL;
  t->n_saved = t->n_missing = 0;
  free_matches(t);
  free(t->error);
  t->error = NULL;
}

/* Clear what an attempt left, so the next one starts clean. */
static void reset_attempt(struct run_task *t) {
  free_attempt(t);
  t->status = RS_NONE;
  t->eclass = RE_NONE;
  t->stop_cmds = t->kill_tries = 0;
  t->step = 0;
}

/* Reconciled: the next attempt, or the end when the run is stopping. */
static void reconciled(struct run_task *t) {
  if (!t->run->stopping) {
    set_state(t, RT_QUEUED);
    return;
  }
  t->status = RS_CANCELLED;
  set_state(t, RT_DONE);
}

static void orphan_killed(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct run_task *t = ud;
  if (!err) t->run->n_swept++;
  if (--t->orphans == 0) reconciled(t);
}

static void reconcile_cb(sbx_client *c, sbx_op_id op, const sbx_error *err,
                         const sbx_sandbox_info *items, size_t n, const char *next_token,
                         void *ud) {
  struct run_task *t = ud;
  t->op = 0;
  t->create_unknown = 0;
  /* A failed listing leaves it to the final sweep; the task goes on. */
  for (size_t i = 0; !err && i < n; i++) {
    sbx_op_id id;
    if (sbx_sandbox_kill(c, items[i].id, orphan_killed, t, &id) == SBX_OK) t->orphans++;
  }
  if (!t->orphans) reconciled(t);
}

static void step_reconciling(struct run_task *t) {
  struct run *r = t->run;
  sbx_kv labels[2] = {{"sbx.run", r->j.run_id}, {"sbx.task", t->spec->id}};
  sbx_list_opts o = {.metadata = labels, .n_metadata = 2, .limit = 100};
  sbx_status st = sbx_sandbox_list(r->c, &o, reconcile_cb, t, &t->op);
  if (st != SBX_OK) {
    t->create_unknown = 0;
    reconciled(t);
  }
}

static void step_backoff(struct run_task *t) {
  struct run *r = t->run;
  r->n_retries++;
  /* jittered exponential backoff: 1 s, 2 s, 4 s ... capped at 30 s */
  double base = 1.0;
  for (int i = 1; i < t->tries && base < 30.0; i++)
    base *= 2;
  if (base > 30.0) base = 30.0;
  double wait = base * (0.5 + (double)rand() / RAND_MAX * 0.5);
  ev_timer_stop(r->loop, &t->timer);
  ev_timer_set(&t->timer, wait, 0.);
  ev_timer_start(r->loop, &t->timer);
  if (r->cli->verbose)
    fprintf(stderr, "sbx: run: task %s: attempt %d failed (%s); retrying in %.1f s\n", t->spec->id,
            t->attempt, t->error ? t->error : "error", wait);
}

static void step_queued(struct run_task *t) {
  reset_attempt(t);
  t->timed_out = t->cancelled = 0;
  if (t->run->stopping) {
    set_state(t, RT_DONE);
    return;
  }
  run_queue_push(&t->run->queued, t);
  run_sched_changed(t->run);
}

static void step_done(struct run_task *t) {
  struct run *r = t->run;
  ev_timer_stop(r->loop, &t->timer);
  /* a timeout or a signal says it all; else an infrastructure error makes
   * the task's own outcome unreliable; else the commands decide */
  if (t->status != RS_TIMEOUT && t->status != RS_CANCELLED) {
    if (t->eclass == RE_CANCELLED)
      t->status = RS_CANCELLED;
    else if (t->eclass != RE_NONE)
      t->status = RS_ERROR;
    else if (t->status == RS_NONE)
      t->status = RS_OK;
  }
  run_task_finished(r, t);
}

static void step(struct run_task *t) {
  switch (t->state) {
  case RT_QUEUED: step_queued(t); break;
  case RT_BACKOFF: step_backoff(t); break;
  case RT_RECONCILING: step_reconciling(t); break;
  case RT_CREATING: step_creating(t); break;
  case RT_UPLOADING: step_uploading(t); break;
  case RT_EXECUTING: step_executing(t); break;
  case RT_REATTACHING: step_reattaching(t); break;
  case RT_LISTING: step_listing(t); break;
  case RT_DOWNLOADING: step_downloading(t); break;
  case RT_KILL_WAIT: step_kill_wait(t); break;
  case RT_KILLING: step_killing(t); break;
  case RT_DONE: step_done(t); break;
  case RT_NSTATES: break;
  }
}

/* ---- entry points ---------------------------------------------------------- */

void run_task_init(struct run *r, struct run_task *t, const struct run_spec *spec) {
  memset(t, 0, sizeof *t);
  t->run = r;
  t->spec = spec;
  t->state = RT_QUEUED;
  t->entered = ev_now(r->loop);
  t->cmds = cli_xmalloc((spec->n_cmds + 1) * sizeof *t->cmds);
  memset(t->cmds, 0, (spec->n_cmds + 1) * sizeof *t->cmds);
  ev_timer_init(&t->timer, timer_cb, 1., 0.);
  t->timer.data = t;
}

void run_task_release(struct run_task *t) {
  free_attempt(t);
  free(t->last_sandbox);
  t->last_sandbox = NULL;
}

void run_task_free(struct run_task *t) {
  reset_attempt(t);
  free(t->cmds);
  free(t->error);
  free(t->sandbox);
  free(t->killing);
  free(t->last_sandbox);
}

void run_task_start(struct run_task *t) {
  if (!t->started) t->started = ev_now(t->run->loop);
  set_state(t, RT_CREATING);
}

void run_task_kill_now(struct run_task *t) {
  set_state(t, RT_KILLING);
}

void run_task_cancel(struct run_task *t) {
  switch (t->state) {
  case RT_QUEUED:
    run_queue_remove(&t->run->queued, t);
    t->status = RS_CANCELLED;
    set_error(t, RE_CANCELLED, "task", "not started: the run was interrupted");
    set_state(t, RT_DONE);
    break;
  case RT_BACKOFF:
    t->status = RS_CANCELLED;
    set_state(t, RT_DONE);
    break;
  case RT_CREATING:
  case RT_UPLOADING:
  case RT_EXECUTING:
  case RT_REATTACHING:
  case RT_LISTING:
  case RT_DOWNLOADING:
    t->cancelled = 1;
    if (t->op) sbx_cancel(t->run->c, t->op);
    break;
  default: break; /* killing or done: nothing to stop */
  }
}
