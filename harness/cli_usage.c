/* cli_usage.c - `sbx help` text. */
#include <string.h>

#include "cli_cmds.h"

struct usage {
  const char *name;
  const char *text;
};

static const char intro[] =
    "usage: sbx [GLOBAL OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "Drive code sandboxes (E2B, Daytona, local) from the command line.\n"
    "\n"
    "Global options (before COMMAND):\n"
    "  --provider NAME     local, e2b or daytona (default: $SBX_PROVIDER, else e2b\n"
    "                      when E2B_API_KEY is set, else daytona when\n"
    "                      DAYTONA_API_KEY or DAYTONA_JWT_TOKEN is set, else local)\n"
    "  --json              machine output: one JSON object per line; errors also\n"
    "                      as {\"error\":{\"status\":...,\"http_status\":...,\"message\":...}};\n"
    "                      may also follow COMMAND\n"
    "  --api-url URL       control plane base URL (default https://api.<domain>;\n"
    "                      daytona: $DAYTONA_API_URL, else https://app.daytona.io/api)\n"
    "  --sandbox-url URL   envd base URL for every sandbox\n"
    "  --domain D          provider domain (default e2b.app)\n"
    "  --ca-file F         extra CA bundle to trust (also $SBX_CA_FILE or $SBX_CA_BUNDLE)\n"
    "  --http1             force HTTP/1.1\n"
    "  --timeout-ms N      per-request timeout in milliseconds\n"
    "  -v, --verbose       print library logs on stderr (repeat for more)\n"
    "  -h, --help          this help;  --version  print the version\n"
    "\n"
    "Environment:\n"
    "  E2B_API_KEY   the API key. It is read ONLY from the environment and never\n"
    "                accepted as an argument: argv is visible to every user (ps).\n"
    "  E2B_DOMAIN, E2B_API_URL, E2B_SANDBOX_URL, SBX_PROVIDER, SBX_CA_FILE\n"
    "  SBX_TRACE=1   log every op state transition on stderr\n"
    "\n"
    "Commands:\n";

