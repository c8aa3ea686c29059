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
from .component import DIR, LNK, REG, Caller, GlobalDirectory, Node, ProcFSError, answering
from .host_caller import host_fd, host_fdinfo, host_fds
from .personality import PIN_EMPTY
from .process_directory import (FileSpec, GeneratedEntry, ProcessDirectory, ProcessEntry, ProcessSubdirectory,
                                Target, prepare_children, release_children)
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
        with answering(errno.ESRCH, errno.ENOENT, "process is gone"):
            return super().read(caller)

class HostFdDirectory(FdDirectory):
    """fd/ of a host caller's own view: the caller's own descriptors, as the host shows them."""

    def host_pid(self) -> int:
        directory = self.directory()
        assert directory is not None and directory.host_pid is not None, "a host caller's view only"
        return directory.host_pid

    def names(self, process: Process) -> list[str]:
        return host_fds(self.host_pid())

    def entry(self, process: Process, name: str) -> Node:
        found = host_fd(self.host_pid(), name)
        if found is None:
            raise ProcFSError(errno.ENOENT, f"fd {name} was closed")
        target, mode = found
        return GeneratedEntry(self, LNK, mode, target=target)


class HostFdInfoDirectory(FdInfoDirectory, HostFdDirectory):
    """fdinfo/ of a host caller's own view: the caller's own, as the host shows them (its names
    are HostFdDirectory's, its permission checks FdInfoDirectory's)."""

    def entry(self, process: Process, name: str) -> Node:
        host_pid = self.host_pid()

        def content() -> bytes:
            info = host_fdinfo(host_pid, name)
            if info is None:
                raise ProcFSError(errno.ENOENT, f"fd {name} was closed")
            return info
        return _FdInfoFile(self, REG, 0o444, content=content)


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
        prepare_children(self.threads)

    def _destroy(self) -> None:
        release_children(self.threads)
        super()._destroy()


#: What only task/TID/ has.
THREAD_ONLY = {"children": FileSpec("children", REG, 0o444, content=environment.children, pins=PIN_EMPTY)}


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
        if directory is None:
            return {}
        return {**{n: s for n, s in directory.specs().items() if s.per_thread}, **THREAD_ONLY}

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
        prepare_children(self.children)

    def _destroy(self) -> None:
        release_children(self.children)
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


#: pagemap's bits (Documentation/admin-guide/mm/pagemap.rst): present, a file page or shared
#: anonymous, mapped by this process alone.  The page frame number (bits 0-54) is shown to
#: CAP_SYS_ADMIN only; procsim shows it to no one (a read has no caller to ask).
PM_PRESENT, PM_FILE, PM_EXCLUSIVE = 1 << 63, 1 << 61, 1 << 56
PM_ENTRY_BYTES = 8
TASK_SIZE_PAGES = 0x7FFFFFFFF000 >> 12  # x86-64's user address space


