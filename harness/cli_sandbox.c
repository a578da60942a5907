/* cli_sandbox.c - sandbox lifecycle commands: create, ls, info, kill, pause,
 * resume, timeout. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_cmds.h"
#include "cli_output.h"

static int help(struct cli *cli) {
  cli_print_usage(stdout, cli->cmd);
  return CLI_EXIT_OK;
}

static const struct cli_opt no_opts[] = {{0, 0, 0, 0}};

/* ---- ops with a sandbox info result (create, info, resume) ---------------- */

enum { SHOW_ID, SHOW_INFO, SHOW_NOTHING };

struct sb_op {
  struct cli *cli;
  const char *target; /* for messages */
  int show;           /* without --json */
};

static void sandbox_cb(sbx_client *c, sbx_op_id op, const sbx_error *err,
                       const sbx_sandbox_info *info, void *ud) {
  struct sb_op *s = ud;
  if (err) {
    cli_fail(s->cli, s->target, err);
  } else if (s->cli->json) {
    out_json_line(out_sandbox_json(info));
  } else if (s->show == SHOW_ID) {
    printf("%s\n", info->id);
  } else if (s->show == SHOW_INFO) {
    out_info_text(info);
  }
  cli_done(s->cli, op);
}

static void done_cb(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct sb_op *s = ud;
  if (err)
    cli_fail(s->cli, s->target, err);
  else if (s->cli->json)
    out_ok_json(s->cli->cmd, s->target);
  cli_done(s->cli, op);
}

/* ---- create --------------------------------------------------------------- */

enum {
  C_TEMPLATE = 1,
  C_TIMEOUT,
  C_META,
  C_ENV,
  C_AUTO_PAUSE,
  C_NO_INTERNET,
  C_ALLOW_OUT,
  C_DENY_OUT,
  C_LEGACY,
  C_IMAGE,
  C_CPU,
  C_GPU,
  C_MEMORY,
  C_DISK,
  C_OS_USER,
  C_PUBLIC,
  C_AUTO_ARCHIVE,
  C_AUTO_DELETE,
  C_VOLUME
};

static const struct cli_opt create_opts[] = {
    {"--template", 0, 1, C_TEMPLATE},
    {"--timeout", 0, 1, C_TIMEOUT},
    {"--meta", 0, 1, C_META},
    {"--env", 0, 1, C_ENV},
    {"--auto-pause", 0, 0, C_AUTO_PAUSE},
    {"--no-internet", 0, 0, C_NO_INTERNET},
    {"--allow-out", 0, 1, C_ALLOW_OUT},
    {"--deny-out", 0, 1, C_DENY_OUT},
    {"--legacy-v1", 0, 0, C_LEGACY},
    {"--image", 0, 1, C_IMAGE},
    {"--cpu", 0, 1, C_CPU},
    {"--gpu", 0, 1, C_GPU},
    {"--memory", 0, 1, C_MEMORY},
    {"--disk", 0, 1, C_DISK},
    {"--os-user", 0, 1, C_OS_USER},
    {"--public", 0, 0, C_PUBLIC},
    {"--auto-archive", 0, 1, C_AUTO_ARCHIVE},
    {"--auto-delete", 0, 1, C_AUTO_DELETE},
    {"--volume", 0, 1, C_VOLUME},
    {0, 0, 0, 0},
};

/* --cpu N and the like: a whole number in [lo, hi]. */
static int int_opt(struct cli *cli, const char *name, const char *val, long lo, long hi, int *out) {
  long n = 0;
  int rc = cli_parse_long(cli, name, val, lo, hi, &n);
  *out = (int)n;
  return rc;
}

