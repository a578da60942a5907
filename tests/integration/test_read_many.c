/* test_read_many.c - sbx_file_read_many on every provider: Daytona's one
 * bulk-download request (against sbx-emu, HTTP/1.1 and h2) and the generic
 * op over single reads (E2B against sbx-emu, local): a text, a binary with
 * CRLF and delimiter look-alikes, a 1 MB and an empty file, a path asked
 * twice, a missing path, per-file caps, on_data through file_ud, the
 * completion rule, cancel, client free, bad arguments, and Daytona's retry
 * before the body and its malformed replies. */
#include <signal.h>

#include "emu_harness.h"
#include "op_results.h"

enum prov { P_DAYTONA, P_E2B, P_LOCAL };

struct ctx {
  enum prov prov;
  struct emu emu;
  char root[128]; /* local provider's root; downloads go to <root or emu dir>/dl */
  char dl[200];
  char api[96];
  struct ev_loop *loop;
  sbx_client *c;
  char sid[64];
};

#define WAIT(x, r) REQUIRE(run_until((x)->loop, &(r)->done, 30.0))

static void ctx_open(struct ctx *x, enum prov prov, int tls) {
  memset(x, 0, sizeof *x);
  x->prov = prov;
  sbx_config cfg;
  if (prov == P_LOCAL) {
    snprintf(x->root, sizeof x->root, "/tmp/sbx-rmtest-XXXXXX");
    REQUIRE(mkdtemp(x->root) != NULL);
    setenv("SBX_LOCAL_ROOT", x->root, 1);
    sbx_config_init(&cfg);
    cfg.provider = "local";
    snprintf(x->dl, sizeof x->dl, "%s-dl", x->root);
  } else {
    emu_start(&x->emu, NULL);
    emu_config(&x->emu, &cfg, tls);
    cfg.provider = prov == P_DAYTONA ? "daytona" : "e2b";
    if (prov == P_DAYTONA) {
      snprintf(x->api, sizeof x->api, "%s/api", tls ? x->emu.https_url : x->emu.http_url);
      cfg.api_url = x->api;
      cfg.sandbox_url = NULL;
    }
    snprintf(x->dl, sizeof x->dl, "%s/dl", x->emu.dir);
  }
  REQUIRE(mkdir(x->dl, 0755) == 0);
  x->loop = ev_loop_new(EVFLAG_AUTO);
  sbx_status st;
  char err[256];
  x->c = sbx_client_new(x->loop, &cfg, &st, err, sizeof err);
  if (!x->c) fprintf(stderr, "  client: %s\n", err);
  REQUIRE(x->c != NULL);
  struct res r = {0};
  sbx_create_opts o;
  sbx_create_opts_init(&o);
  o.timeout_s = 120;
  sbx_op_id id;
  REQUIRE(sbx_sandbox_create(x->c, &o, on_sandbox, &r, &id) == SBX_OK);
  WAIT(x, &r);
  REQUIRE(r.code == 0);
  snprintf(x->sid, sizeof x->sid, "%s", r.id);
}

static void ctx_close(struct ctx *x) {
  if (x->c) sbx_client_free(x->c);
  ev_loop_destroy(x->loop);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", x->dl);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", x->dl);
  if (x->prov != P_LOCAL) {
    emu_stop(&x->emu);
  } else {
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", x->root);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", x->root);
  }
}

/* ---- the files ------------------------------------------------------------------- */

#define MB (1u << 20)
/* CRLF, NUL and look-alikes of Daytona's delimiter line. Not the line itself:
 * its boundary is fixed, so a file holding "\r\n--DAYTONA-FILE-BOUNDARY\r\n"
 * cannot be framed by the daemon (docs/daytona-protocol.md). */
static const char crlf[] = "line\r\n\r\n--DAYTONA-FILE-BOUNDARYx\r\n\0\x01\xff\r\n--DAYTONA-FILE-"
                           "BOUNDAR\r\n--\r\n\r\nend\r";
static char big[MB];

