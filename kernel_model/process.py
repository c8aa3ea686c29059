"""Process: identity, state, address space, fds and the wait list that makes zombies.

A zombie is a Dead process kept alive only by its parent's wait list (one RefPtr per entry); the
parent's waitpid removes the entry and that release destroys it ("reaped").  Strong references
that keep a Process alive (serenity.md E): its own lifetime reference until finalize, its thread,
the ProcFS PID directory, and a parent's wait-list entry.
"""
from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, Callable

from .address_space import AddressSpace
from .file_description import FdEntry
from .ref_counted import RefCounted, RefPtr
from .thread import Thread
from .weak_ptr import Weakable

if TYPE_CHECKING:
    from .object_registry import ObjectRegistry


#: The controlling terminal of a process that has none (SerenityOS's /proc/all spelling).
NO_TTY = "notty"


class ProcessState(IntEnum):
    RUNNING = 0
    DYING = 1
    DEAD = 2


class Process(RefCounted, Weakable):
    def __init__(self, registry: "ObjectRegistry", pid: int, ppid: int, name: str, *, uid: int = 0,
                 gid: int = 0, cmdline: list[str] | None = None, environ: list[str] | None = None,
                 executable: str = "", cwd: str = "/", kernel: bool = False, start_time: int = 0) -> None:
        super().__init__(registry)
        self.pid = pid
        self.ppid = ppid
        self.pgid = pid
        self.sid = pid
        self.uid = self.euid = uid
        self.gid = self.egid = gid
        self.name = name
        self.cmdline = cmdline if cmdline is not None else [name]
        self.environ = environ if environ is not None else []
        self.executable = executable
        self.registered = False  # set when it enters the process table
        self.cwd = cwd
        self.root = "/"
        self.tty = NO_TTY  # the kernel's spawn gives it its parent's or a login session's terminal
        self.pledge = ""
        self.veil = "None"
        self.unveiled: list[tuple[str, str]] = []
        self.dumpable = not kernel
        self.is_kernel = kernel
        self.state = ProcessState.RUNNING
        self.exit_code = 0
        self.term_signal = 0
        self.start_time = start_time     # simulated ns since boot
        self.dead_time: int | None = None
        self.space = AddressSpace()
        self.fds: dict[int, FdEntry] = {}
        self.thread: Thread | None = Thread(pid, name)
        self.thread_ref: RefPtr[Process] | None = None
        self.lifetime_ref: RefPtr[Process] | None = None
        self.children: set[int] = set()
        self.wait_list: dict[int, RefPtr[Process]] = {}
        self.program = ""
        self.cpu_load = 0.0
        self.stopped = False
        self.dead_children_time_user = 0
        self.dead_children_time_kernel = 0
        # thread counters survive the thread so a zombie's stat still shows its times
        self.final_thread: Thread | None = None
        self.reparented_from = 0  # the parent it had before the linux policy moved it to PID 1
        self.reaped = False  # no wait list holds it any more (it may still be alive: a leak)
        self.on_destroyed: Callable[[Process], None] | None = None  # the kernel's: leave the process list

    def _destroy(self) -> None:
        if self.on_destroyed is not None:
            self.on_destroyed(self)

    def describe(self) -> str:
        return f"Process {self.pid} ({self.name}) {self.state_name}"

    @property
    def state_name(self) -> str:
        if self.state == ProcessState.RUNNING:
            return "Running"
        if self.state == ProcessState.DYING:
            return "Dying"
        return "Dead"

    @property
    def is_alive(self) -> bool:
        return self.state == ProcessState.RUNNING

    @property
    def is_dead(self) -> bool:
        return self.state == ProcessState.DEAD

    @property
    def counters(self) -> Thread:
        """The live thread, or its last counters once the process is dead."""
        thread = self.thread or self.final_thread
        assert thread is not None
        return thread

    def wait_status(self) -> int:
        """The POSIX wait status: exit code in bits 8-15, or the terminating signal."""
        return self.term_signal if self.term_signal else (self.exit_code & 0xFF) << 8

    def next_fd(self) -> int:
        fd = 0
        while fd in self.fds:
            fd += 1
        return fd