int cmd_create(struct cli *cli, int argc, char **argv) {
  sbx_create_opts o;
  sbx_create_opts_init(&o);
  struct cli_kvs meta = {0}, envs = {0}, vols = {0};
  struct cli_strs allow = {0}, deny = {0};
  struct cli_args a;
  cli_args_init(&a, cli, argc, argv);
  int rc = 0, id;
  long n;
  while (!rc && (id = cli_args_next(&a, create_opts)) != CLI_END) {
    switch (id) {
    case CLI_ERR: rc = CLI_EXIT_USAGE; break;
    case CLI_HELP:
      rc = -1;
      help(cli);
      break;
    case CLI_POS: rc = cli_usage(cli, "unexpected argument '%s'", a.val); break;
    case C_TEMPLATE:
      if (!*a.val) rc = cli_usage(cli, "--template needs a non-empty value");
      o.template_id = a.val;
      break;
    case C_TIMEOUT:
      rc = cli_parse_long(cli, "--timeout", a.val, 0, INT_MAX, &n);
      o.timeout_s = n;
      break;
    case C_META: rc = cli_kvs_add(cli, &meta, "--meta", a.val); break;
    case C_ENV: rc = cli_kvs_add(cli, &envs, "--env", a.val); break;
    case C_AUTO_PAUSE: o.auto_pause = 1; break;
    case C_NO_INTERNET: o.allow_internet = 0; break;
    case C_ALLOW_OUT: cli_strs_add(&allow, a.val); break;
    case C_DENY_OUT: cli_strs_add(&deny, a.val); break;
    case C_LEGACY: o.legacy_v1 = 1; break;
    case C_IMAGE:
      if (!*a.val) rc = cli_usage(cli, "--image needs a non-empty value");
      o.image = a.val;
      break;
    case C_CPU: rc = int_opt(cli, "--cpu", a.val, 1, 1024, &o.cpu); break;
    case C_GPU: rc = int_opt(cli, "--gpu", a.val, 1, 64, &o.gpu); break;
    case C_MEMORY: rc = int_opt(cli, "--memory", a.val, 1, 4096, &o.memory_gb); break;
    case C_DISK: rc = int_opt(cli, "--disk", a.val, 1, 10, &o.disk_gb); break; /* Daytona's cap */
    case C_OS_USER: o.os_user = a.val; break;
    case C_PUBLIC: o.public_previews = 1; break;
    case C_AUTO_ARCHIVE:
      rc = cli_parse_long(cli, "--auto-archive", a.val, 1, INT_MAX, &n);
      o.auto_archive_minutes = n;
      break;
    case C_AUTO_DELETE:
      rc = cli_parse_long(cli, "--auto-delete", a.val, 1, INT_MAX, &n);
      o.auto_delete_minutes = n;
      break;
    case C_VOLUME: rc = cli_kvs_add(cli, &vols, "--volume", a.val); break;
    }
  }
  if (!rc) rc = cli_open(cli);
  if (!rc) {
    o.metadata = meta.v;
    o.n_metadata = meta.n;
    o.envs = envs.v;
    o.n_envs = envs.n;
    o.allow_out = allow.v;
    o.n_allow_out = allow.n;
    o.deny_out = deny.v;
    o.n_deny_out = deny.n;
    o.volumes = vols.v;
    o.n_volumes = vols.n;
    struct sb_op s = {cli, o.template_id ? o.template_id : "base", SHOW_ID};
    sbx_op_id op = 0;
    cli_track(cli, sbx_sandbox_create(cli->client, &o, sandbox_cb, &s, &op), &op, s.target);
    cli_run(cli);
    rc = cli_exit_code(cli);
  }
  cli_kvs_free(&meta);
  cli_kvs_free(&envs);
  cli_kvs_free(&vols);
  cli_strs_free(&allow);
  cli_strs_free(&deny);
  return rc < 0 ? CLI_EXIT_OK : rc;
}

/* ---- ls ------------------------------------------------------------------- */

enum { L_META = 1, L_STATE, L_LIMIT, L_ALL };

static const struct cli_opt ls_opts[] = {
    {"--meta", 0, 1, L_META},
    {"--state", 0, 1, L_STATE},
    {"--limit", 0, 1, L_LIMIT},
    {"--all", 0, 0, L_ALL},
    {0, 0, 0, 0},
};

struct ls_state {
  struct cli *cli;
  sbx_list_opts opts;
  int all;
  struct out_table table;
};

