"""anon_create: a file descriptor for a new purgeable anonymous object, to share by fd
(SerenityOS Syscalls/anon_create.cpp)."""
from __future__ import annotations

import errno

from ..allocation_strategy import AllocationStrategy
from ..anonymous_vm_object import AnonymousVMObject
from ..file_description import FdEntry, FileDescription
from ..kernel_core import KernelCore, is_int
from ..kernel_error import KernelError
from ..physical_page import PAGE_SIZE
from ..process import Process
from ..ref_counted import adopt_ref
from . import MAX_SIZE, syscall


class AnonCreateSyscalls(KernelCore):
    @syscall
    def anon_create(self, process: Process, size: int, cloexec: bool = False) -> int:
        """A descriptor for a new purgeable, committed anonymous object of `size` bytes."""
        pid = process.pid
        if not is_int(size) or size <= 0 or size % PAGE_SIZE or size > MAX_SIZE:
            raise KernelError(errno.EINVAL, f"bad anon_create size {size!r}")
        if size > self.max_mapping:
            raise KernelError(errno.ENOMEM, "anon_create larger than the simulated address-space limit")
        vmobject = AnonymousVMObject.try_create_with_size(self.mm, size, AllocationStrategy.RESERVE,
                                                          purgeable=True)
        fd = process.next_fd()
        creator = adopt_ref(vmobject, "anon_create (transient)")
        description = FileDescription(self.registry, "AnonymousFile", f"anon_create:{fd}", vmobject=vmobject)
        creator.release()
        process.fds[fd] = FdEntry(adopt_ref(description, f"fd {fd} of PID {pid}"), cloexec)
        process.counters.syscall_count += 1
        self.emit("anon_create", pid=pid, fd=fd, size=size)
        return fd
