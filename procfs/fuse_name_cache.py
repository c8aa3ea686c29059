"""The names and attributes the kernel was handed, and taking them back once they are stale.

The kernel caches what a LOOKUP or READDIR answered (`fuse_adapter._timeouts`); procsim takes a
stale name back *synchronously*: when a PID directory leaves the root, the request (a ctl write,
a race trigger) or simulation step that caused it completes only after the kernel has dropped its
entries (`drop_stale`).  The kernel takes the parent directory's lock exclusively to drop an
entry, and holds it shared across a LOOKUP or READDIR, so an invalidation is never awaited inside
a READDIR of the same directory, nor behind a listing that may be stalled (a reader copying
entries into a buffer that faults slowly).  Such names are dropped later, or left to expire.

Part of the FUSE adapter: it speaks pyfuse3 and awaits on trio.
"""
from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
from collections import Counter
from typing import Callable, Iterator

import pyfuse3
import trio

from .component import NameLifetime
from .inode_table import InodeEntry, InodeTable
from .registry import ProcFSComponentRegistry

log = logging.getLogger("procsim.fuse")

#: When names handed out in a dead directory are taken back once more (seconds after the first).
RETAKE_AFTER = (0.1, 1.0)
#: How long a take-back that no exactness depends on (the names below a dead /PID, which answer
#: alike cached or not) is awaited before the request goes on; it completes in the background.
TAKE_BACK_WAIT = 0.1
#: How long a reset (`replace`) waits for the kernel to drop the old tree's names.
RESET_WAIT = 5.0

Name = tuple[int, "str | None"]  # (directory inode, name), or (inode, None) for its attributes