static void list_cb(sbx_client *c, sbx_op_id op, const sbx_error *err,
                    const sbx_sandbox_info *items, size_t n, const char *next_token, void *ud) {
  struct ls_state *ls = ud;
  struct cli *cli = ls->cli;
  if (err) {
    cli_fail(cli, "sandboxes", err);
    cli_done(cli, op);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if (cli->json) {
      out_json_line(out_sandbox_json(&items[i]));
      continue;
    }
    char *meta = out_metadata_text(items[i].metadata, items[i].n_metadata);
    const char *row[] = {items[i].id,         items[i].template_id, items[i].state,
                         items[i].started_at, items[i].end_at,      meta};
    out_table_add(&ls->table, row);
    free(meta);
  }
  if (cli->json) fflush(stdout); /* a page is a unit: show it now */
  /* Start the next page before this op is marked done, so the loop keeps
   * running; next_token is copied by the call. */
  if (ls->all && next_token && *next_token && !cli->interrupted && !cli->out_broken) {
    sbx_op_id next = 0;
    ls->opts.next_token = next_token;
    cli_track(cli, sbx_sandbox_list(c, &ls->opts, list_cb, ls, &next), &next, "sandboxes");
    ls->opts.next_token = NULL;
  }
  cli_done(cli, op);
}

static int valid_states(const char *s) {
  if (!*s) return 0;
  while (*s) {
    size_t len = strcspn(s, ",");
    if (!((len == 7 && !strncmp(s, "running", 7)) || (len == 6 && !strncmp(s, "paused", 6))))
      return 0;
    s += len;
    if (*s == ',' && !*++s) return 0; /* trailing comma */
  }
  return 1;
}

int cmd_ls(struct cli *cli, int argc, char **argv) {
  struct ls_state ls;
  memset(&ls, 0, sizeof ls);
  ls.cli = cli;
  struct cli_kvs meta = {0};
  struct cli_args a;
  cli_args_init(&a, cli, argc, argv);
  int rc = 0, id;
  long n;
  while (!rc && (id = cli_args_next(&a, ls_opts)) != CLI_END) {
    switch (id) {
    case CLI_ERR: rc = CLI_EXIT_USAGE; break;
    case CLI_HELP:
      rc = -1;
      help(cli);
      break;
    case CLI_POS: rc = cli_usage(cli, "unexpected argument '%s'", a.val); break;
    case L_META: rc = cli_kvs_add(cli, &meta, "--meta", a.val); break;
    case L_STATE:
      if (!valid_states(a.val))
        rc = cli_usage(cli, "--state: expected running, paused or running,paused, got '%s'", a.val);
      ls.opts.state = a.val;
      break;
    case L_LIMIT:
      rc = cli_parse_long(cli, "--limit", a.val, 1, 100, &n);
      ls.opts.limit = (int)n;
      break;
    case L_ALL: ls.all = 1; break;
    }
  }
  if (!rc) rc = cli_open(cli);
  if (!rc) {
    ls.opts.metadata = meta.v;
    ls.opts.n_metadata = meta.n;
    static const char *const header[] = {"ID", "TEMPLATE", "STATE", "STARTED", "END", "METADATA"};
    out_table_init(&ls.table, 6);
    out_table_add(&ls.table, header);
    sbx_op_id op = 0;
    cli_track(cli, sbx_sandbox_list(cli->client, &ls.opts, list_cb, &ls, &op), &op, "sandboxes");
    cli_run(cli);
    rc = cli_exit_code(cli);
    if (!cli->json && rc == CLI_EXIT_OK) out_table_print(&ls.table);
    out_table_free(&ls.table);
  }
  cli_kvs_free(&meta);
  return rc < 0 ? CLI_EXIT_OK : rc;
}

/* ---- info, pause, resume, timeout, kill --------------------------------------- */

int cmd_info(struct cli *cli, int argc, char **argv) {
  static const char *const names[] = {"sandbox id"};
  const char *sid;
  int rc = cli_positionals(cli, argc, argv, &sid, 1, names);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if ((rc = cli_open(cli))) return rc;
  struct sb_op s = {cli, sid, SHOW_INFO};
  sbx_op_id op = 0;
  cli_track(cli, sbx_sandbox_info_get(cli->client, sid, sandbox_cb, &s, &op), &op, sid);
  cli_run(cli);
  return cli_exit_code(cli);
}

