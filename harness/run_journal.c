/* run_journal.c - append-only journal and results files that survive a crash
 * at any byte: records are whole lines written by single write(2) calls, and
 * a torn last line is cut off when the files are opened again. */
#include "run_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static int cmp_past(const void *a, const void *b) {
  return strcmp(((const struct run_past *)a)->task, ((const struct run_past *)b)->task);
}

struct run_past *run_journal_past(struct run_journal *j, const char *task) {
  struct run_past key = {.task = (char *)task};
  return j->n_past ? bsearch(&key, j->past, j->n_past, sizeof key, cmp_past) : NULL;
}

/* Find or add (unsorted while loading). */
static struct run_past *past_get(struct run_journal *j, const char *task, size_t *cap) {
  for (size_t i = j->n_past; i-- > 0;)
    if (!strcmp(j->past[i].task, task)) return &j->past[i];
  if (j->n_past == *cap) {
    *cap = *cap ? *cap * 2 : 64;
    j->past = cli_xrealloc(j->past, *cap * sizeof *j->past);
  }
  struct run_past *p = &j->past[j->n_past++];
  memset(p, 0, sizeof *p);
  p->task = cli_xstrdup(task);
  return p;
}

/* Read the whole file; cut a torn last line off (on disk too). NULL with
 * errno on failure; *len is the length kept. */
static char *slurp_repair(int fd, const char *name, size_t *len) {
  struct stat st;
  if (fstat(fd, &st) != 0) return NULL;
  size_t n = (size_t)st.st_size, got = 0;
  char *buf = cli_xmalloc(n + 1);
  while (got < n) {
    ssize_t r = pread(fd, buf + got, n - got, (off_t)got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      free(buf);
      if (r == 0) errno = EIO;
      return NULL;
    }
    got += (size_t)r;
  }
  size_t keep = n;
  while (keep > 0 && buf[keep - 1] != '\n')
    keep--;
  if (keep < n) {
    fprintf(stderr, "sbx: run: %s: dropping a torn last line (%zu bytes) left by a crash\n", name,
            n - keep);
    if (ftruncate(fd, (off_t)keep) != 0) {
      free(buf);
      return NULL;
    }
  }
  buf[keep] = '\0';
  *len = keep;
  return buf;
}

/* Call fn on every line; stops at the first error (fn prints it). */
static int each_line(char *buf, const char *name,
                     int (*fn)(struct run_journal *, json_t *, const char *, int, size_t *),
                     struct run_journal *j, size_t *cap) {
  int line = 0;
  for (char *p = buf, *nl; *p; p = nl + 1) {
    nl = strchr(p, '\n');
    *nl = '\0';
    line++;
    json_error_t je;
    json_t *o = json_loads(p, 0, &je);
    if (!o || !json_is_object(o)) {
      fprintf(stderr, "sbx: run: %s:%d: not a JSON object (%s); the file is damaged\n", name, line,
              o ? "wrong type" : je.text);
      json_decref(o);
      return -1;
    }
    int rc = fn(j, o, name, line, cap);
    json_decref(o);
    if (rc < 0) return -1;
  }
  return 0;
}

static int journal_line(struct run_journal *j, json_t *o, const char *name, int line, size_t *cap) {
  const char *ev = json_string_value(json_object_get(o, "ev"));
  const char *task = json_string_value(json_object_get(o, "task"));
  const char *sb = json_string_value(json_object_get(o, "sandbox"));
  if (!ev) {
    fprintf(stderr, "sbx: run: %s:%d: record without \"ev\"\n", name, line);
    return -1;
  }
  if (!strcmp(ev, "start")) {
    const char *run = json_string_value(json_object_get(o, "run"));
    if (!j->run_id && run) j->run_id = cli_xstrdup(run);
    return 0;
  }
  if (!task) {
    fprintf(stderr, "sbx: run: %s:%d: \"%s\" record without \"task\"\n", name, line, ev);
    return -1;
  }
  struct run_past *p = past_get(j, task, cap);
  if (!strcmp(ev, "intent")) {
    int a = (int)json_integer_value(json_object_get(o, "attempt"));
    if (a > p->attempts) p->attempts = a;
  } else if (!strcmp(ev, "created") && sb) {
    free(p->sandbox);
    p->sandbox = cli_xstrdup(sb);
  } else if (!strcmp(ev, "killed") && sb && p->sandbox && !strcmp(p->sandbox, sb)) {
    free(p->sandbox);
    p->sandbox = NULL;
  }
  return 0;
}

static int results_line(struct run_journal *j, json_t *o, const char *name, int line, size_t *cap) {
  const char *task = json_string_value(json_object_get(o, "task"));
  if (!task) {
    fprintf(stderr, "sbx: run: %s:%d: result without \"task\"\n", name, line);
    return -1;
  }
  struct run_past *p = past_get(j, task, cap);
  const char *st = json_string_value(json_object_get(o, "status"));
  p->done = 1;
  snprintf(p->status, sizeof p->status, "%s", st ? st : "");
  return 0;
}

