"""AddressSpace: the regions of one process and the ranges between them (Kernel/VM/Space.cpp).

Regions are kept sorted by base address; `bases` mirrors them for bisection.  Allocation is
next-fit: it tries just after the previous allocation first, so a process that maps many regions
does not rescan its whole map each time, and falls back to first-fit from USER_RANGE_BASE.
"""
from __future__ import annotations

import bisect
import errno
from dataclasses import dataclass

from .kernel_error import KernelError
from .physical_page import PAGE_SIZE
from .region import Region

USER_RANGE_BASE = 0x10000000
USER_RANGE_END = 0x7FFF00000000


@dataclass(frozen=True, slots=True)
class SpaceStats:
    """Byte counts of one address space, as Space.cpp defines them for /proc/all."""

    virtual: int = 0
    resident: int = 0
    dirty_private: int = 0
    clean_inode: int = 0
    shared: int = 0
    purgeable_volatile: int = 0
    purgeable_nonvolatile: int = 0
    text: int = 0         # executable mappings (Linux statm "text")
    data: int = 0         # private writable mappings (Linux statm "data")
    stack: int = 0
    file_resident: int = 0
    shmem: int = 0        # resident pages of MAP_SHARED anonymous mappings (Linux RssShmem)


class AddressSpace:
    def __init__(self) -> None:
        self.regions: list[Region] = []
        self._bases: list[int] = []
        self._next_fit = USER_RANGE_BASE

    def __len__(self) -> int:
        return len(self.regions)

    def _is_free(self, base: int, size: int) -> bool:
        if base < USER_RANGE_BASE or base + size > USER_RANGE_END:
            return False
        i = bisect.bisect_left(self._bases, base + size)
        return i == 0 or self.regions[i - 1].end <= base

    def allocate_range(self, size: int, hint: int = 0, fixed: bool = False) -> int:
        """A free base address for `size` bytes; ENOMEM if none (a non-fixed hint is retried anywhere)."""
        if hint:
            if self._is_free(hint, size):
                return hint
            if fixed:
                raise KernelError(errno.ENOMEM, f"range {hint:#x}+{size:#x} is not free")
        if self._is_free(self._next_fit, size):
            self._next_fit += size
            return self._next_fit - size
        candidate = USER_RANGE_BASE
        for region in self.regions:
            if region.base - candidate >= size:
                return candidate
            candidate = max(candidate, region.end)
        if USER_RANGE_END - candidate >= size:
            return candidate
        raise KernelError(errno.ENOMEM, "address space exhausted")

    def add(self, region: Region) -> None:
        i = bisect.bisect_left(self._bases, region.base)
        self._bases.insert(i, region.base)
        self.regions.insert(i, region)

    def remove(self, region: Region) -> None:
        i = bisect.bisect_left(self._bases, region.base)
        if self.regions[i] is not region:
            raise ValueError(f"{region.describe()} is not in this address space")
        del self._bases[i]
        del self.regions[i]
        region.vmobject.regions.remove(region)
        region.vmobject_ref.release()

    def find(self, address: int) -> Region | None:
        i = bisect.bisect_right(self._bases, address)
        if i == 0:
            return None
        region = self.regions[i - 1]
        return region if region.contains(address) else None

    def find_exact(self, address: int, size: int) -> Region | None:
        region = self.find(address)
        if region is not None and region.base == address and region.size == size:
            return region
        return None

    def intersecting(self, address: int, size: int) -> list[Region]:
        end = address + size
        i = max(0, bisect.bisect_right(self._bases, address) - 1)
        found = []
        while i < len(self.regions) and self.regions[i].base < end:
            region = self.regions[i]
            if region.end > address:
                found.append(region)
            i += 1
        return found

    def split_out(self, region: Region, address: int, size: int) -> None:
        """Unmap [address, address+size) from `region`, keeping what lies before and after it."""
        start = max(address, region.base)
        end = min(address + size, region.end)
        pieces = []
        if start > region.base:
            pieces.append((region.base, start - region.base, region.offset_pages))
        if end < region.end:
            pieces.append((end, region.end - end, region.offset_pages + (end - region.base) // PAGE_SIZE))
        # Take the pieces' references before the old region lets go, so the object cannot die here.
        refs = [region.vmobject_ref.clone(region.vmobject_ref.holder) for _ in pieces]
        self.remove(region)
        for (base, length, offset), ref in zip(pieces, refs, strict=True):
            self.add(Region(base, length, ref, offset_pages=offset, readable=region.readable,
                            writable=region.writable, executable=region.executable, shared=region.shared,
                            stack=region.stack, syscall=region.syscall, mmap=region.mmap, name=region.name))

    def remove_all(self) -> None:
        for region in list(self.regions):
            self.remove(region)

    def virtual_size(self) -> int:
        return sum(r.size for r in self.regions)

    def stats(self) -> SpaceStats:
        virtual = resident = dirty = shared = volatile = nonvolatile = text = data = stack = file_res = 0
        shmem = 0
        clean_inode_objects: dict[int, int] = {}
        for region in self.regions:
            vmobject = region.vmobject
            usage = region.usage()
            res = usage.resident
            virtual += region.size
            resident += res
            if vmobject.is_anonymous:
                if region.shared:
                    shmem += res
                else:
                    dirty += res
                if vmobject.is_purgeable:
                    if vmobject.is_volatile:
                        volatile += res
                    else:
                        nonvolatile += res
            else:
                file_res += res
                clean_inode_objects[id(vmobject)] = vmobject.amount_clean()  # type: ignore[attr-defined]
            shared += usage.shared
            if region.executable:
                text += region.size
            elif region.stack:
                stack += region.size
            elif region.writable and not region.shared:
                data += region.size
        return SpaceStats(virtual, resident, dirty, sum(clean_inode_objects.values()), shared, volatile,
                          nonvolatile, text, data, stack, file_res, shmem)
