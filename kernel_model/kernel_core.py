"""KernelCore: what every syscall family shares -- the kernel lock, the process table, events
and observers, panic, and the lifecycle of a process from registration to reaping (SerenityOS's
Process.cpp: die, finalize, orphans).

Every syscall runs under one kernel lock, validates all its arguments before it changes anything, and raises
KernelError(errno) on failure -- so a failed call leaves counters and the process table as they
were.  `syscall` and `kernel_call` (syscalls/__init__.py) write that prologue once.  Observers
learn about process registration, finalization and reaping, and subscribers get every event; the
model imports nothing above it.

Threads: the daemon runs everything in one thread (one trio loop: FUSE requests, the clock, the
programs), so no lock there is ever contended.  The model keeps its locks anyway, because it is a
model of a kernel that has them (SerenityOS's big process lock, the MemoryManager's lock, the
thread-safe RefCounted/WeakPtr of the seeds), and its tests drive it from several threads to
show the windows those locks close (#4621).
"""
from __future__ import annotations

import errno
import signal as _signal
import threading
from collections import deque
from typing import Any, Callable, Protocol

from .kernel_error import KernelError
from .load_average import LoadAverage
from .kernel_event import KernelEvent
from .memory_manager import MemoryManager
from .object_registry import ObjectRegistry
from .physical_page import PAGE_SIZE, page_round_up
from .process import Process, ProcessState
from .ram_file_system import RamFileSystem
from .ref_counted import adopt_ref
from .sim_clock import SimClock
from .vm_events import VMEvents

ORPHAN_POLICIES = ("serenity", "linux")


class ProcessObserver(Protocol):
    def on_process_registered(self, process: Process) -> None: ...
    def on_process_finalized(self, process: Process) -> None: ...
    def on_process_reaped(self, process: Process) -> None: ...


_CONTROL = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7f, 0xa0)) if code != 0x09}


def printable(line: str) -> str:
    """A log line as Linux's /dev/kmsg shows one: control characters (an escape sequence in a
    process name, a newline that would forge a second line) as \\xNN, so that reading the log
    in a terminal runs nothing that a user put in a name or a command."""
    return line.translate(_CONTROL)