class PagemapFile(ProcessEntry):
    """`pagemap`: eight bytes per virtual page, at offset (address / 4096) * 8, made from the
    model's regions at each read: a page SerenityOS has materialized is present; the zero page
    and the lazily committed page stand for pages never touched, which are not.  A COW page
    that a fork shares, or a page of a region that another process maps too, is not exclusive."""

    live = True  # read at the offset asked: the file is as big as the address space

    def read(self, caller: Caller) -> bytes:
        self.check_ptrace_read(caller)
        return b""

    def check_open(self, caller: Caller) -> str | None:
        self.check_ptrace_read(caller)
        if self.process().state != ProcessState.RUNNING:
            raise ProcFSError(errno.ESRCH, "a zombie has no address space")  # pagemap_open
        return None

    def read_at(self, offset: int, size: int) -> bytes:
        if offset % PM_ENTRY_BYTES or size % PM_ENTRY_BYTES:
            raise ProcFSError(errno.EINVAL, "pagemap is read in whole entries")
        directory = self.directory()
        process = directory.process if directory is not None else None
        if process is None or process.state != ProcessState.RUNNING or self.kernel is None:
            return b""  # no address space: a read finds nothing (pagemap_read)
        first = offset // PM_ENTRY_BYTES
        last = min(first + size // PM_ENTRY_BYTES, TASK_SIZE_PAGES)
        if first >= last:
            return b""
        entries = bytearray((last - first) * PM_ENTRY_BYTES)
        with self.kernel.lock:
            for region in process.space.regions:
                start, stop = max(first, region.base >> 12), min(last, region.end >> 12)
                if start >= stop:
                    continue
                vmobject = region.vmobject
                private_anonymous = vmobject.is_anonymous and not region.shared
                file_bit = 0 if private_anonymous else PM_FILE
                alone = (vmobject.family_size() if private_anonymous else len(vmobject.regions)) <= 1
                cow = vmobject.cow_map
                states = region.pagemap()
                for page in range(start, stop):
                    index = page - (region.base >> 12)
                    if states[index] != "P":
                        continue
                    # a private page a fork shares until one of them writes it (its COW bit)
                    shared_cow = private_anonymous and cow is not None and cow[region.offset_pages + index] == 1
                    exclusive = alone or (private_anonymous and not shared_cow)
                    value = PM_PRESENT | file_bit | (PM_EXCLUSIVE if exclusive else 0)
                    at = (page - first) * PM_ENTRY_BYTES
                    entries[at:at + PM_ENTRY_BYTES] = value.to_bytes(8, "little")
        return bytes(entries)


class MemFile(ProcessEntry):
    """`mem`: the address space as a file, read at the address.  The model keeps page states,
    not contents, so every mapped byte reads 0 (a page never written is zeros on Linux too); an
    address outside every region fails with EIO, as access_remote_vm does.  A zombie's
    open is ESRCH; one opened before reads as end of file (its mm is gone: mem_rw)."""

    live = True

    def read(self, caller: Caller) -> bytes:
        self.check_ptrace_read(caller)
        return b""

    def check_open(self, caller: Caller) -> str | None:
        self.check_ptrace_read(caller)  # proc_mem_open: PTRACE_MODE_ATTACH
        if self.process().state != ProcessState.RUNNING:
            raise ProcFSError(errno.ESRCH, "a zombie has no address space")  # __mem_open
        return None

    def read_at(self, offset: int, size: int) -> bytes:
        directory = self.directory()
        process = directory.process if directory is not None else None
        if process is None or process.state != ProcessState.RUNNING or self.kernel is None or size <= 0:
            return b""
        end = offset
        with self.kernel.lock:
            regions = sorted(process.space.regions, key=lambda region: region.base)
            for region in regions:  # contiguous regions read on; the first gap ends the read
                if region.base <= end < region.end:
                    end = min(region.end, offset + size)
        if end == offset:
            raise ProcFSError(errno.EIO, f"no mapping at {offset:#x}")
        return bytes(end - offset)


class WriteOnlyFile(ProcessEntry):
    """`clear_refs`: a file with a write method only.  Past the mode (root's CAP_DAC_OVERRIDE), an
    open for reading succeeds and every read fails with EINVAL (vfs_read), whatever became of
    the process; the mount takes no writes (EROFS)."""

    live = True

    def read(self, caller: Caller) -> bytes:
        return b""

    def check_open(self, caller: Caller) -> str | None:
        self.process()
        return None

    def read_at(self, offset: int, size: int) -> bytes:
        raise ProcFSError(errno.EINVAL, "this file is write-only")


class AttrDirectory(ProcessSubdirectory):
    """`attr/`: the security module's attributes.  The simulated machine runs none, so every one
    answers EINVAL, as Linux does without an LSM that provides it (proc_pid_attr_read)."""

    live_getattr = True  # proc_attr_dir_inode_operations: pid_getattr

    ENTRIES = {"current": 0o666, "exec": 0o666, "fscreate": 0o666, "keycreate": 0o666, "prev": 0o444,
               "sockcreate": 0o666}

    def names(self, process: Process) -> list[str]:
        return list(self.ENTRIES)

    def entry(self, process: Process, name: str) -> Node:
        return GeneratedEntry(self, REG, self.ENTRIES[name], content=_no_security_module)


def _no_security_module() -> bytes:
    raise ProcFSError(errno.EINVAL, "no security module provides this attribute")


class NetDirectory(ProcessSubdirectory):
    """`net/`: the process's network namespace, the machine's one (the registry hands its
    directory over as `machine_net`).  Once the process has exited, its nsproxy is gone: a lookup
    below is ENOENT and a listing EINVAL (proc_tgid_net_lookup, proc_tgid_net_readdir); a file
    opened before keeps its namespace."""

    def machine(self) -> GlobalDirectory:
        directory = self.directory()
        machine = directory.machine_net if directory is not None else None
        if machine is None:
            raise ProcFSError(errno.ENOENT, "no network namespace")
        return machine

    def names(self, process: Process) -> list[str]:
        if process.state != ProcessState.RUNNING:
            raise ProcFSError(errno.ENOENT, "a zombie has no network namespace")
        return list(self.machine().children)

    def list(self, caller: Caller) -> Iterable[tuple[str, int]]:
        with answering(errno.ENOENT, errno.EINVAL, "a zombie has no network namespace"):
            return super().list(caller)

    def entry(self, process: Process, name: str) -> Node:
        return _namespace_entry(self, self.machine().children[name])


class _NetEntry(GeneratedEntry):
    """A file or directory of the machine's network namespace seen below /PID/net: the
    namespace's (root's), read from the machine's own node."""

    def __init__(self, owner_entry: ProcessEntry, node: Node,
                 children: dict[str, Node] | None = None) -> None:
        super().__init__(owner_entry, node.file_type, node.permissions, children=children)
        self.node = node

    def owner(self) -> tuple[int, int]:
        return 0, 0

    def read(self, caller: Caller) -> bytes:
        return self.node.read(caller)

    def check_open(self, caller: Caller) -> str | None:
        self.owner_entry.process()
        return None

    def refresh(self, caller: Caller, content: bytes | None, pin: str | None) -> bytes:
        return self.node.read(caller)  # seq_open_net took the namespace at open


def _namespace_entry(owner_entry: ProcessEntry, node: Node) -> Node:
    if isinstance(node, GlobalDirectory):
        children = {name: _namespace_entry(owner_entry, child) for name, child in node.children.items()}
        return _NetEntry(owner_entry, node, children)
    return _NetEntry(owner_entry, node)


class MapFilesDirectory(ProcessSubdirectory):
    """`map_files/`: one link per file mapping, named by its range as maps prints it
    (`7f0000000000-7f0000004000`), leading to the mapped file.  Linux lets only CAP_SYS_ADMIN
    follow them (proc_map_files_get_link); procsim's readers see the target as root does."""

    def names(self, process: Process) -> list[str]:
        return [f"{r.base:x}-{r.end:x}" for r in process.space.regions if r.backing().file_path is not None]

    def entry(self, process: Process, name: str) -> Node:
        region = next(r for r in process.space.regions if f"{r.base:x}-{r.end:x}" == name)
        path = region.backing().file_path
        assert path is not None
        return GeneratedEntry(self, LNK, 0o400, target=path)
