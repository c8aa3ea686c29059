"""AnonymousVMObject: anonymous memory with commit accounting (Kernel/VM/AnonymousVMObject.cpp).

Rules kept here (serenity.md section B):
- Reserve commits every page up front and fills slots with the lazy committed page; a first write
  takes from that reservation and cannot fail.  None commits nothing (slots hold the shared zero
  page) and a first write may fail with OOM.  AllocateNow allocates every page at creation.
- `purgeable` is fixed at creation.  Volatility covers the whole object: going volatile gives every
  unused reservation back at once; going non-volatile re-commits the zero-page slots or fails with
  ENOMEM.  `purge()` only touches purgeable *and* volatile objects.
- `try_clone()` (fork) commits the whole object into a SharedCommittedCowPages set shared by parent
  and child; the child's lazy slots become the zero page (the documented overcommit: the child, not
  the parent, may die on first write).  A volatile object is cloned as a fresh, pre-purged one.
"""
from __future__ import annotations

import errno
from typing import Callable

from .allocation_strategy import AllocationStrategy
from .committed_physical_page_set import CommittedPhysicalPageSet
from .kernel_error import KernelError
from .memory_manager import MemoryManager
from .page_fault_response import PageFaultResponse
from .physical_page import MarkerPage, PhysicalPage, Slot, page_count_for
from .ref_counted import RefPtr, adopt_ref
from .shared_committed_cow_pages import SharedCommittedCowPages
from .vm_object import VMObject


