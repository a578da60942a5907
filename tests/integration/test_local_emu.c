/* test_local_emu.c - sbx-emu's real exec mode runs every process through
 * the local provider: a local sandbox (<root>/local/<lid>/sandbox.json)
 * backs each emulated one, holds its processes' groups and its /home/user,
 * /tmp and /root; pause and resume reach the processes before the reply;
 * kill and shutdown leave no process and no directory; a client hanging up
 * on a create leaks no local sandbox. */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "emu_harness.h"
#include "op_results.h"

struct ctx {
  struct emu emu;
  struct ev_loop *loop;
  sbx_client *c;
  char local[300]; /* <emu root>/local */
};

#define WAIT(x, r) REQUIRE(run_until((x)->loop, &(r)->done, 20))

static void ctx_open(struct ctx *x) {
  memset(x, 0, sizeof *x);
  emu_start(&x->emu, NULL);
  snprintf(x->local, sizeof x->local, "%s/root/local", x->emu.dir);
  x->loop = ev_loop_new(EVFLAG_AUTO);
  sbx_config cfg;
  emu_config(&x->emu, &cfg, 0);
  sbx_status st;
  x->c = sbx_client_new(x->loop, &cfg, &st, NULL, 0);
  REQUIRE(x->c != NULL);
}

static void ctx_close(struct ctx *x) {
  sbx_client_free(x->c);
  ev_loop_destroy(x->loop);
  emu_stop(&x->emu);
}

static void create(struct ctx *x, char *sid) {
  struct res r = {0};
  sbx_create_opts o;
  sbx_create_opts_init(&o);
  sbx_op_id id;
  REQUIRE(sbx_sandbox_create(x->c, &o, on_sandbox, &r, &id) == SBX_OK);
  WAIT(x, &r);
  REQUIRE(r.code == 0);
  strcpy(sid, r.id);
}

/* Run cmd (as user, may be NULL); detach returns once the pid is known. */
static void exec_as(struct ctx *x, const char *sid, const char *cmd, const char *user, int detach,
                    struct res *r) {
  sbx_exec_opts o;
  sbx_exec_opts_init(&o);
  o.cmd = cmd;
  o.user = user;
  o.detach = detach;
  memset(r, 0, sizeof *r);
  sbx_op_id id;
  REQUIRE(sbx_exec_start(x->c, sid, &o, &exec_cbs, r, &id) == SBX_OK);
  WAIT(x, r);
  CHECK_EQ_INT(r->code, 0);
}

static void lifecycle(struct ctx *x, const char *what, const char *sid) {
  struct res r = {0};
  sbx_op_id id;
  if (strcmp(what, "pause") == 0)
    REQUIRE(sbx_sandbox_pause(x->c, sid, on_done, &r, &id) == SBX_OK);
  else if (strcmp(what, "kill") == 0)
    REQUIRE(sbx_sandbox_kill(x->c, sid, on_done, &r, &id) == SBX_OK);
  else
    REQUIRE(sbx_sandbox_connect(x->c, sid, 60, 0, on_sandbox, &r, &id) == SBX_OK);
  WAIT(x, &r);
  CHECK_EQ_INT(r.code, 0);
}

/* Local sandbox dirs (and tombstones) under dir; the first id in lid. */
static int local_sandboxes(const char *dir, char *lid, size_t n) {
  DIR *d = opendir(dir);
  int count = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (e->d_name[0] != '.' || strncmp(e->d_name, ".dead-", 6) == 0)
      if (count++ == 0 && lid) snprintf(lid, n, "%s", e->d_name);
  if (d) closedir(d);
  return count;
}

static json_t *record(const struct ctx *x, const char *lid) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s/sandbox.json", x->local, lid);
  return json_load_file(path, 0, NULL);
}

/* The state letter of /proc/<pid>/stat ('T' stopped, 'Z' zombie), 0 when gone. */
static char proc_state(pid_t pid) {
  char path[64], line[512];
  char st = 0;
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (f && fgets(line, sizeof line, f) && strrchr(line, ')')) st = strrchr(line, ')')[2];
  if (f) fclose(f);
  return st;
}

static int gone(pid_t pid) {
  char st = proc_state(pid);
  return st == 0 || st == 'Z' || st == 'X';
}

/* Poll up to 5 s for cond. */
#define EVENTUALLY(cond)                                                                           \
  do {                                                                                             \
    for (int i_ = 0; i_ < 500 && !(cond); i_++)                                                    \
      usleep(10000);                                                                               \
  } while (0)