static void make_big(void) {
  uint32_t v = 12345;
  for (size_t i = 0; i < MB; i++) {
    v = v * 1103515245u + 12345u;
    big[i] = (char)(v >> 16);
  }
}

static void upload(struct ctx *x, const char *path, const void *data, size_t len) {
  struct res r = {0};
  sbx_op_id id;
  sbx_upload up = {.path = path, .data = data, .len = len};
  REQUIRE(sbx_file_write(x->c, x->sid, &up, on_entries, &r, &id) == SBX_OK);
  WAIT(x, &r);
  REQUIRE(r.code == 0);
}

static void upload_all(struct ctx *x) {
  make_big();
  upload(x, "/tmp/rm/a.txt", "hello many", 10);
  upload(x, "/tmp/rm/crlf.bin", crlf, sizeof crlf - 1);
  upload(x, "/tmp/rm/big.bin", big, MB);
  upload(x, "/tmp/rm/empty", "", 0);
}

/* ---- per-file outcomes ----------------------------------------------------------- */

struct file_res {
  int calls, code;
  int late;                 /* file_done came after the op's completion */
  int cancel;               /* file_done cancels the op */
  sbx_client **free_client; /* file_done frees *free_client (once) */
  const int *op_done;       /* the op's res.done */
  char msg[300];
  char *data; /* on_data bytes */
  size_t len;
};

static void file_done(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct file_res *f = ud;
  f->calls++;
  if (*f->op_done) f->late = 1;
  f->code = err ? err->code : 0;
  snprintf(f->msg, sizeof f->msg, "%s", err ? err->message : "");
  if (f->cancel) sbx_cancel(c, op);
  if (f->free_client && *f->free_client) {
    sbx_client_free(*f->free_client); /* from a callback: done once it returns */
    *f->free_client = NULL;
  }
}

static void file_data(sbx_client *c, sbx_op_id op, const char *d, size_t n, void *ud) {
  struct file_res *f = ud;
  f->data = realloc(f->data, f->len + n + 1);
  REQUIRE(f->data);
  memcpy(f->data + f->len, d, n);
  f->len += n;
  f->data[f->len] = 0;
}

#define MAXF 24

struct many {
  struct res r;
  struct file_res f[MAXF];
  sbx_download dl[MAXF];
  char local[MAXF][256];
  size_t n;
};

/* File i: path to on_data (local NULL) or to <dl dir>/local. */
static void want(struct ctx *x, struct many *m, const char *path, const char *local,
                 uint64_t max_bytes) {
  size_t i = m->n++;
  REQUIRE(i < MAXF);
  m->f[i].op_done = &m->r.done;
  if (local) snprintf(m->local[i], sizeof m->local[i], "%s/%s", x->dl, local);
  m->dl[i] = (sbx_download){.path = path,
                            .local_path = local ? m->local[i] : NULL,
                            .on_data = local ? NULL : file_data,
                            .max_bytes = max_bytes,
                            .file_done = file_done,
                            .file_ud = &m->f[i]};
}

/* n copies of the 1 MB file, to local files <tag>00, <tag>01, ... */
static void want_big(struct ctx *x, struct many *m, char tag, int n) {
  for (int i = 0; i < n; i++) {
    char name[16];
    snprintf(name, sizeof name, "%c%02d", tag, i);
    want(x, m, "/tmp/rm/big.bin", name, 0);
  }
}

static sbx_op_id start(struct ctx *x, struct many *m) {
  sbx_op_id id = 0;
  REQUIRE(sbx_file_read_many(x->c, x->sid, m->dl, m->n, on_done, &m->r, &id) == SBX_OK);
  CHECK(!m->r.done); /* never before the start call returns */
  m->r.returned = 1;
  return id;
}

static void run(struct ctx *x, struct many *m) {
  start(x, m);
  WAIT(x, &m->r);
  CHECK_EQ_INT(m->r.calls, 1);
  for (size_t i = 0; i < m->n; i++) {
    CHECK_EQ_INT(m->f[i].calls, 1);
    CHECK_EQ_INT(m->f[i].late, 0);
  }
}

