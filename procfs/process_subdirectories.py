"""The subdirectories of `/PID/` whose names are generated from the process each time: `fd/`,
`fdinfo/`, `stacks/`, `task/` and `ns/`, with their leaves."""
from __future__ import annotations

import errno
import os
from typing import Iterable

from kernel_model import Process, ProcessState
from kernel_model.object_registry import ObjectRegistry
from kernel_model.ref_counted import RefPtr, adopt_ref

from . import process_environment as environment
from .component import DIR, LNK, REG, Caller, Node, ProcFSError
from .process_directory import (FileSpec, GeneratedEntry, ProcessDirectory, ProcessEntry, ProcessSubdirectory,
                                Target)
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
        return _FdInfoFile(self, REG, 0o444, content=content)


class _FdInfoFile(GeneratedEntry):
    """fdinfo/N: its seq_show looks the task up at every read and answers ENOENT once it is gone
    (a file opened before the reap), where other process files answer ESRCH."""

    def read(self, caller: Caller) -> bytes:
        try:
            return super().read(caller)
        except ProcFSError as e:
            if e.errno == errno.ESRCH:
                raise ProcFSError(errno.ENOENT, "process is gone") from None
            raise

class StacksDirectory(ProcessSubdirectory):
    def names(self, process: Process) -> list[str]:
        return [str(process.pid)] if process.thread is not None else []

    def entry(self, process: Process, name: str) -> Node:
        view = ProcessView(process, self.kernel)
        return GeneratedEntry(self, REG, 0o400, content=view.stack_json)

class TaskDirectory(ProcessSubdirectory):
    """`task/`: one directory per thread.  A procsim process has one thread, whose TID is its PID."""

    def __init__(self, registry: ObjectRegistry, directory: ProcessDirectory, spec: FileSpec,
                 parent_path: str | None = None) -> None:
        super().__init__(registry, directory, spec, parent_path)
        self.threads: dict[str, RefPtr[ThreadDirectory]] = {}

    def names(self, process: Process) -> list[str]:
        return [str(process.pid)]

    def entry(self, process: Process, name: str) -> Node:
        ref = self.threads.get(name)
        if ref is None:
            directory = self.directory()
            assert directory is not None  # process() found it
            thread = ThreadDirectory(self._registry, directory, name, self.path)
            ref = self.threads[name] = adopt_ref(thread, f"task directory {self.path}")
        return ref.get()

    def prepare_for_deletion(self) -> None:
        for ref in self.threads.values():
            ref.get().prepare_for_deletion()

    def _destroy(self) -> None:
        for ref in self.threads.values():
            ref.release()
        self.threads.clear()
        super()._destroy()


class ThreadDirectory(ProcessEntry):
    """`task/TID/`: the thread's entries, made from the same specs as /PID's (Linux's tid_base_stuff
    is that table too), so that every one answers exactly as its /PID twin at every step: open,
    first read, reread, owner, a held handle after the reap.  They are nodes of their own, never
    /PID's: a directory shown under two parents would be one inode with two names, which the
    kernel's dcache does not allow (it would move the directory's dentry back and forth)."""

    live_getattr = True  # pid_getattr, as /PID

    def __init__(self, registry: ObjectRegistry, directory: ProcessDirectory, tid: str, parent_path: str) -> None:
        super().__init__(registry, directory, FileSpec(tid, DIR, 0o555), parent_path)
        self.children: dict[str, RefPtr[ProcessEntry]] = {}

    def specs(self) -> dict[str, FileSpec]:
        directory = self.directory()
        return {} if directory is None else {n: s for n, s in directory.specs().items() if s.per_thread}

    def child(self, name: str) -> ProcessEntry:
        ref = self.children.get(name)
        if ref is not None:
            return ref.get()
        directory = self.directory()
        spec = self.specs().get(name)
        if spec is None or directory is None:
            raise ProcFSError(errno.ENOENT)
        entry = (spec.directory or ProcessEntry)(self._registry, directory, spec, self.path)
        self.children[name] = adopt_ref(entry, f"thread directory {self.path}")
        return entry

    def lookup(self, name: str, caller: Caller) -> Node:
        if self.is_gone():
            self.personality.check_dead_thread_directory("lookup")
        return self.child(name)

    def check_open_directory(self) -> bool:
        if self.is_gone():
            self.personality.check_dead_thread_directory("opendir")
            return False
        return True

    def list(self, caller: Caller) -> Iterable[tuple[str, int]]:
        if self.is_gone():
            self.personality.check_dead_thread_directory("list")
        return [(name, spec.file_type | spec.permissions) for name, spec in self.specs().items()]

    def prepare_for_deletion(self) -> None:
        for ref in self.children.values():
            ref.get().prepare_for_deletion()

    def _destroy(self) -> None:
        for ref in self.children.values():
            ref.release()
        self.children.clear()
        super()._destroy()

def _live_target(process: Process, target: Target) -> str:
    if process.state != ProcessState.RUNNING:
        raise ProcFSError(errno.ENOENT, "zombie")
    return target(process)

class NamespaceDirectory(ProcessSubdirectory):
    live_getattr = True  # pid_getattr: root once the process is reaped

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

#: What a zombie's ns/ still links to: its pid namespace hangs on its struct pid and its user
#: namespace on its credentials; the others on the nsproxy that exit_task_namespaces dropped.
ZOMBIE_NAMESPACES = frozenset({"pid", "user"})


class _NamespaceLink(GeneratedEntry):
    def __init__(self, owner_entry: ProcessEntry, process: Process, name: str) -> None:
        super().__init__(owner_entry, LNK, 0o777)
        self.process = process
        self.namespace = name

    def readlink(self, caller: Caller) -> str:
        self.owner_entry.require_trace(caller)  # proc_ns_get_link: PTRACE_MODE_READ
        process = self.owner_entry.process()
        if process.state != ProcessState.RUNNING and self.namespace not in ZOMBIE_NAMESPACES:
            raise ProcFSError(errno.ENOENT, "a zombie has no namespaces but its pid and user ones")
        return environment.namespace_target(self.namespace)

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
