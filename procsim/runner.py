"""SimulationRunner: simulated time and the programs of simulated processes, on trio.

FUSE keeps the main thread (libfuse's SIGINT/SIGTERM handling only works there, fuse.md 2.7); the
runner lives in its own thread.  Time advances in steps of `step` simulated seconds, `speed` times
faster than real time unless paused, or on demand with `tick`.

Determinism: programs act only at step boundaries.  After each step the runner *settles*: it
applies what the kernel reported (a process exited -> cancel its task; a process with a program was
spawned or forked -> start its task; a child died -> wake its waiting parent), then wakes due
sleepers one at a time in (wake time, sequence) order, letting each run until it blocks again
before the next.  Control-file commands run only between steps (`step_lock`).  So a scenario, a
seed and the simulated times of external commands fully determine the event log.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
from typing import TYPE_CHECKING, Callable

import trio
import trio.testing

from kernel_model import Kernel, KernelError, KernelEvent

from .program_context import Program, ProgramContext, ProgramExit

if TYPE_CHECKING:
    from .bugs import BugSwitches


class _NoBugs:
    def get(self, name: str) -> bool:
        return False

log = logging.getLogger("procsim.runner")
NS = 1_000_000_000


class SimulationRunner:
    def __init__(self, kernel: Kernel, programs: dict[str, Program] | None = None, *, speed: float = 1.0,
                 step: float = 0.1, seed: int = 0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.kernel = kernel
        self.programs = programs or {}
        self.speed = speed
        self.step_ns = int(step * NS)
        self.seed = seed
        self.paused = False
        self.bugs: "BugSwitches | _NoBugs" = _NoBugs()  # set by the Simulation
        self.replaying = False  # while a replay runs, pause/resume are recorded but change nothing
        self.step_lock = threading.RLock()   # held while a step runs; ctl commands take it too
        self._queue_lock = threading.Lock()  # protects the three queues below
        self._to_start: list[tuple[int, str, bool]] = []
        self._to_cancel: list[int] = []
        self._child_events: set[int] = set()
        self._sleepers: list[tuple[int, int, trio.Event]] = []
        self._child_waiters: dict[int, list[trio.Event]] = {}
        self._scopes: dict[int, trio.CancelScope] = {}
        self._seq = itertools.count()
        self._nursery: trio.Nursery | None = None
        self._advance_lock: trio.Lock | None = None
        self._thread: threading.Thread | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._cancel: trio.CancelScope | None = None
        self._started = threading.Event()
        kernel.subscribe(self._on_event)

    # -- what the kernel reports (any thread, under the kernel lock) -----------------------------
    _WATCHED = frozenset({"spawn", "fork", "exit", "zombie", "reparent"})

    def _on_event(self, event: KernelEvent) -> None:
        kind, f = event.kind, event.fields
        if kind not in self._WATCHED:
            return
        with self._queue_lock:
            if kind in ("spawn", "fork"):
                process = self.kernel.process(f["pid"])
                program = process.program if process is not None else ""
                if program:
                    self._to_start.append((f["pid"], program, kind == "fork"))
            elif kind == "exit":
                self._to_cancel.append(f["pid"])
            elif kind in ("zombie", "reparent"):
                self._child_events.add(f.get("parent", f.get("new_parent", 0)))

    def has_program(self, name: str) -> bool:
        return name in self.programs

    # -- the Clock protocol of the command language ------------------------------------------------
    def pause(self) -> None:
        if not self.replaying:
            self.paused = True
            self.kernel.log("simulation paused")

    def resume(self) -> None:
        if not self.replaying:
            self.paused = False
            self.kernel.log("simulation resumed")

    def tick(self, seconds: float, before: Callable[[], None] | None = None) -> None:
        """Advance `seconds` of simulated time now, running the programs as it goes (blocks).

        `before` runs once no other advance can interleave (the command language records the
        command there, so the recorded time is the time the tick really started at)."""
        if self._token is None:
            raise RuntimeError("the runner is not started")
        trio.from_thread.run(self.advance, seconds, before, trio_token=self._token)

    def advance_to_ns(self, when_ns: int) -> None:
        if self._token is None:
            raise RuntimeError("the runner is not started")
        trio.from_thread.run(self.advance_to, when_ns, trio_token=self._token)

    # -- scheduling ------------------------------------------------------------------------------
    async def sleep_until(self, when_ns: int) -> None:
        event = trio.Event()
        heapq.heappush(self._sleepers, (when_ns, next(self._seq), event))
        await event.wait()

    async def wait_for_child_event(self, pid: int, timeout_ns: int | None = None) -> None:
        """Until a child of `pid` dies (or is reparented to it), or `timeout_ns` simulated ns pass."""
        event = trio.Event()
        self._child_waiters.setdefault(pid, []).append(event)
        if timeout_ns is not None:
            heapq.heappush(self._sleepers, (self.kernel.clock.now_ns() + timeout_ns, next(self._seq), event))
        await event.wait()

    def is_waiting(self, pid: int) -> bool:
        """Whether `pid`'s program is blocked in wait() right now."""
        return any(not e.is_set() for e in self._child_waiters.get(pid, []))

    async def _let_run(self) -> None:
        await trio.testing.wait_all_tasks_blocked()

    async def settle(self) -> None:
        """Apply reported changes and wake due programs, one at a time, until nothing is due."""
        while True:
            with self._queue_lock:
                cancels, self._to_cancel = sorted(self._to_cancel), []
                starts, self._to_start = sorted(self._to_start), []
                parents, self._child_events = sorted(self._child_events), set()
            for pid in cancels:
                scope = self._scopes.pop(pid, None)
                if scope is not None:
                    scope.cancel()
            if cancels:
                await self._let_run()
            for pid, program, forked in starts:
                process = self.kernel.process(pid)
                if process is not None and process.is_alive and pid not in self._scopes:
                    self._nursery.start_soon(self._run_program, pid, program, forked)  # type: ignore[union-attr]
                    await self._let_run()
            for pid in parents:
                for event in self._child_waiters.pop(pid, []):
                    if not event.is_set():
                        event.set()
                        await self._let_run()
            now = self.kernel.clock.now_ns()
            if self._sleepers and self._sleepers[0][0] <= now:
                _, _, event = heapq.heappop(self._sleepers)
                if not event.is_set():  # a timed wait may have been woken by its child already
                    event.set()
                    await self._let_run()
                continue
            with self._queue_lock:
                if not (self._to_cancel or self._to_start or self._child_events):
                    return

    async def _run_program(self, pid: int, name: str, forked: bool) -> None:
        program = self.programs.get(name)
        if program is None:
            self.kernel.log(f"PID {pid}: no program named {name!r}")
            return
        ctx = ProgramContext(self, pid, forked)
        with trio.CancelScope() as scope:
            self._scopes[pid] = scope
            try:
                await program(ctx)
                process = self.kernel.process(pid)
                if process is not None and process.is_alive:
                    self.kernel.exit(pid, 0)  # returning from main
            except ProgramExit:
                pass
            except KernelError as e:
                if not self.kernel.panicked:
                    self._crash(pid, name, f"unhandled {e.name}: {e.message}")
            except Exception as e:  # a user program's bug kills its process, never the kernel
                log.warning("program %s of PID %d raised", name, pid, exc_info=True)
                self._crash(pid, name, f"{type(e).__name__}: {e}")
        self._scopes.pop(pid, None)

    def _crash(self, pid: int, name: str, reason: str) -> None:
        process = self.kernel.process(pid)
        if process is not None and process.is_alive:
            self.kernel.crash(pid, reason=f"program {name} raised {reason}")

    async def advance(self, seconds: float, before: Callable[[], None] | None = None) -> None:
        """Move simulated time forward in steps, settling after each one."""
        remaining = int(seconds * NS)
        assert self._advance_lock is not None
        async with self._advance_lock:
            if before is not None:
                with self.step_lock:
                    before()
            while remaining > 0 and not self.kernel.panicked:  # a panicked machine stands still
                dt = min(self.step_ns, remaining)
                with self.step_lock:
                    self.kernel.tick(dt / NS)
                    await self.settle()
                remaining -= dt

    async def advance_to(self, when_ns: int) -> None:
        """Advance in standard steps until the clock reaches `when_ns` (for replay)."""
        while self.kernel.clock.now_ns() < when_ns:
            gap = when_ns - self.kernel.clock.now_ns()
            await self.advance(min(self.step_ns, gap) / NS)

    # -- running ---------------------------------------------------------------------------------
    async def _run(self) -> None:
        self._advance_lock = trio.Lock()
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            self._token = trio.lowlevel.current_trio_token()
            with trio.CancelScope() as scope:
                self._cancel = scope
                with self.step_lock:
                    await self.settle()
                self._started.set()
                while True:
                    await trio.sleep(self.step_ns / NS / self.speed)
                    if not self.paused:
                        await self.advance(self.step_ns / NS)
            nursery.cancel_scope.cancel()

    def start(self, paused: bool = False) -> None:
        """Run in a thread of its own; paused, time moves only with tick()."""
        self.paused = paused
        self._thread = threading.Thread(target=trio.run, args=(self._run,), name="procsim-runner", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the simulation runner did not start")

    def stop(self) -> None:
        if self._token is not None and self._cancel is not None:
            try:
                trio.from_thread.run_sync(self._cancel.cancel, trio_token=self._token)
            except trio.RunFinishedError:
                pass
        if self._thread is not None:
            self._thread.join(5)