static void many_free(struct many *m) {
  for (size_t i = 0; i < MAXF; i++)
    free(m->f[i].data);
}

static int file_is(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  char *buf = malloc(len + 1);
  size_t got = buf ? fread(buf, 1, len + 1, f) : 0;
  fclose(f);
  int ok = buf && got == len && memcmp(buf, data, len) == 0;
  free(buf);
  return ok;
}

static int exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

/* No "<local>.sbx-part" is left in the download dir. */
static int no_part_files(const struct ctx *x) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "ls '%s' | grep -q sbx-part", x->dl);
  return system(cmd) != 0;
}

/* ---- cases ---------------------------------------------------------------------------- */

static void content(enum prov prov, int tls) {
  struct ctx x;
  ctx_open(&x, prov, tls);
  upload_all(&x);
  struct many m = {0};
  want(&x, &m, "/tmp/rm/a.txt", NULL, 0);
  want(&x, &m, "/tmp/rm/crlf.bin", "crlf.bin", 0);
  want(&x, &m, "/tmp/rm/big.bin", "big.bin", MB);
  want(&x, &m, "/tmp/rm/missing", "missing", 0);
  want(&x, &m, "/tmp/rm/empty", "empty", 0);
  want(&x, &m, "/tmp/rm/a.txt", NULL, 0); /* asked twice */
  run(&x, &m);
  CHECK_EQ_INT(m.r.code, SBX_ENOTFOUND); /* the one failure, as it is */
  CHECK(strstr(m.r.msg, "/tmp/rm/missing") != NULL);
  CHECK(strstr(m.r.msg, "files failed") == NULL);
  CHECK_EQ_INT(m.f[0].code, 0);
  CHECK_EQ_STR(m.f[0].data, "hello many");
  CHECK_EQ_INT(m.f[1].code, 0);
  CHECK(file_is(m.local[1], crlf, sizeof crlf - 1));
  CHECK_EQ_INT(m.f[2].code, 0);
  CHECK(file_is(m.local[2], big, MB));
  CHECK_EQ_INT(m.f[3].code, SBX_ENOTFOUND);
  CHECK(strstr(m.f[3].msg, "/tmp/rm/missing") != NULL);
  CHECK(!exists(m.local[3]));
  CHECK_EQ_INT(m.f[4].code, 0);
  CHECK(file_is(m.local[4], "", 0));
  CHECK_EQ_INT(m.f[5].code, 0);
  CHECK_EQ_STR(m.f[5].data, "hello many");
  CHECK(no_part_files(&x));
  if (prov == P_DAYTONA) /* all six in one request */
    CHECK_EQ_INT(emu_stat(&x.emu, "requests", "POST /toolbox/{id}/files/bulk-download", NULL), 1);
  many_free(&m);
  ctx_close(&x);
}

/* Caps per file; several failures: the first in dls order is reported. */
static void caps(enum prov prov) {
  struct ctx x;
  ctx_open(&x, prov, 0);
  upload_all(&x);
  struct many m = {0};
  want(&x, &m, "/tmp/rm/crlf.bin", "crlf.bin", sizeof crlf - 1); /* exactly at its cap */
  want(&x, &m, "/tmp/rm/big.bin", "big.bin", 1000);
  want(&x, &m, "/tmp/rm/nope", "nope", 0);
  want(&x, &m, "/tmp/rm/big.bin", NULL, MB - 1);
  want(&x, &m, "/tmp/rm/a.txt", "a.txt", 0);
  run(&x, &m);
  CHECK_EQ_INT(m.r.code, SBX_ETOOBIG);
  CHECK(strncmp(m.r.msg, "3 of 5 files failed; first: ", 28) == 0);
  CHECK(strstr(m.r.msg, "/tmp/rm/big.bin") != NULL);
  CHECK_EQ_INT(m.f[0].code, 0);
  CHECK(file_is(m.local[0], crlf, sizeof crlf - 1));
  CHECK_EQ_INT(m.f[1].code, SBX_ETOOBIG);
  CHECK(strstr(m.f[1].msg, "/tmp/rm/big.bin") != NULL);
  CHECK(!exists(m.local[1]));
  CHECK_EQ_INT(m.f[2].code, SBX_ENOTFOUND);
  CHECK_EQ_INT(m.f[3].code, SBX_ETOOBIG);
  CHECK(m.f[3].len <= MB - 1);
  CHECK_EQ_INT(m.f[4].code, 0);
  CHECK(file_is(m.local[4], "hello many", 10));
  CHECK(no_part_files(&x));
  many_free(&m);
  ctx_close(&x);
}

