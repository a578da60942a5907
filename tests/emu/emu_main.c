/* emu_main.c - sbx-emu: an emulator of the E2B sandbox cloud (control plane,
 * envd REST and Connect-RPC) and of Daytona's (API and toolbox) on one libev
 * loop. See usage(). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu_app.h"
#include "emu_dt.h"
#include "emu_http.h"

/* Weak: sbx-emu links without the TLS transport; --tls-port then fails. */
#pragma weak emu_tls_listen

struct options {
  const char *host;
  int port, tls_port;
  const char *tls_cert, *tls_key, *port_file, *root, *api_key;
  int exec_null, max_sandboxes, verbose, dt_minute_s;
};

static void usage(FILE *f) {
  fprintf(f, "usage: sbx-emu [--host 127.0.0.1] [--port N] [--tls-port N --tls-cert F "
             "--tls-key F]\n"
             "               [--port-file PATH] [--exec real|null] [--root DIR] [--api-key KEY]\n"
             "               [--max-sandboxes N] [--verbose]\n"
             "               [--daytona-minute-s N]  (seconds per Daytona interval minute)\n"
             "Port 0 picks a free port. Prints 'sbx-emu: http=PORT https=PORT' once listening.\n"
             "Daytona: archiving, restoring and each snapshot build step take 1/200 of a\n"
             "minute; a snapshot of an image under fail/ (e.g. fail/x:1.0) ends in 'error'.\n"
             "The key may come from $SBX_EMU_API_KEY instead of --api-key, out of argv.\n");
}

static int parse_int(const char *s, int lo, int hi, int *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || !*s || *end || v < lo || v > hi) return -1;
  *out = (int)v;
  return 0;
}

static int parse_args(int argc, char **argv, struct options *o) {
  static const struct option longs[] = {
      {"host", required_argument, 0, 'h'},     {"port", required_argument, 0, 'p'},
      {"tls-port", required_argument, 0, 't'}, {"tls-cert", required_argument, 0, 'c'},
      {"tls-key", required_argument, 0, 'k'},  {"port-file", required_argument, 0, 'f'},
      {"exec", required_argument, 0, 'e'},     {"root", required_argument, 0, 'r'},
      {"api-key", required_argument, 0, 'a'},  {"max-sandboxes", required_argument, 0, 'm'},
      {"verbose", no_argument, 0, 'v'},        {"daytona-minute-s", required_argument, 0, 'D'},
      {"help", no_argument, 0, '?'},           {0, 0, 0, 0}};
  *o = (struct options){.host = "127.0.0.1", .tls_port = -1};
  int c;
  while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
    int bad = 0;
    switch (c) {
    case 'h': o->host = optarg; break;
    case 'p': bad = parse_int(optarg, 0, 65535, &o->port); break;
    case 't': bad = parse_int(optarg, 0, 65535, &o->tls_port); break;
    case 'c': o->tls_cert = optarg; break;
    case 'k': o->tls_key = optarg; break;
    case 'f': o->port_file = optarg; break;
    case 'r': o->root = optarg; break;
    case 'a': o->api_key = optarg; break;
    case 'm': bad = parse_int(optarg, 0, INT_MAX, &o->max_sandboxes); break;
    case 'v': o->verbose = 1; break;
    case 'D': bad = parse_int(optarg, 1, 3600, &o->dt_minute_s); break;
    case 'e':
      if (strcmp(optarg, "null") == 0)
        o->exec_null = 1;
      else
        bad = strcmp(optarg, "real") != 0;
      break;
    default: usage(stderr); return -1;
    }
    if (bad) {
      fprintf(stderr, "sbx-emu: bad option value: %s\n", optarg);
      usage(stderr);
      return -1;
    }
  }
  if (optind < argc || (o->tls_port >= 0 && (!o->tls_cert || !o->tls_key))) {
    usage(stderr);
    return -1;
  }
  return 0;
}

/* The sandboxes' parent directory, absolute; we remove it at exit only if we made it. */
static int setup_root(struct emu_app *app, const char *root) {
  char real[PATH_MAX];
  if (!root) {
    /* tmpfs when there is one: thousands of sandbox directories made and
     * removed per second slow ext4's inode allocator to a crawl */
    char tmpl[] = "/dev/shm/sbx-emu-XXXXXX";
    struct stat shm;
    if (stat("/dev/shm", &shm) != 0 || !S_ISDIR(shm.st_mode) || access("/dev/shm", W_OK) != 0)
      memcpy(tmpl, "/tmp/sbx-emu-XXXXXX", sizeof "/tmp/sbx-emu-XXXXXX");
    if (!mkdtemp(tmpl)) return -1;
    app->root_ours = 1;
    app->root = strdup(tmpl);
    return app->root ? 0 : -1;
  }
  struct stat st;
  if (stat(root, &st) < 0) {
    if (emu_mkdir_p(root) < 0) return -1;
    app->root_ours = 1;
  } else if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return -1;
  }
  if (!realpath(root, real)) return -1;
  app->root = strdup(real);
  return app->root ? 0 : -1;
}

