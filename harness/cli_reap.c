/* cli_reap.c - `sbx reap --run ID | --all`: list the sandboxes `sbx run`
 * labelled (sbx.run=ID, or any sbx.run label) page by page, then kill them
 * a window at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "cli_cmds.h"
#include "cli_output.h"

#define REAP_WINDOW 32

struct reap {
  struct cli *cli;
  const char *run; /* NULL: --all */
  int dry_run;
  char *next_token;
  char **ids;
  size_t n_ids, next_kill, killed;
  int in_flight;
};

static void start_list(struct reap *rp);

static void kill_next(struct reap *rp);

static void kill_cb(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct reap *rp = ud;
  rp->in_flight--;
  if (err && err->code != SBX_ENOTFOUND)
    cli_fail(rp->cli, rp->ids[rp->next_kill - 1], err);
  else
    rp->killed++;
  cli_done(rp->cli, op);
  kill_next(rp);
}

static void kill_next(struct reap *rp) {
  while (!rp->cli->interrupted && rp->next_kill < rp->n_ids && rp->in_flight < REAP_WINDOW) {
    sbx_op_id op;
    const char *id = rp->ids[rp->next_kill++];
    if (cli_track(rp->cli, sbx_sandbox_kill(rp->cli->client, id, kill_cb, rp, &op), &op, id) == 0)
      rp->in_flight++;
  }
}

static int has_run_label(const sbx_sandbox_info *s) {
  for (size_t i = 0; i < s->n_metadata; i++)
    if (!strcmp(s->metadata[i].key, "sbx.run")) return 1;
  return 0;
}

static void list_cb(sbx_client *c, sbx_op_id op, const sbx_error *err,
                    const sbx_sandbox_info *items, size_t n, const char *next_token, void *ud) {
  struct reap *rp = ud;
  if (err) {
    cli_fail(rp->cli, "sandboxes", err);
    cli_done(rp->cli, op);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if (!rp->run && !has_run_label(&items[i])) continue;
    rp->ids = cli_xrealloc(rp->ids, (rp->n_ids + 1) * sizeof *rp->ids);
    rp->ids[rp->n_ids++] = cli_xstrdup(items[i].id);
    if (rp->dry_run) printf("%s\n", items[i].id);
  }
  free(rp->next_token);
  rp->next_token = next_token && *next_token ? cli_xstrdup(next_token) : NULL;
  if (rp->next_token)
    start_list(rp);
  else if (!rp->dry_run)
    kill_next(rp);
  cli_done(rp->cli, op);
}

static void start_list(struct reap *rp) {
  sbx_kv label = {"sbx.run", rp->run};
  sbx_list_opts o = {.limit = 100, .next_token = rp->next_token};
  if (rp->run) {
    o.metadata = &label;
    o.n_metadata = 1;
  }
  sbx_op_id op;
  cli_track(rp->cli, sbx_sandbox_list(rp->cli->client, &o, list_cb, rp, &op), &op, "sandboxes");
}

enum { P_RUN = 1, P_ALL, P_DRY };

static const struct cli_opt reap_opts[] = {
    {"--run", 0, 1, P_RUN}, {"--all", 0, 0, P_ALL}, {"--dry-run", 'n', 0, P_DRY}, {0, 0, 0, 0}};

int cmd_reap(struct cli *cli, int argc, char **argv) {
  struct reap rp = {.cli = cli};
  int all = 0, id;
  struct cli_args a;
  cli_args_init(&a, cli, argc, argv);
  while ((id = cli_args_next(&a, reap_opts)) != CLI_END) {
    switch (id) {
    case CLI_ERR: return CLI_EXIT_USAGE;
    case CLI_HELP: cli_print_usage(stdout, "reap"); return CLI_EXIT_OK;
    case CLI_POS: return cli_usage(cli, "unexpected argument '%s'", a.val);
    case P_RUN:
      if (!*a.val) return cli_usage(cli, "--run needs a run id");
      rp.run = a.val;
      break;
    case P_ALL: all = 1; break;
    case P_DRY: rp.dry_run = 1; break;
    }
  }
  if (!!rp.run == all) return cli_usage(cli, "give exactly one of --run ID or --all");
  int rc = cli_open(cli);
  if (rc) return rc;
  start_list(&rp);
  cli_run(cli);
  if (!rp.dry_run && !cli->json && cli->exit_code == CLI_EXIT_OK)
    fprintf(stderr, "sbx: reap: killed %zu sandboxes\n", rp.killed);
  if (cli->json && !rp.dry_run) {
    json_t *o = json_pack("{s:s, s:I}", "command", "reap", "killed", (json_int_t)rp.killed);
    out_json_line(o);
  }
  for (size_t i = 0; i < rp.n_ids; i++)
    free(rp.ids[i]);
  free(rp.ids);
  free(rp.next_token);
  return cli_exit_code(cli);
}
