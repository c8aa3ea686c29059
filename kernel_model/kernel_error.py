"""KernelError: how every syscall of the model reports failure.

SerenityOS returns a negative errno (KResult); the Python model raises instead, so a failed call
unwinds before it changes anything and callers (procfs, ctl) map it straight to an errno.
"""
from __future__ import annotations

import errno as _errno
import os


class KernelError(Exception):
    """A syscall failed with `errno` (Linux numbering, as SerenityOS's LibC uses)."""

    def __init__(self, err: int, message: str = "") -> None:
        self.errno = err
        self.message = message or os.strerror(err)
        super().__init__(err, self.message)

    @property
    def name(self) -> str:
        return _errno.errorcode.get(self.errno, str(self.errno))

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"
