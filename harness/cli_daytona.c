/* cli_daytona.c - Daytona's control-plane commands: archive, labels and
 * snapshot create|get|list|delete. The other providers cannot do these:
 * their SBX_ENOTSUP is reported naming the provider. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_cmds.h"
#include "cli_output.h"

#define REF_RULES "letters, digits, '.', '_', '-', ':' and single '/' between parts"

struct dt_op {
  struct cli *cli;
  const char *target;      /* for messages */
  struct out_table *table; /* snapshot list without --json */
};

/* The library says why it refused a call in a warning, not in the status:
 * keep the last one (and pass every line on to the -v logger, if any). */
struct warnings {
  sbx_log_fn next;
  void *next_ud;
  char last[400];
};

static void keep_warning(void *ud, int level, const char *component, sbx_op_id op,
                         const char *msg) {
  struct warnings *w = ud;
  if (level <= SBX_LOG_WARN) snprintf(w->last, sizeof w->last, "%s", msg ? msg : "");
  if (w->next) w->next(w->next_ud, level, component, op, msg);
}

static void catch_warnings(struct cli *cli, sbx_config *cfg) {
  struct warnings *w = cli->configure_ud;
  w->next = cfg->log;
  w->next_ud = cfg->log_ud;
  cfg->log = keep_warning;
  cfg->log_ud = w;
}

static int open_client(struct cli *cli, struct warnings *w) {
  memset(w, 0, sizeof *w);
  cli->configure = catch_warnings;
  cli->configure_ud = w;
  int rc = cli_open(cli);
  w->last[0] = '\0'; /* only what the command's own call says */
  return rc;
}

/* Track a started op. A refusal at the call gets a message of its own: the
 * status alone would not say which provider lacks the command, or what was
 * invalid (the library's warning, else the rules in `invalid`). */
static void track(struct cli *cli, sbx_status st, const sbx_op_id *op, const char *what,
                  const struct warnings *w, const char *invalid) {
  char msg[400];
  if (st == SBX_ENOTSUP)
    snprintf(msg, sizeof msg, "%s: '%s' is not supported by this provider (Daytona only)",
             sbx_client_provider(cli->client), cli->cmd);
  else if (st == SBX_EINVAL && (w->last[0] || invalid))
    snprintf(msg, sizeof msg, "%s", w->last[0] ? w->last : invalid);
  else {
    cli_track(cli, st, op, what);
    return;
  }
  cli_fail_status(cli, what, st, msg);
}

/* Report an op's end: the error, or with --json and no result printed
 * (ok_line) {"ok":true,...}. */
static void finish(struct dt_op *d, sbx_op_id op, const sbx_error *err, int ok_line) {
  if (err)
    cli_fail(d->cli, d->target, err);
  else if (d->cli->json && ok_line)
    out_ok_json(d->cli->cmd, d->target);
  cli_done(d->cli, op);
}

static void done_cb(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  finish(ud, op, err, 1);
}

static void snapshot_cb(sbx_client *c, sbx_op_id op, const sbx_error *err,
                        const sbx_snapshot_info *s, void *ud) {
  struct dt_op *d = ud;
  if (s && d->cli->json)
    out_json_line(out_snapshot_json(s));
  else if (s)
    out_snapshot_text(s);
  finish(d, op, err, 0);
}

/* ---- archive, labels ------------------------------------------------------------ */

int cmd_archive(struct cli *cli, int argc, char **argv) {
  static const char *const names[] = {"sandbox id"};
  const char *sid;
  int rc = cli_positionals(cli, argc, argv, &sid, 1, names);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  struct warnings w;
  if ((rc = open_client(cli, &w))) return rc;
  struct dt_op d = {cli, sid, NULL};
  sbx_op_id op = 0;
  track(cli, sbx_sandbox_archive(cli->client, sid, done_cb, &d, &op), &op, sid, &w, NULL);
  cli_run(cli);
  return cli_exit_code(cli);
}

/* sbx auto ID stop|archive|delete MINUTES */
int cmd_auto(struct cli *cli, int argc, char **argv) {
  static const char *const names[] = {"sandbox id", "stop, archive or delete", "minutes"};
  static const char *const kinds[] = {"stop", "archive", "delete"};
  const char *pos[3];
  int rc = cli_positionals(cli, argc, argv, pos, 3, names);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  int which = 0;
  for (int i = 0; i < 3; i++)
    if (!strcmp(pos[1], kinds[i])) which = SBX_AUTO_STOP + i;
  if (!which) return cli_usage(cli, "expected stop, archive or delete, got '%s'", pos[1]);
  long minutes = which == SBX_AUTO_DELETE ? -1 : 0; /* "never" */
  if (strcmp(pos[2], "never") != 0 &&
      (rc = cli_parse_long(cli, "minutes", pos[2], 0, 1000000, &minutes)))
    return rc;
  if (which == SBX_AUTO_ARCHIVE && !strcmp(pos[2], "never"))
    return cli_usage(cli, "auto-archive cannot be turned off (0: the server's maximum)");
  struct warnings w;
  if ((rc = open_client(cli, &w))) return rc;
  struct dt_op d = {cli, pos[0], NULL};
  sbx_op_id op = 0;
  track(cli, sbx_sandbox_set_interval(cli->client, pos[0], which, minutes, done_cb, &d, &op), &op,
        pos[0], &w, NULL);
  cli_run(cli);
  return cli_exit_code(cli);
}

