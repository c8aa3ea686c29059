"""waitpid: a parent reaps a zombie child (SerenityOS Syscalls/waitid.cpp).  The simulation never
blocks a caller: a wait with nothing ready is EAGAIN (or None with `nohang`)."""
from __future__ import annotations

import errno

from ..kernel_core import KernelCore, is_int
from ..kernel_error import KernelError
from ..process import Process
from . import syscall


class WaitSyscalls(KernelCore):
    @syscall
    def waitpid(self, parent: Process, child: int = -1, nohang: bool = False) -> tuple[int, int] | None:
        """Reap a dead child of `pid`: (child pid, wait status), or None if `nohang` and none is ready.

        ECHILD if `pid` has no such child; EAGAIN instead of blocking when nothing is ready and
        `nohang` is not set (the simulation runner waits on events instead of blocking a caller).
        """
        pid = parent.pid
        if not is_int(child) or child < -1 or child == 0:
            raise KernelError(errno.EINVAL, f"bad child pid {child!r}")
        if child == -1:
            ready = next(iter(parent.wait_list), None)
            if ready is None:
                if not parent.children:
                    raise KernelError(errno.ECHILD, f"PID {pid} has no children")
                return self._not_ready(nohang, pid)
        else:
            if child not in parent.wait_list:
                if child in parent.children:
                    return self._not_ready(nohang, pid)
                raise KernelError(errno.ECHILD, f"PID {child} is not a child of PID {pid}")
            ready = child
        ref = parent.wait_list.pop(ready)
        zombie = ref.get()
        status = zombie.wait_status()
        self.emit("reap", pid=ready, by=pid, status=status)
        ref.release()
        self._notify_reaped(zombie)
        return ready, status

    @staticmethod
    def _not_ready(nohang: bool, pid: int) -> None:
        if nohang:
            return None
        raise KernelError(errno.EAGAIN, f"no child of PID {pid} has exited yet (would block)")
