"""open and close, on the simulated file system, never the host's (SerenityOS Syscalls/open.cpp,
close.cpp)."""
from __future__ import annotations

import errno

from ..file_description import FdEntry, FileDescription
from ..kernel_core import KernelCore
from ..kernel_error import KernelError
from ..process import Process
from ..ref_counted import adopt_ref
from . import syscall


class OpenSyscalls(KernelCore):
    @syscall
    def open(self, process: Process, path: str, writable: bool = False) -> int:
        """Open a file of the simulated file system (never the host's); returns the fd."""
        pid = process.pid
        inode = self.files.lookup(path, process.cwd)
        fd = process.next_fd()
        description = FileDescription(self.registry, "InodeFile", inode.path, writable=writable,
                                      seekable=True, inode=inode)
        process.fds[fd] = FdEntry(adopt_ref(description, f"fd {fd} of PID {pid}"))
        process.counters.syscall_count += 1
        return fd

    @syscall
    def close(self, process: Process, fd: int) -> None:
        entry = process.fds.pop(fd, None) if type(fd) is int else None
        if entry is None:
            raise KernelError(errno.EBADF, f"fd {fd!r} is not open")
        entry.description_ref.release()
