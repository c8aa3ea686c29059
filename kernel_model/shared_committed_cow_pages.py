"""SharedCommittedCowPages: the reservation a fork makes for copy-on-write faults.

Parent and child of one fork both hold a reference; whichever of them COW-faults first takes its
private copy from this set, so neither can die of OOM on a COW write of a page that was real at
fork time.  The set gives its unused pages back when the last holder lets go.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .committed_physical_page_set import CommittedPhysicalPageSet
from .physical_page import PhysicalPage
from .ref_counted import RefCounted

if TYPE_CHECKING:
    from .object_registry import ObjectRegistry


class SharedCommittedCowPages(RefCounted):
    def __init__(self, registry: "ObjectRegistry", committed: CommittedPhysicalPageSet) -> None:
        super().__init__(registry)
        self._committed = committed

    def describe(self) -> str:
        return f"SharedCommittedCowPages ({self._committed.count} pages reserved)"

    def is_empty(self) -> bool:
        return self._committed.is_empty()

    def take_one(self) -> PhysicalPage:
        return self._committed.take_one()

    def uncommit_one(self) -> None:
        self._committed.uncommit_one()

    def _destroy(self) -> None:
        self._committed.release()