int cmd_pause(struct cli *cli, int argc, char **argv) {
  static const char *const names[] = {"sandbox id"};
  const char *sid;
  int rc = cli_positionals(cli, argc, argv, &sid, 1, names);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if ((rc = cli_open(cli))) return rc;
  struct sb_op s = {cli, sid, SHOW_NOTHING};
  sbx_op_id op = 0;
  cli_track(cli, sbx_sandbox_pause(cli->client, sid, done_cb, &s, &op), &op, sid);
  cli_run(cli);
  return cli_exit_code(cli);
}

static const struct cli_opt resume_opts[] = {{"--timeout", 0, 1, 1}, {0, 0, 0, 0}};

int cmd_resume(struct cli *cli, int argc, char **argv) {
  const char *sid = NULL;
  long timeout_s = 0;
  struct cli_args a;
  cli_args_init(&a, cli, argc, argv);
  int rc = 0, id;
  while (!rc && (id = cli_args_next(&a, resume_opts)) != CLI_END) {
    switch (id) {
    case CLI_ERR: return CLI_EXIT_USAGE;
    case CLI_HELP: return help(cli);
    case CLI_POS:
      if (sid)
        rc = cli_usage(cli, "unexpected argument '%s'", a.val);
      else if (!*a.val)
        rc = cli_usage(cli, "empty sandbox id");
      sid = a.val;
      break;
    case 1: rc = cli_parse_long(cli, "--timeout", a.val, 0, INT_MAX, &timeout_s); break;
    }
  }
  if (!rc && !sid) rc = cli_usage(cli, "missing sandbox id");
  if (rc) return rc;
  if ((rc = cli_open(cli))) return rc;
  struct sb_op s = {cli, sid, SHOW_NOTHING};
  sbx_op_id op = 0;
  cli_track(cli, sbx_sandbox_connect(cli->client, sid, timeout_s, 0, sandbox_cb, &s, &op), &op,
            sid);
  cli_run(cli);
  return cli_exit_code(cli);
}

int cmd_timeout(struct cli *cli, int argc, char **argv) {
  static const char *const names[] = {"sandbox id", "timeout in seconds"};
  const char *args[2];
  long secs;
  int rc = cli_positionals(cli, argc, argv, args, 2, names);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if ((rc = cli_parse_long(cli, "seconds", args[1], 0, INT_MAX, &secs))) return rc;
  if ((rc = cli_open(cli))) return rc;
  struct sb_op s = {cli, args[0], SHOW_NOTHING};
  sbx_op_id op = 0;
  cli_track(cli, sbx_sandbox_set_timeout(cli->client, args[0], secs, done_cb, &s, &op), &op,
            args[0]);
  cli_run(cli);
  return cli_exit_code(cli);
}

int cmd_kill(struct cli *cli, int argc, char **argv) {
  struct cli_strs ids = {0};
  struct cli_args a;
  cli_args_init(&a, cli, argc, argv);
  int rc = 0, id;
  while (!rc && (id = cli_args_next(&a, no_opts)) != CLI_END) {
    switch (id) {
    case CLI_ERR: rc = CLI_EXIT_USAGE; break;
    case CLI_HELP:
      rc = -1;
      help(cli);
      break;
    case CLI_POS:
      if (!*a.val) rc = cli_usage(cli, "empty sandbox id");
      cli_strs_add(&ids, a.val);
      break;
    }
  }
  if (!rc && !ids.n) rc = cli_usage(cli, "missing sandbox id");
  if (!rc) rc = cli_open(cli);
  if (!rc) {
    /* All kills in flight at once; each reports on its own. */
    struct sb_op *ops = cli_xmalloc(ids.n * sizeof *ops);
    for (size_t i = 0; i < ids.n; i++) {
      ops[i] = (struct sb_op){cli, ids.v[i], SHOW_NOTHING};
      sbx_op_id op = 0;
      cli_track(cli, sbx_sandbox_kill(cli->client, ids.v[i], done_cb, &ops[i], &op), &op, ids.v[i]);
    }
    cli_run(cli);
    free(ops);
    rc = cli_exit_code(cli);
  }
  cli_strs_free(&ids);
  return rc < 0 ? CLI_EXIT_OK : rc;
}