static const struct cli_opt labels_opts[] = {{"--clear", 0, 0, 1}, {0, 0, 0, 0}};

/* sbx labels ID K=V... | --clear */
static int parse_labels(struct cli *cli, int argc, char **argv, const char **sid,
                        struct cli_kvs *kv, int *clear) {
  struct cli_args a;
  cli_args_init(&a, cli, argc, argv);
  int rc = 0, id;
  while (!rc && (id = cli_args_next(&a, labels_opts)) != CLI_END) {
    if (id == CLI_ERR) return CLI_EXIT_USAGE;
    if (id == CLI_HELP) return cli_print_usage(stdout, cli->cmd), -1;
    if (id == 1)
      *clear = 1;
    else if (!*sid)
      rc = *a.val ? (*sid = a.val, 0) : cli_usage(cli, "empty sandbox id");
    else
      rc = cli_kvs_add(cli, kv, "label", a.val);
  }
  if (rc) return rc;
  if (!*sid) return cli_usage(cli, "missing sandbox id");
  if (*clear && kv->n) return cli_usage(cli, "--clear removes every label: give no KEY=VALUE");
  if (!*clear && !kv->n) return cli_usage(cli, "missing KEY=VALUE (or --clear to remove all)");
  for (size_t i = 0; i < kv->n; i++)
    for (size_t j = 0; j < i; j++)
      if (!strcmp(kv->v[i].key, kv->v[j].key))
        return cli_usage(cli, "label '%s' is given twice", kv->v[i].key);
  return 0;
}

int cmd_labels(struct cli *cli, int argc, char **argv) {
  const char *sid = NULL;
  struct cli_kvs kv = {0};
  int clear = 0;
  struct warnings w;
  int rc = parse_labels(cli, argc, argv, &sid, &kv, &clear);
  if (!rc) rc = open_client(cli, &w);
  if (!rc) {
    struct dt_op d = {cli, sid, NULL};
    sbx_op_id op = 0;
    track(cli, sbx_sandbox_set_labels(cli->client, sid, kv.v, kv.n, done_cb, &d, &op), &op, sid, &w,
          NULL);
    cli_run(cli);
    rc = cli_exit_code(cli);
  }
  cli_kvs_free(&kv);
  return rc < 0 ? CLI_EXIT_OK : rc;
}

/* ---- snapshot create|get|list|delete -------------------------------------------- */

enum { S_IMAGE = 1, S_CPU, S_MEMORY, S_DISK, S_TIMEOUT };

static const struct cli_opt create_opts[] = {
    {"--image", 0, 1, S_IMAGE}, {"--cpu", 0, 1, S_CPU},         {"--memory", 0, 1, S_MEMORY},
    {"--disk", 0, 1, S_DISK},   {"--timeout", 0, 1, S_TIMEOUT}, {0, 0, 0, 0},
};

/* NAME --image IMG [--cpu N] [--memory GB] [--disk GB] [--timeout S] [-- ENTRYPOINT...] */
static int parse_create(struct cli *cli, int argc, char **argv, sbx_snapshot_opts *o,
                        struct cli_strs *entry) {
  struct cli_args a;
  cli_args_init(&a, cli, argc, argv);
  int rc = 0, id;
  long n = 0;
  while (!rc && (id = cli_args_next(&a, create_opts)) != CLI_END) {
    switch (id) {
    case CLI_ERR: return CLI_EXIT_USAGE;
    case CLI_HELP: return cli_print_usage(stdout, cli->cmd), -1;
    case CLI_POS:
      if (!o->name)
        rc = *a.val ? (o->name = a.val, 0) : cli_usage(cli, "empty snapshot name");
      else if (a.only_pos)
        cli_strs_add(entry, a.val);
      else
        rc = cli_usage(cli, "unexpected argument '%s' (an entrypoint goes after --)", a.val);
      break;
    case S_IMAGE:
      o->image = a.val;
      if (!*a.val) rc = cli_usage(cli, "--image needs a non-empty value");
      break;
    case S_CPU: rc = cli_parse_long(cli, "--cpu", a.val, 1, 1024, &n), o->cpu = (int)n; break;
    case S_MEMORY:
      rc = cli_parse_long(cli, "--memory", a.val, 1, 1 << 20, &n), o->memory_gb = (int)n;
      break;
    case S_DISK: /* Daytona's per-sandbox limit */
      rc = cli_parse_long(cli, "--disk (GB, at most 10)", a.val, 1, 10, &n), o->disk_gb = (int)n;
      break;
    case S_TIMEOUT: rc = cli_parse_long(cli, "--timeout", a.val, 1, INT_MAX, &o->timeout_s); break;
    }
  }
  if (rc) return rc;
  if (!o->name) return cli_usage(cli, "missing snapshot name");
  if (!o->image) return cli_usage(cli, "missing --image (e.g. --image python:3.12-slim)");
  if (entry->n) {
    cli_strs_add(entry, NULL); /* the argv's terminator */
    o->entrypoint = entry->v;
  }
  return 0;
}

