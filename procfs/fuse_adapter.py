"""The FUSE adapter: libfuse 3's low-level, inode-based API (pyfuse3) over the ProcFS nodes
(SerenityOS FileSystem/ProcFS.cpp's role).

Every request names an inode (`InodeTable`), so a walk through a held `/PID` handle and a fresh
path are told apart exactly, from any process: `lookup(ROOT, "42")` is a fresh path,
`lookup(<inode of an old /42>, "status")` comes through a cwd or a directory fd.

Choices:
- every regular file is opened with `direct_io` and reports st_size 0; its content is generated
  at open and served from that snapshot (seq_file-like, no torn reads); a read from offset 0
  again regenerates it, as both kernels do;
- the kernel caches names and attributes (`timeouts`), and procsim takes stale ones back
  *synchronously*: when a PID directory leaves the root, the request (a ctl write, a race
  trigger) or simulation step that caused it completes only after the kernel has dropped its
  entries (`drop_stale`).  The kernel takes the parent directory's lock exclusively to drop an entry,
  and holds it shared across a LOOKUP or READDIR, so an invalidation is never awaited inside a
  READDIR of the same directory: a directory with a pending `after readdir` trigger is served
  uncached instead (`Registry.watched_listings`);
- an open handle takes a named strong reference ("open handle 7 on /42"), which the lifetime
  inspector shows as "open handle on /42 held by host process 1234 (bash)".
"""
from __future__ import annotations

import errno
import functools
from collections import Counter
import itertools
import logging
import math
import os
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence, TypeVar

import pyfuse3
import trio

from kernel_model.ref_counted import RefPtr

