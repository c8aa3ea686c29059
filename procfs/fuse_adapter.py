"""The thin fusepy adapter: paths in, ProcFS nodes out (SerenityOS FileSystem/ProcFS.cpp's role).

Choices from ../shared/reference/fuse.md:
- every regular file is opened with `direct_io` and reports st_size 0; its content is generated
  once at open and served from that snapshot until release (seq_file-like, no torn reads);
- `raw_fi` so open() can set direct_io per file; readdir returns (name, {'st_mode'}, 0) tuples so
  `ls`/`find` need no extra stat per entry;
- callbacks fusepy would register as no-ops are unregistered (libfuse answers them in C), except
  getxattr/listxattr whose ENOTSUP answer stops `ls -l` from probing every file;
- an open handle on a component takes a named strong reference ("open handle on /42 held by host
  process 1234 (bash)"), which is what keeps an orphaned PID directory alive.
"""
from __future__ import annotations

import errno
import itertools
import logging
import os
import threading
import time
from dataclasses import dataclass

from fuse import FuseOSError, Operations, fuse_get_context

from kernel_model.ref_counted import RefPtr

from .component import DIR, LNK, Caller, Component, LazyCaller, Node, ProcFSError
from .host_caller import CallerResolver, holds_handle_into
from .process_backend import LINUX, ProcessEntry, _Leaf
from .registry import ProcFSComponentRegistry, pid_of_name

log = logging.getLogger("procsim.fuse")

#: How procsim mounts (and the benchmark's minimal filesystem, to compare like with like).
#: Single-threaded: with concurrent readers it beats fusepy's thread pool (fuse.md 2.6).
#: entry_timeout 0: every path walk asks again, so a reaped /PID is ENOENT at once, as
#: pid_revalidate makes it on Linux. attr_timeout 0.1 s: a lookup's answer also serves the
#: permission checks `default_permissions` makes right after it (on the root and /PID for
#: every file opened) -- 19 of the 47 requests `ps -ef` sends per process. Only attributes seen
#: without a lookup (fstat of a held handle, the mount root) can be up to 0.1 s old.
FUSE_OPTIONS: dict = dict(foreground=True, nothreads=True, raw_fi=True, default_permissions=True,
                          auto_unmount=True, attr_timeout=0.1, entry_timeout=0, negative_timeout=0)


@dataclass(slots=True)
class Handle:
    node: Node
    path: str
    content: bytes = b""
    ref: RefPtr | None = None
    result_offset: int = 0  # where a control-file result starts (the write left the position there)
    holder_tid: int = 0     # directories: the FUSE context's thread id, resolved only when shown
    has_read: bool = False  # a later read from offset 0 regenerates the snapshot


def _entry_of(node: Node) -> ProcessEntry | None:
    if isinstance(node, ProcessEntry):
        return node
    if isinstance(node, _Leaf):
        return node.owner_entry
    return None