/* More files than the generic op runs at once, all fine: NULL; on_data for
 * some, files for the others, one ud each. */
static void many_ok(enum prov prov) {
  struct ctx x;
  ctx_open(&x, prov, 1);
  upload(&x, "/tmp/rm/a.txt", "hello many", 10);
  struct many m = {0};
  char names[20][16];
  for (int i = 0; i < 20; i++) {
    snprintf(names[i], sizeof names[i], "f%02d", i);
    want(&x, &m, "/tmp/rm/a.txt", i % 2 ? names[i] : NULL, 0);
  }
  run(&x, &m);
  CHECK_EQ_INT(m.r.code, 0);
  for (size_t i = 0; i < m.n; i++) {
    CHECK_EQ_INT(m.f[i].code, 0);
    if (i % 2)
      CHECK(file_is(m.local[i], "hello many", 10));
    else
      CHECK_EQ_STR(m.f[i].data, "hello many");
  }
  if (prov == P_E2B) CHECK_EQ_INT(emu_stat(&x.emu, "requests", "GET /files", NULL), 20);
  many_free(&m);
  ctx_close(&x);
}

/* Cancelled at once, cancelled and the client freed from a file_done: the
 * op ends once with ECANCELED / ECLOSED, every file once, nothing after, no
 * part file left. */
static void stopped(enum prov prov) {
  struct ctx x;
  ctx_open(&x, prov, 0);
  upload_all(&x);
  struct many m = {0};
  want_big(&x, &m, 'c', 12);
  sbx_op_id id = start(&x, &m);
  CHECK_EQ_INT(sbx_cancel(x.c, id), SBX_OK);
  WAIT(&x, &m.r);
  CHECK_EQ_INT(m.r.code, SBX_ECANCELED);
  wait_ms_loop(x.loop, 300);
  CHECK_EQ_INT(m.r.calls, 1);
  for (size_t i = 0; i < m.n; i++) {
    CHECK_EQ_INT(m.f[i].calls, 1);
    CHECK_EQ_INT(m.f[i].code, SBX_ECANCELED);
    CHECK(strstr(m.f[i].msg, "/tmp/rm/big.bin") != NULL);
    CHECK_EQ_INT(m.f[i].late, 0);
  }
  CHECK(no_part_files(&x));
  CHECK_EQ_INT(sbx_client_pending(x.c), 0);
  many_free(&m);
  /* cancelled from the first file's outcome: the files done stay */
  struct many q = {0};
  want_big(&x, &q, 'q', 12);
  for (int i = 0; i < 12; i++)
    q.f[i].cancel = 1;
  run(&x, &q);
  CHECK_EQ_INT(q.r.code, SBX_ECANCELED);
  int n_ok = 0;
  for (size_t i = 0; i < q.n; i++) {
    n_ok += q.f[i].code == 0;
    CHECK(q.f[i].code == 0 ? file_is(q.local[i], big, MB) : !exists(q.local[i]));
    CHECK(q.f[i].code == 0 || q.f[i].code == SBX_ECANCELED);
  }
  CHECK(n_ok >= 1 && n_ok < 12);
  wait_ms_loop(x.loop, 300);
  CHECK(no_part_files(&x));
  CHECK_EQ_INT(sbx_client_pending(x.c), 0);
  many_free(&q);
  /* the client freed from the first file's outcome (the free waits for
   * that callback to return), the rest in flight */
  struct many k = {0};
  want_big(&x, &k, 'k', 12);
  for (int i = 0; i < 12; i++)
    k.f[i].free_client = &x.c;
  start(&x, &k);
  WAIT(&x, &k.r);
  CHECK(x.c == NULL);
  CHECK_EQ_INT(k.r.calls, 1);
  CHECK_EQ_INT(k.r.code, SBX_ECLOSED);
  int n_closed = 0;
  for (size_t i = 0; i < k.n; i++) {
    CHECK_EQ_INT(k.f[i].calls, 1);
    CHECK(k.f[i].code == 0 || k.f[i].code == SBX_ECLOSED);
    n_closed += k.f[i].code == SBX_ECLOSED;
  }
  CHECK(n_closed >= 1 && n_closed < 12);
  CHECK(no_part_files(&x));
  many_free(&k);
  ctx_close(&x);
}

