"""exit, kill and crash: the ways a process dies, and stop/continue (SerenityOS Syscalls/exit.cpp,
kill.cpp).  Dying itself -- finalize, orphans, the parent's wait list -- is KernelCore's."""
from __future__ import annotations

import errno
import signal as _signal

from ..kernel_core import KernelCore, is_int
from ..kernel_error import KernelError
from ..process import Process, ProcessState
from . import kernel_call, syscall

SIGNAL_MAX = 64
_IGNORED_BY_DEFAULT = {_signal.SIGCHLD, _signal.SIGURG, _signal.SIGWINCH}
_STOP_SIGNALS = {_signal.SIGSTOP, _signal.SIGTSTP, _signal.SIGTTIN, _signal.SIGTTOU}


class ExitSyscalls(KernelCore):
    @syscall
    def exit(self, process: Process, code: int = 0) -> None:
        if not is_int(code) or not 0 <= code <= 255:
            raise KernelError(errno.EINVAL, f"exit code must be 0..255, not {code!r}")
        self._die(process, code, 0, f"exit({code})")

    @kernel_call
    def kill(self, pid: int, sig: int) -> None:
        if not is_int(sig) or not 0 <= sig <= SIGNAL_MAX:
            raise KernelError(errno.EINVAL, f"bad signal {sig!r}")
        if not is_int(pid) or pid < 0:
            raise KernelError(errno.EINVAL, f"bad pid {pid!r}")
        if pid == 0:
            raise KernelError(errno.EPERM, "the colonel cannot be signalled")
        process = self.processes.get(pid)
        if process is None:
            raise KernelError(errno.ESRCH, f"no process {pid}")
        sig = int(sig)
        if sig == 0 or process.state != ProcessState.RUNNING or sig in _IGNORED_BY_DEFAULT:
            return
        if sig in _STOP_SIGNALS:
            self._set_stopped(process, True)
        elif sig == _signal.SIGCONT:
            self._set_stopped(process, False)
        else:
            self.emit("signal", pid=pid, signal=sig)
            if pid == 1:  # Linux panics here ("Attempted to kill init!"); the model goes on, and says so
                self._log(f"init {process.name}(1) killed by {signal_name(sig)}: orphans have no reaper now")
            self._die(process, 0, sig, f"signal {signal_name(sig)}")

    def _set_stopped(self, process: Process, stopped: bool) -> None:
        if process.stopped == stopped:
            return
        process.stopped = stopped
        assert process.thread is not None
        process.thread.state = "Stopped" if stopped else ("Running" if process.cpu_load > 0 else "Blocked")
        self.emit("stop" if stopped else "continue", pid=process.pid)

    @syscall
    def crash(self, process: Process, sig: int = _signal.SIGSEGV, reason: str = "crash") -> None:
        """Kill `pid` as a fault would (used by the runner when a program raises)."""
        pid = process.pid
        self._log(f"Process {process.name}({pid}) crashed: {reason}")
        self._die(process, 0, sig, reason)


def signal_name(sig: int) -> str:
    """SIGKILL for 9; the number for one Python does not name."""
    try:
        return _signal.Signals(sig).name
    except ValueError:
        return str(sig)
