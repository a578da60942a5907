/* cli_main.c - `sbx`: global options and command dispatch. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_cmds.h"

enum {
  G_PROVIDER = 1,
  G_JSON,
  G_API_URL,
  G_SANDBOX_URL,
  G_DOMAIN,
  G_CA_FILE,
  G_HTTP1,
  G_TIMEOUT_MS,
  G_VERBOSE,
  G_VERSION,
};

/* No --api-key on purpose: argv is world-readable (ps, /proc), so the key
 * comes from E2B_API_KEY only. */
static const struct cli_opt global_opts[] = {
    {"--provider", 0, 1, G_PROVIDER},
    {"--json", 0, 0, G_JSON},
    {"--api-url", 0, 1, G_API_URL},
    {"--sandbox-url", 0, 1, G_SANDBOX_URL},
    {"--domain", 0, 1, G_DOMAIN},
    {"--ca-file", 0, 1, G_CA_FILE},
    {"--http1", 0, 0, G_HTTP1},
    {"--timeout-ms", 0, 1, G_TIMEOUT_MS},
    {"--verbose", 'v', 0, G_VERBOSE},
    {"--version", 0, 0, G_VERSION},
    {0, 0, 0, 0},
};

static const struct {
  const char *name;
  cli_cmd_fn fn;
} commands[] = {
    {"create", cmd_create}, {"exec", cmd_exec},       {"ls", cmd_ls},
    {"info", cmd_info},     {"kill", cmd_kill},       {"pause", cmd_pause},
    {"resume", cmd_resume}, {"stop", cmd_pause}, /* Daytona's names for the same */
    {"start", cmd_resume},  {"timeout", cmd_timeout}, {"put", cmd_put},
    {"get", cmd_get},       {"fs", cmd_fs},           {"run", cmd_run},
    {"reap", cmd_reap},     {"merge", cmd_merge},     {"archive", cmd_archive},
    {"auto", cmd_auto},     {"labels", cmd_labels},   {"snapshot", cmd_snapshot},
};

static const char *env_nonempty(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

/* A non-empty string option value. */
static int need_value(struct cli *cli, const struct cli_args *a, const char **dst) {
  if (!*a->val) return cli_usage(cli, "option '%s' needs a non-empty value", a->opt);
  *dst = a->val;
  return 0;
}

static int parse_globals(struct cli *cli, struct cli_args *a) {
  long n;
  int id;
  while ((id = cli_args_next(a, global_opts)) != CLI_END) {
    int rc = 0;
    switch (id) {
    case CLI_ERR: return CLI_EXIT_USAGE;
    case CLI_HELP: cli_print_usage(stdout, NULL); return -1;
    case G_VERSION: printf("sbx %s (libsbx %s)\n", SBX_VERSION, sbx_version()); return -1;
    case G_PROVIDER: rc = need_value(cli, a, &cli->provider); break;
    case G_JSON: cli->json = 1; break;
    case G_API_URL: rc = need_value(cli, a, &cli->api_url); break;
    case G_SANDBOX_URL: rc = need_value(cli, a, &cli->sandbox_url); break;
    case G_DOMAIN: rc = need_value(cli, a, &cli->domain); break;
    case G_CA_FILE: rc = need_value(cli, a, &cli->ca_file); break;
    case G_HTTP1: cli->http1 = 1; break;
    case G_TIMEOUT_MS:
      rc = cli_parse_long(cli, "--timeout-ms", a->val, 1, 86400000L, &n);
      cli->request_timeout_ms = n;
      break;
    case G_VERBOSE: cli->verbose++; break;
    }
    if (rc) return rc;
  }
  return 0;
}

static int cmd_help(struct cli *cli, int argc, char **argv) {
  if (argc == 0) return cli_print_usage(stdout, NULL), CLI_EXIT_OK;
  if (argc > 2) return cli_usage(cli, "unexpected argument '%s'", argv[2]);
  char name[64];
  snprintf(name, sizeof name, "%s%s%s", argv[0], argc == 2 ? " " : "", argc == 2 ? argv[1] : "");
  if (cli_print_usage(stdout, name) < 0) {
    cli->cmd = NULL;
    return cli_usage(cli, "no such command '%s'", name);
  }
  return CLI_EXIT_OK;
}

/* Flush stdout and turn a failed write into the exit code. */
static int finish_stdout(struct cli *cli, int rc) {
  if (fflush(stdout) == 0 && !ferror(stdout)) return rc;
  if (errno == EPIPE || cli->out_broken) return 128 + SIGPIPE;
  fprintf(stderr, "sbx: %s: stdout: %s\n", cli->cmd ? cli->cmd : "output", strerror(errno));
  return rc ? rc : CLI_EXIT_FAIL;
}

int main(int argc, char **argv) {
  struct cli cli;
  memset(&cli, 0, sizeof cli);
  /* A closed stdout must show up as EPIPE we can handle, not kill us
   * half-way through a transfer. */
  signal(SIGPIPE, SIG_IGN);

  /* NULL: the library picks (SBX_PROVIDER, else e2b with E2B_API_KEY, else local) */
  cli.provider = env_nonempty("SBX_PROVIDER");
  cli.ca_file = env_nonempty("SBX_CA_FILE");
  if (!cli.ca_file) cli.ca_file = env_nonempty("SBX_CA_BUNDLE");
  const char *trace = env_nonempty("SBX_TRACE");
  cli.trace = trace && strcmp(trace, "0") != 0;

  struct cli_args a;
  cli_args_init(&a, &cli, argc - 1, argv + 1);
  a.stop_at_pos = 1; /* global options end at the command name */
  int rc = parse_globals(&cli, &a);
  if (rc) return finish_stdout(&cli, rc < 0 ? CLI_EXIT_OK : rc);
  if (a.i >= a.argc) return cli_usage(&cli, "missing command");

  const char *name = a.argv[a.i];
  int sub_argc = a.argc - a.i - 1;
  char **sub_argv = a.argv + a.i + 1;
  cli_cmd_fn fn = NULL;
  if (!strcmp(name, "help")) fn = cmd_help;
  for (size_t i = 0; !fn && i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(commands[i].name, name)) fn = commands[i].fn;
  if (!fn) return finish_stdout(&cli, cli_usage(&cli, "unknown command '%s'", name));

  cli.cmd = name;
  rc = fn(&cli, sub_argc, sub_argv);
  rc = finish_stdout(&cli, rc);
  if (cli.loop) ev_loop_destroy(cli.loop); /* keeps leak checkers quiet */
  return rc;
}
