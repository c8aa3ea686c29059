"""The per-process component tree: `/PID/` (ProcessDirectory), the entries below it
(ProcessEntry), the subdirectories whose listings are generated (ProcessSubdirectory) and their
generated leaves (GeneratedEntry).  What one entry is -- file, link or directory, its mode, what
an open pins -- is a FileSpec; the tables of specs are process_backend.py's.

Lifetime design of seeds 6a/6b: a ProcessDirectory holds a strong RefPtr to its Process; the
files below it point back with WeakPtrs.  When the process is unregistered, the directory is
*prepared for deletion* -- its Process pointer is cleared -- and unlinked from the root.  Whoever
still holds the directory (an open handle) keeps an orphaned, process-less directory alive, and
every operation through it fails with an errno instead of crashing or showing another process.

What each operation answers once the process is gone depends on the personality chosen at mount
(serenity.md G, linux_procfs.md 4): SerenityOS keeps listing and looking up the children of an
orphaned directory and fails opens with ESRCH and readlinks with EFAULT; Linux fails every lookup
below it with ESRCH and its listing with ENOENT.
"""
from __future__ import annotations

import contextlib
import errno
from typing import Any, Callable, Iterable

from kernel_model import Kernel, Process, ProcessState
from kernel_model.object_registry import ObjectRegistry
from kernel_model.ref_counted import RefPtr, adopt_ref
from kernel_model.weak_ptr import WeakPtr

from .component import DIR, Caller, Component, GlobalDirectory, NameLifetime, Node, ProcFSError
from .personality import KEEPS_CONTENT, PIN_EMPTY, PIN_MEMORY, PIN_NAMESPACE, RUNNING, ZOMBIE, Personality
from .process_view import ProcessView


def prepare_children(children: "dict[str, RefPtr[Any]]") -> None:
    """A directory that holds its children strongly prepares them with itself (seed 6b)."""
    for ref in children.values():
        ref.get().prepare_for_deletion()


def release_children(children: "dict[str, RefPtr[Any]]") -> None:
    """... and releases them when it dies: a handle may still hold one."""
    for ref in children.values():
        ref.release()
    children.clear()


class ProcessFile(Node):
    """What every node below /PID shares: its owner, opening and rereading a process file, and
    how long the kernel may trust its name, as the personality says once the process is gone."""

    personality: Personality
    live_getattr = False  # its stat asks the process itself (Linux's pid_getattr)
    _seen_owner: tuple[int, int] | None = None  # the owner it showed last while the process existed

    def is_gone(self) -> bool:
        raise NotImplementedError

    def owner_below(self, directory: "ProcessDirectory | None", entry: str, revalidating: bool = False) -> tuple[int, int]:
        """Who owns this node (`entry` of `directory`): as the personality says for the state of
        the process -- now, or when a lookup last found the node if the personality fixes it
        then -- and once it is reaped, for the owner the node showed last."""
        process = directory.process if directory is not None else None
        if process is None:
            return self.personality.owner_after_reap(self._seen_owner, self.live_getattr)
        if (self._seen_owner is not None and not revalidating and not self.live_getattr
                and self.personality.owner_fixed_at_lookup):
            return self._seen_owner
        state = RUNNING if process.state == ProcessState.RUNNING else ZOMBIE
        self._seen_owner = self.personality.owner(state, (process.euid, process.egid), entry,
                                                  self.mode == (DIR | 0o555))
        return self._seen_owner

    def open_for_reading(self, caller: Caller) -> tuple[bytes | None, str | None]:
        if not self.personality.content_at_first_read:
            return self.read(caller), None
        pin = self.check_open(caller)  # permission and existence now, the content at the first read
        return (self.read(caller) if pin in KEEPS_CONTENT else None), pin

    def refresh(self, caller: Caller, content: bytes | None, pin: str | None) -> bytes:
        """Linux's seq_file builds a process file at the first read (opened while running, first
        read as a zombie: `Z`) and again whenever a read starts at 0 (a reaped process: ESRCH,
        unless the open pinned what the file shows); SerenityOS builds it at open and refreshes on
        a seek to 0 (`did_seek`), and when that fails it only logs and keeps the old buffer."""
        try:
            return self.reread(caller)
        except ProcFSError:
            if not self.personality.keeps_old_content(pin, content is not None):
                raise
            return b"" if pin in (PIN_MEMORY, PIN_EMPTY) else (content or b"")  # a pinned address space is empty now

Content = Callable[[ProcessView], bytes]

Target = Callable[[Process], str]

