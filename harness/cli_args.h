/* cli_args.h - strict option parsing for `sbx` commands. Options may come
 * before, between or after positionals ("--name value" or "--name=value");
 * "--" ends them. Anything unknown or malformed is a usage error. */
#ifndef SBX_CLI_ARGS_H
#define SBX_CLI_ARGS_H

#include <stddef.h>

#include "cli.h"
#include "sbx.h"

struct cli_opt {
  const char *name; /* "--cwd" */
  char short_name;  /* 'v', or 0 */
  int has_arg;      /* 1: takes a value */
  int id;           /* > 0, returned by cli_args_next */
};

/* cli_args_next results besides option ids. */
enum { CLI_END = 0, CLI_POS = -1, CLI_ERR = -2, CLI_HELP = -3 };

struct cli_args {
  struct cli *cli;
  int argc;
  char **argv;
  int i;                  /* index of the next argument */
  int only_pos;           /* after "--" */
  int stop_at_pos;        /* return CLI_END at the first positional (global options) */
  const char *short_rest; /* the rest of a "-vv" cluster */
  const char *val;        /* value of the last option, or the positional */
  const char *opt;        /* the last option's name, for messages */
};

void cli_args_init(struct cli_args *a, struct cli *cli, int argc, char **argv);
/* The next option id, CLI_POS (a->val), CLI_HELP (-h/--help), CLI_END, or
 * CLI_ERR after a usage error was printed. opts ends with a zero entry. */
int cli_args_next(struct cli_args *a, const struct cli_opt *opts);

/* Collect exactly `want` positionals named names[i] (no options besides
 * -h, which prints the command's help). Returns 0, -1 after the help, or
 * CLI_EXIT_USAGE. */
int cli_positionals(struct cli *cli, int argc, char **argv, const char **out, int want,
                    const char *const *names);

/* Parse a whole decimal number in [min, max]; on failure print a usage error
 * naming `what` and return CLI_EXIT_USAGE, else 0. */
int cli_parse_long(struct cli *cli, const char *what, const char *s, long min, long max, long *out);

/* A growing list of key=value pairs; keys are copied, values point into s. */
struct cli_kvs {
  sbx_kv *v;
  size_t n, cap;
};
/* Split "k=v" (k non-empty) and append it; usage error naming `what` when
 * there is no '=' or no key. */
int cli_kvs_add(struct cli *cli, struct cli_kvs *l, const char *what, const char *s);
void cli_kvs_free(struct cli_kvs *l);

/* A growing list of borrowed strings. */
struct cli_strs {
  const char **v;
  size_t n, cap;
};
void cli_strs_add(struct cli_strs *l, const char *s);
void cli_strs_free(struct cli_strs *l);

#endif
