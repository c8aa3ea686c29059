"""Kernel: the facade that owns the simulated machine and offers its syscalls.

Every syscall runs under one kernel lock (the simulation thread and the FUSE threads call in
concurrently), validates all its arguments before it changes anything, and raises
KernelError(errno) on failure -- so a failed call leaves counters and the process table as they
were.  Observers learn about process registration, finalization and reaping, and subscribers get
every event; the model imports nothing above it.

Deviations from SerenityOS, all chosen so a failed call changes nothing (docs/kernel_model.md):
PIDs are allocated only once a spawn/fork is certain to succeed, and fork checks the whole commit
it needs before cloning any region.
"""
from __future__ import annotations

import errno
import re
import signal as _signal
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol

from . import mman
from .allocation_strategy import AllocationStrategy
from .anonymous_vm_object import AnonymousVMObject
from .file_description import FdEntry, FileDescription
from .kernel_error import KernelError
from .kernel_event import KernelEvent
from .memory_manager import MemoryManager
from .object_registry import ObjectRegistry
from .page_fault_response import PageFaultResponse
from .physical_page import PAGE_SIZE, page_count_for, page_round_up
from .private_inode_vm_object import PrivateInodeVMObject
from .process import NO_TTY, Process, ProcessState
from .ram_file_system import RamFileSystem
from .ref_counted import RefPtr, adopt_ref
from .region import FaultCounts, Region
from .shared_inode_vm_object import SharedInodeVMObject
from .sim_clock import SimClock

ORPHAN_POLICIES = ("serenity", "linux")
MAX_SIZE = 1 << 47
DEFAULT_STACK_PAGES = 8
STACK_TOP = 0x7FFE00000000
SIGNAL_MAX = 64
_IGNORED_BY_DEFAULT = {_signal.SIGCHLD, _signal.SIGURG, _signal.SIGWINCH}
_STOP_SIGNALS = {_signal.SIGSTOP, _signal.SIGTSTP, _signal.SIGTTIN, _signal.SIGTTOU}


class ProcessObserver(Protocol):
    def on_process_registered(self, process: Process) -> None: ...
    def on_process_finalized(self, process: Process) -> None: ...
    def on_process_reaped(self, process: Process) -> None: ...


@dataclass(frozen=True)
class AccessResult:
    """What a read/write touch of memory did."""

    pages: int
    zero_faults: int
    cow_faults: int
    inode_faults: int
    killed: bool
    signal: int = 0
    reason: str = ""


