"""The FUSE adapter: libfuse 3's low-level, inode-based API (pyfuse3) over the ProcFS nodes
(SerenityOS FileSystem/ProcFS.cpp's role).

Every request names an inode (`InodeTable`), so a walk through a held `/PID` handle and a fresh
path are told apart exactly, from any process: `lookup(ROOT, "42")` is a fresh path,
`lookup(<inode of an old /42>, "status")` comes through a cwd or a directory fd.

Choices:
- every regular file is opened with `direct_io` and reports st_size 0; its content is generated
  at open and served from that snapshot (seq_file-like, no torn reads); a read from offset 0
  again regenerates it, as both kernels do;
- the kernel caches names and attributes for as long as each node's `name_lifetime` allows
  (`_timeouts`), and procsim takes stale ones back (fuse_name_cache.py); a directory with a
  pending `after readdir` trigger is served uncached (`Registry.watched_listings`);
- what an open hands its handle, and what a reread answers once the process is gone, is the
  node's to say (`open_for_reading`, `refresh`: the personality's rules);
- an open handle takes a named strong reference ("open handle 7 on /42"), which the lifetime
  inspector shows as "open handle on /42 held by host process 1234 (bash)".
"""
from __future__ import annotations

import errno
import functools
from collections import Counter
import itertools
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence, TypeVar

import pyfuse3
import trio

from kernel_model.ref_counted import RefPtr

from .component import DIR, LNK, Caller, Component, LazyCaller, NameLifetime, Node, ProcFSError
from .fuse_name_cache import NameCache
from .host_caller import CallerResolver
from .inode_table import ROOT_INODE, InodeEntry, InodeTable
from .registry import ProcFSComponentRegistry
from .request_trace import RequestTrace

log = logging.getLogger("procsim.fuse")

#: How long the kernel may trust a name or attributes it was given (seconds).  Names of fixed
#: nodes and PID directories are stable until procsim takes them back; generated leaves (fd/N,
#: task/N) change without notice and are asked for every time.
CACHED = 300.0
UNCACHED = 0.0
LEAF_ATTRIBUTES = 1.0
#: The longest a write that goes in steps (a ctl `tick`) holds the loop before readers are answered.
STEP_SLICE = 0.02
#: Absent names remembered per live /PID (ps asks each for `ctty`); past that, an absent name is
#: answered uncached, so that a reader asking for random names does not grow the daemon.
MAX_ABSENT = 16
#: How long the kernel may trust the name of a `/PID` without asking again.  Dropping a name
#: needs the parent directory's lock, which a reader can hold for as long as it likes (a listing
#: into a buffer that faults slowly), so a reap never waits for the drop longer than the name
#: would live anyway: whatever a reader does, the name is exact once the reap returns.
PID_NAME_TTL = 2.0
#: A listing whose entries went out this long ago, with no sign since that its reader came back
#: from getdents(2), may be stalled with its directory's lock held (see `_stalled`).
STALL_SUSPECT = 0.05


def mount_options(allow_other: bool = False) -> set[str]:
    """libfuse 3 mount options of procsim (libfuse 2's `big_writes` is gone: always on)."""
    options = set(pyfuse3.default_options) | {"fsname=procsim", "subtype=procsim", "auto_unmount"}
    if allow_other:
        options.add("allow_other")
    return options