class KernelCore:
    def __init__(self, memory_bytes: int = 256 << 20, *, orphan_policy: str = "serenity",
                 clock: SimClock | None = None, files: dict[str, bytes] | None = None,
                 ncpus: int = 2, max_processes: int = 200_000, max_slots: int = 1 << 26,
                 dmesg_lines: int = 2000) -> None:
        if orphan_policy not in ORPHAN_POLICIES:
            raise ValueError(f"orphan policy must be one of {ORPHAN_POLICIES}")
        self.lock = threading.RLock()  # the big kernel lock: every syscall and every snapshot
        self.clock = clock or SimClock()
        self.orphan_policy = orphan_policy
        self.ncpus = ncpus
        self.max_processes = max_processes
        self.registry = ObjectRegistry()
        self._subscribers: list[Callable[[KernelEvent], None]] = []
        self._observers: list[ProcessObserver] = []
        self._event_seq = 0
        self.panicked = ""
        # Bumped by every change of kernel state; procfs reuses a generated file while it is equal.
        self.version = 0
        self.dmesg: deque[str] = deque(maxlen=dmesg_lines)
        self.mm = MemoryManager(page_round_up(memory_bytes) // PAGE_SIZE, self.registry, self._mm_event, max_slots)
        # Address-space limits: the model keeps one slot per mapped page, so an unbounded mapping
        # (even MAP_NORESERVE) would cost the *host* memory.  Beyond them mmap answers ENOMEM,
        # as SerenityOS does when no address range is left.
        self.max_mapping = max(4 * self.mm.total * PAGE_SIZE, 1 << 30)
        self.max_virtual_per_process = 4 * self.max_mapping
        self.files = RamFileSystem(self.registry, files)
        self.processes: dict[int, Process] = {}   # raw, like g_processes: not a strong reference
        self._next_pid = 1
        self.total_processes_created = 0
        self.busy: set[int] = set()               # PIDs with cpu_load > 0 (tick visits only these)
        self.total_time = 0                       # scheduler time over all CPUs, ns
        self.total_time_kernel = 0
        self.idle_time = 0
        self.load = LoadAverage()                 # /proc/loadavg: decays at 5 s samples of the clock
        self.vm_events = VMEvents()               # /proc/vmstat: memory events since boot
        self.syslog_seq = 0                       # /proc/kmsg: lines written to dmesg so far
        self.syslog_read_seq = 0                  # /proc/kmsg: lines a reader has consumed
        self.colonel = Process(self.registry, 0, 0, "colonel", kernel=True)
        self.colonel.lifetime_ref = adopt_ref(self.colonel, "kernel (the colonel never dies)")
        self.colonel.registered = True  # the kernel itself: never in the process table
        self.colonel.thread.state = "Running"  # type: ignore[union-attr]
        self._log(f"procsim kernel: {self.mm.total} physical pages, orphan policy {orphan_policy}")

    # ------------------------------------------------------------------------------------------
    # observers and events
    # ------------------------------------------------------------------------------------------
    def add_observer(self, observer: ProcessObserver) -> None:
        with self.lock:
            self._observers.append(observer)

    def subscribe(self, callback: Callable[[KernelEvent], None]) -> Callable[[], None]:
        """Call `callback` for every event; returns the function that unsubscribes."""
        with self.lock:
            self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def emit(self, kind: str, **fields: Any) -> None:
        self._event_seq += 1
        self.version += 1
        if self._subscribers:
            event = KernelEvent(self._event_seq, self.clock.now_ns(), kind, fields)
            for callback in list(self._subscribers):
                callback(event)

    def _mm_event(self, kind: str, **fields: Any) -> None:
        if kind == "purge":
            self.vm_events.pgpurged += fields["pages"]
            self._log(f"MM: purged {fields['pages']} pages of {fields['object']} ({fields['reason']})")
        self.emit(kind, **fields)

    def _log(self, line: str) -> None:
        self.version += 1
        self.dmesg.append(f"[{self.clock.seconds():12.6f}] {printable(line)}")
        self.syslog_seq += 1

    def log(self, line: str) -> None:
        """Write a line to the kernel log (dmesg), e.g. from the simulation runner."""
        with self.lock:
            self._log(line)

    def syslog_read(self) -> list[str]:
        """The log lines no reader has consumed yet, consumed now (syslog(SYSLOG_ACTION_READ),
        what /proc/kmsg reads): a reader that fell behind the ring starts at its oldest line."""
        with self.lock:
            unread = min(self.syslog_seq - self.syslog_read_seq, len(self.dmesg))
            lines = list(self.dmesg)[len(self.dmesg) - unread:] if unread else []
            if unread:
                self.version += 1
            self.syslog_read_seq = self.syslog_seq
            return lines

    # ------------------------------------------------------------------------------------------
    # panic
    # ------------------------------------------------------------------------------------------
    def panic(self, report: str) -> None:
        """Stop the simulated machine: the report goes to dmesg and every later syscall fails
        with EIO.  Reading /proc still works, so the report can be read."""
        with self.lock:
            if self.panicked:
                return
            self.panicked = report
            for line in report.splitlines():
                self._log(f"KERNEL PANIC: {line}")
            self.emit("panic", report=report)

    def _check_panic(self) -> None:
        if self.panicked:
            raise KernelError(errno.EIO, "the kernel has panicked (see dmesg)")

    # ------------------------------------------------------------------------------------------
    # lookups
    # ------------------------------------------------------------------------------------------
    def process(self, pid: int) -> Process | None:
        """The process with `pid` (alive, dying or a zombie), or None."""
        return self.colonel if pid == 0 else self.processes.get(pid)

    def _running(self, pid: int) -> Process:
        if not is_int(pid) or pid < 0:
            raise KernelError(errno.EINVAL, f"bad pid {pid!r}")
        process = self.processes.get(pid)
        if process is None or process.state != ProcessState.RUNNING:
            raise KernelError(errno.ESRCH, f"no running process {pid}")
        return process

    @property
    def next_pid(self) -> int:
        return self._next_pid

    def runnable(self) -> int:
        """Processes in state R: they want the CPU and are not stopped (loadavg's active count)."""
        return sum(1 for p in self.busy if not self.processes[p].stopped)

    def was_allocated(self, pid: int) -> bool:
        """Whether `pid` ever named a process (PIDs are never reused)."""
        return 0 < pid < self._next_pid

    def zombies(self) -> list[Process]:
        """Dead processes still listed: zombies waiting for a parent, and any leaked ones."""
        return [p for p in self.processes.values() if p.state == ProcessState.DEAD]

    def uptime_seconds(self) -> float:
        return self.clock.seconds()

    # ------------------------------------------------------------------------------------------
    # the lifecycle: registered, dying, dead (a zombie), reaped
    # ------------------------------------------------------------------------------------------
    def _allocate_pid(self) -> int:
        pid = self._next_pid
        self._next_pid += 1
        self.total_processes_created += 1
        return pid

    def _register(self, process: Process) -> None:
        process.registered = True
        process.on_destroyed = self._process_destroyed
        process.lifetime_ref = adopt_ref(process, "own lifetime (released at finalize)")
        process.thread_ref = process.ref("main thread")
        self.processes[process.pid] = process
        parent = self.processes.get(process.ppid)
        if parent is not None:
            parent.children.add(process.pid)
        for observer in self._observers:
            observer.on_process_registered(process)

    def _die(self, process: Process, code: int, sig: int, reason: str) -> None:
        if process.state != ProcessState.RUNNING:
            return
        process.state = ProcessState.DYING
        process.exit_code, process.term_signal = code, sig
        self.emit("exit", pid=process.pid, code=code, signal=sig, reason=reason)
        self._finalize(process)

    def _finalize(self, process: Process) -> None:
        keep = process.ref("finalize in progress")
        try:
            pid = process.pid
            self.busy.discard(pid)
            for entry in process.fds.values():
                entry.description_ref.release()
            process.fds.clear()
            process.space.remove_all()
            for observer in self._observers:
                observer.on_process_finalized(process)
            process.state = ProcessState.DEAD
            process.dead_time = self.clock.now_ns()
            thread = process.thread
            assert thread is not None
            thread.state = "Dead"
            process.final_thread, process.thread = thread, None
            parent = self.processes.get(process.ppid)
            if parent is not None:
                parent.children.discard(pid)
                parent.dead_children_time_user += thread.time_user
                parent.dead_children_time_kernel += thread.time_kernel
            self._handle_orphans(process)
            if parent is not None and parent.state == ProcessState.RUNNING:
                parent.wait_list[pid] = process.ref(f"wait list of PID {parent.pid} ({parent.name})")
                self.emit("zombie", pid=pid, parent=parent.pid)
            else:
                self.emit("reap", pid=pid, by="kernel", reason="orphan (no living parent to wait)")
                self._notify_reaped(process)
            assert process.thread_ref is not None and process.lifetime_ref is not None
            process.thread_ref.release()
            process.lifetime_ref.release()
        finally:
            keep.release()

    def _handle_orphans(self, process: Process) -> None:
        """Children and unreaped zombies of a dying process, by the orphan policy chosen at boot."""
        init = self.processes.get(1)
        adopt = self.orphan_policy == "linux" and init is not None and init is not process and init.is_alive
        for child_pid in sorted(process.children):
            child = self.processes[child_pid]
            if adopt:
                assert init is not None
                child.reparented_from = child.ppid
                child.ppid = 1
                init.children.add(child_pid)
                self.emit("reparent", pid=child_pid, old_parent=process.pid, new_parent=1)
        process.children.clear()
        for zombie_pid, ref in list(process.wait_list.items()):
            zombie = ref.get()
            if adopt:
                assert init is not None
                zombie.reparented_from = zombie.ppid
                zombie.ppid = 1
                init.wait_list[zombie_pid] = zombie.ref(f"wait list of PID 1 ({init.name})")
                self.emit("reparent", pid=zombie_pid, old_parent=process.pid, new_parent=1)
                ref.release()
            else:
                self.emit("reap", pid=zombie_pid, by="kernel", reason=f"parent {process.pid} died")
                ref.release()
                self._notify_reaped(zombie)
        process.wait_list.clear()

    def _notify_reaped(self, process: Process) -> None:
        """Nothing in the kernel waits for it any more: observers let go of it too."""
        process.reaped = True
        for observer in self._observers:
            observer.on_process_reaped(process)

    def _process_destroyed(self, process: Process) -> None:
        # Like ~Process in SerenityOS: the process list entry goes when the object dies.  A dead
        # process something still holds (a leak) therefore stays listed, as it did in 2021-06.
        if self.processes.get(process.pid) is process:
            del self.processes[process.pid]

    # ------------------------------------------------------------------------------------------
    # invariants
    # ------------------------------------------------------------------------------------------
    def check_invariants(self) -> None:
        """Page conservation plus the process-table rules; raises AssertionError."""
        with self.lock:
            self.mm.check_invariants()
            for pid, process in self.processes.items():
                assert not process.is_destroyed, f"destroyed process {pid} still in the table"
                if process.state == ProcessState.DEAD:
                    assert not process.space.regions, f"dead process {pid} still maps memory"
                    assert process.ref_count >= 1
                for child in process.children:
                    assert self.processes[child].ppid == pid, f"child {child} of {pid} has another parent"
            for process in self.registry.of_kind(Process):
                # a Process that never entered the table is what a half-done spawn or fork leaves
                assert process.registered, f"process {process.pid} ({process.name}) alive but never registered"

    def shutdown(self) -> None:
        """Kill every process, reap them all and release the file table (leak checks use this)."""
        with self.lock:
            for pid in sorted(self.processes, reverse=True):
                process = self.processes.get(pid)
                if process is not None and process.is_alive:
                    self._die(process, 0, _signal.SIGKILL, "shutdown")
            for pid in sorted(self.processes):
                process = self.processes.get(pid)
                if process is None:
                    continue
                parent = self.processes.get(process.ppid)
                if parent is not None and pid in parent.wait_list:
                    ref = parent.wait_list.pop(pid)
                    ref.release()
                    self._notify_reaped(process)


def is_int(value: object) -> bool:
    """Integers (IntEnum members included), but not bools: validation for syscall arguments."""
    return isinstance(value, int) and not isinstance(value, bool)