static int snap_create(struct cli *cli, int argc, char **argv) {
  sbx_snapshot_opts o;
  sbx_snapshot_opts_init(&o);
  struct cli_strs entry = {0};
  struct warnings w;
  int rc = parse_create(cli, argc, argv, &o, &entry);
  if (!rc) rc = open_client(cli, &w);
  if (!rc) {
    struct dt_op d = {cli, o.name, NULL};
    sbx_op_id op = 0;
    track(cli, sbx_snapshot_create(cli->client, &o, snapshot_cb, &d, &op), &op, o.name, &w, NULL);
    cli_run(cli);
    rc = cli_exit_code(cli);
  }
  cli_strs_free(&entry);
  return rc < 0 ? CLI_EXIT_OK : rc;
}

/* get and delete: one snapshot by name or id. */
static int snap_one(struct cli *cli, int argc, char **argv, int del) {
  static const char *const names[] = {"snapshot name or id"};
  const char *ref;
  int rc = cli_positionals(cli, argc, argv, &ref, 1, names);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  struct warnings w;
  if ((rc = open_client(cli, &w))) return rc;
  char invalid[400];
  snprintf(invalid, sizeof invalid, "'%.200s' is not a snapshot name or id (" REF_RULES ")", ref);
  struct dt_op d = {cli, ref, NULL};
  sbx_op_id op = 0;
  sbx_status st = del ? sbx_snapshot_delete(cli->client, ref, done_cb, &d, &op)
                      : sbx_snapshot_get(cli->client, ref, snapshot_cb, &d, &op);
  track(cli, st, &op, ref, &w, invalid);
  cli_run(cli);
  return cli_exit_code(cli);
}

static void list_cb(sbx_client *c, sbx_op_id op, const sbx_error *err,
                    const sbx_snapshot_info *items, size_t n, void *ud) {
  struct dt_op *d = ud;
  char size[32], cpu[16], mem[16], disk[16];
  for (size_t i = 0; i < n; i++) {
    if (d->cli->json) {
      out_json_line(out_snapshot_json(&items[i]));
      continue;
    }
    snprintf(cpu, sizeof cpu, "%d", items[i].cpu);
    snprintf(mem, sizeof mem, "%d", items[i].memory_gb);
    snprintf(disk, sizeof disk, "%d", items[i].disk_gb);
    const char *row[] = {items[i].name,
                         items[i].state,
                         items[i].image,
                         cpu,
                         mem,
                         disk,
                         out_size_gb(items[i].size_gb, size, sizeof size),
                         items[i].general ? "yes" : "",
                         items[i].id};
    out_table_add(d->table, row);
  }
  finish(d, op, err, 0);
}

static int snap_list(struct cli *cli, int argc, char **argv) {
  int rc = cli_positionals(cli, argc, argv, NULL, 0, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  struct warnings w;
  if ((rc = open_client(cli, &w))) return rc;
  static const char *const header[] = {"NAME",    "STATE",   "IMAGE",   "CPU", "MEMORY_GB",
                                       "DISK_GB", "SIZE_GB", "GENERAL", "ID"};
  struct out_table table;
  out_table_init(&table, 9);
  out_table_add(&table, header);
  struct dt_op d = {cli, "snapshots", &table};
  sbx_op_id op = 0;
  track(cli, sbx_snapshot_list(cli->client, list_cb, &d, &op), &op, "snapshots", &w, NULL);
  cli_run(cli);
  rc = cli_exit_code(cli);
  if (!cli->json && rc == CLI_EXIT_OK) out_table_print(&table);
  out_table_free(&table);
  return rc;
}

int cmd_snapshot(struct cli *cli, int argc, char **argv) {
  static const char *const subs[] = {"snapshot create", "snapshot get", "snapshot list",
                                     "snapshot delete"};
  if (argc < 1) return cli_usage(cli, "missing subcommand (create, get, list, delete)");
  if (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"))
    return cli_print_usage(stdout, "snapshot"), CLI_EXIT_OK;
  for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
    if (strcmp(argv[0], subs[i] + 9) != 0) continue;
    cli->cmd = subs[i];
    switch (i) {
    case 0: return snap_create(cli, argc - 1, argv + 1);
    case 1: return snap_one(cli, argc - 1, argv + 1, 0);
    case 2: return snap_list(cli, argc - 1, argv + 1);
    default: return snap_one(cli, argc - 1, argv + 1, 1);
    }
  }
  return cli_usage(cli, "unknown subcommand '%s' (create, get, list, delete)", argv[0]);
}
