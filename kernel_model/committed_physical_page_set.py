"""CommittedPhysicalPageSet: an owned reservation of physical pages (RAII in SerenityOS).

The owner takes pages out with `take_one()` (cannot fail: they were reserved) or gives single
reservations back with `uncommit_one()`.  `release()` returns whatever is left; it is called in one
obvious place by the owner's destructor, never by accident of the garbage collector.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .physical_page import PhysicalPage

if TYPE_CHECKING:
    from .memory_manager import MemoryManager


class CommittedPhysicalPageSet:
    __slots__ = ("_mm", "count")

    def __init__(self, mm: "MemoryManager", count: int) -> None:
        self._mm = mm
        self.count = count
        mm._live_commit_sets.add(self)

    def take_one(self) -> PhysicalPage:
        if self.count <= 0:
            raise RuntimeError("take_one() from an empty committed set")
        self.count -= 1
        return self._mm._allocate_committed_page()

    def take_many(self, count: int) -> list[PhysicalPage]:
        """`count` pages at once (the bulk zero-fault path): one lock round, not `count`."""
        if count > self.count:
            raise RuntimeError("take_many() beyond the reservation")
        self.count -= count
        return self._mm._allocate_committed_pages(count)

    def uncommit_one(self) -> None:
        if self.count <= 0:
            raise RuntimeError("uncommit_one() from an empty committed set")
        self.count -= 1
        self._mm._uncommit(1)

    def is_empty(self) -> bool:
        return self.count == 0

    def release(self) -> None:
        """Give every unused reservation back (idempotent)."""
        if self.count:
            self._mm._uncommit(self.count)
            self.count = 0
        self._mm._live_commit_sets.discard(self)

    def __enter__(self) -> "CommittedPhysicalPageSet":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