class Kernel:
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
            self._log(f"MM: purged {fields['pages']} pages of {fields['object']} ({fields['reason']})")
        self.emit(kind, **fields)

    def _log(self, line: str) -> None:
        self.version += 1
        self.dmesg.append(f"[{self.clock.seconds():12.6f}] {line}")

    def log(self, line: str) -> None:
        """Write a line to the kernel log (dmesg), e.g. from the simulation runner."""
        with self.lock:
            self._log(line)

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
        if not _is_int(pid) or pid < 0:
            raise KernelError(errno.EINVAL, f"bad pid {pid!r}")
        process = self.processes.get(pid)
        if process is None or process.state != ProcessState.RUNNING:
            raise KernelError(errno.ESRCH, f"no running process {pid}")
        return process

    @property
    def next_pid(self) -> int:
        return self._next_pid

    def was_allocated(self, pid: int) -> bool:
        """Whether `pid` ever named a process (PIDs are never reused)."""
        return 0 < pid < self._next_pid

    def zombies(self) -> list[Process]:
        """Dead processes still listed: zombies waiting for a parent, and any leaked ones."""
        return [p for p in self.processes.values() if p.state == ProcessState.DEAD]

    def uptime_seconds(self) -> float:
        return self.clock.seconds()

    # ------------------------------------------------------------------------------------------
    # process creation
    # ------------------------------------------------------------------------------------------
    def spawn(self, name: str, *, ppid: int | None = None, uid: int = 0, gid: int | None = None,
              cmdline: list[str] | None = None, environ: list[str] | None = None, program: str = "",
              stack_pages: int = DEFAULT_STACK_PAGES, tty: str | None = None) -> int:
        """Create a new user process (a fork+exec from the parent's point of view); returns its PID.

        Sessions as on a real system: a child of a process that has a controlling terminal joins
        its session, process group and terminal (a command run from a shell); any other process
        is a daemon, the leader of a session of its own with no terminal and its standard fds on
        /dev/null.  `tty="tty1"` (or `pts/0`) makes a login session: a session leader whose
        terminal's foreground group is its own; `tty="none"` makes a daemon whatever the parent."""
        with self.lock:
            self._check_panic()
            if not isinstance(name, str) or not name or len(name) > 255 or any(c in name for c in "\0\n/"):
                raise KernelError(errno.EINVAL, f"bad process name {name!r}")
            if not _is_int(uid) or not 0 <= uid < 1 << 32:
                raise KernelError(errno.EINVAL, f"bad uid {uid!r}")
            gid = uid if gid is None else gid
            if not _is_int(gid) or not 0 <= gid < 1 << 32:
                raise KernelError(errno.EINVAL, f"bad gid {gid!r}")
            if cmdline is not None and any("\0" in a for a in cmdline):
                raise KernelError(errno.EINVAL, "NUL in cmdline")
            if ppid is None:
                init = self.processes.get(1)
                ppid = 1 if init is not None and init.is_alive else 0
            elif ppid != 0:
                self._running(ppid)
            if len(self.processes) >= self.max_processes:
                raise KernelError(errno.EAGAIN, f"process limit {self.max_processes} reached")
            if not 0 < stack_pages <= 1 << 20:
                raise KernelError(errno.EINVAL, "bad stack size")
            terminal = _terminal_path(tty)
            parent = self.processes.get(ppid)
            exe = self.files.find(f"/bin/{name}")
            # All-or-nothing: every check that can fail runs before anything is taken (the text's
            # page slots too, or a refused text would leave a PID used and a stack committed).
            self.mm.check_slots(stack_pages + (max(1, page_count_for(exe.size)) if exe is not None else 0))
            stack = AnonymousVMObject.try_create_with_size(self.mm, stack_pages * PAGE_SIZE,
                                                           AllocationStrategy.RESERVE)
            pid = self._allocate_pid()
            process = Process(self.registry, pid, ppid, name, uid=uid, gid=gid, cmdline=cmdline,
                              environ=environ, start_time=self.clock.now_ns())
            stack_ref = adopt_ref(stack, f"stack region of PID {pid}")
            stack_base = process.space.allocate_range(stack.size, STACK_TOP - stack.size)
            process.space.add(Region(stack_base, stack.size, stack_ref, stack=True, mmap=False, name="Stack"))
            if exe is not None:
                process.executable = exe.path
                text_ref = adopt_ref(PrivateInodeVMObject(self.mm, exe), f"text region of PID {pid}")
                base = process.space.allocate_range(text_ref.get().size)
                process.space.add(Region(base, text_ref.get().size, text_ref, writable=False,
                                         executable=True, mmap=False, name=f"{name}: .text"))
            if terminal is None and parent is not None and parent.tty != NO_TTY:
                process.pgid, process.sid, process.tty = parent.pgid, parent.sid, parent.tty
            else:
                process.tty = terminal or NO_TTY
            if process.tty == NO_TTY:
                stdio = FileDescription(self.registry, "NullDevice", "/dev/null", seekable=False)
            else:
                stdio = FileDescription(self.registry, "TTY", process.tty, seekable=False)
            process.fds[0] = FdEntry(adopt_ref(stdio, f"fd 0 of PID {pid}"))
            for fd in (1, 2):
                process.fds[fd] = FdEntry(stdio.ref(f"fd {fd} of PID {pid}"))
            process.program = program
            self._register(process)
            self.emit("spawn", pid=pid, ppid=ppid, name=name, uid=uid, program=program)
            # A new process touches the top of its stack, as a real one does on its first call.
            self._access(process, stack_base + stack.size - PAGE_SIZE, PAGE_SIZE, True)
            return pid

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

    def fork(self, pid: int) -> int:
        """Clone `pid`; ENOMEM (and no child at all) if the COW reservations cannot be made."""
        with self.lock:
            self._check_panic()
            parent = self._running(pid)
            if len(self.processes) >= self.max_processes:
                raise KernelError(errno.EAGAIN, f"process limit {self.max_processes} reached")
            cloned = [r.vmobject for r in self._regions_cloned_by_fork(parent)]
            self.mm.check_slots(sum(v.page_count for v in cloned))
            needed = sum(v.page_count for v in cloned if isinstance(v, AnonymousVMObject)
                         and not (v.is_purgeable and v.is_volatile))
            if needed > self.mm.uncommitted:
                self.emit("commit_failure", pid=pid, pages=needed, uncommitted=self.mm.uncommitted)
                self._log(f"fork of PID {pid} failed: needs {needed} pages, {self.mm.uncommitted} uncommitted")
                raise KernelError(errno.ENOMEM, f"fork needs {needed} committed pages")
            child_pid = self._allocate_pid()
            child = Process(self.registry, child_pid, parent.pid, parent.name, uid=parent.uid,
                            gid=parent.gid, cmdline=list(parent.cmdline), environ=list(parent.environ),
                            executable=parent.executable, cwd=parent.cwd, start_time=self.clock.now_ns())
            child.pgid, child.sid, child.tty = parent.pgid, parent.sid, parent.tty
            child.pledge, child.veil, child.unveiled = parent.pledge, parent.veil, list(parent.unveiled)
            child.euid, child.egid = parent.euid, parent.egid
            child.program = parent.program
            for region in parent.space.regions:
                holder = f"{region.describe()} of PID {child_pid}"
                if region.shared:
                    ref = region.vmobject_ref.clone(holder)
                else:
                    ref = adopt_ref(region.vmobject.try_clone(), holder)  # type: ignore[attr-defined]
                child.space.add(Region(region.base, region.size, ref, offset_pages=region.offset_pages,
                                       readable=region.readable, writable=region.writable,
                                       executable=region.executable, shared=region.shared,
                                       stack=region.stack, syscall=region.syscall, mmap=region.mmap,
                                       name=region.name))
            for fd, entry in parent.fds.items():
                child.fds[fd] = FdEntry(entry.description_ref.clone(f"fd {fd} of PID {child_pid}"), entry.cloexec)
            self._register(child)
            self.emit("fork", pid=child_pid, parent=pid, name=child.name)
            return child_pid

    @staticmethod
    def _regions_cloned_by_fork(process: Process) -> Iterable[Region]:
        # Shared regions share their object; every other region's object is cloned.  Objects that
        # several regions map (after a partial munmap) are cloned once per region, as in SerenityOS.
        return (r for r in process.space.regions if not r.shared)

    # ------------------------------------------------------------------------------------------
    # death
    # ------------------------------------------------------------------------------------------
    def exit(self, pid: int, code: int = 0) -> None:
        with self.lock:
            self._check_panic()
            process = self._running(pid)
            if not _is_int(code) or not 0 <= code <= 255:
                raise KernelError(errno.EINVAL, f"exit code must be 0..255, not {code!r}")
            self._die(process, code, 0, f"exit({code})")

    def kill(self, pid: int, sig: int) -> None:
        with self.lock:
            self._check_panic()
            if not _is_int(sig) or not 0 <= sig <= SIGNAL_MAX:
                raise KernelError(errno.EINVAL, f"bad signal {sig!r}")
            if not _is_int(pid) or pid < 0:
                raise KernelError(errno.EINVAL, f"bad pid {pid!r}")
            if pid == 0:
                raise KernelError(errno.EPERM, "the colonel cannot be signalled")
            process = self.processes.get(pid)
            if process is None:
                raise KernelError(errno.ESRCH, f"no process {pid}")
            sig = int(sig)
            if sig == 0 or process.state != ProcessState.RUNNING or sig in _IGNORED_BY_DEFAULT:
                return
            if sig in _STOP_SIGNALS:
                self._set_stopped(process, True)
            elif sig == _signal.SIGCONT:
                self._set_stopped(process, False)
            else:
                self.emit("signal", pid=pid, signal=sig)
                self._die(process, 0, sig, f"signal {_signal_name(sig)}")

    def _set_stopped(self, process: Process, stopped: bool) -> None:
        if process.stopped == stopped:
            return
        process.stopped = stopped
        assert process.thread is not None
        process.thread.state = "Stopped" if stopped else ("Running" if process.cpu_load > 0 else "Blocked")
        self.emit("stop" if stopped else "continue", pid=process.pid)

    def crash(self, pid: int, sig: int = _signal.SIGSEGV, reason: str = "crash") -> None:
        """Kill `pid` as a fault would (used by the runner when a program raises)."""
        with self.lock:
            self._check_panic()
            process = self._running(pid)
            self._log(f"Process {process.name}({pid}) crashed: {reason}")
            self._die(process, 0, sig, reason)

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

    def waitpid(self, pid: int, child: int = -1, nohang: bool = False) -> tuple[int, int] | None:
        """Reap a dead child of `pid`: (child pid, wait status), or None if `nohang` and none is ready.

        ECHILD if `pid` has no such child; EAGAIN instead of blocking when nothing is ready and
        `nohang` is not set (the simulation runner waits on events instead of blocking a caller).
        """
        with self.lock:
            self._check_panic()
            parent = self._running(pid)
            if not _is_int(child) or child < -1 or child == 0:
                raise KernelError(errno.EINVAL, f"bad child pid {child!r}")
            if child == -1:
                ready = next(iter(parent.wait_list), None)
                if ready is None:
                    if not parent.children:
                        raise KernelError(errno.ECHILD, f"PID {pid} has no children")
                    return self._not_ready(nohang, pid)
            else:
                if child not in parent.wait_list:
                    if child in parent.children:
                        return self._not_ready(nohang, pid)
                    raise KernelError(errno.ECHILD, f"PID {child} is not a child of PID {pid}")
                ready = child
            ref = parent.wait_list.pop(ready)
            zombie = ref.get()
            status = zombie.wait_status()
            self.emit("reap", pid=ready, by=pid, status=status)
            ref.release()
            self._notify_reaped(zombie)
            return ready, status

    @staticmethod
    def _not_ready(nohang: bool, pid: int) -> None:
        if nohang:
            return None
        raise KernelError(errno.EAGAIN, f"no child of PID {pid} has exited yet (would block)")

    # ------------------------------------------------------------------------------------------
    # memory syscalls
    # ------------------------------------------------------------------------------------------
    def mmap(self, pid: int, size: int, prot: int = mman.PROT_READ | mman.PROT_WRITE,
             flags: int = mman.MAP_PRIVATE | mman.MAP_ANONYMOUS, *, fd: int = -1, offset: int = 0,
             addr: int = 0, name: str = "") -> int:
        """sys$mmap with SerenityOS's validation order; returns the mapped address."""
        with self.lock:
            self._check_panic()
            process = self._running(pid)
            for value, what in ((size, "size"), (prot, "prot"), (flags, "flags"), (offset, "offset"),
                                (addr, "address"), (fd, "fd")):
                if not _is_int(value):
                    raise KernelError(errno.EINVAL, f"bad {what} {value!r}")
            if size <= 0 or size > MAX_SIZE:
                raise KernelError(errno.EINVAL, f"bad size {size}")
            if addr % PAGE_SIZE or addr < 0:
                raise KernelError(errno.EINVAL, "address not page aligned")
            if prot & ~7 or flags & ~0x3FF:
                raise KernelError(errno.EINVAL, "unknown prot or flags bits")
            shared, private = bool(flags & mman.MAP_SHARED), bool(flags & mman.MAP_PRIVATE)
            if shared == private:
                raise KernelError(errno.EINVAL, "exactly one of MAP_SHARED and MAP_PRIVATE")
            if flags & mman.MAP_FIXED and flags & mman.MAP_RANDOMIZED:
                raise KernelError(errno.EINVAL, "MAP_FIXED with MAP_RANDOMIZED")
            anonymous = bool(flags & mman.MAP_ANONYMOUS)
            readable, writable, executable = (bool(prot & b) for b in (mman.PROT_READ, mman.PROT_WRITE, mman.PROT_EXEC))
            if anonymous and executable:
                raise KernelError(errno.EINVAL, "anonymous executable mapping")
            if writable and executable:
                raise KernelError(errno.EINVAL, "W^X")
            if flags & mman.MAP_STACK and (prot != mman.PROT_READ | mman.PROT_WRITE or not (private and anonymous)):
                raise KernelError(errno.EINVAL, "bad MAP_STACK mapping")
            if len(name) > 256 or "\0" in name or "\n" in name:
                raise KernelError(errno.EINVAL, "bad region name")
            size = page_round_up(size)
            if size > self.max_mapping or process.space.virtual_size() + size > self.max_virtual_per_process:
                raise KernelError(errno.ENOMEM, f"mapping of {size} bytes exceeds the simulated address-space limit")
            base = process.space.allocate_range(size, addr, bool(flags & mman.MAP_FIXED))
            if anonymous:
                strategy = AllocationStrategy.NONE if flags & mman.MAP_NORESERVE else AllocationStrategy.RESERVE
                vmobject = AnonymousVMObject.try_create_with_size(self.mm, size, strategy,
                                                                  purgeable=bool(flags & mman.MAP_PURGEABLE))
                ref: RefPtr = adopt_ref(vmobject, f"mmap region of PID {pid}")
                label = name or ("purgeable" if vmobject.is_purgeable else "anonymous")
            else:
                ref, label = self._file_mapping(process, fd, offset, size, shared, writable)
                label = name or label
            process.space.add(Region(base, size, ref, offset_pages=offset // PAGE_SIZE, readable=readable,
                                     writable=writable, executable=executable, shared=shared,
                                     stack=bool(flags & mman.MAP_STACK), name=label))
            process.counters.syscall_count += 1
            self.emit("mmap", pid=pid, address=base, size=size, shared=shared, name=label,
                      purgeable=bool(anonymous and flags & mman.MAP_PURGEABLE),
                      noreserve=bool(anonymous and flags & mman.MAP_NORESERVE))
            return base

    def _file_mapping(self, process: Process, fd: int, offset: int, size: int, shared: bool,
                      writable: bool) -> tuple[RefPtr, str]:
        if offset < 0 or offset % PAGE_SIZE:
            raise KernelError(errno.EINVAL, "bad file offset")
        entry = process.fds.get(fd)
        if entry is None:
            raise KernelError(errno.EBADF, f"fd {fd} is not open")
        description = entry.description
        holder = f"mmap region of PID {process.pid}"
        if description.vmobject_ref is not None:  # AnonymousFile: both kinds map the same object
            vmobject = description.vmobject_ref.get()
            if offset != 0 or size != vmobject.size:
                raise KernelError(errno.EINVAL, "anonymous file mappings cover the whole object")
            return vmobject.ref(holder), f"anon_create fd {fd}"
        if description.inode_ref is None:
            raise KernelError(errno.ENODEV, f"{description.absolute_path} cannot be mapped")
        inode = description.inode_ref.get()
        if inode.is_directory:
            raise KernelError(errno.ENODEV, "cannot map a directory")
        if not description.readable:
            raise KernelError(errno.EACCES, "fd not readable")
        if shared and writable and not description.writable:
            raise KernelError(errno.EACCES, "shared writable mapping of a read-only fd")
        if shared:
            return SharedInodeVMObject.try_create_with_inode(self.mm, inode, holder), inode.path
        return adopt_ref(PrivateInodeVMObject(self.mm, inode), holder), inode.path

    def munmap(self, pid: int, addr: int, size: int) -> None:
        with self.lock:
            self._check_panic()
            process = self._running(pid)
            if not _is_int(addr) or not _is_int(size) or size <= 0 or size > MAX_SIZE \
                    or addr < 0 or addr % PAGE_SIZE:
                raise KernelError(errno.EINVAL, "bad munmap range")
            size = page_round_up(size)
            regions = process.space.intersecting(addr, size)
            if not regions:
                raise KernelError(errno.EINVAL, f"nothing mapped at {addr:#x}+{size:#x}")
            for region in regions:
                if addr <= region.base and region.end <= addr + size:
                    process.space.remove(region)
                else:
                    process.space.split_out(region, addr, size)
            process.counters.syscall_count += 1
            self.emit("munmap", pid=pid, address=addr, size=size)

    def madvise(self, pid: int, addr: int, size: int, advice: int) -> int:
        """MADV_SET_VOLATILE / MADV_SET_NONVOLATILE on one whole purgeable region; 1 if it had been purged."""
        with self.lock:
            self._check_panic()
            process = self._running(pid)
            if not _is_int(addr) or not _is_int(size) or not _is_int(advice):
                raise KernelError(errno.EINVAL, "bad madvise arguments")
            if size <= 0 or addr < 0 or addr % PAGE_SIZE or size > MAX_SIZE:
                raise KernelError(errno.EINVAL, "bad madvise range")
            region = process.space.find_exact(addr, page_round_up(size))
            if region is None:
                raise KernelError(errno.EINVAL, "range does not match one region exactly")
            if not region.mmap:
                raise KernelError(errno.EPERM, "region was not created by mmap")
            both = mman.MADV_SET_VOLATILE | mman.MADV_SET_NONVOLATILE
            if advice & both == both:
                raise KernelError(errno.EINVAL, "both volatile and non-volatile")
            if advice not in (mman.MADV_SET_VOLATILE, mman.MADV_SET_NONVOLATILE):
                raise KernelError(errno.EINVAL, f"unknown advice {advice:#x}")
            vmobject = region.vmobject
            if not isinstance(vmobject, AnonymousVMObject) or not vmobject.is_purgeable:
                raise KernelError(errno.EINVAL, "memory is not purgeable")
            volatile = advice == mman.MADV_SET_VOLATILE
            was_purged = vmobject.set_volatile(volatile)
            process.counters.syscall_count += 1
            self.emit("madvise", pid=pid, address=addr, volatile=volatile, was_purged=was_purged)
            return 1 if was_purged else 0

    def anon_create(self, pid: int, size: int, cloexec: bool = False) -> int:
        """A descriptor for a new purgeable, committed anonymous object of `size` bytes."""
        with self.lock:
            self._check_panic()
            process = self._running(pid)
            if not _is_int(size) or size <= 0 or size % PAGE_SIZE or size > MAX_SIZE:
                raise KernelError(errno.EINVAL, f"bad anon_create size {size!r}")
            if size > self.max_mapping:
                raise KernelError(errno.ENOMEM, "anon_create larger than the simulated address-space limit")
            vmobject = AnonymousVMObject.try_create_with_size(self.mm, size, AllocationStrategy.RESERVE,
                                                              purgeable=True)
            fd = process.next_fd()
            creator = adopt_ref(vmobject, "anon_create (transient)")
            description = FileDescription(self.registry, "AnonymousFile", f"anon_create:{fd}", vmobject=vmobject)
            creator.release()
            process.fds[fd] = FdEntry(adopt_ref(description, f"fd {fd} of PID {pid}"), cloexec)
            process.counters.syscall_count += 1
            self.emit("anon_create", pid=pid, fd=fd, size=size)
            return fd

    def open(self, pid: int, path: str, writable: bool = False) -> int:
        """Open a file of the simulated file system (never the host's); returns the fd."""
        with self.lock:
            self._check_panic()
            process = self._running(pid)
            inode = self.files.lookup(path, process.cwd)
            fd = process.next_fd()
            description = FileDescription(self.registry, "InodeFile", inode.path, writable=writable,
                                          seekable=True, inode=inode)
            process.fds[fd] = FdEntry(adopt_ref(description, f"fd {fd} of PID {pid}"))
            process.counters.syscall_count += 1
            self.version += 1
            return fd

    def close(self, pid: int, fd: int) -> None:
        with self.lock:
            self._check_panic()
            process = self._running(pid)
            entry = process.fds.pop(fd, None) if type(fd) is int else None
            if entry is None:
                raise KernelError(errno.EBADF, f"fd {fd!r} is not open")
            entry.description_ref.release()
            self.version += 1

    def access(self, pid: int, addr: int, length: int = PAGE_SIZE, write: bool = False) -> AccessResult:
        """Touch [addr, addr+length): run the fault paths; a fault that fails kills the process."""
        with self.lock:
            self._check_panic()
            process = self._running(pid)
            if not _is_int(addr) or not _is_int(length) or addr < 0 or length <= 0 or length > MAX_SIZE:
                raise KernelError(errno.EINVAL, "bad access range")
            return self._access(process, addr, length, write)

    def _access(self, process: Process, base: int, length: int, write: bool) -> AccessResult:
        faults = FaultCounts()
        first = base - base % PAGE_SIZE
        end = base + length
        address = first
        pages = 0
        response = PageFaultResponse.CONTINUE
        space = process.space
        while address < end:
            region = space.find(address)
            if region is None:
                response = PageFaultResponse.SHOULD_CRASH
                break
            first_page = (address - region.base) // PAGE_SIZE
            count = min(region.page_count - first_page, (page_round_up(end) - address) // PAGE_SIZE)
            response = region.access(first_page, count, write, faults)
            if response is not PageFaultResponse.CONTINUE:
                break
            pages += count
            address += count * PAGE_SIZE
        thread = process.counters
        thread.zero_faults += faults.zero
        thread.cow_faults += faults.cow
        thread.inode_faults += faults.inode
        if faults.total():
            self.emit("fault", pid=process.pid, zero=faults.zero, cow=faults.cow, inode=faults.inode)
        if response is PageFaultResponse.OUT_OF_MEMORY:
            self._log(f"Out of memory, killing: {process.name}({process.pid})")
            self.emit("oom_kill", pid=process.pid, name=process.name, address=address)
            self._die(process, 0, _signal.SIGSEGV, "out of memory")
            return AccessResult(pages, faults.zero, faults.cow, faults.inode, True, _signal.SIGSEGV, "out of memory")
        if response is PageFaultResponse.SHOULD_CRASH:
            kind = "write" if write else "read"
            self._log(f"Page fault: {process.name}({process.pid}) {kind} at {address:#x}: access violation")
            self.emit("crash", pid=process.pid, address=address, access=kind)
            self._die(process, 0, _signal.SIGSEGV, f"segmentation fault ({kind} at {address:#x})")
            return AccessResult(pages, faults.zero, faults.cow, faults.inode, True, _signal.SIGSEGV,
                                f"access violation at {address:#x}")
        return AccessResult(pages, faults.zero, faults.cow, faults.inode, False)

    def purge(self) -> int:
        """sys$purge(PURGE_ALL_VOLATILE): pages purged."""
        with self.lock:
            self._check_panic()
            return self.mm.purge_all_volatile()

    # ------------------------------------------------------------------------------------------
    # time
    # ------------------------------------------------------------------------------------------
    def set_cpu_load(self, pid: int, load: float) -> None:
        """How much of one CPU the process wants (0 = sleeping); tick() charges it."""
        with self.lock:
            self._check_panic()
            process = self._running(pid)
            if not 0.0 <= load <= 1.0:
                raise KernelError(errno.EINVAL, "load must be between 0 and 1")
            process.cpu_load = load
            self.version += 1
            thread = process.thread
            assert thread is not None
            if load > 0:
                self.busy.add(pid)
                if not process.stopped:
                    thread.state, thread.blocker = "Running", ""
            else:
                self.busy.discard(pid)
                if not process.stopped:
                    thread.state, thread.blocker = "Blocked", "Sleeping"

    def tick(self, seconds: float) -> None:
        """Advance simulated time and charge CPU time to the processes that want it."""
        with self.lock:
            self._check_panic()
            if not 0 <= seconds <= 10 * 365 * 86400:
                raise KernelError(errno.EINVAL, f"bad tick {seconds!r}")
            dt = int(seconds * 1e9)
            self.clock.advance(dt)
            self.version += 1
            capacity = dt * self.ncpus
            demand = sum(self.processes[p].cpu_load for p in self.busy if not self.processes[p].stopped)
            scale = min(1.0, self.ncpus / demand) if demand else 0.0
            used = 0
            for pid in sorted(self.busy):
                process = self.processes[pid]
                if process.stopped:
                    continue
                share = int(dt * process.cpu_load * scale)
                thread = process.counters
                thread.time_kernel += share // 10
                thread.time_user += share - share // 10
                thread.times_scheduled += 1
                used += share
            self.total_time += capacity
            self.total_time_kernel += used // 10
            self.idle_time += capacity - used
            colonel = self.colonel.counters
            colonel.time_kernel += capacity - used
            colonel.times_scheduled += 1

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


def _signal_name(sig: int) -> str:
    try:
        return _signal.Signals(sig).name
    except ValueError:
        return str(sig)


def _terminal_path(tty: str | None) -> str | None:
    """The device a `tty=` names (`tty1`, `/dev/pts/0`, `none`), or None for the default."""
    if tty is None:
        return None
    if tty == "none":
        return NO_TTY
    name = tty.removeprefix("/dev/")
    if not re.fullmatch(r"(tty|pts/)[0-9]{1,3}", name):
        raise KernelError(errno.EINVAL, f"bad tty {tty!r} (ttyN, pts/N or none)")
    return f"/dev/{name}"


def _is_int(value: object) -> bool:
    """Integers (IntEnum members included), but not bools: validation for syscall arguments."""
    return isinstance(value, int) and not isinstance(value, bool)