@dataclass(slots=True, eq=False)
class Handle:
    entry: InodeEntry
    node: Node
    caller: Caller
    content: bytes | None = b""  # None: not generated yet (Linux builds a process file at the first read)
    ref: RefPtr[Component] | None = None
    result_offset: int = 0  # where a control-file result starts (the write left the position there)
    has_read: bool = False  # a later read from offset 0 regenerates the snapshot
    pin: str | None = None  # what the open pinned (Linux): the content outlives the process
    listing: list[tuple[str, InodeEntry | None]] | None = None  # directories: generated at offset 0
    listed_at: float | None = None  # directories: a reply with entries went out then (see `_stalled`)
    lists_empty: bool = False  # directories: opened after its process died, where that lists nothing


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def answers_errno(handler: F) -> F:
    """A request handler: counted by kind; a node's ProcFSError becomes the caller's errno; any
    other exception is a bug in procsim: it is logged once per kind and answered EIO, and the
    mount keeps serving."""
    kind = handler.__name__.upper()

    @functools.wraps(handler)
    async def wrapper(self: "ProcFSOperations", *args: Any) -> Any:
        self.requests[kind] += 1
        try:
            return await handler(self, *args)
        except ProcFSError as e:
            raise pyfuse3.FUSEError(e.errno or errno.EIO) from None
        except pyfuse3.FUSEError:
            raise
        except Exception as e:
            bug = f"{kind}: {type(e).__name__}"
            if bug not in self.logged_bugs and len(self.logged_bugs) < 100:
                self.logged_bugs.add(bug)
                log.exception("procsim bug in %s (answered EIO)", handler.__name__)
            raise pyfuse3.FUSEError(errno.EIO) from None
    return wrapper  # type: ignore[return-value]


