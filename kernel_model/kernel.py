"""Kernel: the facade that owns the simulated machine and offers its syscalls.

The machine's state and the lifecycle of a process are KernelCore's (kernel_core.py); each
syscall family is one module under syscalls/, a class Kernel inherits: fork.py (spawn, fork),
exit.py (exit, kill, crash), waitid.py (waitpid), mmap.py (mmap, munmap, madvise),
anon_create.py, open.py (open, close), access.py (touching memory: the page faults; purge) and
sched.py (set_cpu_load, tick).  To add a syscall, add a method to its family (or a family), with
`@syscall` if it acts on a process.

Deviations from SerenityOS, all chosen so a failed call changes nothing (docs/kernel_model.md):
PIDs are allocated only once a spawn/fork is certain to succeed, and fork checks the whole commit
it needs before cloning any region.
"""
from __future__ import annotations

from .kernel_core import ORPHAN_POLICIES, KernelCore, ProcessObserver
from .syscalls import MAX_SIZE
from .syscalls.access import AccessResult, AccessSyscalls
from .syscalls.anon_create import AnonCreateSyscalls
from .syscalls.exit import SIGNAL_MAX, ExitSyscalls
from .syscalls.fork import DEFAULT_STACK_PAGES, STACK_TOP, ForkSyscalls
from .syscalls.mmap import MmapSyscalls
from .syscalls.open import OpenSyscalls
from .syscalls.sched import SchedSyscalls
from .syscalls.waitid import WaitSyscalls


class Kernel(ForkSyscalls, ExitSyscalls, WaitSyscalls, MmapSyscalls, AnonCreateSyscalls, OpenSyscalls,
             AccessSyscalls, SchedSyscalls):
    """The simulated kernel: KernelCore's state with every syscall family."""


__all__ = ["AccessResult", "DEFAULT_STACK_PAGES", "Kernel", "KernelCore", "MAX_SIZE", "ORPHAN_POLICIES",
           "ProcessObserver", "SIGNAL_MAX", "STACK_TOP"]
