"""ProgramContext: what a simulated program sees -- its process, the kernel facade, simulated time.

A program is a plain async function `async def program(ctx)`.  It acts through the facade (every
call is a syscall of *its* process), sleeps on the simulated clock, and blocks in `wait()` until a
child has exited.  When its process dies -- by `exit()`, a signal, or an OOM kill during its own
page fault -- the program stops: the call that found it dead raises ProgramExit, or the runner
closes the coroutine.
"""
from __future__ import annotations

import errno
import random
from typing import TYPE_CHECKING, Awaitable, Callable, ParamSpec, TypeVar

from kernel_model import AccessResult, KernelError, mman

if TYPE_CHECKING:
    from .runner import SimulationRunner

P = ParamSpec("P")
R = TypeVar("R")


class ProgramExit(Exception):
    """The program's process is gone; the runner ends the task quietly."""


class ProgramContext:
    def __init__(self, runner: "SimulationRunner", pid: int, forked: bool) -> None:
        self._runner = runner
        self.kernel = runner.kernel
        self.pid = pid
        self.forked = forked  # True in a child that fork() started with its parent's program
        self.random = random.Random(f"{runner.seed}/{pid}")  # deterministic per seed and PID
        process = self.kernel.process(pid)
        self.name = process.name if process else "?"
        self.cmdline = list(process.cmdline) if process else []

    # -- arguments -------------------------------------------------------------------------------
    def option(self, name: str, default: str | None = None) -> str | None:
        """`--name VALUE` or `--name=VALUE` from the command line; `--name` alone gives ''."""
        args = self.cmdline[1:]
        for i, arg in enumerate(args):
            if arg == f"--{name}":
                return args[i + 1] if i + 1 < len(args) and not args[i + 1].startswith("--") else ""
            if arg.startswith(f"--{name}="):
                return arg.split("=", 1)[1]
        return default

    def flag(self, name: str) -> bool:
        return self.option(name) is not None

    # -- time ------------------------------------------------------------------------------------
    def now(self) -> float:
        return self.kernel.clock.seconds()

    async def sleep(self, seconds: float) -> None:
        await self._runner.sleep_until(self.pid, self.kernel.clock.now_ns() + int(seconds * 1e9))

    # -- syscalls of this process ----------------------------------------------------------------
    def _call(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        process = self.kernel.process(self.pid)
        if process is None or not process.is_alive:
            raise ProgramExit
        try:
            return fn(*args, **kwargs)
        except KernelError as e:
            if e.errno == errno.ESRCH and not self.kernel.process(self.pid):
                raise ProgramExit from None
            raise

    def spawn(self, name: str, program: str = "", cmdline: list[str] | None = None) -> int:
        return self._call(self.kernel.spawn, name, ppid=self.pid, program=program, cmdline=cmdline)

    def fork(self) -> int:
        """Fork; the child runs this same program with `forked=True` (fork's 0 in the child)."""
        return self._call(self.kernel.fork, self.pid)

    def exit(self, code: int = 0) -> None:
        self._call(self.kernel.exit, self.pid, code)
        raise ProgramExit

    def kill(self, pid: int, sig: int) -> None:
        self._call(self.kernel.kill, pid, sig)
        process = self.kernel.process(self.pid)
        if process is None or not process.is_alive:
            raise ProgramExit

    def mmap(self, size: int, *, shared: bool = False, purgeable: bool = False, noreserve: bool = False,
             name: str = "") -> int:
        flags = (mman.MAP_SHARED if shared else mman.MAP_PRIVATE) | mman.MAP_ANONYMOUS
        flags |= (mman.MAP_PURGEABLE if purgeable else 0) | (mman.MAP_NORESERVE if noreserve else 0)
        return self._call(self.kernel.mmap, self.pid, size, flags=flags, name=name)

    def munmap(self, addr: int, size: int) -> None:
        self._call(self.kernel.munmap, self.pid, addr, size)

    def touch(self, addr: int, length: int, write: bool = True) -> AccessResult:
        """Read or write memory; if a fault kills this process, the program ends here."""
        result = self._call(self.kernel.access, self.pid, addr, length, write)
        if result.killed:
            raise ProgramExit
        return result

    def madvise(self, addr: int, size: int, volatile: bool) -> bool:
        advice = mman.MADV_SET_VOLATILE if volatile else mman.MADV_SET_NONVOLATILE
        return bool(self._call(self.kernel.madvise, self.pid, addr, size, advice))

    def set_load(self, fraction: float) -> None:
        self._call(self.kernel.set_cpu_load, self.pid, fraction)

    def log(self, message: str) -> None:
        self.kernel.log(f"{self.name}({self.pid}): {message}")

    def init_does_not_reap(self) -> bool:
        """Whether the init_does_not_reap bug switch (sim/bugs/) is on."""
        return self._runner.init_does_not_reap

    def try_wait(self, child: int = -1) -> tuple[int, int] | None:
        """Reap a child that has exited, if any (WNOHANG); None when none has, or there are none."""
        try:
            return self._call(self.kernel.waitpid, self.pid, child, True)
        except KernelError as e:
            if e.errno == errno.ECHILD:
                return None
            raise

    async def child_event(self, timeout: float) -> None:
        """Until a child dies or is reparented to us, or `timeout` simulated seconds pass."""
        await self._runner.wait_for_child_event(self.pid, int(timeout * 1e9))

    async def wait(self, child: int = -1) -> tuple[int, int]:
        """Block until a child has exited, reap it: (pid, wait status). ECHILD if there is none."""
        while True:
            result = self._call(self.kernel.waitpid, self.pid, child, True)
            if result is not None:
                return result
            await self._runner.wait_for_child_event(self.pid)


Program = Callable[[ProgramContext], Awaitable[None]]