class FileSpec:
    """What one per-process entry is: a file, a link or a subdirectory, with its mode."""

    __slots__ = ("name", "file_type", "permissions", "content", "target", "directory", "pins",
                 "memory_at_open", "ptrace_read", "per_thread")

    def __init__(self, name: str, file_type: int, permissions: int, *, content: Content | None = None,
                 target: Target | None = None, directory: "type[ProcessEntry] | None" = None,
                 pins: str | None = None, memory_at_open: bool = False, ptrace_read: bool = False) -> None:
        self.name = name
        self.file_type = file_type
        self.permissions = permissions
        self.content = content
        self.target = target
        self.directory = directory
        # What Linux's open takes a reference to, so that a read after the process died still
        # works (PIN_MEMORY: environ reads as empty; PIN_NAMESPACE: mounts reads the table), and
        # that an open of a zombie's file fails (ESRCH: no address space; EINVAL: no namespaces).
        self.pins = pins
        # Its open needs the address space but does not keep it (smaps_rollup): ESRCH at the open
        # of a zombie's, and a read after the exit answers as any other file.
        self.memory_at_open = memory_at_open or pins == PIN_MEMORY
        # Linux lets only who may ptrace the process read it (PTRACE_MODE_READ: root, or the same
        # uid), whatever the mode bits say: maps, smaps, smaps_rollup, fdinfo/.
        self.ptrace_read = ptrace_read
        self.per_thread = False  # task/TID/ has it too (Linux's per-thread files)

class ProcessDirectory(Component):
    """`/PID/`: holds its Process strongly until prepared for deletion."""

    file_type = DIR

    def __init__(self, registry: ObjectRegistry, process_ref: RefPtr[Process], personality: Personality,
                 kernel: Kernel | None, specs: dict[str, FileSpec], strong_backrefs: bool = False) -> None:
        process = process_ref.get()
        super().__init__(registry, str(process.pid))
        self.pid = process.pid
        self.process_ref: RefPtr[Process] | None = process_ref
        self.personality = personality
        self.kernel = kernel
        self.strong_backrefs = strong_backrefs  # the bug of 2021-06-12..07-01 (sim/bugs switch)
        self._specs = specs  # its entries (process_backend.specs_for the personality)
        self.children: dict[str, RefPtr[ProcessEntry]] = {}
        self.permissions = personality.pid_directory_permissions
        self.host_pid: int | None = None  # a host caller's own view: the PID its files are read at
        self.machine_net: "GlobalDirectory | None" = None  # net/: the machine's network namespace

    def describe(self) -> str:
        if self.process_ref is None:
            return f"ProcFS directory /{self.pid}, orphaned: its process is gone"
        return f"ProcFS directory /{self.pid}"

    @property
    def process(self) -> Process | None:
        ref = self.process_ref
        return None if ref is None else ref.get()

    def owner(self) -> tuple[int, int]:
        p = self.process
        return (0, 0) if p is None else (p.euid, p.egid)

    def specs(self) -> dict[str, FileSpec]:
        return self._specs

    def child(self, name: str) -> "ProcessEntry":
        """The child component for `name`, created lazily on first lookup (as in SerenityOS)."""
        ref = self.children.get(name)
        if ref is not None:
            return ref.get()
        spec = self.specs().get(name)
        if spec is None:
            raise ProcFSError(errno.ENOENT)
        cls = spec.directory or ProcessEntry
        entry = cls(self._registry, self, spec)
        self.children[name] = adopt_ref(entry, f"PID directory /{self.pid}")
        return entry

    def lookup(self, name: str, caller: Caller) -> Node:
        if self.process is None:
            self.personality.check_dead_directory("lookup")
        return self.child(name)

    def check_open_directory(self) -> bool:
        if self.process is None:
            self.personality.check_dead_directory("opendir")  # opendir(".") in a dead cwd
        return True

    def list(self, caller: Caller) -> Iterable[tuple[str, int]]:
        if self.process is None:
            self.personality.check_dead_directory("list")
        return [(name, spec.file_type | spec.permissions) for name, spec in self.specs().items()]

    def name_lifetime(self) -> NameLifetime:
        if self.process is None:
            return NameLifetime.DEAD  # nothing keeps an orphan's names: it is freed at last use
        if self.kernel is None:
            return NameLifetime.GENERATED  # the caller's own host view
        return NameLifetime.PID

    def absence_is_stable(self) -> bool:
        """A live PID directory has a fixed set of names: a name it lacks (`ctty`, which ps asks
        for every process) stays absent until the directory is unlinked, when it is taken back."""
        return self.kernel is not None and self.process is not None

    def prepare_for_deletion(self) -> None:
        prepare_children(self.children)
        if self.process_ref is not None:
            process_ref, self.process_ref = self.process_ref, None
            process_ref.release()

    def _destroy(self) -> None:
        release_children(self.children)
        if self.process_ref is not None:
            self.process_ref.release()
            self.process_ref = None