static const struct usage cmds[] = {
    {"create", "  sbx create [--template T] [--timeout S] [--meta K=V]... [--env K=V]...\n"
               "             [--auto-pause] [--no-internet] [--allow-out X]... [--deny-out X]...\n"
               "             [--legacy-v1]\n"
               "             daytona: [--image IMG [--cpu N] [--gpu N] [--memory GB] [--disk GB]]\n"
               "             [--os-user U] [--public] [--auto-archive MIN] [--auto-delete MIN]\n"
               "             [--volume VOLUME_ID=/mount/path]...\n"
               "      Create a sandbox and print its id. --template names a daytona snapshot;\n"
               "      --image builds from an image instead (disk at most 10 GB).\n"},
    {"exec", "  sbx exec ID [--cwd D] [--user U] [--env K=V]... [--timeout-ms N] [--stdin]\n"
             "           [--detach] [--] CMD...\n"
             "      Run CMD, streaming its stdout/stderr, and exit with its exit code\n"
             "      (128+N when killed by signal N). One CMD argument is a shell command\n"
             "      line; several are quoted and joined. --stdin forwards this stdin;\n"
             "      --detach prints the pid and returns at once.\n"},
    {"ls", "  sbx ls [--meta K=V]... [--state running,paused] [--limit N] [--all]\n"
           "      List sandboxes (one page of up to N, or every page with --all).\n"},
    {"info", "  sbx info ID\n      Show a sandbox.\n"},
    {"kill", "  sbx kill ID...\n      Kill sandboxes (concurrently).\n"},
    {"pause", "  sbx pause ID   (alias: stop)\n"
              "      Pause a sandbox. daytona: turns auto-delete off, then stops it (kept\n"
              "      until resumed or killed).\n"},
    {"resume", "  sbx resume ID [--timeout S]   (alias: start)\n"
               "      Resume a paused sandbox. daytona: starts it (also an archived one).\n"},
    {"timeout", "  sbx timeout ID S\n      Set a sandbox to end S seconds from now.\n"},
    {"auto", "  sbx auto ID stop|archive|delete MINUTES|never\n"
             "      Set a daytona sandbox's auto-stop (after MINUTES idle), auto-archive or\n"
             "      auto-delete interval (MINUTES after a stop; delete 0: at once).\n"},
    {"archive", "  sbx archive ID\n"
                "      Archive a paused sandbox (daytona): its filesystem moves to object\n"
                "      storage; resume restores it. Waits until it is archived.\n"},
    {"labels", "  sbx labels ID KEY=VALUE... | sbx labels ID --clear\n"
               "      Replace every label of a sandbox (daytona); keys not given are removed.\n"},
    {"put", "  sbx put ID LOCAL_PATH SANDBOX_PATH\n"
            "      Upload a file (streamed from disk; parent dirs are created).\n"},
    {"get", "  sbx get ID SANDBOX_PATH [LOCAL_PATH|-]\n"
            "  sbx get ID SANDBOX_PATH... LOCAL_DIR\n"
            "      Download a file to LOCAL_PATH (a directory keeps the name), or to\n"
            "      stdout with - or no LOCAL_PATH. Several files go into LOCAL_DIR under\n"
            "      their own names, as one download (one request on Daytona); one that\n"
            "      fails is reported and leaves no file, the others still arrive.\n"},
    {"fs ls", "  sbx fs ls ID PATH [--depth N]\n      List a directory: type, size, path.\n"},
    {"fs mkdir", "  sbx fs mkdir ID PATH\n      Create a directory and its parents.\n"},
    {"fs rm", "  sbx fs rm ID PATH\n      Remove a file or directory tree.\n"},
    {"fs stat", "  sbx fs stat ID PATH\n      Show a file's metadata.\n"},
    {"fs mv", "  sbx fs mv ID FROM TO\n      Move or rename.\n"},
    {"snapshot create",
     "  sbx snapshot create NAME --image IMAGE [--cpu N] [--memory GB] [--disk GB]\n"
     "                      [--timeout S] [-- ENTRYPOINT...]\n"
     "      Build a snapshot from an image with a pinned tag (daytona) and wait until\n"
     "      it is active (at most S seconds, default 600); then print it. Sandboxes\n"
     "      come from it with create --template NAME. Disk at most 10 GB.\n"},
    {"snapshot get", "  sbx snapshot get NAME|ID\n      Show a snapshot.\n"},
    {"snapshot list", "  sbx snapshot list\n"
                      "      List every snapshot (every page): yours, then the general ones.\n"},
    {"snapshot delete", "  sbx snapshot delete NAME|ID\n      Delete a snapshot.\n"},
    {"run", "  sbx run TASKS.jsonl [--results DIR] [--concurrency N] [--max-starting N]\n"
            "          [--max-deleting N] [--rate create=R/s]... [--retries K] [--resume]\n"
            "          [--shard I/N | --shard auto [--shards N]] [--backstop S]\n"
            "          [--tail-bytes N] [--max-artifact-bytes N] [--quiet] [--json-progress]\n"
            "          [--check] [--provider P]\n"
            "      Run every task of a JSON Lines task file (docs/tasks.md), each in its own\n"
            "      sandbox: create, upload, commands, download artifacts, kill. Results go to\n"
            "      DIR (default results/<file name>): results.jsonl, artifacts/<task>/,\n"
            "      summary.json, and the journal that makes a rerun into DIR resume: done\n"
            "      tasks are skipped and sandboxes an earlier runner left are killed first.\n"
            "      Defaults: concurrency 64 live sandboxes, 16 starting, 32 deleting,\n"
            "      2 retries of infrastructure errors, a 600 s provider-side lifetime\n"
            "      renewed while a task runs. SIGINT/SIGTERM stop starting tasks and kill\n"
            "      every live sandbox (a second signal stops waiting). --check only\n"
            "      validates the file. Exit: 0 all ok, 1 some task failed or timed out,\n"
            "      2 infrastructure errors, 128+N on signal N.\n"},
    {"reap", "  sbx reap (--run ID | --all) [--dry-run]\n"
             "      Find and kill sandboxes left by `sbx run`: those labelled with run ID,\n"
             "      or with any sbx.run label. --dry-run only lists them.\n"},
    {"merge", "  sbx merge --out DIR SHARD_DIR...\n"
              "      Combine the results of sharded runs (sbx run --shard) into DIR:\n"
              "      results.jsonl (artifact paths rewritten to stay valid) and summary.json.\n"
              "      A task in two shards is an error. Exit codes as for run.\n"},
    {"help", "  sbx help [COMMAND]\n      Show this help, or one command's.\n"},
};

static const char outro[] =
    "\n"
    "Exit codes: 0 ok, 1 operation failed, 2 usage or configuration error,\n"
    "130 interrupted (SIGINT; 143 for SIGTERM), 141 when stdout closes early;\n"
    "exec returns the command's own code.\n";

int cli_print_usage(FILE *f, const char *cmd) {
  size_t n = sizeof cmds / sizeof cmds[0];
  if (cmd) {
    int found = 0;
    size_t len = strlen(cmd);
    /* "fs" shows every fs subcommand. */
    for (size_t i = 0; i < n; i++) {
      if (!strcmp(cmds[i].name, cmd) ||
          (!strncmp(cmds[i].name, cmd, len) && cmds[i].name[len] == ' ')) {
        if (!found) fputs("usage:\n", f);
        fputs(cmds[i].text, f);
        found = 1;
      }
    }
    if (found) fputs("\nGlobal options and environment: sbx help\n", f);
    return found ? 0 : -1;
  }
  fputs(intro, f);
  for (size_t i = 0; i < n; i++)
    fputs(cmds[i].text, f);
  fputs(outro, f);
  return 0;
}