static void process_runs_in_local_sandbox(void) {
  struct ctx x;
  ctx_open(&x);
  char sid[64], lid[256] = "";
  create(&x, sid);
  struct res r;
  exec_as(&x, sid, "echo $HOME $USER $E2B_SANDBOX; pwd", NULL, 0, &r);
  CHECK_EQ_STR(r.out, "/home/user user true\n/home/user\n");
  exec_as(&x, sid, "sleep 300", NULL, 1, &r);
  pid_t pid = (pid_t)r.pid;
  REQUIRE(pid > 0);
  CHECK_EQ_INT(local_sandboxes(x.local, lid, sizeof lid), 1);
  json_t *rec = record(&x, lid);
  REQUIRE(rec != NULL);
  const char *backs =
      json_string_value(json_object_get(json_object_get(rec, "metadata"), "sbx-emu.sandbox"));
  CHECK(backs && strcmp(backs, sid) == 0);
  int listed = 0; /* the command's process group is the local sandbox's */
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(rec, "pgids"), i, v) listed |= json_integer_value(v) == pid;
  CHECK(listed);
  json_decref(rec);
  CHECK(!gone(pid));

  /* root: its home is the local sandbox's root dir, seen by the files API too */
  exec_as(&x, sid, "echo $HOME $USER; pwd; echo hi > r.txt", "root", 0, &r);
  CHECK_EQ_STR(r.out, "/root root\n/root\n");
  char path[700];
  snprintf(path, sizeof path, "%s/%s/root/r.txt", x.local, lid);
  CHECK(access(path, F_OK) == 0);
  struct res s = {0};
  sbx_op_id id;
  REQUIRE(sbx_fs_stat(x.c, sid, "/root/r.txt", on_entries, &s, &id) == SBX_OK);
  WAIT(&x, &s);
  CHECK_EQ_INT(s.code, 0);
  CHECK_EQ_INT(s.size0, 3);

  /* the replies come once the processes are stopped, and running again */
  lifecycle(&x, "pause", sid);
  CHECK_EQ_INT(proc_state(pid), 'T');
  lifecycle(&x, "connect", sid);
  CHECK(proc_state(pid) != 'T');

  lifecycle(&x, "kill", sid);
  EVENTUALLY(gone(pid) && local_sandboxes(x.local, NULL, 0) == 0);
  CHECK(gone(pid));
  CHECK_EQ_INT(local_sandboxes(x.local, NULL, 0), 0);
  ctx_close(&x);
}

static void shutdown_leaves_nothing(void) {
  struct ctx x;
  ctx_open(&x);
  pid_t pids[4];
  int n = 0;
  for (int k = 0; k < 2; k++) {
    char sid[64];
    create(&x, sid);
    struct res r;
    exec_as(&x, sid, "sleep 300", NULL, 1, &r);
    pids[n++] = (pid_t)r.pid;
  }
  char lid[256];
  DIR *d = opendir(x.local);
  struct dirent *e;
  while (d && (e = readdir(d))) { /* the watchdogs go too */
    if (e->d_name[0] == '.') continue;
    snprintf(lid, sizeof lid, "%s", e->d_name);
    json_t *rec = record(&x, lid);
    json_int_t wd = rec ? json_integer_value(json_object_get(rec, "watchdogPid")) : 0;
    if (wd > 0 && n < 4) pids[n++] = (pid_t)wd;
    json_decref(rec);
  }
  if (d) closedir(d);
  CHECK_EQ_INT(n, 4);
  for (int k = 0; k < n; k++)
    CHECK(!gone(pids[k]));
  REQUIRE(kill(x.emu.pid, SIGTERM) == 0);
  int st = 0;
  REQUIRE(waitpid(x.emu.pid, &st, 0) == x.emu.pid);
  x.emu.pid = 0;
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  for (int k = 0; k < n; k++) {
    EVENTUALLY(gone(pids[k]));
    CHECK(gone(pids[k]));
  }
  char root[300];
  snprintf(root, sizeof root, "%s/root", x.emu.dir);
  CHECK(access(root, F_OK) != 0); /* the whole root, local sandboxes included */
  ctx_close(&x);
}

/* Send a request and hang up at once, before its async reply is ready. */
static void hang_up(const struct emu *e, const char *path, const char *body) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)e->port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
  char req[512];
  int len = snprintf(req, sizeof req,
                     "POST %s HTTP/1.1\r\nHost: x\r\nX-API-Key: e2b_test_key\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     path, strlen(body), body);
  REQUIRE(write(fd, req, (size_t)len) == len);
  close(fd);
}

/* Creates, pauses and resumes whose client is gone: no local sandbox
 * leaks, and the emulator (ASan in the sanitized run) exits cleanly. */
static void client_gone_mid_request(void) {
  struct ctx x;
  ctx_open(&x);
  for (int k = 0; k < 20; k++)
    hang_up(&x.emu, "/v2/sandboxes", "{\"templateID\":\"base\"}");
  /* some creates may have been answered first; none may leak a local sandbox */
  EVENTUALLY(local_sandboxes(x.local, NULL, 0) == emu_stat(&x.emu, "sandboxes", "live", NULL));
  long live = emu_stat(&x.emu, "sandboxes", "live", NULL);
  CHECK_EQ_INT(local_sandboxes(x.local, NULL, 0), live);
  char sid[64], path[128];
  create(&x, sid);
  for (int k = 0; k < 10; k++) {
    snprintf(path, sizeof path, "/sandboxes/%s/%s", sid, k % 2 ? "connect" : "pause");
    hang_up(&x.emu, path, "{}");
  }
  usleep(200000);
  lifecycle(&x, "connect", sid); /* whatever order those ran in, it runs now */
  CHECK_EQ_INT(emu_stat(&x.emu, "sandboxes", "running", NULL), live + 1);
  CHECK_EQ_INT(local_sandboxes(x.local, NULL, 0), live + 1);
  REQUIRE(kill(x.emu.pid, SIGTERM) == 0);
  int st = 0;
  REQUIRE(waitpid(x.emu.pid, &st, 0) == x.emu.pid);
  x.emu.pid = 0;
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  ctx_close(&x);
}

static const struct test_case cases[] = {
    {"process_runs_in_local_sandbox", process_runs_in_local_sandbox},
    {"shutdown_leaves_nothing", shutdown_leaves_nothing},
    {"client_gone_mid_request", client_gone_mid_request},
    {NULL, NULL},
};

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return test_main("local_emu", cases, argc, argv, 60);
}
