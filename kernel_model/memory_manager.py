"""MemoryManager: the physical page pool and its commit accounting (Kernel/VM/MemoryManager.cpp).

Invariant, checked by `check_invariants()` after every syscall in the tests:
    used + committed + uncommitted == total        (all in pages, none negative)
`used` counts allocated pages (including the two permanent marker pages), `committed` counts
reservations not yet turned into pages, `uncommitted` is free and unreserved.

Commit never purges (SerenityOS does not); only the uncommitted allocation path purges volatile
purgeable memory before giving up, exactly like `allocate_user_physical_page`.
"""
from __future__ import annotations

import errno
import threading
from typing import TYPE_CHECKING, Callable

from .committed_physical_page_set import CommittedPhysicalPageSet
from .kernel_error import KernelError
from .object_registry import ObjectRegistry
from .physical_page import MarkerPage, PhysicalPage

if TYPE_CHECKING:
    from .vm_object import VMObject


class MemoryManager:
    def __init__(self, total_pages: int, registry: "ObjectRegistry | None" = None,
                 on_event: Callable[..., None] | None = None, max_slots: int = 1 << 26) -> None:
        if total_pages < 2:
            raise ValueError("the pool needs at least the two marker pages")
        self.total = total_pages
        self.registry = registry if registry is not None else ObjectRegistry()
        self.used = 0
        self.committed = 0
        self.uncommitted = total_pages
        self._on_event = on_event or (lambda *a, **k: None)
        self._lock = threading.RLock()  # protects the counters and the object list
        self._live_commit_sets: set[CommittedPhysicalPageSet] = set()
        # Every live VMObject, in creation order: the purge walk visits them like MM's vmobject list.
        self.vmobjects: dict[int, "VMObject"] = {}
        # Host protection: every VM object keeps one slot (8 bytes of host memory) per page it
        # covers, touched or not.  The total is capped; past it, creating objects is ENOMEM.
        self.max_slots = max_slots
        self.slots_in_use = 0
        self._next_pfn = 1 << 20  # see _next_pfns
        markers = self.commit_user_physical_pages(2)
        assert markers is not None
        markers.count = 0
        self._live_commit_sets.discard(markers)
        self.committed -= 2
        self.used += 2
        self.shared_zero_page = MarkerPage("shared zero page")
        self.lazy_committed_page = MarkerPage("lazy committed page")

    # -- commit ----------------------------------------------------------------------------------
    def commit_user_physical_pages(self, count: int) -> CommittedPhysicalPageSet | None:
        """Reserve `count` pages, or None if not enough are uncommitted (caller maps to ENOMEM)."""
        if count < 0:
            raise ValueError("negative commit")
        with self._lock:
            if self.uncommitted < count:
                return None
            self.uncommitted -= count
            self.committed += count
        return CommittedPhysicalPageSet(self, count)

    def _uncommit(self, count: int) -> None:
        with self._lock:
            self.committed -= count
            self.uncommitted += count

    def _next_pfns(self, count: int) -> range:
        # caller holds _lock.  PFNs start above the small-int cache (-5..256), so every page's int
        # object is its own and identity comparisons stay exact.
        first = self._next_pfn
        self._next_pfn += count
        return range(first, first + count)

    def _allocate_committed_page(self) -> PhysicalPage:
        with self._lock:
            self.committed -= 1
            self.used += 1
            return self._next_pfns(1)[0]

    def _allocate_committed_pages(self, count: int) -> list[PhysicalPage]:
        with self._lock:
            self.committed -= count
            self.used += count
            return list(self._next_pfns(count))

    def allocate_user_physical_pages(self, count: int) -> list[PhysicalPage] | None:
        """`count` pages from the free pool in one go, or None if fewer are free (the caller then
        falls back to the page-by-page path, which purges before it gives up)."""
        with self._lock:
            if self.uncommitted < count:
                return None
            self.uncommitted -= count
            self.used += count
            return list(self._next_pfns(count))

    # -- the uncommitted path --------------------------------------------------------------------
    def allocate_user_physical_page(self) -> PhysicalPage | None:
        """A page from the free pool; purges one volatile object if none is free; None on OOM."""
        with self._lock:
            if self.uncommitted > 0:
                self.uncommitted -= 1
                self.used += 1
                return self._next_pfns(1)[0]
            purged = self._purge_one_volatile_object()
            if purged and self.uncommitted > 0:
                self.uncommitted -= 1
                self.used += 1
                return self._next_pfns(1)[0]
        return None

    def free_pages(self, count: int) -> None:
        """Pages whose last user went away return to the *uncommitted* pool."""
        if count:
            with self._lock:
                self.used -= count
                self.uncommitted += count

    def _purge_one_volatile_object(self) -> int:
        for vmobject in list(self.vmobjects.values()):
            if not vmobject.is_volatile:
                continue
            freed = vmobject.purge(reason="memory pressure")
            if freed:
                return freed
        return 0

    def purge_all_volatile(self) -> int:
        """sys$purge(PURGE_ALL_VOLATILE): purge every volatile purgeable object; pages freed."""
        total = 0
        with self._lock:
            for vmobject in list(self.vmobjects.values()):
                if vmobject.is_volatile:
                    total += vmobject.purge(reason="purge syscall")
        return total

    # -- host protection ---------------------------------------------------------------------------
    def check_slots(self, pages: int) -> None:
        """ENOMEM if `pages` more page slots would pass the cap (call before building them)."""
        if self.slots_in_use + pages > self.max_slots:
            self.event("commit_failure", pages=pages, reason="page-slot limit (host protection)")
            raise KernelError(errno.ENOMEM, f"the simulation's page-slot limit ({self.max_slots}) would be exceeded")

    # -- bookkeeping -----------------------------------------------------------------------------
    def register_vmobject(self, vmobject: "VMObject") -> None:
        with self._lock:
            self.vmobjects[id(vmobject)] = vmobject
            self.slots_in_use += vmobject.page_count

    def unregister_vmobject(self, vmobject: "VMObject", pages: int) -> None:
        with self._lock:
            if self.vmobjects.pop(id(vmobject), None) is not None:
                self.slots_in_use -= pages

    def event(self, kind: str, **fields: object) -> None:
        self._on_event(kind, **fields)

    def check_invariants(self) -> None:
        """Raise AssertionError if the counters disagree with each other or with the objects."""
        with self._lock:
            assert min(self.used, self.committed, self.uncommitted) >= 0, self.counters()
            assert self.used + self.committed + self.uncommitted == self.total, self.counters()
            reserved = sum(s.count for s in self._live_commit_sets)
            assert reserved == self.committed, f"commit sets hold {reserved}, counter {self.committed}"
            distinct: set[int] = set()
            for vmobject in self.vmobjects.values():
                for page in vmobject.physical_pages:
                    if type(page) is PhysicalPage:
                        distinct.add(id(page))
            assert len(distinct) + 2 == self.used, f"{len(distinct)} real pages + 2 markers != used {self.used}"
            slots = sum(v.page_count for v in self.vmobjects.values())
            assert slots == self.slots_in_use, f"slot count {self.slots_in_use} != {slots}"

    def page_usage(self) -> dict[str, int]:
        """Where the used pages are, for meminfo: volatile (reclaimable), inode (cache), shared."""
        volatile = inode = anonymous = 0
        with self._lock:
            for vmobject in self.vmobjects.values():
                real = vmobject.real_page_count()
                if vmobject.is_inode:
                    inode += real
                elif vmobject.is_volatile:
                    volatile += real
                else:
                    anonymous += real
        return {"volatile": volatile, "inode": inode, "anonymous": anonymous}

    def counters(self) -> dict[str, int]:
        return {"total": self.total, "used": self.used, "committed": self.committed,
                "uncommitted": self.uncommitted}