class ProcFSOperations(Operations):
    use_ns = True

    # Unregistered: libfuse answers these itself instead of a Python round trip (fuse.md 2.9).
    flush = None
    fsync = None
    fsyncdir = None
    access = None
    utimens = None
    setxattr = None
    removexattr = None

    def __init__(self, registry: ProcFSComponentRegistry, mountpoint: str = "") -> None:
        self.registry = registry
        self.root = registry.root
        self.mountpoint = os.path.realpath(mountpoint) if mountpoint else ""
        registry.describe_holder = self.describe_holder
        if self.mountpoint:
            self.root.handle_oracle = lambda caller, pid: holds_handle_into(caller.pid, f"{self.mountpoint}/{pid}")
        self.personality = registry.personality
        self._resolver = CallerResolver()
        self._handles: dict[int, Handle] = {}
        self._next_fh = itertools.count(1)
        self._lock = threading.Lock()  # protects _handles when FUSE runs multi-threaded

    # -- plumbing --------------------------------------------------------------------------------
    def caller(self) -> Caller:
        """Who is asking, resolved lazily: only a few paths (self, the caller's own PID, handles
        into dead directories, ctl) need it, and only while this callback runs."""
        return LazyCaller(self._resolve_caller)  # type: ignore[return-value]

    def _resolve_caller(self) -> Caller:
        uid, gid, tid = fuse_get_context()
        return self._resolver.resolve(uid, gid, tid)

    def resolve(self, path: str, caller: Caller | None = None) -> Node:
        """The node at `path` (the caller is resolved only if the walk needs it)."""
        if path == "/":
            return self.root
        parts = path[1:].split("/")
        pid = pid_of_name(parts[0]) if len(parts) <= 2 else None
        if pid is not None:
            # /PID and /PID/NAME of a registered process (an entry already created): what ps, top
            # and psutil ask for over and over, answered without the generic walk.
            ref = self.registry.directories.get(pid)
            if ref is not None:
                if len(parts) == 1:
                    return ref.get()
                child = ref.get().children.get(parts[1])
                if child is not None:
                    return child.get()
        if caller is None:
            caller = self.caller()
        try:
            node = self.root.lookup_child(parts[0], caller, descending=len(parts) > 1)
            for part in parts[1:]:
                node = node.lookup(part, caller)
        except ProcFSError as e:
            log.debug("resolve %s for %s: %s", path, caller.describe(), errno.errorcode.get(e.errno))
            raise FuseOSError(e.errno)
        return node

    def _attrs(self, node: Node, gone: bool = False) -> dict:
        uid, gid = (0, 0) if gone else node.owner()
        now = time.time_ns()
        return {"st_mode": node.mode, "st_nlink": 2 if node.file_type == DIR else 1, "st_uid": uid,
                "st_gid": gid, "st_size": node.size() if node.live else 0, "st_atime": now, "st_mtime": now,
                "st_ctime": now}

    def _add_handle(self, handle: Handle, node: Node) -> int:
        """Register a handle; a component gets a strong reference named after the handle.  Only
        directory handles record who holds them: the lifetime inspector names the holders of
        orphaned directories, and the context costs a ctypes call per open."""
        fh = next(self._next_fh)
        if isinstance(node, Component):
            handle.ref = node.try_ref(f"open handle {fh} on {handle.path}")
            if node.file_type == DIR:
                handle.holder_tid = fuse_get_context()[2]
        with self._lock:
            self._handles[fh] = handle
        return fh

    def describe_holder(self, holder: str) -> str:
        """'open handle 17 on /42' -> 'open handle on /42 held by host process 1234 (bash)'."""
        words = holder.split(" ", 4)
        if len(words) == 5 and words[:2] == ["open", "handle"] and words[2].isdigit() and words[3] == "on":
            return f"open handle on {words[4]} held by {self.handle_holder(int(words[2]))}"
        return holder

    def handle_holder(self, fh: int) -> str:
        """'held by host process 1234 (bash)' for the lifetime inspector."""
        handle = self._handles.get(fh)
        if handle is None:
            return "a closed handle"
        return self._resolver.resolve(0, 0, handle.holder_tid).describe()

    def _handle(self, fh: int) -> Handle:
        handle = self._handles.get(fh)
        if handle is None:
            raise FuseOSError(errno.EBADF)
        return handle

    def _drop(self, fh: int) -> None:
        with self._lock:
            handle = self._handles.pop(fh, None)
        if handle is not None and handle.ref is not None:
            handle.ref.release()

    def open_handles(self) -> list[Handle]:
        with self._lock:
            return list(self._handles.values())

    # -- metadata --------------------------------------------------------------------------------
    def getattr(self, path: str, fh=None) -> dict:
        if fh is not None:  # fstat of an open file: answers even once the process is gone
            handle = self._handles.get(fh.fh)
            if handle is not None:
                entry = _entry_of(handle.node)
                return self._attrs(handle.node, gone=entry is not None and entry.is_gone())
        return self._attrs(self.resolve(path))

    def readlink(self, path: str) -> str:
        caller = self.caller()
        node = self.resolve(path, caller)
        if node.file_type != LNK:
            raise FuseOSError(errno.EINVAL)
        try:
            return node.readlink(caller)
        except ProcFSError as e:
            raise FuseOSError(e.errno)

    def statfs(self, path: str) -> dict:
        return {"f_bsize": 4096, "f_frsize": 4096, "f_blocks": 0, "f_bfree": 0, "f_bavail": 0,
                "f_files": 0, "f_ffree": 0, "f_namemax": 255}

    # -- directories -----------------------------------------------------------------------------
    def opendir(self, path: str) -> int:
        caller = self.caller()
        node = self.resolve(path, caller)
        if node.file_type != DIR:
            raise FuseOSError(errno.ENOTDIR)
        return self._add_handle(Handle(node, path), node)

    def readdir(self, path: str, fh: int) -> list:
        caller = self.caller()
        handle = self._handles.get(fh) if fh else None
        node = handle.node if handle is not None else self.resolve(path, caller)
        try:
            entries = node.list(caller)
        except ProcFSError as e:
            raise FuseOSError(e.errno)
        listing = [".", ".."] + [(name, {"st_mode": mode}, 0) for name, mode in entries]
        self.registry.on_access("readdir", path)
        return listing

    def releasedir(self, path: str, fh: int) -> int:
        self._drop(fh)
        return 0

    # -- files -----------------------------------------------------------------------------------
    def open(self, path: str, fi) -> int:
        caller = self.caller()
        node = self.resolve(path, caller)
        if node.file_type == DIR:
            raise FuseOSError(errno.EISDIR)
        accmode = fi.flags & os.O_ACCMODE
        if accmode != os.O_RDONLY and not node.writable:
            raise FuseOSError(errno.EROFS)
        try:
            content = node.read(caller) if accmode != os.O_WRONLY else b""
        except ProcFSError as e:
            raise FuseOSError(e.errno)
        fi.fh = self._add_handle(Handle(node, path, content), node)
        fi.direct_io = 1
        self.registry.on_access("open", path)
        return 0

    def read(self, path: str, size: int, offset: int, fi) -> bytes:
        handle = self._handle(fi.fh)
        if handle.node.live:
            return handle.node.read_at(offset, size)
        if self.personality == LINUX:
            entry = _entry_of(handle.node)
            if entry is not None and entry.is_gone():
                raise FuseOSError(errno.ESRCH)  # Linux: a handle on a reaped process answers ESRCH
        if offset == 0 and handle.has_read and not handle.node.writable:
            self._refresh(handle)
        handle.has_read = True
        base = handle.result_offset
        if offset >= base:
            offset -= base  # a result reads from where the write left the file position
        return handle.content[offset:offset + size]

    def _refresh(self, handle: Handle) -> None:
        """Reading from offset 0 again regenerates the content, as both kernels do: SerenityOS
        refreshes on a seek to 0 (`did_seek`) and Linux's seq_file restarts at position 0.  top,
        free -s and SerenityOS's ProcessStatisticsReader keep one fd open and re-read it this way.
        If regenerating fails, Linux answers the error; SerenityOS logged it and kept the old buffer."""
        try:
            handle.content = handle.node.read(self.caller())
        except ProcFSError as e:
            if self.personality == LINUX:
                raise FuseOSError(e.errno)
            log.debug("refresh of %s failed (%s): the old snapshot stays", handle.path, e)

    def write(self, path: str, data: bytes, offset: int, fi) -> int:
        handle = self._handle(fi.fh)
        try:
            handle.content = handle.node.write(self.caller(), data)
        except ProcFSError as e:
            raise FuseOSError(e.errno)
        handle.result_offset = offset + len(data)
        return len(data)

    def truncate(self, path: str, length: int, fh=None) -> int:
        node = self.resolve(path, self.caller())
        if node.writable and length == 0:
            return 0  # `echo cmd > sim/ctl` opens with O_TRUNC
        raise FuseOSError(errno.EPERM)

    def release(self, path: str, fi) -> int:
        self._drop(fi.fh)
        return 0

    # -- everything that would change the tree ---------------------------------------------------
    def _read_only(self, *args) -> int:
        raise FuseOSError(errno.EROFS)

    def _not_permitted(self, *args) -> int:
        raise FuseOSError(errno.EPERM)

    create = mkdir = mknod = unlink = rmdir = symlink = rename = link = _read_only
    chmod = chown = _not_permitted