class ProcessEntry(ProcessFile, Component):
    """A file or link below `/PID/`; reaches its directory through a WeakPtr (seed 6b)."""

    def __init__(self, registry: ObjectRegistry, directory: ProcessDirectory, spec: FileSpec,
                 parent_path: str | None = None) -> None:
        super().__init__(registry, spec.name)
        self.path = f"{parent_path or f'/{directory.pid}'}/{spec.name}"  # /5/status, /5/task/5/status
        self.spec = spec
        self.file_type = spec.file_type
        self.permissions = spec.permissions
        self.pid = directory.pid
        self.personality = directory.personality
        self.kernel = directory.kernel
        self._strong_dir: RefPtr[ProcessDirectory] | None = None
        self._cache: tuple[int, bytes] | None = None  # (kernel.version, content)
        if directory.strong_backrefs:
            self._strong_dir = directory.ref(f"{spec.name} entry of {self.path.rpartition('/')[0]} (strong back-pointer bug)")
        self.dir_link: WeakPtr[ProcessDirectory] = directory.make_weak_ptr()

    def describe(self) -> str:
        return f"ProcFS entry {self.path}"

    def directory(self) -> ProcessDirectory | None:
        if self._strong_dir is not None:
            return self._strong_dir.get()
        return self.dir_link.unsafe_ptr()

    def process(self) -> Process:
        """The live (or zombie) process, or ESRCH.

        SerenityOS answers EINVAL where the back-pointer was already cleared; procsim answers ESRCH
        there too, so that no reader ever sees EINVAL for a process that merely died."""
        directory = self.directory()
        if directory is None:
            raise ProcFSError(errno.ESRCH, "process directory is gone")
        process = directory.process
        if process is None:
            raise ProcFSError(errno.ESRCH, "process is gone")
        return process

    def owner(self) -> tuple[int, int]:
        return self.owner_below(self.directory(), self.spec.name)

    def revalidate(self) -> None:
        self.owner_below(self.directory(), self.spec.name, revalidating=True)

    def is_gone(self) -> bool:
        directory = self.directory()
        return directory is None or directory.process is None

    def name_lifetime(self) -> NameLifetime:
        return NameLifetime.DEAD if self.is_gone() else NameLifetime.FIXED

    def check_ptrace_read(self, caller: Caller) -> None:
        if self.spec.ptrace_read:
            self.require_trace(caller)

    def require_trace(self, caller: Caller) -> None:
        """EACCES unless the caller could ptrace the process (Linux only; root may always)."""
        directory = self.directory()
        process = directory.process if directory is not None else None
        if not self.personality.may_read_traced(caller.uid, None if process is None else process.uid):
            raise ProcFSError(errno.EACCES, "not permitted to trace this process")

    def read(self, caller: Caller) -> bytes:
        if self.spec.content is None:
            return super().read(caller)
        self.check_ptrace_read(caller)
        kernel = self.kernel
        if kernel is None:  # a host-caller view: nothing to lock, nothing changes
            directory = self.directory()
            return self.spec.content(ProcessView(self.process(), None, directory.host_pid if directory else None))
        with kernel.lock:
            process = self.process()
            cache = self._cache
            if cache is not None and cache[0] == kernel.version:
                return cache[1]  # nothing in the kernel changed since: the same snapshot
            content = self.spec.content(ProcessView(process, kernel))
            self._cache = (kernel.version, content)
            return content

    def check_open(self, caller: Caller) -> str | None:
        if self.spec.content is None:
            return super().check_open(caller)
        self.check_ptrace_read(caller)  # Linux checks it at open (proc_mem_open)
        try:
            process = self.process()
        except ProcFSError:
            if self.spec.memory_at_open or self.spec.pins:
                raise  # proc_mem_open and mounts_open_common look for the task at open
            # Reaped between the path walk's lookup and this open: a seq file's open does not look
            # for the task (proc_single_open), so the open succeeds and the first read is ESRCH.
            # (A walk that starts after the reap never gets here: the reap took the names back.)
            return None
        if process.state != ProcessState.RUNNING:
            if self.spec.memory_at_open:
                raise ProcFSError(errno.ESRCH, "a zombie has no address space")
            if self.spec.pins == PIN_NAMESPACE:
                raise ProcFSError(errno.EINVAL, "a zombie has no namespaces")  # mounts_open_common
        return self.spec.pins

    def readlink(self, caller: Caller) -> str:
        if self.spec.target is None:
            raise ProcFSError(errno.EINVAL)
        try:
            process = self.process()
        except ProcFSError:
            raise self.personality.dead_link_error() from None
        if process.state != ProcessState.RUNNING:
            raise ProcFSError(errno.ENOENT, "zombie")
        return self.spec.target(process)

    def prepare_for_deletion(self) -> None:
        """Files keep their weak back-pointer (an open then answers ESRCH); subdirectories clear it."""

    def _destroy(self) -> None:
        self.dir_link.clear()
        if self._strong_dir is not None:
            ref, self._strong_dir = self._strong_dir, None
            ref.release()

