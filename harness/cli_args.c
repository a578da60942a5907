/* cli_args.c - strict option parsing: every malformed argument becomes one
 * usage error line that names it. */
#include "cli_args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_cmds.h"

void cli_args_init(struct cli_args *a, struct cli *cli, int argc, char **argv) {
  memset(a, 0, sizeof *a);
  a->cli = cli;
  a->argc = argc;
  a->argv = argv;
}

static const struct cli_opt *find_long(const struct cli_opt *opts, const char *name, size_t len) {
  for (; opts->name; opts++)
    if (strlen(opts->name) == len && !strncmp(opts->name, name, len)) return opts;
  return NULL;
}

static const struct cli_opt *find_short(const struct cli_opt *opts, char c) {
  for (; opts->name; opts++)
    if (opts->short_name && opts->short_name == c) return opts;
  return NULL;
}

static int parse_long_opt(struct cli_args *a, const struct cli_opt *opts, const char *arg) {
  const char *eq = strchr(arg, '=');
  size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
  const struct cli_opt *o = find_long(opts, arg, len);
  a->opt = arg;
  if (!o) {
    if (len == 6 && !strncmp(arg, "--help", 6) && !eq) return CLI_HELP;
    if (!strcmp(arg, "--json") && a->cli->cmd) {
      /* Also accepted after the command ("sbx ls --json"): a common habit,
       * and no command has an option of that name. */
      a->cli->json = 1;
      return cli_args_next(a, opts);
    }
    return cli_usage(a->cli, "unknown option '%.*s'", (int)len, arg), CLI_ERR;
  }
  a->opt = o->name;
  if (!o->has_arg) {
    if (eq) return cli_usage(a->cli, "option '%s' takes no value", o->name), CLI_ERR;
    a->val = NULL;
    return o->id;
  }
  if (eq) {
    a->val = eq + 1;
  } else {
    if (a->i >= a->argc) return cli_usage(a->cli, "option '%s' needs a value", o->name), CLI_ERR;
    a->val = a->argv[a->i++];
  }
  return o->id;
}

static int parse_short_opt(struct cli_args *a, const struct cli_opt *opts, const char *arg) {
  /* arg points at the flag letters. Only lone flags or clusters of
   * value-less flags ("-vv"); a value takes its own argument ("-x VALUE"). */
  const struct cli_opt *o = find_short(opts, *arg);
  if (!o) {
    if (*arg == 'h' && !arg[1]) return CLI_HELP;
    return cli_usage(a->cli, "unknown option '-%c'", *arg), CLI_ERR;
  }
  a->opt = o->name;
  a->val = NULL;
  if (o->has_arg) {
    if (arg[1] || a->short_rest)
      return cli_usage(a->cli, "option '-%c' needs a separate value", *arg), CLI_ERR;
    if (a->i >= a->argc) return cli_usage(a->cli, "option '-%c' needs a value", *arg), CLI_ERR;
    a->val = a->argv[a->i++];
    return o->id;
  }
  a->short_rest = arg[1] ? arg + 1 : NULL;
  return o->id;
}

int cli_args_next(struct cli_args *a, const struct cli_opt *opts) {
  if (a->short_rest) return parse_short_opt(a, opts, a->short_rest);
  while (a->i < a->argc) {
    char *arg = a->argv[a->i];
    if (a->only_pos || arg[0] != '-' || arg[1] == '\0') {
      /* "-" alone is a positional: it names stdin/stdout. */
      if (a->stop_at_pos) return CLI_END;
      a->i++;
      a->val = arg;
      return CLI_POS;
    }
    a->i++;
    if (!strcmp(arg, "--")) {
      a->only_pos = 1;
      continue;
    }
    if (arg[1] == '-') return parse_long_opt(a, opts, arg);
    return parse_short_opt(a, opts, arg + 1);
  }
  return CLI_END;
}

int cli_parse_long(struct cli *cli, const char *what, const char *s, long min, long max,
                   long *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (!*s || *end || errno == ERANGE || (*s != '-' && *s != '+' && (*s < '0' || *s > '9')))
    return cli_usage(cli, "%s: invalid number '%s'", what, s);
  if (v < min || v > max)
    return cli_usage(cli, "%s: '%s' is out of range [%ld, %ld]", what, s, min, max);
  *out = v;
  return 0;
}

int cli_kvs_add(struct cli *cli, struct cli_kvs *l, const char *what, const char *s) {
  const char *eq = strchr(s, '=');
  if (!eq) return cli_usage(cli, "%s: expected KEY=VALUE, got '%s'", what, s);
  if (eq == s) return cli_usage(cli, "%s: empty key in '%s'", what, s);
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 4;
    l->v = cli_xrealloc(l->v, l->cap * sizeof *l->v);
  }
  char *key = cli_xmalloc((size_t)(eq - s) + 1);
  memcpy(key, s, (size_t)(eq - s));
  key[eq - s] = '\0';
  l->v[l->n].key = key;
  l->v[l->n].value = eq + 1;
  l->n++;
  return 0;
}

void cli_kvs_free(struct cli_kvs *l) {
  for (size_t i = 0; i < l->n; i++)
    free((char *)l->v[i].key);
  free(l->v);
  l->v = NULL;
  l->n = l->cap = 0;
}

void cli_strs_add(struct cli_strs *l, const char *s) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 4;
    l->v = cli_xrealloc(l->v, l->cap * sizeof *l->v);
  }
  l->v[l->n++] = s;
}

void cli_strs_free(struct cli_strs *l) {
  free(l->v);
  l->v = NULL;
  l->n = l->cap = 0;
}

int cli_positionals(struct cli *cli, int argc, char **argv, const char **out, int want,
                    const char *const *names) {
  static const struct cli_opt no_opts[] = {{0, 0, 0, 0}};
  struct cli_args a;
  cli_args_init(&a, cli, argc, argv);
  int got = 0, id;
  while ((id = cli_args_next(&a, no_opts)) != CLI_END) {
    if (id == CLI_ERR) return CLI_EXIT_USAGE;
    if (id == CLI_HELP) return cli_print_usage(stdout, cli->cmd), -1;
    if (got == want) return cli_usage(cli, "unexpected argument '%s'", a.val);
    if (!*a.val) return cli_usage(cli, "empty %s", names[got]);
    out[got++] = a.val;
  }
  if (got < want) return cli_usage(cli, "missing %s", names[got]);
  return 0;
}
