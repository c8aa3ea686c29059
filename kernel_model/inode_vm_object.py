"""InodeVMObject: file-backed pages, loaded by inode faults (Kernel/VM/InodeVMObject.cpp).

Slots start as None ("N" in the pagemap).  An inode fault takes a page from the *uncommitted* pool
(it may purge volatile memory or fail with OOM); inode objects never commit and never COW.  Nothing
ever marks a page dirty (as in SerenityOS 2021), so every loaded page counts as clean.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .page_fault_response import PageFaultResponse
from .physical_page import Slot, page_count_for
from .ref_counted import RefPtr
from .vm_object import VMObject

if TYPE_CHECKING:
    from .inode import Inode
    from .memory_manager import MemoryManager


class InodeVMObject(VMObject):
    class_name = "InodeVMObject"

    def __init__(self, mm: "MemoryManager", inode: "Inode", slots: list[Slot] | None = None) -> None:
        pages = max(1, page_count_for(inode.size)) if slots is None else len(slots)
        mm.check_slots(pages)
        super().__init__(mm, slots if slots is not None else [None] * pages)
        self.inode_ref: RefPtr["Inode"] = inode.ref(f"{self.class_name} of {inode.path}")

    @property
    def inode(self) -> "Inode":
        return self.inode_ref.get()

    @property
    def is_inode(self) -> bool:
        return True

    def describe(self) -> str:
        return f"{self.class_name} {self.inode.path} ({self.page_count} pages, {len(self.regions)} regions)"

    def handle_inode_fault(self, index: int) -> PageFaultResponse:
        if self.physical_pages[index] is not None:
            return PageFaultResponse.CONTINUE
        page = self.mm.allocate_user_physical_page()
        if page is None:
            return PageFaultResponse.OUT_OF_MEMORY
        self.physical_pages[index] = page
        return PageFaultResponse.CONTINUE

    def amount_clean(self) -> int:
        return self.real_page_count() * 4096

    def _destroy(self) -> None:
        super()._destroy()
        self.inode_ref.release()
