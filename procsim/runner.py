"""Simulation runner: the simulated clock, driven by trio in its own thread.

FUSE keeps the main thread (libfuse's SIGINT/SIGTERM handling only works there, fuse.md 2.7); the
runner advances simulated time in fixed steps of `step` simulated seconds, `speed` times faster
than real time, unless paused.  Fixed steps keep CPU accounting independent of how late the host
wakes the thread.
"""
from __future__ import annotations

import threading

import trio

from kernel_model import Kernel


class SimulationRunner:
    def __init__(self, kernel: Kernel, speed: float = 1.0, step: float = 0.1) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.kernel = kernel
        self.speed = speed
        self.step = step
        self.paused = False
        self._thread: threading.Thread | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._cancel: trio.CancelScope | None = None
        self._started = threading.Event()

    # -- the Clock protocol used by the command language ----------------------------------------
    def pause(self) -> None:
        self.paused = True
        self.kernel.log("simulation paused")

    def resume(self) -> None:
        self.paused = False
        self.kernel.log("simulation resumed")

    def tick(self, seconds: float) -> None:
        self.kernel.tick(seconds)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=trio.run, args=(self._main,), name="procsim-runner", daemon=True)
        self._thread.start()
        self._started.wait(10)

    def stop(self) -> None:
        if self._token is not None and self._cancel is not None:
            try:
                trio.from_thread.run_sync(self._cancel.cancel, trio_token=self._token)
            except trio.RunFinishedError:
                pass
        if self._thread is not None:
            self._thread.join(5)

    async def _main(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        with trio.CancelScope() as scope:
            self._cancel = scope
            self._started.set()
            while True:
                await trio.sleep(self.step / self.speed)
                if not self.paused:
                    self.kernel.tick(self.step)
