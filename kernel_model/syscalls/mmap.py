"""mmap, munmap and madvise (SerenityOS Syscalls/mmap.cpp), with its validation order."""
from __future__ import annotations

import errno

from .. import mman
from ..allocation_strategy import AllocationStrategy
from ..anonymous_vm_object import AnonymousVMObject
from ..kernel_core import KernelCore, is_int
from ..kernel_error import KernelError
from ..physical_page import PAGE_SIZE, page_round_up
from ..private_inode_vm_object import PrivateInodeVMObject
from ..process import Process
from ..ref_counted import RefPtr, adopt_ref
from ..region import Region
from ..shared_inode_vm_object import SharedInodeVMObject
from ..vm_object import VMObject
from . import MAX_SIZE, syscall


class MmapSyscalls(KernelCore):
    @syscall
    def mmap(self, process: Process, size: int, prot: int = mman.PROT_READ | mman.PROT_WRITE,
             flags: int = mman.MAP_PRIVATE | mman.MAP_ANONYMOUS, *, fd: int = -1, offset: int = 0,
             addr: int = 0, name: str = "") -> int:
        """sys$mmap with SerenityOS's validation order; returns the mapped address."""
        pid = process.pid
        for value, what in ((size, "size"), (prot, "prot"), (flags, "flags"), (offset, "offset"),
                            (addr, "address"), (fd, "fd")):
            if not is_int(value):
                raise KernelError(errno.EINVAL, f"bad {what} {value!r}")
        if size <= 0 or size > MAX_SIZE:
            raise KernelError(errno.EINVAL, f"bad size {size}")
        if addr % PAGE_SIZE or addr < 0:
            raise KernelError(errno.EINVAL, "address not page aligned")
        if prot & ~7 or flags & ~0x3FF:
            raise KernelError(errno.EINVAL, "unknown prot or flags bits")
        shared, private = bool(flags & mman.MAP_SHARED), bool(flags & mman.MAP_PRIVATE)
        if shared == private:
            raise KernelError(errno.EINVAL, "exactly one of MAP_SHARED and MAP_PRIVATE")
        if flags & mman.MAP_FIXED and flags & mman.MAP_RANDOMIZED:
            raise KernelError(errno.EINVAL, "MAP_FIXED with MAP_RANDOMIZED")
        anonymous = bool(flags & mman.MAP_ANONYMOUS)
        readable, writable, executable = (bool(prot & b) for b in (mman.PROT_READ, mman.PROT_WRITE, mman.PROT_EXEC))
        if anonymous and executable:
            raise KernelError(errno.EINVAL, "anonymous executable mapping")
        if writable and executable:
            raise KernelError(errno.EINVAL, "W^X")
        if flags & mman.MAP_STACK and (prot != mman.PROT_READ | mman.PROT_WRITE or not (private and anonymous)):
            raise KernelError(errno.EINVAL, "bad MAP_STACK mapping")
        if len(name) > 256 or "\0" in name or "\n" in name:
            raise KernelError(errno.EINVAL, "bad region name")
        size = page_round_up(size)
        if size > self.max_mapping or process.space.virtual_size() + size > self.max_virtual_per_process:
            raise KernelError(errno.ENOMEM, f"mapping of {size} bytes exceeds the simulated address-space limit")
        base = process.space.allocate_range(size, addr, bool(flags & mman.MAP_FIXED))
        if anonymous:
            strategy = AllocationStrategy.NONE if flags & mman.MAP_NORESERVE else AllocationStrategy.RESERVE
            vmobject = AnonymousVMObject.try_create_with_size(self.mm, size, strategy,
                                                              purgeable=bool(flags & mman.MAP_PURGEABLE))
            ref: RefPtr[VMObject] = adopt_ref(vmobject, f"mmap region of PID {pid}")
            label = name or ("purgeable" if vmobject.is_purgeable else "anonymous")
        else:
            ref, label = self._file_mapping(process, fd, offset, size, shared, writable)
            label = name or label
        process.space.add(Region(base, size, ref, offset_pages=offset // PAGE_SIZE, readable=readable,
                                 writable=writable, executable=executable, shared=shared,
                                 stack=bool(flags & mman.MAP_STACK), name=label))
        process.counters.syscall_count += 1
        self.emit("mmap", pid=pid, address=base, size=size, shared=shared, name=label,
                  purgeable=bool(anonymous and flags & mman.MAP_PURGEABLE),
                  noreserve=bool(anonymous and flags & mman.MAP_NORESERVE))
        return base

    def _file_mapping(self, process: Process, fd: int, offset: int, size: int, shared: bool,
                      writable: bool) -> tuple[RefPtr[VMObject], str]:
        if offset < 0 or offset % PAGE_SIZE:
            raise KernelError(errno.EINVAL, "bad file offset")
        entry = process.fds.get(fd)
        if entry is None:
            raise KernelError(errno.EBADF, f"fd {fd} is not open")
        description = entry.description
        holder = f"mmap region of PID {process.pid}"
        if description.vmobject_ref is not None:  # AnonymousFile: both kinds map the same object
            vmobject = description.vmobject_ref.get()
            if offset != 0 or size != vmobject.size:
                raise KernelError(errno.EINVAL, "anonymous file mappings cover the whole object")
            return vmobject.ref(holder), f"anon_create fd {fd}"
        if description.inode_ref is None:
            raise KernelError(errno.ENODEV, f"{description.absolute_path} cannot be mapped")
        inode = description.inode_ref.get()
        if inode.is_directory:
            raise KernelError(errno.ENODEV, "cannot map a directory")
        if not description.readable:
            raise KernelError(errno.EACCES, "fd not readable")
        if shared and writable and not description.writable:
            raise KernelError(errno.EACCES, "shared writable mapping of a read-only fd")
        if shared:
            return SharedInodeVMObject.try_create_with_inode(self.mm, inode, holder), inode.path
        return adopt_ref(PrivateInodeVMObject(self.mm, inode), holder), inode.path

    @syscall
    def munmap(self, process: Process, addr: int, size: int) -> None:
        pid = process.pid
        if not is_int(addr) or not is_int(size) or size <= 0 or size > MAX_SIZE \
                or addr < 0 or addr % PAGE_SIZE:
            raise KernelError(errno.EINVAL, "bad munmap range")
        size = page_round_up(size)
        regions = process.space.intersecting(addr, size)
        if not regions:
            raise KernelError(errno.EINVAL, f"nothing mapped at {addr:#x}+{size:#x}")
        for region in regions:
            if addr <= region.base and region.end <= addr + size:
                process.space.remove(region)
            else:
                process.space.split_out(region, addr, size)
        process.counters.syscall_count += 1
        self.emit("munmap", pid=pid, address=addr, size=size)

    @syscall
    def madvise(self, process: Process, addr: int, size: int, advice: int) -> int:
        """MADV_SET_VOLATILE / MADV_SET_NONVOLATILE on one whole purgeable region; 1 if it had been purged."""
        pid = process.pid
        if not is_int(addr) or not is_int(size) or not is_int(advice):
            raise KernelError(errno.EINVAL, "bad madvise arguments")
        if size <= 0 or addr < 0 or addr % PAGE_SIZE or size > MAX_SIZE:
            raise KernelError(errno.EINVAL, "bad madvise range")
        region = process.space.find_exact(addr, page_round_up(size))
        if region is None:
            raise KernelError(errno.EINVAL, "range does not match one region exactly")
        if not region.mmap:
            raise KernelError(errno.EPERM, "region was not created by mmap")
        both = mman.MADV_SET_VOLATILE | mman.MADV_SET_NONVOLATILE
        if advice & both == both:
            raise KernelError(errno.EINVAL, "both volatile and non-volatile")
        if advice not in (mman.MADV_SET_VOLATILE, mman.MADV_SET_NONVOLATILE):
            raise KernelError(errno.EINVAL, f"unknown advice {advice:#x}")
        vmobject = region.vmobject
        if not isinstance(vmobject, AnonymousVMObject) or not vmobject.is_purgeable:
            raise KernelError(errno.EINVAL, "memory is not purgeable")
        volatile = advice == mman.MADV_SET_VOLATILE
        was_purged = vmobject.set_volatile(volatile)
        process.counters.syscall_count += 1
        self.emit("madvise", pid=pid, address=addr, volatile=volatile, was_purged=was_purged)
        return 1 if was_purged else 0