static void bad_args(void) {
  struct ctx x;
  ctx_open(&x, P_LOCAL, 0);
  struct many m = {0};
  sbx_op_id id = 0;
  want(&x, &m, "/tmp/a", "a", 0);
  want(&x, &m, "/tmp/b", "a", 0); /* the same local file twice */
  CHECK_EQ_INT(sbx_file_read_many(x.c, x.sid, m.dl, 2, on_done, &m.r, &id), SBX_EINVAL);
  CHECK_EQ_INT(sbx_file_read_many(x.c, x.sid, m.dl, 0, on_done, &m.r, &id), SBX_EINVAL);
  m.dl[1].local_path = NULL;
  m.dl[1].on_data = NULL; /* nowhere to put the bytes */
  CHECK_EQ_INT(sbx_file_read_many(x.c, x.sid, m.dl, 2, on_done, &m.r, &id), SBX_EINVAL);
  m.dl[1].on_data = file_data;
  m.dl[1].path = "";
  CHECK_EQ_INT(sbx_file_read_many(x.c, x.sid, m.dl, 2, on_done, &m.r, &id), SBX_EINVAL);
  m.dl[1].path = "/tmp/b";
  CHECK_EQ_INT(sbx_file_read_many(x.c, "", m.dl, 2, on_done, &m.r, &id), SBX_EINVAL);
  CHECK_EQ_INT(sbx_file_read_many(x.c, x.sid, m.dl, 2, NULL, &m.r, &id), SBX_EINVAL);
  sbx_download *lots = calloc(SBX_READ_MANY_MAX + 1, sizeof *lots);
  REQUIRE(lots);
  for (size_t i = 0; i <= SBX_READ_MANY_MAX; i++)
    lots[i] = (sbx_download){.path = "/tmp/a", .on_data = file_data};
  CHECK_EQ_INT(sbx_file_read_many(x.c, x.sid, lots, SBX_READ_MANY_MAX + 1, on_done, &m.r, &id),
               SBX_EINVAL);
  free(lots);
  wait_ms_loop(x.loop, 20);
  CHECK_EQ_INT(m.r.calls, 0); /* no callback after a refused start */
  CHECK_EQ_INT(sbx_client_pending(x.c), 0);
  many_free(&m);
  ctx_close(&x);
}

/* Daytona: a 503 before the body is retried; a 200 that is no multipart
 * fails every file with EPROTO naming the reason. */
