"""SimClock: the injectable simulated time source of the kernel (nanoseconds since boot).

The model never reads the host clock for simulated time, which is what makes runs deterministic.
`boot_epoch` is the wall-clock second the simulated machine booted, for Linux's `btime`.
"""
from __future__ import annotations

import threading


class SimClock:
    def __init__(self, boot_epoch: int = 1_767_225_600, start_ns: int = 0) -> None:
        self.boot_epoch = boot_epoch
        self._now = start_ns
        self._lock = threading.Lock()  # protects _now

    def now_ns(self) -> int:
        return self._now

    def advance(self, ns: int) -> None:
        if ns < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._now += ns

    def seconds(self) -> float:
        return self._now / 1e9
