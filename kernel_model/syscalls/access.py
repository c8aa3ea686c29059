"""access: a process touches memory, and the page-fault paths run (SerenityOS's
Region::handle_fault: zero fill, copy on write, inode read); a fault that fails kills the process
(SIGSEGV), out of memory included.  purge: sys$purge(PURGE_ALL_VOLATILE)."""
from __future__ import annotations

import errno
import signal as _signal
from dataclasses import dataclass

from ..kernel_core import KernelCore, is_int
from ..kernel_error import KernelError
from ..page_fault_response import PageFaultResponse
from ..physical_page import PAGE_SIZE, page_round_up
from ..process import Process
from ..region import FaultCounts
from . import MAX_SIZE, kernel_call, syscall


@dataclass(frozen=True)
class AccessResult:
    """What a read/write touch of memory did."""

    pages: int
    zero_faults: int
    cow_faults: int
    inode_faults: int
    killed: bool
    signal: int = 0
    reason: str = ""


class AccessSyscalls(KernelCore):
    @syscall
    def access(self, process: Process, addr: int, length: int = PAGE_SIZE, write: bool = False) -> AccessResult:
        """Touch [addr, addr+length): run the fault paths; a fault that fails kills the process."""
        if not is_int(addr) or not is_int(length) or addr < 0 or length <= 0 or length > MAX_SIZE:
            raise KernelError(errno.EINVAL, "bad access range")
        return self._access(process, addr, length, write)

    def _access(self, process: Process, base: int, length: int, write: bool) -> AccessResult:
        faults = FaultCounts()
        first = base - base % PAGE_SIZE
        end = base + length
        address = first
        pages = 0
        response = PageFaultResponse.CONTINUE
        space = process.space
        while address < end:
            region = space.find(address)
            if region is None:
                response = PageFaultResponse.SHOULD_CRASH
                break
            first_page = (address - region.base) // PAGE_SIZE
            count = min(region.page_count - first_page, (page_round_up(end) - address) // PAGE_SIZE)
            response = region.access(first_page, count, write, faults)
            if response is not PageFaultResponse.CONTINUE:
                break
            pages += count
            address += count * PAGE_SIZE
        thread = process.counters
        thread.zero_faults += faults.zero
        thread.cow_faults += faults.cow
        thread.inode_faults += faults.inode
        self.vm_events.pgfault += faults.total()
        self.vm_events.pgmajfault += faults.inode
        if faults.total():
            self.emit("fault", pid=process.pid, zero=faults.zero, cow=faults.cow, inode=faults.inode)
        if response is PageFaultResponse.OUT_OF_MEMORY:
            self._log(f"Out of memory, killing: {process.name}({process.pid})")
            self.vm_events.oom_kill += 1
            self.emit("oom_kill", pid=process.pid, name=process.name, address=address)
            self._die(process, 0, _signal.SIGSEGV, "out of memory")
            return AccessResult(pages, faults.zero, faults.cow, faults.inode, True, _signal.SIGSEGV, "out of memory")
        if response is PageFaultResponse.SHOULD_CRASH:
            kind = "write" if write else "read"
            self._log(f"Page fault: {process.name}({process.pid}) {kind} at {address:#x}: access violation")
            self.emit("crash", pid=process.pid, address=address, access=kind)
            self._die(process, 0, _signal.SIGSEGV, f"segmentation fault ({kind} at {address:#x})")
            return AccessResult(pages, faults.zero, faults.cow, faults.inode, True, _signal.SIGSEGV,
                                f"access violation at {address:#x}")
        return AccessResult(pages, faults.zero, faults.cow, faults.inode, False)

    @kernel_call
    def purge(self) -> int:
        """sys$purge(PURGE_ALL_VOLATILE): pages purged."""
        return self.mm.purge_all_volatile()
