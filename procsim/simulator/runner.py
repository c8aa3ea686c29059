"""SimulationRunner: simulated time and the programs of simulated processes.

Programs are coroutines that the runner steps by hand: a program runs, synchronously, until it
awaits one of the runner's waits (a sleep on the simulated clock, or a child event), and is
resumed when that wait is due.  No event loop runs them, so a step of the simulation is one
synchronous stretch of code: the daemon calls `advance` from its trio loop (between FUSE
requests, in the same thread), `procsim run` and the tests call `tick` directly.

Determinism: programs act only at step boundaries.  After each step the runner *settles*: it
applies what the kernel reported (a process exited -> close its program; a process with a program
was spawned or forked -> start it; a child died -> wake its waiting parent), then wakes due
sleepers one at a time in (wake time, sequence) order, letting each run until it blocks again
before the next.  So a scenario, a seed and the simulated times of external commands fully
determine the event log.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import os
import signal
import threading
from typing import Any, Callable, Coroutine, Generator, Iterator

import greenlet

from kernel_model import Kernel, KernelError, KernelEvent

from .program_context import Program, ProgramContext, ProgramExit

log = logging.getLogger("procsim.simulator.runner")
NS = 1_000_000_000
#: Real seconds a program may run before it awaits its context.  A program that never awaits
#: (`while True: pass`) would hold the loop that serves every reader; past this it is killed.
STEP_BUDGET = 1.0
_OWN_CODE = tuple(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), package) + os.sep
                  for package in ("kernel_model", "procfs"))
_OWN_FILES = tuple(os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
                   for name in ("runner.py", "program_context.py", "commands.py", "event_log.py", "bugs.py"))


#: After ProgramHung was raised, how long (real seconds) the program has to let it end its step.
HUNG_GRACE = 0.1


class ProgramHung(BaseException):
    """Raised inside a program that ran STEP_BUDGET seconds without awaiting (a BaseException, so
    that a program's `except Exception` does not swallow it)."""


#: What the watchdog hands back to `_step` when it abandons a program that swallowed ProgramHung.
_ABANDONED = object()
#: Programs abandoned by the watchdog, kept for the life of the process: a greenlet that is freed
#: gets GreenletExit thrown into it, which such a program would swallow too, and spin in the
#: collector.  (The daemon ends with os._exit when there are any: see `abandoned`.)
_ABANDONED_PROGRAMS: list[greenlet.greenlet] = []


def _in_kernel_code(filename: str) -> bool:
    """The model's own code: interrupting it mid-syscall could leave the kernel half-changed."""
    return filename.startswith(_OWN_CODE) or filename in _OWN_FILES


class Wait:
    """What a program awaits: the runner resumes the program when `wake` is called."""

    __slots__ = ("pid", "done")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.done = False

    def __await__(self) -> Generator["Wait", None, None]:
        yield self


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
        self.init_does_not_reap = False  # the init_does_not_reap bug switch (sim/bugs/)
        self.replaying = False  # while a replay runs, pause/resume are recorded but change nothing
        self._to_start: list[tuple[int, str, bool]] = []
        self._to_cancel: list[int] = []
        self._child_events: set[int] = set()
        self._sleepers: list[tuple[int, int, Wait]] = []
        self._child_waiters: dict[int, list[Wait]] = {}
        self._running: dict[int, Coroutine[Any, Any, None]] = {}  # pid -> its program, blocked
        self._blocked_on: dict[int, Wait] = {}
        self._names: dict[int, str] = {}
        self._seq = itertools.count()
        self._advancing = False
        self._stepping = False  # a program is running (the watchdog may interrupt it)
        self._stepper: greenlet.greenlet | None = None  # where a stepped program returns to
        self._hung_raised = False  # the watchdog raised ProgramHung in the program being stepped
        kernel.subscribe(self._on_event)

    # -- what the kernel reports (under the kernel lock) -----------------------------------------
    _WATCHED = frozenset({"spawn", "fork", "exit", "zombie", "reparent"})

    def _on_event(self, event: KernelEvent) -> None:
        kind, f = event.kind, event.fields
        if kind not in self._WATCHED:
            return
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
        """Advance `seconds` of simulated time now, running the programs as it goes.

        `before` runs first (the command language records the command there, so the recorded
        time is the time the tick really started at)."""
        self.advance(seconds, before)

    def advance_to_ns(self, when_ns: int) -> None:
        """Advance in standard steps until the clock reaches `when_ns` (for replay)."""
        while self.kernel.clock.now_ns() < when_ns and not self.kernel.panicked:
            gap = when_ns - self.kernel.clock.now_ns()
            self.advance(min(self.step_ns, gap) / NS)

    def advance(self, seconds: float, before: Callable[[], None] | None = None) -> None:
        """Move simulated time forward in steps, settling after each one."""
        for _ in self.advance_steps(seconds, before):
            pass

    def tick_steps(self, seconds: float, before: Callable[[], None] | None = None) -> Iterator[None]:
        """`tick`, yielding between steps: the daemon answers readers there, so a long tick never
        holds them for more than a step."""
        return self.advance_steps(seconds, before)

    @property
    def advancing(self) -> bool:
        return self._advancing

    def advance_steps(self, seconds: float, before: Callable[[], None] | None = None) -> Iterator[None]:
        if self._advancing:  # a program's syscall, or a second tick, cannot move time meanwhile
            raise KernelError(35, "the clock is already advancing")  # EDEADLK
        remaining = int(seconds * NS)
        self._advancing = True
        try:
            if before is not None:
                before()
            while remaining > 0 and not self.kernel.panicked:  # a panicked machine stands still
                dt = min(self.step_ns, remaining)
                self.kernel.tick(dt / NS)
                self.settle()
                remaining -= dt
                if remaining > 0:
                    yield
        finally:
            self._advancing = False

    # -- what programs await ---------------------------------------------------------------------
    async def sleep_until(self, pid: int, when_ns: int) -> None:
        wait = Wait(pid)
        heapq.heappush(self._sleepers, (when_ns, next(self._seq), wait))
        await wait

    async def wait_for_child_event(self, pid: int, timeout_ns: int | None = None) -> None:
        """Until a child of `pid` dies (or is reparented to it), or `timeout_ns` simulated ns pass."""
        wait = Wait(pid)
        self._child_waiters.setdefault(pid, []).append(wait)
        if timeout_ns is not None:
            heapq.heappush(self._sleepers, (self.kernel.clock.now_ns() + timeout_ns, next(self._seq), wait))
        await wait

    def is_waiting(self, pid: int) -> bool:
        """Whether `pid`'s program is blocked in wait() right now."""
        return any(not w.done for w in self._child_waiters.get(pid, []))

    # -- stepping programs -----------------------------------------------------------------------
    def _wake(self, wait: Wait) -> None:
        """Resume the program blocked on `wait` and run it until it blocks again."""
        if wait.done:
            return  # a timed wait may have been woken by its child already
        wait.done = True
        if self._blocked_on.get(wait.pid) is wait:
            self._step(wait.pid)

    def _on_alarm(self, signum: int, frame: object) -> None:
        """SIGALRM while a program runs: raise ProgramHung in its own code, or try again a moment
        later once it is back there (a syscall of the model runs to its end: every syscall is
        all-or-nothing).  A program that swallows ProgramHung (`except BaseException:` in a
        loop) is not asked twice: the next alarm leaves it where it is -- its greenlet is never
        resumed -- and hands control back to the runner.  Nothing of that depends on the
        program's cooperation."""
        if not self._stepping:
            return
        code = getattr(frame, "f_code", None)
        if code is not None and _in_kernel_code(code.co_filename):
            signal.setitimer(signal.ITIMER_REAL, 0.01)
            return
        if self._hung_raised and self._stepper is not None:
            self._stepper.switch(_ABANDONED)
            return  # never reached: an abandoned program is never switched back to
        self._hung_raised = True
        signal.setitimer(signal.ITIMER_REAL, HUNG_GRACE)
        raise ProgramHung

    def _watch(self) -> bool:
        """Arm the step budget (only the main thread can take signals; elsewhere, no watchdog)."""
        if threading.current_thread() is not threading.main_thread():
            return False
        if signal.getsignal(signal.SIGALRM) != self._on_alarm:
            signal.signal(signal.SIGALRM, self._on_alarm)
        self._stepping = True
        signal.setitimer(signal.ITIMER_REAL, STEP_BUDGET)
        return True

    def _unwatch(self) -> None:
        self._stepping = False
        signal.setitimer(signal.ITIMER_REAL, 0)

    @staticmethod
    def abandoned_anywhere() -> bool:
        """Whether the watchdog left a program suspended in this process (see `_on_alarm`)."""
        return bool(_ABANDONED_PROGRAMS)

    def _step(self, pid: int) -> None:
        coroutine = self._running[pid]
        del self._blocked_on[pid]
        name = self._names.get(pid, "?")
        watched = self._watch()
        # The program runs in a greenlet of its own, so that the watchdog can leave it suspended
        # and come back here without its cooperation.
        program = greenlet.greenlet(coroutine.send)
        self._stepper, self._hung_raised = greenlet.getcurrent(), False
        try:
            awaited = program.switch(None)
        except ProgramHung:
            self._forget(pid)
            self._kill_hung(pid, name, "killed so readers get answers")
            return
        except StopIteration:
            self._forget(pid)
            process = self.kernel.process(pid)
            if process is not None and process.is_alive:
                self.kernel.exit(pid, 0)  # returning from main
            return
        except ProgramExit:
            self._forget(pid)
            return
        except KernelError as e:
            self._forget(pid)
            if not self.kernel.panicked:
                self._crash(pid, name, f"unhandled {e.name}: {e.message}")
            return
        except Exception as e:  # a user program's bug kills its process, never the kernel
            self._forget(pid)
            log.warning("program %s of PID %d raised", name, pid, exc_info=True)
            self._crash(pid, name, f"{type(e).__name__}: {e}")
            return
        finally:
            self._stepper = None
            if watched:
                self._unwatch()
        if awaited is _ABANDONED:
            _ABANDONED_PROGRAMS.append(program)
            self._forget(pid)
            self._kill_hung(pid, name, "it swallowed the watchdog's exception, so it was left suspended and "
                                       "killed")
            return
        if not isinstance(awaited, Wait):
            # Programs may await only their context (ctx.sleep, ctx.wait, ctx.child_event).
            self._cancel(pid)
            self._crash(pid, name, f"awaited {type(awaited).__name__}, not a ctx method")
            return
        self._blocked_on[pid] = awaited

    def _kill_hung(self, pid: int, name: str, what: str) -> None:
        process = self.kernel.process(pid)
        if process is not None and process.is_alive and not self.kernel.panicked:
            self.kernel.crash(pid, signal.SIGKILL, reason=f"program {name} ran {STEP_BUDGET:g} s without "
                                                          f"awaiting its context: {what}")

    def _forget(self, pid: int) -> None:
        self._running.pop(pid, None)
        self._blocked_on.pop(pid, None)
        self._names.pop(pid, None)

    def _start(self, pid: int, name: str, forked: bool) -> None:
        program = self.programs.get(name)
        if program is None:
            self.kernel.log(f"PID {pid}: no program named {name!r}")
            return
        self._running[pid] = program(ProgramContext(self, pid, forked))  # type: ignore[assignment]
        self._names[pid] = name
        self._blocked_on[pid] = Wait(pid)
        self._step(pid)

    def _cancel(self, pid: int) -> None:
        """The process died: its program never runs again (a `finally` in it still runs)."""
        coroutine = self._running.get(pid)
        self._forget(pid)
        if coroutine is not None:
            try:
                coroutine.close()
            except Exception:  # e.g. a program that awaits again while being closed
                log.warning("program of PID %d did not stop cleanly", pid, exc_info=True)

    def _crash(self, pid: int, name: str, reason: str) -> None:
        process = self.kernel.process(pid)
        if process is not None and process.is_alive:
            self.kernel.crash(pid, reason=f"program {name} raised {reason}")

    def settle(self) -> None:
        """Apply reported changes and wake due programs, one at a time, until nothing is due."""
        while True:
            cancels, self._to_cancel = sorted(self._to_cancel), []
            starts, self._to_start = sorted(self._to_start), []
            parents, self._child_events = sorted(self._child_events), set()
            for pid in cancels:
                self._cancel(pid)
            for pid, program, forked in starts:
                process = self.kernel.process(pid)
                if process is not None and process.is_alive and pid not in self._running:
                    self._start(pid, program, forked)
            for pid in parents:
                for wait in self._child_waiters.pop(pid, []):
                    self._wake(wait)
            now = self.kernel.clock.now_ns()
            if self._sleepers and self._sleepers[0][0] <= now:
                _, _, wait = heapq.heappop(self._sleepers)
                self._wake(wait)
                continue
            if not (self._to_cancel or self._to_start or self._child_events):
                return

    # -- running ---------------------------------------------------------------------------------
    def start(self, paused: bool = False) -> None:
        """Start the programs of the processes that exist; paused, time moves only with tick()."""
        self.paused = paused
        self.settle()

    def stop(self) -> None:
        for pid in list(self._running):
            self._cancel(pid)
