"""spawn (a fork + exec from the parent's point of view) and fork (SerenityOS Syscalls/fork.cpp,
execve.cpp).  Both take every page slot and commit they need before anything is created, so a
refused call leaves no PID used and no page committed."""
from __future__ import annotations

import errno
import re
from typing import Iterable

from ..anonymous_vm_object import AnonymousVMObject
from ..allocation_strategy import AllocationStrategy
from ..file_description import FdEntry, FileDescription
from ..kernel_error import KernelError
from ..physical_page import PAGE_SIZE, page_count_for
from ..private_inode_vm_object import PrivateInodeVMObject
from ..process import NO_TTY, Process
from ..ref_counted import adopt_ref
from ..region import Region
from . import is_int, kernel_call, syscall
from .access import AccessSyscalls

DEFAULT_STACK_PAGES = 8
STACK_TOP = 0x7FFE00000000


class ForkSyscalls(AccessSyscalls):  # a new process touches its stack: the fault path
    @kernel_call
    def spawn(self, name: str, *, ppid: int | None = None, uid: int = 0, gid: int | None = None,
              cmdline: list[str] | None = None, environ: list[str] | None = None, program: str = "",
              stack_pages: int = DEFAULT_STACK_PAGES, tty: str | None = None) -> int:
        """Create a new user process (a fork+exec from the parent's point of view); returns its PID.

        Sessions as on a real system: a child of a process that has a controlling terminal joins
        its session, process group and terminal (a command run from a shell); any other process
        is a daemon, the leader of a session of its own with no terminal and its standard fds on
        /dev/null.  `tty="tty1"` (or `pts/0`) makes a login session: a session leader whose
        terminal's foreground group is its own; `tty="none"` makes a daemon whatever the parent."""
        if not isinstance(name, str) or not name or len(name) > 255 or any(c in name for c in "\0\n/"):
            raise KernelError(errno.EINVAL, f"bad process name {name!r}")
        if not is_int(uid) or not 0 <= uid < 1 << 32:
            raise KernelError(errno.EINVAL, f"bad uid {uid!r}")
        gid = uid if gid is None else gid
        if not is_int(gid) or not 0 <= gid < 1 << 32:
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

    @syscall
    def fork(self, parent: Process) -> int:
        """Clone `pid`; ENOMEM (and no child at all) if the COW reservations cannot be made."""
        pid = parent.pid
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
