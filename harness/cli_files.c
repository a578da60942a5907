/* cli_files.c - file commands: put, get (one file, or several in one
 * sbx_file_read_many) and fs ls|mkdir|rm|stat|mv. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_cmds.h"
#include "cli_output.h"

struct file_op {
  struct cli *cli;
  char *what;        /* "ID:PATH", for messages */
  const char *id;    /* sandbox */
  const char *path;  /* in the sandbox */
  const char *local; /* get: the file written, NULL for stdout */
  int show;          /* without --json: SHOW_* */
};

enum { SHOW_NOTHING, SHOW_LINES, SHOW_STAT };

/* Exactly `want` positionals plus the options in opts (handled by on_opt).
 * Returns 0, -1 after printing help, or CLI_EXIT_USAGE. */
static int parse(struct cli *cli, int argc, char **argv, const struct cli_opt *opts,
                 const char **out, int min, int max, const char *const *names,
                 int (*on_opt)(struct cli *cli, int id, const char *val, void *ud), void *ud) {
  struct cli_args a;
  cli_args_init(&a, cli, argc, argv);
  int got = 0, id, rc;
  while ((id = cli_args_next(&a, opts)) != CLI_END) {
    if (id == CLI_ERR) return CLI_EXIT_USAGE;
    if (id == CLI_HELP) return cli_print_usage(stdout, cli->cmd), -1;
    if (id == CLI_POS) {
      if (got == max) return cli_usage(cli, "unexpected argument '%s'", a.val);
      if (!*a.val) return cli_usage(cli, "empty %s", names[got]);
      out[got++] = a.val;
      continue;
    }
    if ((rc = on_opt(cli, id, a.val, ud))) return rc;
  }
  if (got < min) return cli_usage(cli, "missing %s", names[got]);
  for (int i = got; i < max; i++)
    out[i] = NULL;
  return 0;
}

static int no_opt(struct cli *cli, int id, const char *val, void *ud) {
  return 0;
}

static const struct cli_opt no_opts[] = {{0, 0, 0, 0}};

static void op_init(struct file_op *f, struct cli *cli, const char *id, const char *path,
                    int show) {
  memset(f, 0, sizeof *f);
  f->cli = cli;
  f->id = id;
  f->path = path;
  f->what = cli_xasprintf("%s:%s", id, path);
  f->show = show;
}

static void entries_cb(sbx_client *c, sbx_op_id op, const sbx_error *err,
                       const sbx_file_entry *entries, size_t n, void *ud) {
  struct file_op *f = ud;
  if (err) {
    cli_fail(f->cli, f->what, err);
  } else {
    for (size_t i = 0; i < n; i++) {
      if (f->cli->json)
        out_json_line(out_entry_json(&entries[i]));
      else if (f->show == SHOW_LINES)
        out_entry_line(&entries[i]);
      else if (f->show == SHOW_STAT)
        out_entry_text(&entries[i]);
    }
    /* mkdir/mv may answer without entries: still say it worked. */
    if (f->cli->json && !n) out_ok_json(f->cli->cmd, f->id);
  }
  cli_done(f->cli, op);
}

static void done_cb(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct file_op *f = ud;
  if (err)
    cli_fail(f->cli, f->what, err);
  else if (f->cli->json)
    out_ok_json(f->cli->cmd, f->id);
  cli_done(f->cli, op);
}

/* Run one started op to completion and free its state. */
static int finish(struct cli *cli, struct file_op *f, sbx_status st, const sbx_op_id *op) {
  cli_track(cli, st, op, f->what);
  cli_run(cli);
  free(f->what);
  return cli_exit_code(cli);
}

/* ---- put ------------------------------------------------------------------ */

