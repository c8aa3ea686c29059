"""Region: a mapped range of an address space backed by part of a VMObject (Kernel/VM/Region.cpp).

`access()` runs the real fault paths page by page: a read of an unloaded inode page is an inode
fault; a write to a zero/lazy slot is a zero fault; a write to a COW page is a COW fault.  Marker
pages are mapped present and read-only, so reads of untouched anonymous memory never fault.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from .anonymous_vm_object import AnonymousVMObject
from .inode_vm_object import InodeVMObject
from .page_fault_response import PageFaultResponse
from .physical_page import PAGE_SIZE, PhysicalPage, Slot
from .ref_counted import RefPtr

if TYPE_CHECKING:
    from .vm_object import VMObject


@dataclass
class FaultCounts:
    """Faults taken by one access; added to the faulting thread's counters."""

    zero: int = 0
    cow: int = 0
    inode: int = 0

    def total(self) -> int:
        return self.zero + self.cow + self.inode


class RegionBacking(NamedTuple):
    """What a region maps, as /proc shows it, without handing out the VM object itself."""
    vmobject: str          # the VM object's class name
    anonymous: bool
    volatile: bool         # False for anything not anonymous
    file_path: str | None  # the mapped inode's path, None for anonymous memory
    file_index: int        # its inode number, 0 for anonymous memory


class RegionUsage(NamedTuple):
    """Resident bytes of one region, split the way smaps splits them: a page is shared when
    another holder has it too (SerenityOS: ref count > 1; Linux: map count > 1), whatever the
    mapping's flags say."""
    resident: int
    shared: int      # held by another mapping of a MAP_SHARED object, or by a fork relative (COW)
    anonymous: bool  # anonymous pages are dirty; file pages are clean (never written back)
    sharers: int     # holders of a shared page, for Pss: the mappings of the object, or the fork family

    @property
    def private(self) -> int:
        return self.resident - self.shared

    @property
    def proportional(self) -> int:
        """Pss: private pages whole, shared pages split between their holders."""
        return self.private + self.shared // self.sharers