static int open_one(const char *dir, const char *file, char **name) {
  *name = cli_xasprintf("%s/%s", dir, file);
  int fd = open(*name, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) fprintf(stderr, "sbx: run: %s: %s\n", *name, strerror(errno));
  return fd;
}

static int load(struct run_journal *j, int fd, const char *name, size_t *cap,
                int (*fn)(struct run_journal *, json_t *, const char *, int, size_t *)) {
  size_t len;
  char *buf = slurp_repair(fd, name, &len);
  if (!buf) {
    fprintf(stderr, "sbx: run: %s: %s\n", name, strerror(errno));
    return -1;
  }
  int rc = each_line(buf, name, fn, j, cap);
  free(buf);
  return rc;
}

int run_journal_open(struct run_journal *j, const char *dir, const char *new_run_id) {
  memset(j, 0, sizeof *j);
  j->fd = j->results_fd = -1;
  char *jname = NULL, *rname = NULL;
  size_t cap = 0;
  int rc = -1;
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "sbx: run: results directory %s: %s\n", dir, strerror(errno));
    return -1;
  }
  if ((j->fd = open_one(dir, "journal.jsonl", &jname)) < 0 ||
      (j->results_fd = open_one(dir, "results.jsonl", &rname)) < 0)
    goto out;
  if (load(j, j->fd, jname, &cap, journal_line) < 0 ||
      load(j, j->results_fd, rname, &cap, results_line) < 0)
    goto out;
  if (j->n_past) qsort(j->past, j->n_past, sizeof *j->past, cmp_past);
  if (!j->run_id) j->run_id = cli_xstrdup(new_run_id);
  rc = 0;
out:
  free(jname);
  free(rname);
  if (rc < 0) run_journal_close(j);
  return rc;
}

void run_journal_close(struct run_journal *j) {
  run_journal_flush(j);
  free(j->pending);
  if (j->fd >= 0) close(j->fd);
  if (j->results_fd >= 0) close(j->results_fd);
  for (size_t i = 0; i < j->n_past; i++) {
    free(j->past[i].task);
    free(j->past[i].sandbox);
  }
  free(j->past);
  free(j->run_id);
  memset(j, 0, sizeof *j);
  j->fd = j->results_fd = -1;
}

/* obj as one line (obj is released); NULL on failure. */
static char *line_of(json_t *obj, size_t *n) {
  char *s = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(12));
  json_decref(obj);
  if (!s) return NULL;
  *n = strlen(s);
  return s;
}

static int append_line(int fd, json_t *obj) {
  size_t n;
  char *s = line_of(obj, &n);
  if (!s) return errno = ENOMEM, -1;
  char *line = cli_xrealloc(s, n + 2);
  line[n] = '\n';
  /* One write on O_APPEND: the line lands whole or (on a crash) as a tail
   * that the next open cuts off. A short write is finished the same way. */
  int rc = cli_write_all(fd, line, n + 1);
  free(line);
  return rc;
}

int run_journal_append_line(struct run_journal *j, const char *line, size_t n) {
  if (j->n_pending + n + 1 > j->cap_pending) {
    j->cap_pending = (j->n_pending + n + 1) * 2;
    j->pending = cli_xrealloc(j->pending, j->cap_pending);
  }
  memcpy(j->pending + j->n_pending, line, n);
  j->pending[j->n_pending + n] = '\n';
  j->n_pending += n + 1;
  return 0;
}

int run_journal_append(struct run_journal *j, json_t *obj) {
  size_t n;
  char *s = line_of(obj, &n);
  if (!s) return errno = ENOMEM, -1;
  int rc = run_journal_append_line(j, s, n);
  free(s);
  return rc;
}

char *run_json_escape(const char *s) {
  size_t n = strlen(s);
  char *out = cli_xmalloc(n * 6 + 1), *o = out;
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') {
      *o++ = '\\';
      *o++ = (char)ch;
    } else if (ch < 0x20 || ch >= 0x7f) {
      o += sprintf(o, "\\u%04x", ch);
    } else {
      *o++ = (char)ch;
    }
  }
  *o = '\0';
  return out;
}

int run_journal_flush(struct run_journal *j) {
  if (!j->n_pending || j->fd < 0) return 0;
  /* whole lines in one write: a crash can still only tear the last one */
  int rc = cli_write_all(j->fd, j->pending, j->n_pending);
  j->n_pending = 0;
  return rc;
}

int run_results_append(struct run_journal *j, json_t *obj) {
  return append_line(j->results_fd, obj);
}

void run_journal_sync(struct run_journal *j) {
  run_journal_flush(j);
  if (j->fd >= 0) fdatasync(j->fd);
  if (j->results_fd >= 0) fdatasync(j->results_fd);
}