int cmd_put(struct cli *cli, int argc, char **argv) {
  static const char *const names[] = {"sandbox id", "local path", "sandbox path"};
  const char *args[3];
  int rc = parse(cli, argc, argv, no_opts, args, 3, 3, names, no_opt, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  /* Check the source first: a clear local error beats a failed upload. */
  struct stat sb;
  const char *why = NULL;
  if (stat(args[1], &sb) < 0)
    why = strerror(errno);
  else if (!S_ISREG(sb.st_mode))
    why = "not a regular file";
  else if (access(args[1], R_OK) < 0)
    why = strerror(errno);
  if (why) {
    cli_fail_status(cli, args[1], SBX_EIO, why);
    return CLI_EXIT_FAIL;
  }
  if ((rc = cli_open(cli))) return rc;
  struct file_op f;
  op_init(&f, cli, args[0], args[2], SHOW_NOTHING);
  sbx_upload up = {.path = args[2], .local_path = args[1]};
  sbx_op_id op = 0;
  return finish(cli, &f, sbx_file_write(cli->client, args[0], &up, entries_cb, &f, &op), &op);
}

/* ---- get ------------------------------------------------------------------ */

static void get_data(sbx_client *c, sbx_op_id op, const char *data, size_t len, void *ud) {
  struct file_op *f = ud;
  if (f->cli->out_broken) return;
  if (cli_write_all(1, data, len) < 0) cli_stdout_broken(f->cli);
}

/* --json: one line per file written. */
static void get_json(const char *id, const char *path, const char *local) {
  struct stat sb;
  json_t *o = json_object();
  json_object_set_new(o, "ok", json_true());
  json_object_set_new(o, "command", json_string("get"));
  json_object_set_new(o, "id", out_jstr(id));
  json_object_set_new(o, "path", out_jstr(path));
  json_object_set_new(o, "local_path", out_jstr(local));
  json_object_set_new(o, "size", json_integer(stat(local, &sb) == 0 ? sb.st_size : -1));
  out_json_line(o);
}

static void get_done(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct file_op *f = ud;
  if (err)
    cli_fail(f->cli, f->what, err);
  else if (f->cli->json && f->local)
    get_json(f->id, f->path, f->local);
  cli_done(f->cli, op);
}

/* ID SANDBOX_PATH [LOCAL_PATH|-] */
static int get_one(struct cli *cli, const char *const *args) {
  char *local = NULL;
  int rc;
  if (args[2] && strcmp(args[2], "-") != 0) {
    /* Into a directory: keep the sandbox file's name, like cp. */
    struct stat sb;
    if (stat(args[2], &sb) == 0 && S_ISDIR(sb.st_mode)) {
      const char *base = strrchr(args[1], '/');
      base = base ? base + 1 : args[1];
      if (!*base) return cli_usage(cli, "sandbox path '%s' names no file", args[1]);
      local = cli_xasprintf("%s/%s", args[2], base);
    } else {
      local = cli_xstrdup(args[2]);
    }
  }
  if ((rc = cli_open(cli))) {
    free(local);
    return rc;
  }
  struct file_op f;
  op_init(&f, cli, args[0], args[1], SHOW_NOTHING);
  f.local = local;
  struct stat sb;
  int existed = local && stat(local, &sb) == 0;
  sbx_download dl = {.path = args[1], .local_path = local, .on_data = local ? NULL : get_data};
  sbx_op_id op = 0;
  if (!local) fflush(stdout); /* the bytes go straight to fd 1 */
  rc = finish(cli, &f, sbx_file_read(cli->client, args[0], &dl, get_done, &f, &op), &op);
  /* Do not leave a partial or empty file behind that we created. */
  if (rc != CLI_EXIT_OK && local && !existed) unlink(local);
  free(local);
  return rc;
}

static const char *base_of(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* Several files, each reported on its own: a missing one does not stop the
 * others (the library leaves no file for it). */
static void many_file_done(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct file_op *f = ud;
  if (err)
    cli_fail(f->cli, f->what, err);
  else if (f->cli->json)
    get_json(f->id, f->path, f->local);
}

static void many_done(sbx_client *c, sbx_op_id op, const sbx_error *err, void *ud) {
  struct cli *cli = ud; /* each failed file was reported by many_file_done */
  cli_done(cli, op);
}

/* ID SANDBOX_PATH... LOCAL_DIR: one sbx_file_read_many. */
static int get_many(struct cli *cli, const char *id, const char *const *paths, size_t n,
                    const char *dir) {
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return cli_usage(cli, "'%s' is not a directory (several sandbox paths go into one)", dir);
  if (n > SBX_READ_MANY_MAX)
    return cli_usage(cli, "%zu sandbox paths; at most %d per get", n, SBX_READ_MANY_MAX);
  for (size_t i = 0; i < n; i++) {
    if (!*base_of(paths[i])) return cli_usage(cli, "sandbox path '%s' names no file", paths[i]);
    for (size_t j = 0; j < i; j++)
      if (strcmp(base_of(paths[j]), base_of(paths[i])) == 0)
        return cli_usage(cli, "'%s' and '%s' would both be written to %s/%s", paths[j], paths[i],
                         dir, base_of(paths[i]));
  }
  int rc = cli_open(cli);
  if (rc) return rc;
  struct file_op *f = cli_xmalloc(n * sizeof *f);
  sbx_download *dls = cli_xmalloc(n * sizeof *dls);
  for (size_t i = 0; i < n; i++) {
    op_init(&f[i], cli, id, paths[i], SHOW_NOTHING);
    f[i].local = cli_xasprintf("%s/%s", dir, base_of(paths[i]));
    dls[i] = (sbx_download){
        .path = paths[i], .local_path = f[i].local, .file_done = many_file_done, .file_ud = &f[i]};
  }
  sbx_op_id op = 0;
  cli_track(cli, sbx_file_read_many(cli->client, id, dls, n, many_done, cli, &op), &op, id);
  cli_run(cli);
  for (size_t i = 0; i < n; i++) {
    free(f[i].what);
    free((char *)f[i].local);
  }
  free(f);
  free(dls);
  return cli_exit_code(cli);
}

int cmd_get(struct cli *cli, int argc, char **argv) {
  /* Positionals: ID SANDBOX_PATH [LOCAL_PATH|-], or ID SANDBOX_PATH... LOCAL_DIR. */
  size_t max = argc > 3 ? (size_t)argc : 3;
  const char **args = cli_xmalloc(max * sizeof *args);
  const char **names = cli_xmalloc(max * sizeof *names);
  names[0] = "sandbox id";
  for (size_t i = 1; i < max; i++)
    names[i] = i == 1 || i + 1 < max ? "sandbox path" : max == 3 ? "local path" : "local directory";
  int rc = parse(cli, argc, argv, no_opts, args, 2, (int)max, names, no_opt, NULL);
  size_t got = 0;
  while (!rc && got < max && args[got])
    got++;
  if (!rc && got <= 3) rc = get_one(cli, args);
  if (!rc && got > 3) rc = get_many(cli, args[0], args + 1, got - 2, args[got - 1]);
  free(args);
  free(names);
  return rc < 0 ? CLI_EXIT_OK : rc;
}

/* ---- fs ------------------------------------------------------------------- */

static int depth_opt(struct cli *cli, int id, const char *val, void *ud) {
  long n;
  int rc = cli_parse_long(cli, "--depth", val, 1, 1000, &n);
  if (!rc) *(int *)ud = (int)n;
  return rc;
}

static const struct cli_opt fs_ls_opts[] = {{"--depth", 0, 1, 1}, {0, 0, 0, 0}};

static int fs_ls(struct cli *cli, int argc, char **argv) {
  static const char *const names[] = {"sandbox id", "path"};
  const char *args[2];
  int depth = 1;
  int rc = parse(cli, argc, argv, fs_ls_opts, args, 2, 2, names, depth_opt, &depth);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if ((rc = cli_open(cli))) return rc;
  struct file_op f;
  op_init(&f, cli, args[0], args[1], SHOW_LINES);
  sbx_op_id op = 0;
  return finish(cli, &f, sbx_fs_list(cli->client, args[0], args[1], depth, entries_cb, &f, &op),
                &op);
}

/* mkdir, rm, stat: ID PATH. */
static int fs_path(struct cli *cli, int argc, char **argv, int which) {
  static const char *const names[] = {"sandbox id", "path"};
  const char *args[2];
  int rc = parse(cli, argc, argv, no_opts, args, 2, 2, names, no_opt, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if ((rc = cli_open(cli))) return rc;
  struct file_op f;
  op_init(&f, cli, args[0], args[1], which == 's' ? SHOW_STAT : SHOW_NOTHING);
  sbx_op_id op = 0;
  sbx_status st;
  if (which == 'm')
    st = sbx_fs_mkdir(cli->client, args[0], args[1], entries_cb, &f, &op);
  else if (which == 'r')
    st = sbx_fs_remove(cli->client, args[0], args[1], done_cb, &f, &op);
  else
    st = sbx_fs_stat(cli->client, args[0], args[1], entries_cb, &f, &op);
  return finish(cli, &f, st, &op);
}

static int fs_mv(struct cli *cli, int argc, char **argv) {
  static const char *const names[] = {"sandbox id", "source path", "destination path"};
  const char *args[3];
  int rc = parse(cli, argc, argv, no_opts, args, 3, 3, names, no_opt, NULL);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if ((rc = cli_open(cli))) return rc;
  struct file_op f;
  op_init(&f, cli, args[0], args[1], SHOW_NOTHING);
  sbx_op_id op = 0;
  return finish(cli, &f, sbx_fs_move(cli->client, args[0], args[1], args[2], entries_cb, &f, &op),
                &op);
}

int cmd_fs(struct cli *cli, int argc, char **argv) {
  static const char *const subs[] = {"fs ls", "fs mkdir", "fs rm", "fs stat", "fs mv"};
  if (argc < 1) return cli_usage(cli, "missing subcommand (ls, mkdir, rm, stat, mv)");
  if (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"))
    return cli_print_usage(stdout, "fs"), CLI_EXIT_OK;
  for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
    if (strcmp(argv[0], subs[i] + 3) != 0) continue;
    cli->cmd = subs[i];
    switch (i) {
    case 0: return fs_ls(cli, argc - 1, argv + 1);
    case 1: return fs_path(cli, argc - 1, argv + 1, 'm');
    case 2: return fs_path(cli, argc - 1, argv + 1, 'r');
    case 3: return fs_path(cli, argc - 1, argv + 1, 's');
    default: return fs_mv(cli, argc - 1, argv + 1);
    }
  }
  return cli_usage(cli, "unknown subcommand '%s' (ls, mkdir, rm, stat, mv)", argv[0]);
}