static void dt_faults(void) {
  struct ctx x;
  ctx_open(&x, P_DAYTONA, 0);
  upload_all(&x);
  char rule[300];
  snprintf(rule, sizeof rule,
           "{\"method\":\"POST\",\"path\":\"/toolbox/%s/files/bulk-download\",\"status\":503}",
           x.sid);
  emu_fault(&x.emu, rule);
  struct many m = {0};
  want(&x, &m, "/tmp/rm/a.txt", "a.txt", 0);
  want(&x, &m, "/tmp/rm/crlf.bin", NULL, 0);
  run(&x, &m);
  CHECK_EQ_INT(m.r.code, 0);
  CHECK(file_is(m.local[0], "hello many", 10));
  CHECK(m.f[1].len == sizeof crlf - 1 && memcmp(m.f[1].data, crlf, m.f[1].len) == 0);
  CHECK_EQ_INT(emu_stat(&x.emu, "requests", "POST /toolbox/{id}/files/bulk-download", NULL), 2);
  many_free(&m);
  snprintf(rule, sizeof rule,
           "{\"method\":\"POST\",\"path\":\"/toolbox/%s/files/bulk-download\",\"action\":"
           "\"truncate\"}",
           x.sid);
  emu_fault(&x.emu, rule);
  struct many t = {0};
  want(&x, &t, "/tmp/rm/a.txt", "a2.txt", 0);
  want(&x, &t, "/tmp/rm/empty", "e2", 0);
  run(&x, &t);
  CHECK_EQ_INT(t.r.code, SBX_EPROTO);
  CHECK(strstr(t.r.msg, "is not multipart") != NULL);
  for (size_t i = 0; i < t.n; i++) {
    CHECK_EQ_INT(t.f[i].code, SBX_EPROTO);
    CHECK(strstr(t.f[i].msg, t.dl[i].path) != NULL);
    CHECK(!exists(t.local[i]));
  }
  CHECK(no_part_files(&x));
  many_free(&t);
  /* a file holding the fixed delimiter line (a forged close) is never taken
   * for its first bytes: its Content-Length gives it away */
  static const char evil[] = "x\r\n--DAYTONA-FILE-BOUNDARY--\r\ny";
  upload(&x, "/tmp/rm/evil", evil, sizeof evil - 1);
  struct many v = {0};
  want(&x, &v, "/tmp/rm/evil", "evil", 0);
  want(&x, &v, "/tmp/rm/a.txt", "a3.txt", 0);
  run(&x, &v);
  CHECK_EQ_INT(v.r.code, SBX_EPROTO);
  CHECK(strstr(v.f[0].msg, "/tmp/rm/evil") && strstr(v.f[0].msg, "Content-Length"));
  CHECK_EQ_INT(v.f[1].code, SBX_EPROTO);
  CHECK(!exists(v.local[0]) && !exists(v.local[1]));
  many_free(&v);
  ctx_close(&x);
}

static void dt_content_h1(void) {
  content(P_DAYTONA, 0);
}
static void dt_content_h2(void) {
  content(P_DAYTONA, 1);
}
static void e2b_content_h1(void) {
  content(P_E2B, 0);
}
static void e2b_content_h2(void) {
  content(P_E2B, 1);
}
static void local_content(void) {
  content(P_LOCAL, 0);
}
static void dt_caps(void) {
  caps(P_DAYTONA);
}
static void e2b_caps(void) {
  caps(P_E2B);
}
static void local_caps(void) {
  caps(P_LOCAL);
}
static void dt_many_ok(void) {
  many_ok(P_DAYTONA);
}
static void e2b_many_ok(void) {
  many_ok(P_E2B);
}
static void local_many_ok(void) {
  many_ok(P_LOCAL);
}
static void dt_stopped(void) {
  stopped(P_DAYTONA);
}
static void e2b_stopped(void) {
  stopped(P_E2B);
}
static void local_stopped(void) {
  stopped(P_LOCAL);
}

static const struct test_case cases[] = {
    {"dt_content_h1", dt_content_h1},
    {"dt_content_h2", dt_content_h2},
    {"dt_caps", dt_caps},
    {"dt_many_ok", dt_many_ok},
    {"dt_stopped", dt_stopped},
    {"dt_faults", dt_faults},
    {"e2b_content_h1", e2b_content_h1},
    {"e2b_content_h2", e2b_content_h2},
    {"e2b_caps", e2b_caps},
    {"e2b_many_ok", e2b_many_ok},
    {"e2b_stopped", e2b_stopped},
    {"local_content", local_content},
    {"local_caps", local_caps},
    {"local_many_ok", local_many_ok},
    {"local_stopped", local_stopped},
    {"bad_args", bad_args},
    {NULL, NULL},
};

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return test_main("read_many", cases, argc, argv, 90);
}