class ProcFSOperations(pyfuse3.Operations):
    supports_dot_lookup = False
    enable_writeback_cache = False

    def __init__(self, registry: ProcFSComponentRegistry) -> None:
        super().__init__()
        self.registry = registry
        self.inodes = InodeTable(registry.root)
        registry.name_holders_with(self.describe_holder)
        registry.track_changes()  # the registry queues what changed for `drop_stale`
        self._resolver = CallerResolver()
        self.trace = RequestTrace(self._resolver.process_of)  # sim/trace: one reader's requests
        self._handles: dict[int, Handle] = {}
        self._numbers = itertools.count(1)
        self.logged_bugs: set[str] = set()
        self.requests: Counter[str] = Counter()  # FUSE requests answered, by kind (sim/requests)
        self._writing = trio.Lock()  # writes that go in steps run one at a time
        # Directory handles whose last reply carried entries, by the thread that opened them: the
        # kernel may still be copying those entries to the reader, with the directory's lock held.
        self._listed: dict[int, set[int]] = {}
        self.names = NameCache(self.inodes, registry, lambda: self._stalled() if self._listed else set())
        self.drop_stale = self.names.drop_stale  # the daemon's: after each simulation step
        self.drop_later = self.names.drop_later  # a task of the daemon's loop

    # -- plumbing --------------------------------------------------------------------------------
    def caller(self, ctx: pyfuse3.RequestContext) -> Caller:
        """Who is asking; the host PID behind the thread id is looked up only if a node needs it
        (/proc/self and the caller's own PID)."""
        self._came_back(ctx.pid)
        return LazyCaller(ctx.uid, ctx.gid, ctx.pid, self._resolver.process_of)  # type: ignore[return-value]

    def _came_back(self, tid: int) -> None:
        """Thread `tid` sent a request: it is not inside a getdents(2) of a listing it opened."""
        if self._listed:
            for fh in self._listed.pop(tid, ()):
                handle = self._handles.get(fh)
                if handle is not None:
                    handle.listed_at = None

    def _stalled(self) -> set[int]:
        """Directories that a listing may hold locked: its reply with entries went out more than
        STALL_SUSPECT ago, and neither its next READDIR, its RELEASEDIR nor any request of the
        thread that opened it came since.  A reader copying entries into a buffer that faults
        slowly holds the directory's lock shared all that time, and an invalidation queued for
        the lock would hold every other reader of the directory behind it: names in these
        directories are left to expire instead of being dropped."""
        now = trio.current_time()
        return {handle.entry.ino for fhs in self._listed.values() for fh in fhs
                if (handle := self._handles.get(fh)) is not None and handle.listed_at is not None
                and now - handle.listed_at > STALL_SUSPECT}

    def _listed_reply(self, fh: int, handle: Handle, entries: bool) -> None:
        tid = handle.caller.tid
        if entries:
            handle.listed_at = trio.current_time()
            self._listed.setdefault(tid, set()).add(fh)
        elif handle.listed_at is not None:
            handle.listed_at = None
            self._listed.get(tid, set()).discard(fh)

    def _entry(self, ino: int) -> InodeEntry:
        entry = self.inodes.get(ino)
        if entry is None:
            raise pyfuse3.FUSEError(errno.ESTALE)
        return entry

    def _timeouts(self, entry: InodeEntry) -> tuple[float, float]:
        node = entry.node
        parent = self.inodes.get(entry.parent)
        if parent is not None and self.registry.listing_watched(parent.path):
            return UNCACHED, UNCACHED
        lifetime = node.name_lifetime()
        if lifetime is NameLifetime.DEAD:
            return UNCACHED, UNCACHED
        if lifetime is NameLifetime.GENERATED or node.generated:
            return UNCACHED, LEAF_ATTRIBUTES
        if lifetime is NameLifetime.PID:
            # while a take-back is held up, new names are not cached at all: the next reap then
            # waits for none of them
            return (UNCACHED if self._held_up() else PID_NAME_TTL), CACHED
        return CACHED, (UNCACHED if node.live else CACHED)

    def _held_up(self) -> bool:
        """A take-back is in flight, or a root listing may be stalled: the next reap could not
        drop a name now, so names handed out meanwhile are not cached."""
        return self.names.in_flight() or (bool(self._listed) and ROOT_INODE in self._stalled())

    def _granted(self, entry: InodeEntry, attributes: pyfuse3.EntryAttributes) -> pyfuse3.EntryAttributes:
        """The kernel was handed `entry`'s name: remember until when it may trust it."""
        if attributes.entry_timeout:
            entry.name_expires = max(entry.name_expires, trio.current_time() + attributes.entry_timeout)
        return attributes

    def _attributes(self, entry: InodeEntry) -> pyfuse3.EntryAttributes:
        node = entry.node
        uid, gid = node.owner()
        attrs = pyfuse3.EntryAttributes()
        attrs.st_ino = entry.ino
        attrs.generation = 0
        attrs.entry_timeout, attrs.attr_timeout = self._timeouts(entry)
        attrs.st_mode = node.mode
        attrs.st_nlink = 2 if node.file_type == DIR else 1
        attrs.st_uid = uid
        attrs.st_gid = gid
        attrs.st_size = node.size() if node.live else 0
        attrs.st_blksize = 4096
        now = time.time_ns()
        attrs.st_atime_ns = attrs.st_mtime_ns = attrs.st_ctime_ns = now
        return attrs

    def _found(self, parent: InodeEntry, name: str, caller: Caller) -> InodeEntry:
        node = parent.node.lookup(name, caller)
        node.revalidate()
        return self.inodes.found(parent, name, node)

    def _add_handle(self, handle: Handle) -> int:
        fh = next(self._numbers)
        if isinstance(handle.node, Component):
            handle.ref = handle.node.try_ref(f"open handle {fh} on {handle.entry.path}")
        self._handles[fh] = handle
        return fh

    def _handle(self, fh: int) -> Handle:
        handle = self._handles.get(fh)
        if handle is None:
            raise pyfuse3.FUSEError(errno.EBADF)
        return handle

    def _drop(self, fh: int) -> None:
        handle = self._handles.pop(fh, None)
        if handle is not None and handle.ref is not None:
            handle.ref.release()

    def request_report(self) -> str:
        """`sim/requests`: what the kernel asked since the mount, by kind (a noise-free cost)."""
        total = sum(self.requests.values())
        rows = [f"{kind} {count}" for kind, count in sorted(self.requests.items())]
        return "\n".join([f"total {total}", *rows, f"invalidations {self.names.invalidations}",
                          f"stalled-listings {len(self._stalled())}"]) + "\n"

    def describe_holder(self, holder: str) -> str:
        """'open handle 17 on /42' -> 'open handle on /42 held by host process 1234 (bash)'."""
        words = holder.split(" ", 4)
        if len(words) == 5 and words[:2] == ["open", "handle"] and words[2].isdigit() and words[3] == "on":
            handle = self._handles.get(int(words[2]))
            who = handle.caller.describe() if handle is not None else "a closed handle"
            return f"open handle on {words[4]} held by {who}"
        return holder

    def replace_tree(self, registry: ProcFSComponentRegistry) -> None:
        """Serve another simulation's tree from now on (`sim/reset`): every name the kernel was
        given is taken back by the request that asked for the reset (`drop_stale`), so the next
        reader starts from a cold cache, as on a fresh mount.  Inodes the kernel still holds keep
        their old nodes until it forgets them; no number is ever reused."""
        self.names.replace(registry)
        self.inodes.replace_root(registry.root)
        self.registry = registry
        registry.name_holders_with(self.describe_holder)
        registry.track_changes()

    async def _after_access(self, operation: str, entry: InodeEntry, tid: int,
                            locked: InodeEntry | None = None) -> None:
        """Fire the race triggers waiting for this access (`after OPERATION PATH ...`), once the
        answer is made and before it goes out.  `locked` is the directory the kernel holds
        locked across this request (the parent of a LOOKUP, the directory of a READDIR): names
        in it cannot be taken back until the reply, so they are queued for `drop_later` (and
        were served uncached while the trigger waited)."""
        if self.trace.active:
            self.trace.record(operation, entry.path, tid)
        with self.names.locked(locked):
            if self.registry.hooks.on_access(operation, entry.path):
                await self.names.trigger_fired()

    # -- metadata --------------------------------------------------------------------------------
    @answers_errno
    async def lookup(self, parent_inode: int, name: bytes, ctx: pyfuse3.RequestContext) -> pyfuse3.EntryAttributes:
        parent = self._entry(parent_inode)
        try:
            text = name.decode("utf-8")
        except UnicodeDecodeError:
            raise pyfuse3.FUSEError(errno.ENOENT) from None  # no name procsim makes is not UTF-8
        try:
            entry = self._found(parent, text, self.caller(ctx))
        except ProcFSError as e:
            if e.errno == errno.ENOENT and self._absence_is_stable(parent) and len(parent.absent) < MAX_ABSENT:
                return self._absent(parent, text)
            if e.errno == errno.ENOENT:
                self.names.handed_out_below(parent, text)  # the kernel keeps a negative name
            raise
        attributes = self._granted(entry, self._attributes(entry))
        self.inodes.count(entry)
        self.names.handed_out_below(parent, text)
        await self._after_access("lookup", entry, ctx.pid, locked=parent)
        return attributes

    def _absence_is_stable(self, parent: InodeEntry) -> bool:
        """A live PID directory has a fixed set of names: a name it lacks (`ctty`, which ps asks
        for every process) stays absent until the directory is unlinked, when it is taken back."""
        return parent.node.absence_is_stable() and not self.registry.listing_watched(parent.path)

    def _absent(self, parent: InodeEntry, name: str) -> pyfuse3.EntryAttributes:
        """A negative entry: the kernel remembers that `name` is not in `parent`."""
        parent.absent.add(name)
        attributes = pyfuse3.EntryAttributes()
        attributes.st_ino = 0
        attributes.entry_timeout = CACHED
        return attributes

    @answers_errno
    async def forget(self, inode_list: Sequence[tuple[int, int]]) -> None:
        for ino, n in inode_list:
            self.inodes.forget(ino, n)

    @answers_errno
    async def getattr(self, inode: int, ctx: pyfuse3.RequestContext) -> pyfuse3.EntryAttributes:
        """`stat(".")` in a dead directory and `fstat(dirfd)` arrive alike, as GETATTR(inode)
        (the kernel marks only regular files' fstat with a handle): both succeed, owned by root,
        which is Linux's answer to fstat (and SerenityOS's to both)."""
        self._came_back(ctx.pid)
        entry = self._entry(inode)
        entry.node.check_attributes()
        attributes = self._attributes(entry)
        await self._after_access("getattr", entry, ctx.pid)
        return attributes

    @answers_errno
    async def setattr(self, inode: int, attr: pyfuse3.EntryAttributes, fields: pyfuse3.SetattrFields,
                      fh: int | None, ctx: pyfuse3.RequestContext) -> pyfuse3.EntryAttributes:
        entry = self._entry(inode)
        if fields.update_mode or fields.update_uid or fields.update_gid:
            raise pyfuse3.FUSEError(errno.EPERM)
        if fields.update_size and not (entry.node.writable and attr.st_size == 0):
            raise pyfuse3.FUSEError(errno.EPERM)  # `echo cmd > sim/ctl` truncates to 0: fine
        return self._attributes(entry)

    @answers_errno
    async def readlink(self, inode: int, ctx: pyfuse3.RequestContext) -> bytes:
        entry = self._entry(inode)
        node = entry.node
        if node.file_type != LNK:
            raise pyfuse3.FUSEError(errno.EINVAL)
        target = os.fsencode(node.readlink(self.caller(ctx)))
        await self._after_access("readlink", entry, ctx.pid)
        return target

    @answers_errno
    async def statfs(self, ctx: pyfuse3.RequestContext) -> pyfuse3.StatvfsData:
        data = pyfuse3.StatvfsData()
        data.f_bsize = data.f_frsize = 4096
        data.f_namemax = 255
        return data

    # -- directories -----------------------------------------------------------------------------
    @answers_errno
    async def opendir(self, inode: int, ctx: pyfuse3.RequestContext) -> int:
        entry = self._entry(inode)
        node = entry.node
        if node.file_type != DIR:
            raise pyfuse3.FUSEError(errno.ENOTDIR)
        caller = self.caller(ctx)
        lists = node.check_open_directory()
        return self._add_handle(Handle(entry, node, caller, lists_empty=not lists))

    @answers_errno
    async def readdir(self, fh: int, start_id: int, token: pyfuse3.ReaddirToken) -> None:
        """The listing is generated at offset 0 and served from the handle after that; a trigger
        on it fires once the whole listing is in the reply (its names were replied uncached)."""
        handle = self._handle(fh)
        entry = handle.entry
        if start_id == 0 or handle.listing is None:
            handle.listing = self._listing(handle)
        listing = handle.listing
        self._listed_reply(fh, handle, start_id < len(listing))
        for index in range(start_id, len(listing)):
            name, child = listing[index]
            target = child if child is not None else (entry if name == "." else self._parent_of(entry))
            attributes = self._attributes(target) if child is None else self._granted(child, self._attributes(child))
            if not pyfuse3.readdir_reply(token, os.fsencode(name), attributes, index + 1):
                return
            if child is not None:
                self.inodes.count(child)  # `.` and `..` are not counted (the kernel links neither)
                self.names.handed_out_below(entry, name)
        if start_id < len(listing):
            await self._after_access("readdir", entry, handle.caller.tid, locked=entry)

    def _listing(self, handle: Handle) -> list[tuple[str, InodeEntry | None]]:
        parent, caller = handle.entry, handle.caller
        listing: list[tuple[str, InodeEntry | None]] = [(".", None), ("..", None)]
        if handle.lists_empty:
            return listing
        for name, _mode in parent.node.list(caller):
            try:
                listing.append((name, self._found(parent, name, caller)))
            except ProcFSError:
                continue  # listed, then gone: not in this listing
        return listing

    def _parent_of(self, entry: InodeEntry) -> InodeEntry:
        return self.inodes.get(entry.parent) or self.inodes.root

    @answers_errno
    async def releasedir(self, fh: int) -> None:
        handle = self._handles.get(fh)
        if handle is not None:
            self._listed_reply(fh, handle, False)
        self._drop(fh)

    # -- files -----------------------------------------------------------------------------------
    @answers_errno
    async def open(self, inode: int, flags: int, ctx: pyfuse3.RequestContext) -> pyfuse3.FileInfo:
        entry = self._entry(inode)
        node = entry.node
        if node.file_type == DIR:
            raise pyfuse3.FUSEError(errno.EISDIR)
        accmode = flags & os.O_ACCMODE
        if accmode != os.O_RDONLY and not node.writable:
            raise pyfuse3.FUSEError(errno.EROFS)
        caller = self.caller(ctx)
        content: bytes | None = b""
        pin = None
        if accmode != os.O_WRONLY:
            content, pin = node.open_for_reading(caller)
        fh = self._add_handle(Handle(entry, node, caller, content, pin=pin))
        # open(O_CREAT) of a name that exists comes with its directory locked (lookup_open)
        await self._after_access("open", entry, ctx.pid,
                                 locked=self.inodes.get(entry.parent) if flags & os.O_CREAT else None)
        return pyfuse3.FileInfo(fh=fh, direct_io=True)

    @answers_errno
    async def read(self, fh: int, off: int, size: int) -> bytes:
        handle = self._handle(fh)
        node = handle.node
        if node.live:
            return node.read_at(off, size)
        if handle.content is None or (off == 0 and handle.has_read and not node.writable):
            self._refresh(handle)
        handle.has_read = True
        base = handle.result_offset
        if off >= base:
            off -= base  # a result reads from where the write left the file position
        data = (handle.content or b"")[off:off + size]
        await self._after_access("read", handle.entry, handle.caller.tid)
        return data

    def _refresh(self, handle: Handle) -> None:
        """Reading from offset 0 again regenerates the content (top, free -s and
        ProcessStatisticsReader re-read this way); what a process file answers once its process
        is gone is the node's to say (`Node.refresh`)."""
        handle.content = handle.node.refresh(handle.caller, handle.content, handle.pin)

    @answers_errno
    async def write(self, fh: int, off: int, buf: bytes) -> int:
        """A control write: the result, or the kernel's message when it fails (with its errno),
        is read back from the same open file, from where the write left the position."""
        handle = self._handle(fh)
        try:
            handle.content = await self._written(handle, buf)
            handle.result_offset = off + len(buf)
            if self.names.replacing and not await self.names.finish_replace():
                raise ProcFSError(errno.EBUSY, "reset, but a reader held a directory of the old tree: "
                                               "the kernel may still show its names")
        except ProcFSError as e:
            handle.content = f"{e.strerror}\n".encode()
            handle.result_offset = off  # a failed write leaves the file position where it was
            raise
        finally:
            await self.names.drop_stale()
            await self.names.uncache_watched_listings()
        return len(buf)

    async def _written(self, handle: Handle, buf: bytes) -> bytes:
        """Run a write. Writes run one at a time (a switch flipped in the middle of a tick could
        not be replayed there). One that goes in steps (a ctl write with a long tick) lets the
        loop answer readers every STEP_SLICE seconds, once the kernel has dropped what the steps
        so far made stale."""
        async with self._writing:
            run = handle.node.write_steps(handle.caller, buf)
            slice_end = trio.current_time() + STEP_SLICE
            while True:
                try:
                    next(run)
                except StopIteration as done:
                    result: bytes = done.value
                    return result
                if trio.current_time() >= slice_end:
                    await self.names.drop_stale()
                    await trio.sleep(0)  # readers are answered here, between two steps
                    slice_end = trio.current_time() + STEP_SLICE

    @answers_errno
    async def release(self, fh: int) -> None:
        self._drop(fh)

    # -- everything that would change the tree ---------------------------------------------------
    @answers_errno
    async def _read_only(self, *args: Any) -> Any:
        raise pyfuse3.FUSEError(errno.EROFS)

    create = mkdir = mknod = unlink = rmdir = symlink = rename = link = _read_only  # type: ignore[assignment]


__all__ = ["CACHED", "Handle", "ProcFSOperations", "ROOT_INODE", "mount_options"]
