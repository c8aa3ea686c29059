"""VMObject: a run of page slots that regions map (Kernel/VM/VMObject.h).

Slots hold a PhysicalPage, one of the two marker pages (anonymous memory not yet written), or None
(an inode page not yet read).  Objects cloned from one another for fork form a *family* that may
share physical pages at the same index; a page is shared exactly when another family member holds
it in the same slot.  That replaces a per-page reference count (see physical_page.py).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .physical_page import PAGE_SIZE, PhysicalPage, Slot
from .ref_counted import RefCounted
from .weak_ptr import Weakable

if TYPE_CHECKING:
    from .memory_manager import MemoryManager
    from .region import Region


class VMObject(RefCounted, Weakable):
    """What the MemoryManager and regions ask of every object; anonymous memory answers more."""

    class_name = "VMObject"

    def __init__(self, mm: "MemoryManager", slots: list[Slot]) -> None:
        super().__init__(mm.registry)
        self.mm = mm
        self.is_purgeable = False  # only anonymous objects can be made purgeable...
        self.is_volatile = False   # ...and then volatile, which lets memory pressure purge them
        self.cow_map: bytearray | None = None  # pages to copy on write (anonymous fork clones)
        self.physical_pages: list[Slot] = slots
        self._family: list[VMObject] = [self]
        self.regions: list["Region"] = []  # not counted: a region holds a RefPtr to us instead
        mm.register_vmobject(self)

    @property
    def page_count(self) -> int:
        return len(self.physical_pages)

    @property
    def size(self) -> int:
        return len(self.physical_pages) * PAGE_SIZE

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def is_inode(self) -> bool:
        return False

    def describe(self) -> str:
        return f"{self.class_name} ({self.page_count} pages, {len(self.regions)} regions)"

    def purge(self, reason: str = "purge") -> int:
        """Drop the pages of a volatile purgeable object; pages freed (none: not purgeable)."""
        return 0

    # -- page sharing between fork clones --------------------------------------------------------
    def _join_family_of(self, parent: "VMObject") -> None:
        self._family = parent._family
        self._family.append(self)

    def is_page_shared(self, index: int, page: object) -> bool:
        for other in self._family:
            if other is not self and other.physical_pages[index] is page:
                return True
        return False

    def real_page_count(self, start: int = 0, stop: int | None = None) -> int:
        """Real pages in slots [start, stop): list.count runs in C, so this stays cheap."""
        slots = self.physical_pages if start == 0 and stop is None else self.physical_pages[start:stop]
        return len(slots) - slots.count(None) - slots.count(self.mm.shared_zero_page) \
            - slots.count(self.mm.lazy_committed_page)

    def family_size(self) -> int:
        """How many objects (this one and its fork relatives) may share its pages until written."""
        return len(self._family)

    def shared_page_count(self) -> int:
        """Real pages another family member also holds (SerenityOS: ref count > 1)."""
        if len(self._family) == 1:
            return 0
        count = 0
        for index, page in enumerate(self.physical_pages):
            if type(page) is PhysicalPage and self.is_page_shared(index, page):
                count += 1
        return count

    def _free_pages_not_shared(self, slots: list[Slot]) -> int:
        """Count the real pages in `slots` that no other family member holds (they get freed)."""
        others = [o for o in self._family if o is not self]
        if not others:
            return len(slots) - slots.count(None) - slots.count(self.mm.shared_zero_page) \
                - slots.count(self.mm.lazy_committed_page)
        freed = 0
        for index, page in enumerate(slots):
            if type(page) is PhysicalPage and not any(o.physical_pages[index] is page for o in others):
                freed += 1
        return freed

    def _destroy(self) -> None:
        self.mm.free_pages(self._free_pages_not_shared(self.physical_pages))
        self._family.remove(self)
        self._family = [self]
        pages = self.page_count
        self.physical_pages = []
        self.mm.unregister_vmobject(self, pages)
