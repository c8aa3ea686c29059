"""The subdirectories of `/PID/` whose names are generated from the process each time: `fd/`,
`fdinfo/`, `stacks/`, `task/` and `ns/`, with their leaves."""
from __future__ import annotations

import errno
import functools
import os
from typing import Iterable

from kernel_model import Process, ProcessState

from . import process_environment as environment
from .component import DIR, LNK, REG, Caller, Node, ProcFSError
from .process_directory import FileSpec, GeneratedEntry, ProcessEntry, ProcessSubdirectory, Target
from .process_view import ProcessView

class FdDirectory(ProcessSubdirectory):
    def check_attributes(self) -> None:
        if self.is_gone():
            self.personality.check_dead_fd_directory_stat()
    def names(self, process: Process) -> list[str]:
        return [str(fd) for fd in sorted(process.fds)]

    def entry(self, process: Process, name: str) -> Node:
        description = process.fds[int(name)].description
        mode = self.personality.fd_link_mode(description.readable, description.writable)
        return GeneratedEntry(self, LNK, mode, target=description.absolute_path)

class FdInfoDirectory(FdDirectory):
    """Linux's fdinfo/: the names of fd/, each the position and open flags of its descriptor
    (psutil's open_files reads it)."""

    def check_attributes(self) -> None:
        pass

    def list(self, caller: Caller) -> Iterable[tuple[str, int]]:
        self.check_ptrace_read(caller)
        return super().list(caller)

    def lookup(self, name: str, caller: Caller) -> Node:
        self.check_ptrace_read(caller)
        return super().lookup(name, caller)

    def entry(self, process: Process, name: str) -> Node:
        number = int(name)
        fd = process.fds[number]

        def content() -> bytes:
            if process.fds.get(number) is not fd:
                raise ProcFSError(errno.ENOENT, f"fd {number} was closed")
            d = fd.description
            access = os.O_RDWR if d.readable and d.writable else os.O_WRONLY if d.writable else os.O_RDONLY
            flags = access | 0o100000 | (os.O_CLOEXEC if fd.cloexec else 0)  # 0o100000: O_LARGEFILE
            ino = d.inode_ref.get().index if d.inode_ref is not None else 0
            return f"pos:\t{d.offset}\nflags:\t{flags:07o}\nmnt_id:\t25\nino:\t{ino}\n".encode()
        return GeneratedEntry(self, REG, 0o444, content=content)

class StacksDirectory(ProcessSubdirectory):
    def names(self, process: Process) -> list[str]:
        return [str(process.pid)] if process.thread is not None else []

    def entry(self, process: Process, name: str) -> Node:
        view = ProcessView(process, self.kernel)
        return GeneratedEntry(self, REG, 0o400, content=view.stack_json)

class TaskDirectory(ProcessSubdirectory):
    """`task/TID/`: the one thread of the process, with Linux's per-thread files -- the same as
    the process's, but `task/` itself."""

    def names(self, process: Process) -> list[str]:
        return [str(process.pid)]

    def entry(self, process: Process, name: str) -> Node:
        directory = self.directory()
        assert directory is not None  # process() found it
        view = ProcessView(process, self.kernel)

        def thread_entry(spec: FileSpec) -> Node:
            if spec.directory is not None:
                sub = directory.child(spec.name)
                assert isinstance(sub, ProcessSubdirectory)
                return GeneratedEntry(sub, DIR, spec.permissions,
                             children=lambda: {n: sub.entry(process, n) for n in sub.names(process)})
            if spec.target is not None:
                target = spec.target
                return GeneratedEntry(self, LNK, spec.permissions, target=lambda: _live_target(process, target))
            assert spec.content is not None
            return GeneratedEntry(self, REG, spec.permissions, content=functools.partial(spec.content, view),
                         ptrace_read=spec.ptrace_read)

        return GeneratedEntry(self, DIR, 0o555, children={spec.name: thread_entry(spec) for spec in directory.specs().values()
                                                             if spec.per_thread})

def _live_target(process: Process, target: Target) -> str:
    if process.state != ProcessState.RUNNING:
        raise ProcFSError(errno.ENOENT, "zombie")
    return target(process)

class NamespaceDirectory(ProcessSubdirectory):
    """`ns/`: one link per namespace, `pid -> pid:[4026531836]`.  The link text is not a path;
    a stat through it (lsns) lands on a hidden name here that answers with the namespace's inode
    number, as nsfs does on Linux."""

    def names(self, process: Process) -> list[str]:
        return list(environment.NAMESPACES)

    def entry(self, process: Process, name: str) -> Node:
        return _NamespaceLink(self, process, name)

    def lookup(self, name: str, caller: Caller) -> Node:
        kind, _, number = name.partition(":[")
        if number.endswith("]") and f"{kind}:[{number}" in {environment.namespace_target(n)
                                                            for n in environment.NAMESPACES}:
            self.process()
            self.require_trace(caller)
            return _NamespaceInode(self, int(number[:-1]))
        return super().lookup(name, caller)

class _NamespaceLink(GeneratedEntry):
    def __init__(self, owner_entry: ProcessEntry, process: Process, name: str) -> None:
        super().__init__(owner_entry, LNK, 0o777)
        self.process = process
        self.namespace = name

    def readlink(self, caller: Caller) -> str:
        self.owner_entry.require_trace(caller)  # proc_ns_get_link: PTRACE_MODE_READ
        return _live_target(self.process, lambda p: environment.namespace_target(self.namespace))

class _NamespaceInode(GeneratedEntry):
    """What an ns/ link leads to.  Its stat gives the namespace's number; an open is refused
    with EACCES: it would be for the nsfs ioctls (NS_GET_PARENT...), which FUSE cannot carry,
    and EACCES is the answer lsns and other readers already take as "keep the number, skip
    the parent"."""

    def __init__(self, owner_entry: ProcessEntry, number: int) -> None:
        super().__init__(owner_entry, REG, 0o444)
        self.inode_number = number

    def check_open(self, caller: Caller) -> str | None:
        self.read(caller)
        return None

    def read(self, caller: Caller) -> bytes:
        raise ProcFSError(errno.EACCES, "namespace ioctls do not pass through FUSE")