class AnonymousVMObject(VMObject):
    class_name = "AnonymousVMObject"

    def __init__(self, mm: MemoryManager, slots: list[Slot], *, purgeable: bool = False,
                 unused_committed: CommittedPhysicalPageSet | None = None) -> None:
        super().__init__(mm, slots)
        self.is_purgeable = purgeable
        self.was_purged = False
        self.unused_committed = unused_committed
        self.shared_cow: RefPtr[SharedCommittedCowPages] | None = None

    @property
    def is_anonymous(self) -> bool:
        return True

    def describe(self) -> str:
        flags = "".join((" purgeable" if self.is_purgeable else "", " volatile" if self.is_volatile else ""))
        return f"AnonymousVMObject{flags} ({self.page_count} pages, {len(self.regions)} regions)"

    # -- factories -------------------------------------------------------------------------------
    @classmethod
    def try_create_with_size(cls, mm: MemoryManager, size: int, strategy: AllocationStrategy,
                             purgeable: bool = False) -> "AnonymousVMObject":
        """A new object of `size` bytes (rounded up to pages); ENOMEM if the commit fails."""
        pages = page_count_for(size)
        if pages <= 0:
            raise KernelError(errno.EINVAL, "size must be positive")
        mm.check_slots(pages)
        if strategy == AllocationStrategy.NONE:
            return cls(mm, [mm.shared_zero_page] * pages, purgeable=purgeable)
        committed = mm.commit_user_physical_pages(pages)
        if committed is None:
            mm.event("commit_failure", pages=pages, uncommitted=mm.uncommitted)
            raise KernelError(errno.ENOMEM, f"cannot commit {pages} pages")
        if strategy == AllocationStrategy.ALLOCATE_NOW:
            slots: list[Slot] = [committed.take_one() for _ in range(pages)]
            committed.release()
            return cls(mm, slots, purgeable=purgeable)
        return cls(mm, [mm.lazy_committed_page] * pages, purgeable=purgeable, unused_committed=committed)

    # -- faults ----------------------------------------------------------------------------------

    def handle_zero_fault(self, index: int) -> PageFaultResponse:
        """First write to a zero/lazy slot: lazy takes its reservation, zero allocates (may OOM)."""
        slots = self.physical_pages
        if slots[index] is self.mm.lazy_committed_page:
            assert self.unused_committed is not None
            slots[index] = self.unused_committed.take_one()
        else:
            page = self.mm.allocate_user_physical_page()
            if page is None:
                return PageFaultResponse.OUT_OF_MEMORY
            slots[index] = page
        if self.cow_map is not None:
            self.cow_map[index] = 0
        return PageFaultResponse.CONTINUE

    def handle_cow_fault(self, index: int) -> PageFaultResponse:
        if self.is_volatile:
            return PageFaultResponse.SHOULD_CRASH
        shared_cow = self.shared_cow
        if shared_cow is not None and shared_cow.get().is_empty():
            shared_cow.release()
            self.shared_cow = shared_cow = None
        slots = self.physical_pages
        page = slots[index]
        assert self.cow_map is not None
        if not self.is_page_shared(index, page):
            self.cow_map[index] = 0
            if shared_cow is not None:
                shared_cow.get().uncommit_one()
            return PageFaultResponse.CONTINUE
        new_page: PhysicalPage | None
        if shared_cow is not None:
            new_page = shared_cow.get().take_one()
        else:
            new_page = self.mm.allocate_user_physical_page()
            if new_page is None:
                return PageFaultResponse.OUT_OF_MEMORY
        self.physical_pages[index] = new_page
        self.cow_map[index] = 0
        return PageFaultResponse.CONTINUE

    def cow_page_count(self) -> int:
        return 0 if self.cow_map is None else self.cow_map.count(1)

    # -- volatility ------------------------------------------------------------------------------
    def set_volatile(self, volatile: bool) -> bool:
        """Make the object (non-)volatile; returns whether it had been purged. ENOMEM on re-commit."""
        if not self.is_purgeable:
            raise KernelError(errno.EINVAL, "object is not purgeable")
        was_purged = self.was_purged
        if volatile == self.is_volatile:
            return was_purged
        mm = self.mm
        if volatile:
            self.physical_pages[:] = map(_swap(mm.lazy_committed_page, mm.shared_zero_page),
                                         self.physical_pages, self.physical_pages)
            self._release_reservations()
            self.cow_map = None
            self.is_volatile = True
            self.was_purged = False
            return was_purged
        zero_slots = self.physical_pages.count(mm.shared_zero_page)
        if zero_slots:
            committed = mm.commit_user_physical_pages(zero_slots)
            if committed is None:
                mm.event("commit_failure", pages=zero_slots, uncommitted=mm.uncommitted)
                raise KernelError(errno.ENOMEM, f"cannot re-commit {zero_slots} pages")
            self.physical_pages[:] = map(_swap(mm.shared_zero_page, mm.lazy_committed_page),
                                         self.physical_pages, self.physical_pages)
            self.unused_committed = committed
        self.is_volatile = False
        self.was_purged = False
        return was_purged

    def purge(self, reason: str = "purge") -> int:
        """Drop every page of a volatile purgeable object; returns the number of slots purged."""
        if not (self.is_purgeable and self.is_volatile):
            return 0
        mm = self.mm
        slots = self.physical_pages
        purged = len(slots) - slots.count(mm.shared_zero_page)
        if not purged:
            return 0
        freed = self._free_pages_not_shared(slots)
        slots[:] = [mm.shared_zero_page] * len(slots)
        mm.free_pages(freed)
        self.was_purged = True
        mm.event("purge", object=self.describe(), pages=purged, reason=reason)
        return purged

    # -- fork --------------------------------------------------------------------------------------
    def try_clone(self) -> "AnonymousVMObject":
        mm = self.mm
        pages = self.page_count
        mm.check_slots(pages)
        if self.is_purgeable and self.is_volatile:
            clone = AnonymousVMObject(mm, [mm.shared_zero_page] * pages, purgeable=True)
            clone.is_volatile = True
            return clone
        committed = mm.commit_user_physical_pages(pages)
        if committed is None:
            mm.event("commit_failure", pages=pages, uncommitted=mm.uncommitted)
            raise KernelError(errno.ENOMEM, f"fork cannot commit {pages} COW pages")
        shared = SharedCommittedCowPages(mm.registry, committed)
        parent_ref = adopt_ref(shared, "parent side of a fork COW set")
        lazy_to_zero = _swap(mm.lazy_committed_page, mm.shared_zero_page)
        clone = AnonymousVMObject(mm, list(map(lazy_to_zero, self.physical_pages, self.physical_pages)),
                                  purgeable=self.is_purgeable)
        clone._join_family_of(self)
        clone.cow_map = bytearray(b"\x01") * pages
        clone.shared_cow = parent_ref.clone("child side of a fork COW set")
        if self.shared_cow is not None:
            self.shared_cow.release()
        self.shared_cow = parent_ref
        self.cow_map = bytearray(b"\x01") * pages
        return clone

    def _release_reservations(self) -> None:
        """Give back the committed pages it holds: its own unused reservation and its side of a
        fork's COW set (going volatile, and at destruction)."""
        if self.unused_committed is not None:
            self.unused_committed.release()
            self.unused_committed = None
        if self.shared_cow is not None:
            self.shared_cow.release()
            self.shared_cow = None

    def _destroy(self) -> None:
        self._release_reservations()
        super()._destroy()


def _swap(old: MarkerPage, new: MarkerPage) -> Callable[[Slot, Slot], Slot]:
    """For `map(_swap(a, b), slots, slots)`: every `a` becomes `b`, the rest stays -- in C, not a
    Python loop over every page."""
    table: dict[Slot, Slot] = {old: new}
    return table.get
