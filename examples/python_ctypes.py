#!/usr/bin/env python3
"""python_ctypes.py - drive libsbx from Python's asyncio loop through ctypes.

The client runs on its own loop (sbx_client_new with a NULL loop); asyncio
watches sbx_client_fd with add_reader and arms call_later for
sbx_client_timeout_ms, and both call sbx_client_run_once. Fans out N
sandboxes (create -> exec echo -> kill), all at once, and checks that every
one succeeded and nothing is left pending.

    E2B_API_KEY=... python3 python_ctypes.py [path/to/libsbx.so] [N]

Standard library only. Callbacks run inside sbx_client_run_once, on the
asyncio thread; every pointer they get is valid only during the call.
"""
import asyncio
import ctypes as C
import sys

SBX_OK = 0


class Error(C.Structure):
    _fields_ = [("code", C.c_int), ("http_status", C.c_int), ("curl_code", C.c_int),
                ("retryable", C.c_int), ("retry_after_ms", C.c_long),
                ("provider_code", C.c_char_p), ("message", C.c_char_p)]


class SandboxInfo(C.Structure):  # the leading fields of sbx_sandbox_info
    _fields_ = [("id", C.c_char_p)]


class ExecOpts(C.Structure):
    _fields_ = [("cmd", C.c_char_p), ("argv", C.c_void_p), ("cwd", C.c_char_p),
                ("user", C.c_char_p), ("envs", C.c_void_p), ("n_envs", C.c_size_t),
                ("timeout_ms", C.c_long), ("stdin_open", C.c_int), ("detach", C.c_int),
                ("buffered", C.c_int)]


class ExecResult(C.Structure):
    _fields_ = [("pid", C.c_uint32), ("exit_code", C.c_int), ("exited", C.c_int),
                ("status", C.c_char_p), ("detached", C.c_int)]


OP = C.c_uint64
SANDBOX_CB = C.CFUNCTYPE(None, C.c_void_p, OP, C.POINTER(Error), C.POINTER(SandboxInfo),
                         C.c_void_p)
DONE_CB = C.CFUNCTYPE(None, C.c_void_p, OP, C.POINTER(Error), C.c_void_p)
START_CB = C.CFUNCTYPE(None, C.c_void_p, OP, C.c_uint32, C.c_void_p)
OUTPUT_CB = C.CFUNCTYPE(None, C.c_void_p, OP, C.c_int, C.POINTER(C.c_char), C.c_size_t,
                        C.c_void_p)
EXEC_DONE_CB = C.CFUNCTYPE(None, C.c_void_p, OP, C.POINTER(Error), C.POINTER(ExecResult),
                           C.c_void_p)


class ExecCbs(C.Structure):
    _fields_ = [("on_start", START_CB), ("on_output", OUTPUT_CB), ("on_done", EXEC_DONE_CB)]


def load(path):
    lib = C.CDLL(path)
    lib.sbx_client_new.restype = C.c_void_p
    lib.sbx_client_new.argtypes = [C.c_void_p, C.c_void_p, C.POINTER(C.c_int), C.c_char_p,
                                   C.c_size_t]
    lib.sbx_client_free.argtypes = [C.c_void_p]
    lib.sbx_client_fd.argtypes = [C.c_void_p]
    lib.sbx_client_timeout_ms.restype = C.c_long
    lib.sbx_client_timeout_ms.argtypes = [C.c_void_p]
    lib.sbx_client_run_once.argtypes = [C.c_void_p]
    lib.sbx_client_pending.restype = C.c_size_t
    lib.sbx_client_pending.argtypes = [C.c_void_p]
    lib.sbx_exec_opts_init.argtypes = [C.POINTER(ExecOpts)]
    lib.sbx_sandbox_create.argtypes = [C.c_void_p, C.c_void_p, SANDBOX_CB, C.c_void_p,
                                       C.POINTER(OP)]
    lib.sbx_exec_start.argtypes = [C.c_void_p, C.c_char_p, C.POINTER(ExecOpts),
                                   C.POINTER(ExecCbs), C.c_void_p, C.POINTER(OP)]
    lib.sbx_sandbox_kill.argtypes = [C.c_void_p, C.c_char_p, DONE_CB, C.c_void_p, C.POINTER(OP)]
    return lib


