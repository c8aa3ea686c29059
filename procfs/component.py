"""The ProcFS component tree (SerenityOS Kernel/ProcessExposed.h) that both backends build on.

A Node answers the four questions the FUSE adapter asks: its attributes, `lookup(name)`,
`list()` and its content (`read`) or link target (`readlink`).  Content is produced once per open
by the adapter and served from that snapshot.  Errors are `ProcFSError(errno)` -- OSErrors with a
positive errno, which fusepy passes to the caller unchanged -- so the backends never import FUSE.

Components that have an identity over time (PID directories and their children) are RefCounted:
an open handle holds a strong reference, so a directory whose process is gone stays alive,
orphaned, for as long as someone holds it.
"""
from __future__ import annotations

import enum
import errno
import json
import os
import stat
import typing
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from kernel_model.object_registry import ObjectRegistry
from kernel_model.ref_counted import RefCounted
from kernel_model.weak_ptr import Weakable

from .host_caller import HostProcess


def json_bytes(value: object) -> bytes:
    """SerenityOS's compact JSON, as UTF-8 rather than \\u escapes: SerenityOS's JSON parser of
    2021 reads the bytes and does not join an escaped surrogate pair back into one character.
    Names that were not UTF-8 (kept as surrogate escapes) go out as their original bytes."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogateescape")


class ProcFSError(OSError):
    """An errno for the FUSE caller (ENOENT, ESRCH, EACCES, EROFS, ...)."""

    def __init__(self, err: int, detail: str = "") -> None:
        super().__init__(err, detail or os.strerror(err))


@contextmanager
def answering(found: int, instead: int, detail: str) -> Iterator[None]:
    """Where one failure reaches its caller under another errno (fdinfo/N's ESRCH is ENOENT,
    an exited process's net/ listing EINVAL): re-raise `found` as `instead`."""
    try:
        yield
    except ProcFSError as e:
        if e.errno == found:
            raise ProcFSError(instead, detail) from None
        raise


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: the FUSE context mapped to a host process (tid -> tgid).  `own_pid` is the
    PID that process knows itself by (its getpid() in a PID namespace of its own)."""

    uid: int
    gid: int
    pid: int
    name: str = ""
    own_pid: int = 0

    @property
    def tid(self) -> int:
        return self.pid

    def describe(self) -> str:
        return f"host process {self.pid} ({self.name or '?'})"

    def is_own_pid(self, pid: int) -> bool:
        """Whether a reader asking for `pid` asks for itself."""
        return pid == self.pid or pid == (self.own_pid or self.pid)


class LazyCaller:
    """A Caller whose host process is looked up only if a node asks (/proc/self, the caller's own
    PID, naming a handle's holder): FUSE gives the thread id, and mapping it to its process means
    a read of the host's /proc.  uid and gid come with the request."""

    __slots__ = ("uid", "gid", "_tid", "_resolve", "_process")

    def __init__(self, uid: int, gid: int, tid: int, resolve: "Callable[[int], HostProcess]") -> None:
        self.uid = uid
        self.gid = gid
        self._tid = tid
        self._resolve = resolve
        self._process: HostProcess | None = None

    def _get(self) -> "HostProcess":
        if self._process is None:
            self._process = self._resolve(self._tid)
        return self._process

    @property
    def pid(self) -> int:
        return self._get().pid

    @property
    def name(self) -> str:
        return self._get().name

    @property
    def own_pid(self) -> int:
        return self._get().own_pid

    @property
    def tid(self) -> int:
        """The thread that sent the request (no lookup needed)."""
        return self._tid

    def describe(self) -> str:
        return f"host process {self.pid} ({self.name or '?'})"

    def is_own_pid(self, pid: int) -> bool:
        return pid == self.pid or pid == self.own_pid


DIR = stat.S_IFDIR
REG = stat.S_IFREG
LNK = stat.S_IFLNK


class NameLifetime(enum.Enum):
    """How long the kernel may trust a node's name and attributes (the adapter turns these into
    FUSE timeouts)."""

    FIXED = "fixed"          # until procsim takes it back (a root file, an entry of a live /PID)
    PID = "pid"              # a /PID in the root: trusted for a short while, taken back at unlink
    GENERATED = "generated"  # rebuilt at every lookup (fd/3, task/5): never trusted
    DEAD = "dead"            # below a process that is gone: nothing keeps it, never trusted


class Node:
    """Base of everything the adapter can resolve a path to."""

    file_type = REG
    permissions = 0o444
    writable = False
    live = False  # a live file is read at the offset asked, not from a snapshot taken at open
    generated = False  # rebuilt by every lookup (fd/3, task/5): no identity to keep an inode for
    inode_number: int | None = None  # the number the kernel must show (a namespace's), if fixed

    def owner(self) -> tuple[int, int]:
        return 0, 0

    @property
    def mode(self) -> int:
        return self.file_type | self.permissions

    @property
    def is_dir(self) -> bool:
        return self.file_type == DIR

    def lookup(self, name: str, caller: Caller) -> "Node":
        raise ProcFSError(errno.ENOTDIR)

    def list(self, caller: Caller) -> Iterable[tuple[str, int]]:
        raise ProcFSError(errno.ENOTDIR)

    def read(self, caller: Caller) -> bytes:
        raise ProcFSError(errno.EISDIR if self.is_dir else errno.EINVAL)

    def check_open(self, caller: Caller) -> str | None:
        """Raise the errno an open for reading answers, for a file whose content is generated
        later, at the first read (Linux's process files).  Returns what the open pins, if any
        (personality.PIN_MEMORY, PIN_NAMESPACE)."""
        self.read(caller)
        return None

    def open_for_reading(self, caller: Caller) -> tuple[bytes | None, str | None]:
        """What an open for reading hands its handle: the content (None: made at the first read)
        and what the open pinned.  Most files are made at open."""
        return self.read(caller), None

    def reread(self, caller: Caller) -> bytes:
        """The content for a read of a handle opened earlier (the process may be gone since)."""
        return self.read(caller)

    def refresh(self, caller: Caller, content: bytes | None, pin: str | None) -> bytes:
        """The content of a handle read again from offset 0 (`content` is what it had, `pin` what
        its open pinned); a process file answers as its personality says once the process is gone."""
        return self.reread(caller)

    def name_lifetime(self) -> NameLifetime:
        return NameLifetime.FIXED

    def revalidate(self) -> None:
        """The node was found by a lookup or a listing (Linux's dentry revalidation): a node whose
        attributes are fixed at that moment takes them now."""

    def absence_is_stable(self) -> bool:
        """Whether a name this directory lacks stays absent until procsim says otherwise (the
        kernel may then remember the absence)."""
        return False

    def readlink(self, caller: Caller) -> str:
        raise ProcFSError(errno.EINVAL)

    def write(self, caller: Caller, data: bytes) -> bytes:
        raise ProcFSError(errno.EROFS)

    def write_steps(self, caller: Caller, data: bytes) -> typing.Generator[None, None, bytes]:
        """The write, yielding between its steps if it has several (a ctl `tick`): the adapter
        answers readers at each yield.  Most writes are one step."""
        result = self.write(caller, data)
        yield from ()
        return result

    def read_at(self, offset: int, size: int) -> bytes:
        """Live files only: the bytes at `offset` now."""
        raise ProcFSError(errno.EINVAL)

    def size(self) -> int:
        """Live files report their current size, so `tail -f` can tell that they grew."""
        return 0

    def check_attributes(self) -> None:
        """Raise the errno a stat of this node answers, if it is not a success."""

    def check_open_directory(self) -> bool:
        """Raise the errno an opendir of this node answers, if it is not a success.  False: the
        listings through the new handle come out empty (a task/TID opened after its thread died)."""
        return True


Generator = Callable[[Caller], bytes]


class GlobalFile(Node):
    """A file of the root (or one of its fixed subdirectories) generated by one function."""

    __slots__ = ("name", "permissions", "generate")

    def __init__(self, name: str, generate: Generator, permissions: int = 0o444) -> None:
        self.name = name
        self.generate = generate
        self.permissions = permissions

    def read(self, caller: Caller) -> bytes:
        return self.generate(caller)


def text_lines(lines: list[str]) -> bytes:
    """A text file's content: each line ended by a newline."""
    return "".join(line + "\n" for line in lines).encode()


def fixed_file(name: str, lines: list[str], permissions: int = 0o444) -> GlobalFile:
    """A root file whose content never changes, made once."""
    content = text_lines(lines)
    return GlobalFile(name, lambda caller: content, permissions)


class GlobalLink(Node):
    file_type = LNK
    permissions = 0o777

    def __init__(self, name: str, target: Callable[[Caller], str]) -> None:
        self.name = name
        self.target = target

    def readlink(self, caller: Caller) -> str:
        return self.target(caller)


class GlobalDirectory(Node):
    """A fixed directory whose children are known when the mount starts."""

    file_type = DIR
    permissions = 0o555

    def __init__(self, name: str, children: Iterable[Node] = ()) -> None:
        self.name = name
        self.children: dict[str, Node] = {}
        for child in children:
            self.add(child)

    def add(self, child: Node) -> Node:
        self.children[child.name] = child  # type: ignore[attr-defined]
        return child

    def lookup(self, name: str, caller: Caller) -> Node:
        child = self.children.get(name)
        if child is None:
            raise ProcFSError(errno.ENOENT)
        return child

    def list(self, caller: Caller) -> Iterable[tuple[str, int]]:
        return [(name, child.mode) for name, child in self.children.items()]


class Component(RefCounted, Weakable, Node):
    """A node with a counted lifetime (PID directories and what hangs below them)."""

    def __init__(self, registry: ObjectRegistry, name: str) -> None:
        RefCounted.__init__(self, registry)
        self.name = name

    def prepare_for_deletion(self) -> None:
        """Break links to the kernel before the component is unlinked (seed 6b)."""
