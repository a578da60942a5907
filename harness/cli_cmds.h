/* cli_cmds.h - the `sbx` commands. Each takes the arguments after its name,
 * parses them strictly, runs its ops on the shared loop and returns the exit
 * code. */
#ifndef SBX_CLI_CMDS_H
#define SBX_CLI_CMDS_H

#include <stdio.h>

#include "cli.h"

typedef int (*cli_cmd_fn)(struct cli *cli, int argc, char **argv);

/* cli_sandbox.c */
int cmd_create(struct cli *cli, int argc, char **argv);
int cmd_ls(struct cli *cli, int argc, char **argv);
int cmd_info(struct cli *cli, int argc, char **argv);
int cmd_kill(struct cli *cli, int argc, char **argv);
int cmd_pause(struct cli *cli, int argc, char **argv);
int cmd_resume(struct cli *cli, int argc, char **argv);
int cmd_timeout(struct cli *cli, int argc, char **argv);

/* cli_exec.c */
int cmd_exec(struct cli *cli, int argc, char **argv);
/* Join argv into one shell command line, quoting where needed (caller frees). */
char *cli_shell_join(int argc, char *const *argv);

/* cli_files.c */
int cmd_put(struct cli *cli, int argc, char **argv);
int cmd_get(struct cli *cli, int argc, char **argv);
int cmd_fs(struct cli *cli, int argc, char **argv);

/* cli_daytona.c: Daytona's control plane */
int cmd_archive(struct cli *cli, int argc, char **argv);
int cmd_auto(struct cli *cli, int argc, char **argv);
int cmd_labels(struct cli *cli, int argc, char **argv);
int cmd_snapshot(struct cli *cli, int argc, char **argv);

/* cli_run.c, cli_reap.c */
int cmd_run(struct cli *cli, int argc, char **argv);
int cmd_reap(struct cli *cli, int argc, char **argv);
int cmd_merge(struct cli *cli, int argc, char **argv);

/* cli_usage.c: the whole help, or one command's ("fs ls" too). Returns 0,
 * or -1 when there is no such command. */
int cli_print_usage(FILE *f, const char *cmd);

#endif