from .component import DIR, LNK, Caller, Component, LazyCaller, Node, ProcFSError
from .host_caller import CallerResolver
from .inode_table import ROOT_INODE, InodeEntry, InodeTable
from .personality import LINUX
from .process_directory import (PIN_MEMORY, PIN_NAMESPACE, ProcessDirectory, belongs_to_a_dead_process,
                                entry_of)
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
#: When names handed out in a dead directory are taken back once more (seconds after the first).
RETAKE_AFTER = (0.1, 1.0)
#: Absent names remembered per live /PID (ps asks each for `ctty`); past that, an absent name is
#: answered uncached, so that a reader asking for random names does not grow the daemon.
MAX_ABSENT = 16
#: How long the kernel may trust the name of a `/PID` without asking again.  Dropping a name
#: needs the parent directory's lock, which a reader can hold for as long as it likes (a listing
#: into a buffer that faults slowly), so a reap never waits for the drop longer than the name
#: would live anyway: whatever a reader does, the name is exact once the reap returns.
PID_NAME_TTL = 2.0
#: How long a take-back that no exactness depends on (the names below a dead /PID, which answer
#: alike cached or not) is awaited before the request goes on; it completes in the background.
TAKE_BACK_WAIT = 0.1
#: A listing whose entries went out this long ago, with no sign since that its reader came back
#: from getdents(2), may be stalled with its directory's lock held (see `_stalled`).
STALL_SUSPECT = 0.05
#: How long a reset (`replace_tree`) waits for the kernel to drop the old tree's names.
RESET_WAIT = 5.0


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
        self.personality = registry.personality
        self.inodes = InodeTable(registry.root)
        registry.name_holders_with(self.describe_holder)
        registry.track_changes()  # the registry queues what changed for `drop_stale`
        self._resolver = CallerResolver()
        self.trace = RequestTrace(self._resolver.process_of)  # sim/trace: one reader's requests
        self._replaced: list[tuple[int, str | None]] = []  # names of a tree replaced by a reset
        self._handles: dict[int, Handle] = {}
        self._numbers = itertools.count(1)
        self._uncached_paths: frozenset[str] = frozenset()  # listings whose names were taken back
        self.logged_bugs: set[str] = set()
        self.requests: Counter[str] = Counter()  # FUSE requests answered, by kind (sim/requests)
        self.invalidations = 0  # entries and inodes the kernel was told to drop (for the bench)
        # Names handed out inside a dead directory, to take back once the request is answered
        # (see `drop_later`): nothing else would ever make the kernel let go of them.
        self._later: list[tuple[int, str | None]] = []
        self._later_added: trio.Event | None = None
        self._locked_by_request: Counter[int] = Counter()  # directories the kernel holds locked for a request we are in
        self._writing = trio.Lock()  # writes that go in steps run one at a time
        # One thread tells the kernel to drop names, one batch after the other: a batch stuck on
        # a directory's lock holds up the next ones, never the loop (see `_take_back`).
        self._notifier = trio.CapacityLimiter(1)
        self._held_up_logged = False
        # Directory handles whose last reply carried entries, by the thread that opened them: the
        # kernel may still be copying those entries to the reader, with the directory's lock held.
        self._listed: dict[int, set[int]] = {}

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
        if belongs_to_a_dead_process(node):
            return UNCACHED, UNCACHED  # nothing keeps an orphan's names: it is freed at last use
        if node.generated or (isinstance(node, ProcessDirectory) and node.kernel is None):
            return UNCACHED, LEAF_ATTRIBUTES  # fd/N, task/N; the caller's own host directory
        if isinstance(node, ProcessDirectory) and entry.parent == ROOT_INODE:
            # while a take-back is held up, new names are not cached at all: the next reap then
            # waits for none of them
            return (UNCACHED if self._held_up() else PID_NAME_TTL), CACHED
        return CACHED, (UNCACHED if node.live else CACHED)

    def _held_up(self) -> bool:
        """A take-back is in flight, or a root listing may be stalled: the next reap could not
        drop a name now, so names handed out meanwhile are not cached."""
        return bool(self._notifier.borrowed_tokens) or (bool(self._listed) and ROOT_INODE in self._stalled())

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
        return self.inodes.found(parent, name, parent.node.lookup(name, caller))

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
        return "\n".join([f"total {total}", *rows, f"invalidations {self.invalidations}",
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
        for entry in self.inodes.directories():
            self._replaced += [(entry.ino, name) for name in entry.children]
            self._replaced += [(entry.ino, name) for name in entry.absent]
            entry.absent.clear()
        self._replaced += [(entry.ino, None) for entry in self.inodes.directories()]
        self.inodes.replace_root(registry.root)
        self.registry = registry
        self.personality = registry.personality
        registry.name_holders_with(self.describe_holder)
        registry.track_changes()
        self._uncached_paths = frozenset()

    # -- taking stale names back -----------------------------------------------------------------
    def _stale(self) -> tuple[list[tuple[int, str | None]], float]:
        """What the kernel must drop now: (parent, name) for names of directories that left the
        root and of their entries, (inode, None) for attributes (the owner of an orphan, or of a
        Linux zombie's files, reads as root); and until when the kernel may still trust one of
        those directories' names if it is not dropped."""
        changed = self.registry.take_changes()
        exact_by = 0.0
        if not changed:
            return [], exact_by
        stale: list[tuple[int, str | None]] = []
        for directory, unlinked in changed:
            entry = self.inodes.inode_of(directory)
            if entry is None:
                continue  # the kernel never saw it
            for child in self.inodes.children(entry):
                if unlinked:
                    stale.append((entry.ino, child.name))
                stale.append((child.ino, None))
            if unlinked:
                stale += [(entry.ino, name) for name in entry.absent]
                entry.absent.clear()
            if unlinked:
                stale.append((entry.parent, entry.name))
                exact_by = max(exact_by, entry.name_expires)
            stale.append((entry.ino, None))
        return stale, exact_by

    async def drop_stale(self) -> None:
        """Make the kernel drop what the last change made stale, and wait until it has.

        Never a name in a directory whose READDIR handler is waiting here (a trigger fired inside
        it): the kernel holds that directory's lock until the READDIR is answered, so waiting
        would deadlock -- for two listings that trigger each other, too.  Such names are dropped
        by the background task once the listing is answered; a watched directory's names were
        served uncached meanwhile."""
        stale: list[tuple[int, str | None]] = []
        later: list[tuple[int, str | None]] = []
        changed, exact_by = self._stale()
        stalled = self._stalled() if self._listed else set()
        expiring = False
        for ino, name in changed:
            if name is not None and ino in stalled:
                expiring = True  # left to expire, never queued behind a stalled listing
                continue
            (later if name is not None and self._locked_by_request[ino] else stale).append((ino, name))
        self._take_back_later(later)
        if stale:
            await self._take_back(stale, until=max(exact_by, trio.current_time() + TAKE_BACK_WAIT))
        if expiring:
            await trio.sleep_until(exact_by)  # the kernel trusts none of those names by then

    async def finish_replace(self) -> bool:
        """Take back every name of the tree `replace_tree` replaced; True once the kernel dropped
        them all (False if a reader held a directory for RESET_WAIT seconds)."""
        batch, self._replaced = self._replaced, []
        return await self._take_back(batch, until=trio.current_time() + RESET_WAIT) if batch else True

    async def _take_back(self, batch: list[tuple[int, str | None]], until: float = math.inf) -> bool:
        """Tell the kernel to drop `batch`, and wait until it has -- or until `until`.

        The kernel drops a name with its directory's lock held exclusively; a reader holds it
        shared for as long as its listing takes, and a listing into a buffer that faults slowly
        takes as long as the reader likes.  Past `until` the request goes on: the names whose
        exactness matters (a reaped /PID) are no longer trusted by the kernel by then (their
        entry timeout ran out: see `_granted`), and the thread, left to finish, drops the batch
        once the lock is free.  A batch still waiting for the thread then is queued for
        `drop_later`."""
        self.invalidations += len(batch)
        started: list[bool] = []

        def invalidate() -> None:
            started.append(True)
            _invalidate(batch)

        with trio.move_on_at(until) as waited:
            await trio.to_thread.run_sync(invalidate, abandon_on_cancel=True, limiter=self._notifier)
        if waited.cancelled_caught:
            if not self._held_up_logged:
                self._held_up_logged = True
                log.warning("the kernel has not dropped stale names in time: a reader holds a directory's lock; "
                            "names are taken back once it is free (and expire meanwhile)")
            if not started:
                self._take_back_later(batch)
        return not waited.cancelled_caught

    async def uncache_watched_listings(self) -> None:
        """A new `after readdir /DIR` trigger: the kernel forgets the names it has in DIR, and
        DIR is served uncached until the trigger fires (see the module docstring)."""
        watched = self.registry.hooks.watched_listings()
        new = watched - self._uncached_paths
        self._uncached_paths = watched
        if not new:
            return
        stale: list[tuple[int, str | None]] = []
        for entry in self.inodes.directories():
            if entry.path in new:
                stale += [(entry.ino, child.name) for child in self.inodes.children(entry)]
                stale += [(entry.ino, name) for name in entry.absent]
                entry.absent.clear()
        if stale:
            await self._take_back(stale, until=trio.current_time() + TAKE_BACK_WAIT)

    def _handed_out_in_dead_directory(self, parent: InodeEntry, name: str) -> None:
        self._take_back_later([(parent.ino, name)])

    def _take_back_later(self, names: list[tuple[int, str | None]]) -> None:
        """Queue names for `drop_later`, which drops them once the current request is answered."""
        if names:
            self._later.extend(names)
            if self._later_added is not None:
                self._later_added.set()

    async def drop_later(self) -> None:
        """A task of the daemon's loop: takes back names handed out inside dead directories.

        An orphaned directory is freed when the kernel forgets its inode, and a name below it
        that the kernel keeps (a listing in a `cd`-ed shell creates one per child) would pin it
        until memory pressure: timeouts of 0 do not unhash a name within the same jiffy.  The
        names are dropped after the request that created them was answered, never inside it,
        and again a moment later while the directory lives: a walk still in progress when a
        name was dropped may leave a child below it (`ls fd/0` leaves a negative `0`)."""
        retries: list[tuple[float, list[tuple[int, str | None]]]] = []
        while True:
            self._later_added = trio.Event()
            if not self._later:
                wait = min(deadline for deadline, _ in retries) - trio.current_time() if retries else math.inf
                with trio.move_on_after(max(0.0, wait)):
                    await self._later_added.wait()
            now = trio.current_time()
            fresh, self._later = self._later, []
            due = [batch for deadline, batch in retries if deadline <= now]
            retries = [(deadline, batch) for deadline, batch in retries if deadline > now]
            again = [(ino, name) for batch in due for ino, name in batch if self.inodes.get(ino) is not None]
            if fresh:
                retries += [(now + delay, fresh) for delay in RETAKE_AFTER]
            batch = fresh + again
            if batch:
                await self._take_back(batch)

    async def _after_access(self, operation: str, entry: InodeEntry, tid: int,
                            locked: InodeEntry | None = None) -> None:
        """Fire the race triggers waiting for this access (`after OPERATION PATH ...`), once the
        answer is made and before it goes out.  `locked` is the directory the kernel holds
        locked across this request (the parent of a LOOKUP, the directory of a READDIR): names
        in it cannot be taken back until the reply, so they are queued for `drop_later` (and
        were served uncached while the trigger waited)."""
        if self.trace.active:
            self.trace.record(operation, entry.path, tid)
        if locked is not None:
            self._locked_by_request[locked.ino] += 1
        try:
            if self.registry.hooks.on_access(operation, entry.path):
                await self.drop_stale()
                self._uncached_paths &= self.registry.hooks.watched_listings()
        finally:
            if locked is not None:
                self._locked_by_request[locked.ino] -= 1
                if not self._locked_by_request[locked.ino]:
                    del self._locked_by_request[locked.ino]

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
            if e.errno == errno.ENOENT and belongs_to_a_dead_process(parent.node):
                self._handed_out_in_dead_directory(parent, text)  # the kernel keeps a negative name
            raise
        attributes = self._granted(entry, self._attributes(entry))
        self.inodes.count(entry)
        if belongs_to_a_dead_process(parent.node):
            self._handed_out_in_dead_directory(parent, text)
        await self._after_access("lookup", entry, ctx.pid, locked=parent)
        return attributes

    def _absence_is_stable(self, parent: InodeEntry) -> bool:
        """A live PID directory has a fixed set of names: a name it lacks (`ctty`, which ps asks
        for every process) stays absent until the directory is unlinked, when it is taken back."""
        node = parent.node
        return (isinstance(node, ProcessDirectory) and node.kernel is not None and node.process is not None
                and not self.registry.listing_watched(parent.path))

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
        node.check_open_directory()
        return self._add_handle(Handle(entry, node, caller))

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
                if belongs_to_a_dead_process(entry.node):
                    self._handed_out_in_dead_directory(entry, name)
        if start_id < len(listing):
            await self._after_access("readdir", entry, handle.caller.tid, locked=entry)

    def _listing(self, handle: Handle) -> list[tuple[str, InodeEntry | None]]:
        parent, caller = handle.entry, handle.caller
        listing: list[tuple[str, InodeEntry | None]] = [(".", None), ("..", None)]
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
        if accmode == os.O_WRONLY:
            pass
        elif self.personality == LINUX and entry_of(node) is not None:
            pin = node.check_open(caller)  # permission and existence now, the content at the first read
            content = node.read(caller) if pin == PIN_NAMESPACE else None
        else:
            content = node.read(caller)
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
        """Reading from offset 0 again regenerates the content.  Linux's seq_file builds a process
        file at the first read (opened while running, first read as a zombie: `Z`) and again
        whenever a read starts at 0 (a reaped process: ESRCH); SerenityOS builds it at open and
        refreshes on a seek to 0 (`did_seek`), and when that fails it only logs and keeps the old
        buffer.  top, free -s and ProcessStatisticsReader re-read this way."""
        try:
            handle.content = handle.node.reread(handle.caller)
        except ProcFSError:
            if handle.pin == PIN_MEMORY:
                handle.content = b""  # the address space it pinned is empty now
            elif handle.pin == PIN_NAMESPACE and handle.content is not None:
                pass  # the mount namespace it pinned still has its table
            elif self.personality == LINUX:
                raise

    @answers_errno
    async def write(self, fh: int, off: int, buf: bytes) -> int:
        """A control write: the result, or the kernel's message when it fails (with its errno),
        is read back from the same open file, from where the write left the position."""
        handle = self._handle(fh)
        try:
            handle.content = await self._written(handle, buf)
            handle.result_offset = off + len(buf)
            if self._replaced and not await self.finish_replace():
                raise ProcFSError(errno.EBUSY, "reset, but a reader held a directory of the old tree: "
                                               "the kernel may still show its names")
        except ProcFSError as e:
            handle.content = f"{e.strerror}\n".encode()
            handle.result_offset = off  # a failed write leaves the file position where it was
            raise
        finally:
            await self.drop_stale()
            await self.uncache_watched_listings()
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
                    await self.drop_stale()
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


def _invalidate(stale: list[tuple[int, str | None]]) -> None:
    """In a worker thread: each call returns once the kernel has dropped the entry (it waits for
    the lookups in progress in that directory, which the trio loop goes on answering)."""
    for ino, name in stale:
        try:
            if name is None:
                pyfuse3.invalidate_inode(ino, attr_only=True)
            else:
                pyfuse3.invalidate_entry(ino, os.fsencode(name))
        except OSError as e:
            if e.errno != errno.ENOENT:  # ENOENT: the kernel had already dropped it
                log.warning("the kernel refused to drop %s in inode %d: %s", name, ino, e)


__all__ = ["CACHED", "Handle", "ProcFSOperations", "ROOT_INODE", "mount_options"]