static int write_port_file(const char *path, int port, int tls_port) {
  size_t n = strlen(path) + 16;
  char *tmp = malloc(n);
  if (!tmp) return -1;
  snprintf(tmp, n, "%s.tmp%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "w");
  int rc = -1;
  if (f) {
    int ok = fprintf(f, "%d %d\n", port, tls_port) > 0;
    if (fclose(f) == 0 && ok && rename(tmp, path) == 0) rc = 0;
  }
  if (rc < 0) unlink(tmp);
  free(tmp);
  return rc;
}

static void on_stop_signal(struct ev_loop *loop, ev_signal *w, int revents) {
  struct emu_app *app = w->data;
  if (app->verbose) fprintf(stderr, "sbx-emu: signal %d, shutting down\n", w->signum);
  emu_store_shutdown(app); /* kills every sandbox (main waits for the local kills) */
  emu_dt_shutdown(app);
  ev_break(loop, EVBREAK_ALL);
}

int main(int argc, char **argv) {
  struct options o;
  if (parse_args(argc, argv, &o) < 0) return 2;
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl; /* thousands of connections and pipes need descriptors */
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  struct emu_app *app = calloc(1, sizeof *app);
  struct emu_server srv;
  memset(&srv, 0, sizeof srv);
  if (!app) return 1;
  app->exec_null = o.exec_null;
  app->max_sandboxes = o.max_sandboxes;
  app->verbose = o.verbose;
  if (!o.api_key) { /* the environment keeps the key out of argv (ps) */
    const char *env = getenv("SBX_EMU_API_KEY");
    if (env && *env) o.api_key = env;
  }
  app->api_key = o.api_key ? strdup(o.api_key) : NULL;
  app->next_null_pid = 1000;
  app->dt_minute_s = o.dt_minute_s > 0 ? o.dt_minute_s : 60; /* tests shorten the minute */
  if (setup_root(app, o.root) < 0) {
    fprintf(stderr, "sbx-emu: cannot use root directory %s: %s\n", o.root ? o.root : "(tmp)",
            strerror(errno));
    return 1;
  }

  struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
  if (!loop) {
    fprintf(stderr, "sbx-emu: cannot initialise libev\n");
    return 1;
  }
  srv.loop = loop;
  srv.app = app;
  srv.verbose = o.verbose;
  app->srv = &srv;
  app->loop = loop;
  if (emu_dt_snap_init(app) < 0) {
    fprintf(stderr, "sbx-emu: out of memory\n");
    return 1;
  }
  /* real mode: processes run in local-provider sandboxes under <root>/local */
  if (!app->exec_null && emu_local_open(app) < 0) return 1;

  int port = emu_h1_listen(&srv, o.host, o.port);
  if (port < 0) {
    fprintf(stderr, "sbx-emu: cannot listen on %s:%d: %s\n", o.host, o.port, strerror(errno));
    return 1;
  }
  int tls_port = 0;
  if (o.tls_port >= 0) {
    tls_port =
        emu_tls_listen ? emu_tls_listen(&srv, o.host, o.tls_port, o.tls_cert, o.tls_key) : -1;
    if (tls_port < 0) {
      fprintf(stderr, "sbx-emu: cannot serve TLS on %s:%d\n", o.host, o.tls_port);
      return 1;
    }
  }
  printf("sbx-emu: http=%d https=%d\n", port, tls_port);
  fflush(stdout);
  if (o.port_file && write_port_file(o.port_file, port, tls_port) < 0) {
    fprintf(stderr, "sbx-emu: cannot write %s: %s\n", o.port_file, strerror(errno));
    return 1;
  }
  if (o.verbose)
    fprintf(stderr, "sbx-emu: root %s, exec %s\n", app->root,
            o.exec_null ? "null" : "real (local provider)");

  ev_signal sigterm, sigint;
  ev_signal_init(&sigterm, on_stop_signal, SIGTERM);
  ev_signal_init(&sigint, on_stop_signal, SIGINT);
  sigterm.data = sigint.data = app;
  ev_signal_start(loop, &sigterm);
  ev_signal_start(loop, &sigint);

  ev_run(loop, 0);

  emu_store_shutdown(app);
  emu_dt_shutdown(app);
  emu_dt_snap_shutdown(app);
  emu_local_close(app); /* the local sandboxes' processes and dirs are gone after it */
  if (app->root_ours) emu_rm_rf(app->root);
  emu_faults_free(app);
  emu_stats_free(app);
  if (srv.ssl_ctx) SSL_CTX_free(srv.ssl_ctx); /* live sessions keep their own reference */
  free(app->root);
  free(app->api_key);
  free(app);
  return 0;
}