class Driver:
    """Drives one client from an asyncio loop: the fd and the timeout."""

    def __init__(self, lib, client, loop):
        self.lib, self.c, self.loop = lib, client, loop
        self.fd = lib.sbx_client_fd(client)
        self.timer = None
        loop.add_reader(self.fd, self.run)

    def run(self):
        if self.c is None:
            return
        if self.lib.sbx_client_run_once(self.c) != SBX_OK:
            raise RuntimeError("sbx_client_run_once failed")
        self.schedule()

    def schedule(self):
        """Call after run_once and after starting ops: re-arm the timeout."""
        if self.timer:
            self.timer.cancel()
            self.timer = None
        ms = self.lib.sbx_client_timeout_ms(self.c)
        if ms >= 0:
            self.timer = self.loop.call_later(ms / 1000.0, self.run)

    def close(self):
        if self.timer:
            self.timer.cancel()
        self.loop.remove_reader(self.fd)  # before the free closes the fd
        self.lib.sbx_client_free(self.c)
        self.c = None


class FanOut:
    def __init__(self, lib, client, n, done):
        self.lib, self.c, self.n, self.done = lib, client, n, done
        self.ids = [None] * n
        self.out = [b""] * n
        self.ok = 0
        self.failed = []
        self.left = n
        # ctypes callbacks must outlive every call that may fire them
        self.on_created = SANDBOX_CB(self._created)
        self.cbs = ExecCbs(START_CB(0), OUTPUT_CB(self._output), EXEC_DONE_CB(self._exec_done))
        self.on_killed = DONE_CB(self._killed)

    def start(self):
        for i in range(self.n):
            op = OP()
            st = self.lib.sbx_sandbox_create(self.c, None, self.on_created, i + 1, C.byref(op))
            if st != SBX_OK:
                self._end(i, "create: status %d" % st)

    def _end(self, i, why=None):
        if why:
            self.failed.append((i, why))
        else:
            self.ok += 1
        self.left -= 1
        if self.left == 0:
            self.done.set_result(True)

    def _created(self, c, op, err, info, ud):
        i = ud - 1
        if err:
            return self._end(i, "create: " + err.contents.message.decode())
        self.ids[i] = info.contents.id  # bytes: a copy
        o = ExecOpts()
        self.lib.sbx_exec_opts_init(C.byref(o))
        cmd = b"echo sandbox %d" % i
        o.cmd = cmd
        eop = OP()
        if self.lib.sbx_exec_start(c, self.ids[i], C.byref(o), C.byref(self.cbs), ud,
                                   C.byref(eop)) != SBX_OK:
            self._end(i, "exec did not start")

    def _output(self, c, op, fd, data, n, ud):
        self.out[ud - 1] += C.string_at(data, n)

    def _exec_done(self, c, op, err, res, ud):
        i = ud - 1
        if err:
            return self._end(i, "exec: " + err.contents.message.decode())
        want = b"sandbox %d\n" % i
        if res.contents.exit_code != 0 or self.out[i] != want:
            return self._end(i, "exec: exit %d, output %r" % (res.contents.exit_code, self.out[i]))
        kop = OP()
        if self.lib.sbx_sandbox_kill(c, self.ids[i], self.on_killed, ud, C.byref(kop)) != SBX_OK:
            self._end(i, "kill did not start")

    def _killed(self, c, op, err, ud):
        i = ud - 1
        self._end(i, "kill: " + err.contents.message.decode() if err else None)


async def main(path, n):
    lib = load(path)
    st = C.c_int(0)
    errbuf = C.create_string_buffer(256)
    client = lib.sbx_client_new(None, None, C.byref(st), errbuf, len(errbuf))
    if not client:
        print("python_ctypes: %s" % errbuf.value.decode(), file=sys.stderr)
        return 1
    loop = asyncio.get_running_loop()
    drv = Driver(lib, client, loop)
    done = loop.create_future()
    fan = FanOut(lib, client, n, done)
    t0 = loop.time()
    fan.start()
    drv.schedule()  # the creates are due now
    try:
        await asyncio.wait_for(done, 120)
    except asyncio.TimeoutError:
        print("python_ctypes: timed out with %d left" % fan.left, file=sys.stderr)
    pending = lib.sbx_client_pending(client)
    took = loop.time() - t0
    drv.close()
    for i, why in fan.failed[:10]:
        print("sandbox %d: %s" % (i, why), file=sys.stderr)
    print("python_ctypes: %d of %d sandboxes ok, %d failed, %d pending, %.0f ms"
          % (fan.ok, n, len(fan.failed), pending, took * 1000))
    return 0 if fan.ok == n and pending == 0 else 1


if __name__ == "__main__":
    lib_path = sys.argv[1] if len(sys.argv) > 1 else "build/libsbx.so"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    sys.exit(asyncio.run(main(lib_path, count)))