_NO_LOCK = contextlib.nullcontext()  # host-caller views have no kernel to lock

class ProcessSubdirectory(ProcessEntry):
    """`fd/`, `stacks/` and `task/`: listings generated from the process each time."""

    def names(self, process: Process) -> list[str]:
        raise NotImplementedError

    def entry(self, process: Process, name: str) -> Node:
        raise NotImplementedError

    def list(self, caller: Caller) -> Iterable[tuple[str, int]]:
        try:
            process = self.process()
        except ProcFSError:
            raise ProcFSError(self.personality.dead_subdirectory_listing_errno(), "process is gone") from None
        with self.kernel.lock if self.kernel is not None else _NO_LOCK:
            return [(name, self.entry(process, name).mode) for name in self.names(process)]

    def lookup(self, name: str, caller: Caller) -> Node:
        try:
            process = self.process()
        except ProcFSError:
            raise ProcFSError(errno.ENOENT) from None
        with self.kernel.lock if self.kernel is not None else _NO_LOCK:
            if name not in self.names(process):
                raise ProcFSError(errno.ENOENT)
            return self.entry(process, name)

class GeneratedEntry(ProcessFile, Node):
    """A generated entry inside fd/, stacks/, ns/ or task/ (no identity of its own)."""

    generated = True

    def __init__(self, owner_entry: ProcessEntry, file_type: int, permissions: int,
                 content: Callable[[], bytes] | None = None, target: str | Callable[[], str] | None = None,
                 children: dict[str, Node] | Callable[[], dict[str, Node]] | None = None,
                 ptrace_read: bool = False) -> None:
        self.owner_entry = owner_entry
        self.file_type = file_type
        self.permissions = permissions
        self._content = content
        self._target = target
        self._children = children if children is not None else {}
        self.ptrace_read = ptrace_read

    @property
    def personality(self) -> Personality:  # type: ignore[override]
        return self.owner_entry.personality

    def is_gone(self) -> bool:
        return self.owner_entry.is_gone()

    def name_lifetime(self) -> NameLifetime:
        return NameLifetime.DEAD if self.is_gone() else NameLifetime.GENERATED

    def children(self) -> dict[str, Node]:
        return self._children() if callable(self._children) else self._children

    def owner(self) -> tuple[int, int]:
        return self.owner_below(self.owner_entry.directory(), "")

    def revalidate(self) -> None:
        self.owner_below(self.owner_entry.directory(), "", revalidating=True)

    def read(self, caller: Caller) -> bytes:
        if self._content is None:
            return super().read(caller)
        if self.ptrace_read:
            self.owner_entry.require_trace(caller)
        kernel = self.owner_entry.kernel
        with kernel.lock if kernel is not None else _NO_LOCK:
            self.owner_entry.process()
            return self._content()

    def check_open(self, caller: Caller) -> str | None:
        if self._content is None:
            return super().check_open(caller)
        if self.ptrace_read:
            self.owner_entry.require_trace(caller)
        self.owner_entry.process()
        return None

    def readlink(self, caller: Caller) -> str:
        if self._target is None:
            raise ProcFSError(errno.EINVAL)
        return self._target() if callable(self._target) else self._target

    def lookup(self, name: str, caller: Caller) -> Node:
        if not self.is_dir:
            return super().lookup(name, caller)
        kernel = self.owner_entry.kernel
        with kernel.lock if kernel is not None else _NO_LOCK:
            child = self.children().get(name)
        if child is None:
            raise ProcFSError(errno.ENOENT)
        return child

    def list(self, caller: Caller) -> Iterable[tuple[str, int]]:
        if not self.is_dir:
            return super().list(caller)
        kernel = self.owner_entry.kernel
        with kernel.lock if kernel is not None else _NO_LOCK:
            return [(name, child.mode) for name, child in self.children().items()]
