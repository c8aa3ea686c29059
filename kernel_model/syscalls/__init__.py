"""The syscall families of the kernel, one module each (SerenityOS keeps one file per family
under Kernel/Syscalls/): each is a class that Kernel inherits.

`syscall` writes the prologue every call that acts on a process shares: take the kernel lock,
refuse after a panic (EIO), and find the running process (EINVAL for a bad PID, ESRCH for one that
is not running) -- so the method receives the Process itself -- and the epilogue: the kernel's
`version` moves on, so that no /proc content generated before the call is served as current (a
new syscall cannot forget it).  `kernel_call` is the same without a process.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Callable, Concatenate, ParamSpec, TypeVar

from ..kernel_core import is_int

if TYPE_CHECKING:
    from ..kernel_core import KernelCore
    from ..process import Process

MAX_SIZE = 1 << 47  # the largest size any memory syscall takes

K = TypeVar("K", bound="KernelCore")
P = ParamSpec("P")
R = TypeVar("R")


def syscall(method: "Callable[Concatenate[K, Process, P], R]") -> "Callable[Concatenate[K, int, P], R]":
    def call(self: K, pid: int, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.lock:
            self._check_panic()
            try:
                return method(self, self._running(pid), *args, **kwargs)
            finally:
                self.version += 1  # what /proc generated before may be stale now
    return functools.update_wrapper(call, method)  # type: ignore[return-value,unused-ignore]  # (takes a PID, not a Process)


def kernel_call(method: "Callable[Concatenate[K, P], R]") -> "Callable[Concatenate[K, P], R]":
    def call(self: K, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.lock:
            self._check_panic()
            try:
                return method(self, *args, **kwargs)
            finally:
                self.version += 1
    return functools.update_wrapper(call, method)  # type: ignore[return-value,unused-ignore]


__all__ = ["MAX_SIZE", "is_int", "kernel_call", "syscall"]
