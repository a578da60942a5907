/* emu_spawn.h - fork/exec of a sandbox command in its own process group,
 * under bubblewrap when the startup probe found it working. */
#ifndef SBX_EMU_SPAWN_H
#define SBX_EMU_SPAWN_H

#include <sys/types.h>

#include "emu_app.h"
#include "emu_proc.h"

struct emu_spawned {
  pid_t pid;                 /* also the process group */
  int out_fd, err_fd, in_fd; /* non-blocking; in_fd -1 without stdin */
};

int emu_spawn(struct emu_app *app, const struct emu_sandbox *sb, const struct emu_proc_spec *spec,
              struct emu_spawned *out, const char **why);

#endif