class NameCache:
    """What the kernel may still trust, and the one notifier that makes it let go."""

    def __init__(self, inodes: InodeTable, registry: ProcFSComponentRegistry,
                 stalled: Callable[[], set[int]]) -> None:
        self.inodes = inodes
        self.registry = registry
        self._stalled = stalled  # directories a listing may hold locked (the adapter knows)
        self.invalidations = 0  # entries and inodes the kernel was told to drop (for the bench)
        self._replaced: list[Name] = []  # names of a tree replaced by a reset
        self._uncached_paths: frozenset[str] = frozenset()  # listings whose names were taken back
        # Names handed out inside a dead directory, to take back once the request is answered
        # (see `drop_later`): nothing else would ever make the kernel let go of them.
        self._later: list[Name] = []
        self._later_added: trio.Event | None = None
        self._locked_by_request: Counter[int] = Counter()  # directories the kernel holds locked for a request we are in
        # One thread tells the kernel to drop names, one batch after the other: a batch stuck on
        # a directory's lock holds up the next ones, never the loop (see `_take_back`).
        self._notifier = trio.CapacityLimiter(1)
        self._held_up_logged = False

    def in_flight(self) -> bool:
        """A take-back is on its way to the kernel (and may be waiting for a directory's lock)."""
        return bool(self._notifier.borrowed_tokens)

    def replace(self, registry: ProcFSComponentRegistry) -> None:
        """Every name of the current tree is to be taken back (`finish_replace`): a reset
        serves `registry`'s tree from now on."""
        for entry in self.inodes.directories():
            self._replaced += [(entry.ino, name) for name in entry.children]
            self._replaced += [(entry.ino, name) for name in entry.absent]
            entry.absent.clear()
        self._replaced += [(entry.ino, None) for entry in self.inodes.directories()]
        self.registry = registry
        self._uncached_paths = frozenset()

    @property
    def replacing(self) -> bool:
        return bool(self._replaced)

    @contextlib.contextmanager
    def locked(self, directory: InodeEntry | None) -> Iterator[None]:
        """The kernel holds `directory` locked across the request we are in (the parent of a
        LOOKUP, the directory of a READDIR): names in it cannot be taken back until the reply,
        so they are queued for `drop_later` meanwhile."""
        if directory is None:
            yield
            return
        self._locked_by_request[directory.ino] += 1
        try:
            yield
        finally:
            self._locked_by_request[directory.ino] -= 1
            if not self._locked_by_request[directory.ino]:
                del self._locked_by_request[directory.ino]

    async def trigger_fired(self) -> None:
        """A race trigger changed the tree: take back what went stale; listings whose trigger
        fired are cached again."""
        await self.drop_stale()
        self._uncached_paths &= self.registry.hooks.watched_listings()

    def handed_out_below(self, parent: InodeEntry, name: str) -> None:
        """The kernel was handed `name` in `parent`: if `parent` is dead, take it back later."""
        if parent.node.name_lifetime() is NameLifetime.DEAD:
            self.take_back_later([(parent.ino, name)])

    def _stale(self) -> tuple[list[Name], float]:
        """What the kernel must drop now: (parent, name) for names of directories that left the
        root and of their entries, (inode, None) for attributes (the owner of an orphan, or of a
        Linux zombie's files, reads as root); and until when the kernel may still trust one of
        those directories' names if it is not dropped."""
        changed = self.registry.take_changes()
        exact_by = 0.0
        if not changed:
            return [], exact_by
        stale: list[Name] = []
        for directory, unlinked in changed:
            entry = self.inodes.inode_of(directory)
            if entry is None:
                continue  # the kernel never saw it
            below = [entry]  # every directory below it too (task/TID/fd ...): each was handed out
            while below:
                parent = below.pop()
                for child in self.inodes.children(parent):
                    # a zombie's names too: a walk must look its entries up again, which takes
                    # their owner anew (root), where a handle held since keeps the old one
                    stale.append((parent.ino, child.name))
                    stale.append((child.ino, None))
                    if child.node.is_dir:
                        below.append(child)
                if unlinked:
                    stale += [(parent.ino, name) for name in parent.absent]
                    parent.absent.clear()
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
        stale: list[Name] = []
        later: list[Name] = []
        changed, exact_by = self._stale()
        stalled = self._stalled()
        expiring = False
        for ino, name in changed:
            if name is not None and ino in stalled:
                expiring = True  # left to expire, never queued behind a stalled listing
                continue
            (later if name is not None and self._locked_by_request[ino] else stale).append((ino, name))
        self.take_back_later(later)
        if stale:
            await self._take_back(stale, until=max(exact_by, trio.current_time() + TAKE_BACK_WAIT))
        if expiring:
            await trio.sleep_until(exact_by)  # the kernel trusts none of those names by then

    async def finish_replace(self) -> bool:
        """Take back every name of the tree `replace_tree` replaced; True once the kernel dropped
        them all (False if a reader held a directory for RESET_WAIT seconds)."""
        batch, self._replaced = self._replaced, []
        return await self._take_back(batch, until=trio.current_time() + RESET_WAIT) if batch else True

    async def _take_back(self, batch: list[Name], until: float = math.inf) -> bool:
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
                self.take_back_later(batch)
        return not waited.cancelled_caught

    async def uncache_watched_listings(self) -> None:
        """A new `after readdir /DIR` trigger: the kernel forgets the names it has in DIR, and
        DIR is served uncached until the trigger fires (see the module docstring)."""
        watched = self.registry.hooks.watched_listings()
        new = watched - self._uncached_paths
        self._uncached_paths = watched
        if not new:
            return
        stale: list[Name] = []
        for entry in self.inodes.directories():
            if entry.path in new:
                stale += [(entry.ino, child.name) for child in self.inodes.children(entry)]
                stale += [(entry.ino, name) for name in entry.absent]
                entry.absent.clear()
        if stale:
            await self._take_back(stale, until=trio.current_time() + TAKE_BACK_WAIT)

    def handed_out_in_dead_directory(self, parent: InodeEntry, name: str) -> None:
        self.take_back_later([(parent.ino, name)])

    def take_back_later(self, names: list[Name]) -> None:
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
        retries: list[tuple[float, list[Name]]] = []
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


def _invalidate(stale: list[Name]) -> None:
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