class Region:
    __slots__ = ("base", "size", "vmobject_ref", "offset_pages", "readable", "writable", "executable",
                 "shared", "stack", "syscall", "mmap", "cacheable", "name")

    def __init__(self, base: int, size: int, vmobject_ref: RefPtr["VMObject"], *, offset_pages: int = 0,
                 readable: bool = True, writable: bool = True, executable: bool = False,
                 shared: bool = False, stack: bool = False, syscall: bool = False, mmap: bool = True,
                 name: str = "") -> None:
        self.base = base
        self.size = size
        self.vmobject_ref = vmobject_ref
        self.offset_pages = offset_pages
        self.readable = readable
        self.writable = writable
        self.executable = executable
        self.shared = shared
        self.stack = stack
        self.syscall = syscall
        self.mmap = mmap
        self.cacheable = True
        self.name = name
        vmobject_ref.get().regions.append(self)

    @property
    def vmobject(self) -> "VMObject":
        return self.vmobject_ref.get()

    @property
    def end(self) -> int:
        return self.base + self.size

    @property
    def page_count(self) -> int:
        return self.size // PAGE_SIZE

    def contains(self, address: int) -> bool:
        return self.base <= address < self.base + self.size

    def _slots(self) -> list[Slot]:
        first = self.offset_pages
        return self.vmobject.physical_pages[first:first + self.page_count]

    # -- statistics for /proc --------------------------------------------------------------------
    def amount_resident(self) -> int:
        first = self.offset_pages
        return self.vmobject.real_page_count(first, first + self.page_count) * PAGE_SIZE

    def amount_dirty(self) -> int:
        """Anonymous: every resident page; inode objects never mark pages dirty."""
        return self.amount_resident() if self.vmobject.is_anonymous else 0

    def usage(self) -> RegionUsage:
        vmobject = self.vmobject
        resident = self.amount_resident()
        if self.shared:
            sharers = len(vmobject.regions)
            shared = resident if sharers > 1 else 0
        else:
            sharers = vmobject.family_size()
            shared = min(resident, vmobject.shared_page_count() * PAGE_SIZE) if resident and sharers > 1 else 0
        return RegionUsage(resident, shared, vmobject.is_anonymous, max(1, sharers))

    def cow_pages(self) -> int:
        cow_map = self.vmobject.cow_map
        if cow_map is None:
            return 0
        return cow_map[self.offset_pages:self.offset_pages + self.page_count].count(1)

    def pagemap(self) -> str:
        """One char per page: P real page, Z zero/lazy marker, N not loaded."""
        return "".join("P" if type(p) is PhysicalPage else ("N" if p is None else "Z") for p in self._slots())

    def access_string(self) -> str:
        return "".join(("r" if self.readable else "-", "w" if self.writable else "-",
                        "x" if self.executable else "-"))

    # -- faults ----------------------------------------------------------------------------------
    def access(self, first_page: int, count: int, write: bool, faults: FaultCounts) -> PageFaultResponse:
        """Touch `count` pages starting at region page `first_page`; stop at the first failure."""
        if write and not self.writable or not write and not self.readable:
            return PageFaultResponse.SHOULD_CRASH
        vmobject = self.vmobject
        start = self.offset_pages + first_page
        stop = start + count
        if isinstance(vmobject, AnonymousVMObject):
            if not write:
                return PageFaultResponse.CONTINUE
            return self._write_anonymous(vmobject, start, stop, faults)
        assert isinstance(vmobject, InodeVMObject)
        slots = vmobject.physical_pages
        for index in range(start, stop):
            if slots[index] is None:
                faults.inode += 1
                response = vmobject.handle_inode_fault(index)
                if response is not PageFaultResponse.CONTINUE:
                    return response
        return PageFaultResponse.CONTINUE

    def _write_anonymous(self, vmobject: AnonymousVMObject, start: int, stop: int,
                         faults: FaultCounts) -> PageFaultResponse:
        # The hot loop of the model: locals instead of attribute lookups, kept readable.
        mm = vmobject.mm
        zero, lazy = mm.shared_zero_page, mm.lazy_committed_page
        slots = vmobject.physical_pages
        if vmobject.cow_map is None and stop - start > 1 and self._bulk_zero_fault(vmobject, start, stop, faults):
            return PageFaultResponse.CONTINUE
        shared = self.shared
        continue_ = PageFaultResponse.CONTINUE
        for index in range(start, stop):
            page = slots[index]
            if page is lazy or page is zero:
                faults.zero += 1
                response = vmobject.handle_zero_fault(index)
            elif not shared and vmobject.cow_map is not None and vmobject.cow_map[index]:
                faults.cow += 1
                response = vmobject.handle_cow_fault(index)
            else:
                continue
            if response is not continue_:
                return response
        return continue_

    @staticmethod
    def _bulk_zero_fault(vmobject: AnonymousVMObject, start: int, stop: int, faults: FaultCounts) -> bool:
        """A run of untouched pages all of one kind (a first write to fresh memory, the common
        case): take every page at once -- the same accounting as page by page, without a lock
        round per page.  Anything mixed, or short of free pages, takes the page-by-page path."""
        mm = vmobject.mm
        run = vmobject.physical_pages[start:stop]
        count = stop - start
        pages: list[PhysicalPage] | None
        if run.count(mm.lazy_committed_page) == count:
            assert vmobject.unused_committed is not None
            pages = vmobject.unused_committed.take_many(count)
        elif run.count(mm.shared_zero_page) == count:
            pages = mm.allocate_user_physical_pages(count)
            if pages is None:
                return False
        else:
            return False
        vmobject.physical_pages[start:stop] = pages
        faults.zero += count
        return True

    def backing(self) -> RegionBacking:
        vmobject = self.vmobject
        if isinstance(vmobject, InodeVMObject):
            inode = vmobject.inode
            return RegionBacking(vmobject.class_name, False, False, inode.path, inode.index)
        volatile = isinstance(vmobject, AnonymousVMObject) and vmobject.is_volatile
        return RegionBacking(vmobject.class_name, vmobject.is_anonymous, volatile, None, 0)

    def describe(self) -> str:
        return f"region {self.name or '(anonymous)'} at {self.base:#x}"
