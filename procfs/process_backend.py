"""Per-process ProcFS backend: `/PID/` and everything below it (SerenityOS ProcessSpecificExposed.cpp).

Lifetime design of seeds 6a/6b: a ProcessDirectory holds a strong RefPtr to its Process; the
files below it point back with WeakPtrs.  When the process is unregistered, the directory is
*prepared for deletion* -- its Process pointer is cleared -- and unlinked from the root.  Whoever
still holds the directory (an open handle) keeps an orphaned, process-less directory alive, and
every operation through it fails with an errno instead of crashing or showing another process.

What each operation answers once the process is gone depends on the personality chosen at mount
(serenity.md G, linux_procfs.md 4): SerenityOS keeps listing and looking up the children of an
orphaned directory and fails opens with ESRCH and readlinks with EFAULT; Linux fails every lookup
below it with ESRCH and its listing with ENOENT.
"""
from __future__ import annotations

import contextlib
import errno
import functools
import os
from typing import Callable, Iterable

from kernel_model import Kernel, Process, ProcessState
from kernel_model.process import NO_TTY
from kernel_model.object_registry import ObjectRegistry
from kernel_model.physical_page import PAGE_SIZE
from kernel_model.region import Region, RegionUsage
from kernel_model.ref_counted import RefPtr, adopt_ref
from kernel_model.weak_ptr import WeakPtr

from . import process_environment as environment
from .component import DIR, LNK, REG, Caller, Component, Node, ProcFSError, json_bytes
from .global_backend import CLK_TCK, ticks

SERENITY = "serenity"
LINUX = "linux"
PERSONALITIES = (SERENITY, LINUX)
PF_KTHREAD = 0x00200000
PF_RANDOMIZE = 0x00400000
RLIM_INFINITY = 18446744073709551615
PIN_MEMORY = "memory"
PIN_NAMESPACE = "namespace"


_dumps = json_bytes


def _kb(n: int) -> str:
    return f"{n // 1024:>8} kB"


class ProcessView:
    """Formats one process (a live, dying or zombie Process) in both flavours.

    Callers hold the kernel lock, so a view is a consistent snapshot of the process.
    """

    def __init__(self, process: Process, kernel: Kernel | None) -> None:
        self.p = process
        self.kernel = kernel

    @classmethod
    def of(cls, process: Process, kernel: Kernel | None) -> "ProcessView":
        return cls(process, kernel)

    @property
    def zombie(self) -> bool:
        return self.p.state != ProcessState.RUNNING

    # -- shared facts ----------------------------------------------------------------------------
    def linux_state(self) -> tuple[str, str]:
        p = self.p
        if p.state == ProcessState.DEAD:
            return "Z", "Z (zombie)"
        if p.state == ProcessState.DYING:
            return "X", "X (dead)"
        if p.stopped:
            return "T", "T (stopped)"
        if p.cpu_load > 0 or p.is_kernel:
            return "R", "R (running)"
        return "S", "S (sleeping)"

    def comm(self) -> str:
        """The name as the kernel keeps it: 15 bytes (TASK_COMM_LEN), which may cut a character."""
        return self.p.name.encode("utf-8", "surrogateescape")[:15].decode("utf-8", "surrogateescape")

    def tty_nr(self) -> int:
        tty = self.p.tty
        if tty.startswith("/dev/tty") and tty[8:].isdigit():
            return (4 << 8) | int(tty[8:])
        if tty.startswith("/dev/pts/") and tty[9:].isdigit():
            return (136 << 8) | int(tty[9:])
        return 0

    # -- SerenityOS flavour ----------------------------------------------------------------------
    def all_entry(self) -> dict[str, object]:
        p = self.p
        stats = p.space.stats()
        threads = []
        if p.thread is not None:
            t = p.thread
            threads.append({
                "tid": t.tid, "name": t.name, "times_scheduled": t.times_scheduled,
                "time_user": t.time_user, "time_kernel": t.time_kernel, "state": t.state_name,
                "cpu": t.cpu, "priority": t.priority, "syscall_count": t.syscall_count,
                "inode_faults": t.inode_faults, "zero_faults": t.zero_faults, "cow_faults": t.cow_faults,
                "file_read_bytes": t.file_read_bytes, "file_write_bytes": t.file_write_bytes,
                "unix_socket_read_bytes": 0, "unix_socket_write_bytes": 0,
                "ipv4_socket_read_bytes": 0, "ipv4_socket_write_bytes": 0})
        pledge = "" if p.is_kernel else "".join(f"{promise} " for promise in p.pledge.split())
        return {
            "pledge": pledge, "veil": "" if p.is_kernel else p.veil, "pid": p.pid,
            "pgid": 0 if p.tty == NO_TTY else p.sid, "pgp": p.pgid, "sid": p.sid, "uid": p.uid,
            "gid": p.gid, "ppid": p.ppid, "nfds": len(p.fds), "name": p.name, "executable": p.executable,
            "tty": p.tty, "amount_virtual": stats.virtual, "amount_resident": stats.resident,
            "amount_dirty_private": stats.dirty_private, "amount_clean_inode": stats.clean_inode,
            "amount_shared": stats.shared, "amount_purgeable_volatile": stats.purgeable_volatile,
            "amount_purgeable_nonvolatile": stats.purgeable_nonvolatile, "dumpable": p.dumpable,
            "kernel": p.is_kernel, "threads": threads,
        }

    def vm_json(self) -> bytes:
        regions = []
        for r in self.p.space.regions:
            backing = r.backing()
            entry: dict[str, object] = {"readable": r.readable, "writable": r.writable, "executable": r.executable,
                           "stack": r.stack, "shared": r.shared, "syscall": r.syscall,
                           # quirk kept from SerenityOS: "purgeable" is true for every anonymous object
                           "purgeable": backing.anonymous}
            if backing.anonymous:
                entry["volatile"] = backing.volatile
            entry.update({"cacheable": r.cacheable, "address": r.base, "size": r.size,
                          "amount_resident": r.amount_resident(), "amount_dirty": r.amount_dirty(),
                          "cow_pages": r.cow_pages(), "name": r.name, "vmobject": backing.vmobject,
                          "pagemap": r.pagemap()})
            regions.append(entry)
        return _dumps(regions)

    def fds_json(self) -> bytes:
        fds = []
        for fd, entry in sorted(self.p.fds.items()):
            d = entry.description
            fds.append({"fd": fd, "absolute_path": d.absolute_path, "seekable": d.seekable,
                        "class": d.class_name, "offset": d.offset, "cloexec": entry.cloexec,
                        "blocking": d.blocking, "can_read": d.readable, "can_write": d.writable})
        return _dumps(fds)

    def pledge_json(self) -> bytes:
        return _dumps({"promises": self.p.pledge} if self.p.pledge else {})

    def unveil_json(self) -> bytes:
        return _dumps([{"path": path, "permissions": perms} for path, perms in self.p.unveiled])

    def perf_events_json(self) -> bytes:
        """SerenityOS opens it only for a process being profiled; nothing is, here."""
        raise ProcFSError(errno.ENOENT, "profiling is not enabled for this process")

    def stack_json(self) -> bytes:
        # A believable backtrace: kernel frames collapse to 0xdeadc0de for non-root callers in
        # SerenityOS; the simulation has no real frames, so every caller sees the same addresses.
        base = 0x08048000 + (self.p.pid % 97) * 0x1000
        return _dumps([0xC0100000 + 0x1A4, 0xC0101000 + 0x2C, base + 0x130, base + 0x48])

    # -- Linux flavour ---------------------------------------------------------------------------
    def stat_line(self) -> bytes:
        p = self.p
        t = p.counters
        letter, _ = self.linux_state()
        zombie = self.zombie
        stats = p.space.stats()
        text = [r for r in p.space.regions if r.executable]
        stack = [r for r in p.space.regions if r.stack]
        startcode, endcode = (text[0].base, text[0].end) if text else (0, 0)
        startstack = stack[0].end - 16 if stack else 0
        tty = self.tty_nr()
        fields = [
            # tpgid: the terminal's foreground group, the session leader's (the model has no job control)
            p.pid, f"({self.comm()})", letter, p.ppid, p.pgid, p.sid, tty, p.sid if tty else -1,
            PF_KTHREAD if p.is_kernel else PF_RANDOMIZE,
            t.zero_faults + t.cow_faults, 0, t.inode_faults, 0,
            ticks(t.time_user), ticks(t.time_kernel), ticks(p.dead_children_time_user),
            ticks(p.dead_children_time_kernel), 20, 0, 1, 0, ticks(p.start_time),
            0 if zombie else stats.virtual, 0 if zombie else stats.resident // PAGE_SIZE, RLIM_INFINITY,
            0 if zombie else startcode, 0 if zombie else endcode, 0 if zombie else startstack,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 17, t.cpu, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, p.wait_status() if p.state == ProcessState.DEAD else 0,
        ]
        assert len(fields) == 52
        return (" ".join(str(f) for f in fields) + "\n").encode("utf-8", "surrogateescape")

    def status(self) -> bytes:
        p = self.p
        _, state = self.linux_state()
        lines = [f"Name:\t{self.comm()}"]
        if not self.zombie:
            lines.append("Umask:\t0022")
        lines += [f"State:\t{state}", f"Tgid:\t{p.pid}", "Ngid:\t0", f"Pid:\t{p.pid}", f"PPid:\t{p.ppid}",
                  "TracerPid:\t0", f"Uid:\t{p.uid}\t{p.euid}\t{p.euid}\t{p.euid}",
                  f"Gid:\t{p.gid}\t{p.egid}\t{p.egid}\t{p.egid}",
                  f"FDSize:\t{0 if self.zombie else 64}", "Groups:\t", f"NStgid:\t{p.pid}", f"NSpid:\t{p.pid}",
                  f"NSpgid:\t{p.pgid}", f"NSsid:\t{p.sid}", f"Kthread:\t{1 if p.is_kernel else 0}"]
        if not self.zombie and not p.is_kernel:  # a zombie has no mm, and Linux prints none of it
            s = p.space.stats()
            lines += [f"VmPeak:\t{_kb(s.virtual)}", f"VmSize:\t{_kb(s.virtual)}", f"VmLck:\t{_kb(0)}",
                      f"VmPin:\t{_kb(0)}", f"VmHWM:\t{_kb(s.resident)}", f"VmRSS:\t{_kb(s.resident)}",
                      f"RssAnon:\t{_kb(s.resident - s.file_resident - s.shmem)}", f"RssFile:\t{_kb(s.file_resident)}",
                      f"RssShmem:\t{_kb(s.shmem)}", f"VmData:\t{_kb(s.data)}", f"VmStk:\t{_kb(s.stack)}",
                      f"VmExe:\t{_kb(s.text)}", f"VmLib:\t{_kb(0)}", f"VmPTE:\t{_kb(0)}", f"VmSwap:\t{_kb(0)}"]
        if not self.zombie:
            lines += ["HugetlbPages:\t       0 kB", "CoreDumping:\t0", "THP_enabled:\t1",
                      "untag_mask:\t0xffffffffffffffff"]
        lines += ["Threads:\t1", "SigQ:\t0/96365"]
        lines += [f"{k}:\t0000000000000000" for k in ("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt",
                                                      "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")]
        lines += ["NoNewPrivs:\t0", "Seccomp:\t0", "Seccomp_filters:\t0",
                  "Speculation_Store_Bypass:\tthread vulnerable", "SpeculationIndirectBranch:\tconditional enabled",
                  "Cpus_allowed:\t3", "Cpus_allowed_list:\t0-1",
                  "Mems_allowed:\t00000001", "Mems_allowed_list:\t0",
                  f"voluntary_ctxt_switches:\t{p.counters.times_scheduled}", "nonvoluntary_ctxt_switches:\t0"]
        return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")

    def statm(self) -> bytes:
        if self.zombie:
            return b"0 0 0 0 0 0 0\n"
        s = self.p.space.stats()
        pages = [s.virtual, s.resident, s.file_resident + s.shmem, s.text, 0, s.data + s.stack, 0]  # Linux: RssFile + RssShmem
        return (" ".join(str(v // PAGE_SIZE) for v in pages) + "\n").encode()

    def cmdline(self) -> bytes:
        if self.zombie or self.p.is_kernel:
            return b""
        return "".join(arg + "\0" for arg in self.p.cmdline).encode("utf-8", "surrogateescape")

    def environ(self) -> bytes:
        if self.zombie:
            raise ProcFSError(errno.ESRCH, "zombie has no environment")
        return "".join(e + "\0" for e in self.p.environ).encode("utf-8", "surrogateescape")

    def _map_header(self, r: Region) -> str:
        """The maps line of a region; smaps starts each of its blocks with the same line."""
        backing = r.backing()
        if backing.file_path is not None:
            path, dev, ino = backing.file_path, "08:01", backing.file_index
        else:
            path, dev, ino = ("[stack]" if r.stack else f"[anon:{r.name}]" if r.name else ""), "00:00", 0
        perms = r.access_string() + ("s" if r.shared else "p")
        head = f"{r.base:08x}-{r.end:08x} {perms} {r.offset_pages * PAGE_SIZE:08x} {dev} {ino}"
        return f"{head:<73}{path}".rstrip() if path else head

    def maps(self) -> bytes:
        return "".join(self._map_header(r) + "\n" for r in self.p.space.regions).encode()

    @staticmethod
    def _smaps_rows(usage: RegionUsage) -> dict[str, int]:
        """smaps' byte counts for one region."""
        shared, private = usage.shared, usage.private
        dirty = usage.anonymous
        pss = usage.proportional
        return {"Rss": usage.resident, "Pss": pss, "Pss_Dirty": pss if dirty else 0,
                "Pss_Anon": pss if dirty else 0, "Pss_File": 0 if dirty else pss, "Pss_Shmem": 0,
                "Shared_Clean": 0 if dirty else shared, "Shared_Dirty": shared if dirty else 0,
                "Private_Clean": 0 if dirty else private, "Private_Dirty": private if dirty else 0,
                "Referenced": usage.resident, "Anonymous": usage.resident if dirty else 0}

    _SMAPS_ZEROS = ("KSM", "LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb",
                    "Private_Hugetlb", "Swap", "SwapPss", "Locked")
    _ROLLUP_KEYS = ("Rss", "Pss", "Pss_Dirty", "Pss_Anon", "Pss_File", "Pss_Shmem", "Shared_Clean",
                    "Shared_Dirty", "Private_Clean", "Private_Dirty", "Referenced", "Anonymous")

    @staticmethod
    def _kb_lines(rows: list[tuple[str, int]]) -> str:
        return "".join(f"{(k + ':'):<16}{v // 1024:>8} kB\n" for k, v in rows)

    def smaps(self) -> bytes:
        """Linux's per-mapping memory; a zombie's reads as empty, as on Linux."""
        blocks = []
        for r in self.p.space.regions:
            rows = self._smaps_rows(r.usage())
            flags = " ".join(f for f, on in (("rd", r.readable), ("wr", r.writable), ("ex", r.executable),
                                             ("sh", r.shared), ("mr", True), ("mw", True), ("me", True),
                                             ("gd", r.stack), ("ac", not r.shared)) if on)
            body = self._kb_lines([("Size", r.size), ("KernelPageSize", PAGE_SIZE), ("MMUPageSize", PAGE_SIZE)]
                                  + [(k, rows[k]) for k in ("Rss", "Pss", "Pss_Dirty", "Shared_Clean",
                                                            "Shared_Dirty", "Private_Clean", "Private_Dirty",
                                                            "Referenced", "Anonymous")]
                                  + [(k, 0) for k in self._SMAPS_ZEROS])
            blocks.append(f"{self._map_header(r)}\n{body}THPeligible:    0\nProtectionKey:         0\n"
                          f"VmFlags: {flags} \n")
        return "".join(blocks).encode()

    def smaps_rollup(self) -> bytes:
        """The sum of smaps over every mapping."""
        if self.zombie:
            raise ProcFSError(errno.ESRCH, "zombie has no memory map")
        regions = self.p.space.regions
        totals = dict.fromkeys(self._ROLLUP_KEYS, 0)
        for r in regions:
            for key, value in self._smaps_rows(r.usage()).items():
                totals[key] += value
        low = regions[0].base if regions else 0
        high = regions[-1].end if regions else 0
        head = f"{low:08x}-{high:08x} ---p 00000000 00:00 0"
        rows = list(totals.items()) + [(k, 0) for k in self._SMAPS_ZEROS]
        return f"{head:<73}[rollup]\n{self._kb_lines(rows)}".encode()

    def io(self) -> bytes:
        """Linux's I/O accounting. read_bytes is what inode faults loaded from the (simulated)
        disk; the model has no read/write system calls, so syscr/syscw stay 0."""
        c = self.p.counters
        rows = [("rchar", c.file_read_bytes), ("wchar", c.file_write_bytes), ("syscr", 0), ("syscw", 0),
                ("read_bytes", c.inode_faults * PAGE_SIZE), ("write_bytes", 0), ("cancelled_write_bytes", 0)]
        return "".join(f"{k}: {v}\n" for k, v in rows).encode()


def dump_owner(directory: "ProcessDirectory", mode: int) -> tuple[int, int]:
    """Who owns an entry below /PID.  Linux (task_dump_owner in fs/proc/base.c): a process
    without an address space -- a zombie -- has its entries owned by root, except the
    world-readable directories (0555), which keep showing the process's owner."""
    process = directory.process
    keeps_owner = mode == (DIR | 0o555)
    if process is None:
        # Reaped: Linux's 0555 subdirectories (task/, fdinfo/) have no getattr of their own and
        # keep the owner their inode was given; everything else reads as root.
        return directory.owner_when_alive if keeps_owner and directory.personality == LINUX else (0, 0)
    if directory.personality == LINUX and process.state != ProcessState.RUNNING and not keeps_owner:
        return 0, 0
    return process.euid, process.egid


def entry_of(node: Node) -> "ProcessEntry | None":
    """The per-process entry a node belongs to (itself, or the fd/ task/ directory of a leaf)."""
    if isinstance(node, ProcessEntry):
        return node
    if isinstance(node, _Leaf):
        return node.owner_entry
    return None


def belongs_to_a_dead_process(node: Node) -> bool:
    """A PID directory whose process is gone, or anything below one."""
    if isinstance(node, ProcessDirectory):
        return node.process is None
    entry = entry_of(node)
    return entry is not None and entry.is_gone()


# ---------------------------------------------------------------------------------------------
# components
# ---------------------------------------------------------------------------------------------
Content = Callable[[ProcessView], bytes]
Target = Callable[[Process], str]


class FileSpec:
    """What one per-process entry is: a file, a link or a subdirectory, with its mode."""

    __slots__ = ("name", "file_type", "permissions", "content", "target", "directory", "pins",
                 "ptrace_read")

    def __init__(self, name: str, file_type: int, permissions: int, *, content: Content | None = None,
                 target: Target | None = None, directory: "type[ProcessSubdirectory] | None" = None,
                 pins: str | None = None, ptrace_read: bool = False) -> None:
        self.name = name
        self.file_type = file_type
        self.permissions = permissions
        self.content = content
        self.target = target
        self.directory = directory
        # What Linux's open takes a reference to, so that a read after the process died still
        # works (PIN_MEMORY: environ reads as empty; PIN_NAMESPACE: mounts reads the table), and
        # that an open of a zombie's file fails (ESRCH: no address space; EINVAL: no namespaces).
        self.pins = pins
        # Linux lets only who may ptrace the process read it (PTRACE_MODE_READ: root, or the same
        # uid), whatever the mode bits say: maps, smaps, smaps_rollup, fdinfo/.
        self.ptrace_read = ptrace_read


def _exe_target(p: Process) -> str:
    if not p.executable:
        raise ProcFSError(errno.ENOENT, "no executable")
    return p.executable


class ProcessDirectory(Component):
    """`/PID/`: holds its Process strongly until prepared for deletion."""

    file_type = DIR

    def __init__(self, registry: ObjectRegistry, process_ref: RefPtr[Process], personality: str,
                 kernel: Kernel | None, strong_backrefs: bool = False) -> None:
        process = process_ref.get()
        super().__init__(registry, str(process.pid))
        self.pid = process.pid
        self.owner_when_alive = (process.euid, process.egid)
        self.process_ref: RefPtr[Process] | None = process_ref
        self.personality = personality
        self.kernel = kernel
        self.strong_backrefs = strong_backrefs  # the bug of 2021-06-12..07-01 (sim/bugs switch)
        self.children: dict[str, RefPtr[ProcessEntry]] = {}
        self.permissions = 0o500 if personality == SERENITY else 0o555

    def describe(self) -> str:
        if self.process_ref is None:
            return f"ProcFS directory /{self.pid}, orphaned: its process is gone"
        return f"ProcFS directory /{self.pid}"

    @property
    def process(self) -> Process | None:
        ref = self.process_ref
        return None if ref is None else ref.get()

    def owner(self) -> tuple[int, int]:
        p = self.process
        return (0, 0) if p is None else (p.euid, p.egid)

    def specs(self) -> dict[str, FileSpec]:
        return SERENITY_SPECS if self.personality == SERENITY else LINUX_SPECS

    def child(self, name: str) -> "ProcessEntry":
        """The child component for `name`, created lazily on first lookup (as in SerenityOS)."""
        ref = self.children.get(name)
        if ref is not None:
            return ref.get()
        spec = self.specs().get(name)
        if spec is None:
            raise ProcFSError(errno.ENOENT)
        cls = spec.directory or ProcessEntry
        entry = cls(self._registry, self, spec)
        self.children[name] = adopt_ref(entry, f"PID directory /{self.pid}")
        return entry

    def lookup(self, name: str, caller: Caller) -> Node:
        if self.process is None and self.personality == LINUX:
            raise ProcFSError(errno.ESRCH, "process is gone")  # proc_pid_permission, any name
        return self.child(name)

    def check_open_directory(self) -> None:
        if self.process is None and self.personality == LINUX:
            raise ProcFSError(errno.ESRCH, "process is gone")  # opendir(".") in a dead cwd

    def list(self, caller: Caller) -> Iterable[tuple[str, int]]:
        if self.process is None and self.personality == LINUX:
            raise ProcFSError(errno.ENOENT, "process is gone")
        return [(name, spec.file_type | spec.permissions) for name, spec in self.specs().items()]

    def prepare_for_deletion(self) -> None:
        for ref in self.children.values():
            ref.get().prepare_for_deletion()
        if self.process_ref is not None:
            process_ref, self.process_ref = self.process_ref, None
            process_ref.release()

    def _destroy(self) -> None:
        for ref in self.children.values():
            ref.release()
        self.children.clear()
        if self.process_ref is not None:
            self.process_ref.release()
            self.process_ref = None


class ProcessEntry(Component):
    """A file or link below `/PID/`; reaches its directory through a WeakPtr (seed 6b)."""

    def __init__(self, registry: ObjectRegistry, directory: ProcessDirectory, spec: FileSpec) -> None:
        super().__init__(registry, spec.name)
        self.spec = spec
        self.file_type = spec.file_type
        self.permissions = spec.permissions
        self.pid = directory.pid
        self.personality = directory.personality
        self.kernel = directory.kernel
        self._strong_dir: RefPtr[ProcessDirectory] | None = None
        self._cache: tuple[int, bytes] | None = None  # (kernel.version, content)
        if directory.strong_backrefs:
            self._strong_dir = directory.ref(f"{spec.name} entry of /{directory.pid} (strong back-pointer bug)")
        self.dir_link: WeakPtr[ProcessDirectory] = directory.make_weak_ptr()

    def describe(self) -> str:
        return f"ProcFS entry /{self.pid}/{self.name}"

    def directory(self) -> ProcessDirectory | None:
        if self._strong_dir is not None:
            return self._strong_dir.get()
        return self.dir_link.unsafe_ptr()

    def process(self) -> Process:
        """The live (or zombie) process, or ESRCH.

        SerenityOS answers EINVAL where the back-pointer was already cleared; procsim answers ESRCH
        there too, so that no reader ever sees EINVAL for a process that merely died."""
        directory = self.directory()
        if directory is None:
            raise ProcFSError(errno.ESRCH, "process directory is gone")
        process = directory.process
        if process is None:
            raise ProcFSError(errno.ESRCH, "process is gone")
        return process

    def owner(self) -> tuple[int, int]:
        directory = self.directory()
        if directory is None:
            return 0, 0
        if self.spec.name in ("fd", "stacks") and self.personality == SERENITY:
            return 0, 0
        return dump_owner(directory, self.mode)

    def is_gone(self) -> bool:
        directory = self.directory()
        return directory is None or directory.process is None

    def check_ptrace_read(self, caller: Caller) -> None:
        if self.spec.ptrace_read:
            self.require_trace(caller)

    def require_trace(self, caller: Caller) -> None:
        """EACCES unless the caller could ptrace the process (Linux only; root may always)."""
        if self.personality == LINUX and caller.uid != 0:
            directory = self.directory()
            process = directory.process if directory is not None else None
            if process is not None and caller.uid != process.uid:
                raise ProcFSError(errno.EACCES, "not permitted to trace this process")

    def read(self, caller: Caller) -> bytes:
        if self.spec.content is None:
            return super().read(caller)
        self.check_ptrace_read(caller)
        kernel = self.kernel
        if kernel is None:  # a host-caller view: nothing to lock, nothing changes
            return self.spec.content(ProcessView(self.process(), None))
        with kernel.lock:
            process = self.process()
            cache = self._cache
            if cache is not None and cache[0] == kernel.version:
                return cache[1]  # nothing in the kernel changed since: the same snapshot
            content = self.spec.content(ProcessView(process, kernel))
            self._cache = (kernel.version, content)
            return content

    def check_open(self, caller: Caller) -> str | None:
        if self.spec.content is None:
            return super().check_open(caller)
        self.check_ptrace_read(caller)  # Linux checks it at open (proc_mem_open)
        process = self.process()
        if self.spec.pins is not None and process.state != ProcessState.RUNNING:
            if self.spec.pins == PIN_MEMORY:
                raise ProcFSError(errno.ESRCH, "a zombie has no address space")
            raise ProcFSError(errno.EINVAL, "a zombie has no namespaces")  # mounts_open_common
        return self.spec.pins

    def readlink(self, caller: Caller) -> str:
        if self.spec.target is None:
            raise ProcFSError(errno.EINVAL)
        try:
            process = self.process()
        except ProcFSError:
            if self.personality == SERENITY:
                raise ProcFSError(errno.EFAULT, "link generator failed: process is gone")
            raise
        if process.state != ProcessState.RUNNING:
            raise ProcFSError(errno.ENOENT, "zombie")
        return self.spec.target(process)

    def prepare_for_deletion(self) -> None:
        """Files keep their weak back-pointer (an open then answers ESRCH); subdirectories clear it."""

    def _destroy(self) -> None:
        self.dir_link.clear()
        if self._strong_dir is not None:
            ref, self._strong_dir = self._strong_dir, None
            ref.release()


_NO_LOCK = contextlib.nullcontext()  # host-caller views have no kernel to lock


class ProcessSubdirectory(ProcessEntry):
    """`fd/`, `stacks/` and `task/`: listings generated from the process each time."""

    def names(self, process: Process) -> list[str]:
        raise NotImplementedError

    def entry(self, process: Process, name: str) -> Node:
        raise NotImplementedError

    def list(self, caller: Caller) -> Iterable[tuple[str, int]]:
        try:
            process = self.process()
        except ProcFSError:
            if self.personality == LINUX:
                raise ProcFSError(errno.ENOENT, "process is gone") from None  # proc_pident_readdir
            raise
        with self.kernel.lock if self.kernel is not None else _NO_LOCK:
            return [(name, self.entry(process, name).mode) for name in self.names(process)]

    def lookup(self, name: str, caller: Caller) -> Node:
        try:
            process = self.process()
        except ProcFSError:
            raise ProcFSError(errno.ENOENT)
        with self.kernel.lock if self.kernel is not None else _NO_LOCK:
            if name not in self.names(process):
                raise ProcFSError(errno.ENOENT)
            return self.entry(process, name)


class _Leaf(Node):
    """A generated entry inside fd/, stacks/, ns/ or task/ (no identity of its own)."""

    generated = True

    def __init__(self, owner_entry: ProcessEntry, file_type: int, permissions: int,
                 content: Callable[[], bytes] | None = None, target: str | Callable[[], str] | None = None,
                 children: dict[str, Node] | Callable[[], dict[str, Node]] | None = None,
                 ptrace_read: bool = False) -> None:
        self.owner_entry = owner_entry
        self.file_type = file_type
        self.permissions = permissions
        self._content = content
        self._target = target
        self._children = children if children is not None else {}
        self.ptrace_read = ptrace_read

    def children(self) -> dict[str, Node]:
        return self._children() if callable(self._children) else self._children

    def owner(self) -> tuple[int, int]:
        directory = self.owner_entry.directory()
        return (0, 0) if directory is None else dump_owner(directory, self.mode)

    def read(self, caller: Caller) -> bytes:
        if self._content is None:
            return super().read(caller)
        if self.ptrace_read:
            self.owner_entry.require_trace(caller)
        kernel = self.owner_entry.kernel
        with kernel.lock if kernel is not None else _NO_LOCK:
            self.owner_entry.process()
            return self._content()

    def check_open(self, caller: Caller) -> str | None:
        if self._content is None:
            return super().check_open(caller)
        if self.ptrace_read:
            self.owner_entry.require_trace(caller)
        self.owner_entry.process()
        return None

    def readlink(self, caller: Caller) -> str:
        if self._target is None:
            raise ProcFSError(errno.EINVAL)
        return self._target() if callable(self._target) else self._target

    def lookup(self, name: str, caller: Caller) -> Node:
        if not self.is_dir:
            return super().lookup(name, caller)
        kernel = self.owner_entry.kernel
        with kernel.lock if kernel is not None else _NO_LOCK:
            child = self.children().get(name)
        if child is None:
            raise ProcFSError(errno.ENOENT)
        return child

    def list(self, caller: Caller) -> Iterable[tuple[str, int]]:
        if not self.is_dir:
            return super().list(caller)
        kernel = self.owner_entry.kernel
        with kernel.lock if kernel is not None else _NO_LOCK:
            return [(name, child.mode) for name, child in self.children().items()]


class FdDirectory(ProcessSubdirectory):
    def check_attributes(self) -> None:
        if self.personality == LINUX and self.is_gone():
            raise ProcFSError(errno.ENOENT, "process is gone")  # fstat: st_size counts the fds (6.2+)
    def names(self, process: Process) -> list[str]:
        return [str(fd) for fd in sorted(process.fds)]

    def entry(self, process: Process, name: str) -> Node:
        description = process.fds[int(name)].description
        if self.personality == SERENITY:
            mode = 0o700
        else:  # Linux (proc_fd_instantiate): r-x for reading, -wx for writing, rwx for both
            mode = (0o500 if description.readable else 0) | (0o300 if description.writable else 0)
        return _Leaf(self, LNK, mode, target=description.absolute_path)


class FdInfoDirectory(FdDirectory):
    """Linux's fdinfo/: the names of fd/, each the position and open flags of its descriptor
    (psutil's open_files reads it)."""

    def check_attributes(self) -> None:
        pass

    def list(self, caller: Caller) -> Iterable[tuple[str, int]]:
        self.check_ptrace_read(caller)
        return super().list(caller)

    def lookup(self, name: str, caller: Caller) -> Node:
        self.check_ptrace_read(caller)
        return super().lookup(name, caller)

    def entry(self, process: Process, name: str) -> Node:
        number = int(name)
        fd = process.fds[number]

        def content() -> bytes:
            if process.fds.get(number) is not fd:
                raise ProcFSError(errno.ENOENT, f"fd {number} was closed")
            d = fd.description
            access = os.O_RDWR if d.readable and d.writable else os.O_WRONLY if d.writable else os.O_RDONLY
            flags = access | 0o100000 | (os.O_CLOEXEC if fd.cloexec else 0)  # 0o100000: O_LARGEFILE
            ino = d.inode_ref.get().index if d.inode_ref is not None else 0
            return f"pos:\t{d.offset}\nflags:\t{flags:07o}\nmnt_id:\t25\nino:\t{ino}\n".encode()
        return _Leaf(self, REG, 0o444, content=content)


class StacksDirectory(ProcessSubdirectory):
    def names(self, process: Process) -> list[str]:
        return [str(process.pid)] if process.thread is not None else []

    def entry(self, process: Process, name: str) -> Node:
        view = ProcessView(process, self.kernel)
        return _Leaf(self, REG, 0o400, content=view.stack_json)


class TaskDirectory(ProcessSubdirectory):
    """`task/TID/`: the one thread of the process, with Linux's per-thread files -- the same as
    the process's, but `task/` itself."""

    def names(self, process: Process) -> list[str]:
        return [str(process.pid)]

    def entry(self, process: Process, name: str) -> Node:
        directory = self.directory()
        assert directory is not None  # process() found it
        view = ProcessView(process, self.kernel)

        def thread_entry(spec: FileSpec) -> Node:
            if spec.directory is not None:
                sub = directory.child(spec.name)
                assert isinstance(sub, ProcessSubdirectory)
                return _Leaf(sub, DIR, spec.permissions,
                             children=lambda: {n: sub.entry(process, n) for n in sub.names(process)})
            if spec.target is not None:
                target = spec.target
                return _Leaf(self, LNK, spec.permissions, target=lambda: _live_target(process, target))
            assert spec.content is not None
            return _Leaf(self, REG, spec.permissions, content=functools.partial(spec.content, view),
                         ptrace_read=spec.ptrace_read)

        return _Leaf(self, DIR, 0o555, children={spec.name: thread_entry(spec) for spec in THREAD_SPECS})


def _live_target(process: Process, target: Target) -> str:
    if process.state != ProcessState.RUNNING:
        raise ProcFSError(errno.ENOENT, "zombie")
    return target(process)


class NamespaceDirectory(ProcessSubdirectory):
    """`ns/`: one link per namespace, `pid -> pid:[4026531836]`.  The link text is not a path;
    a stat through it (lsns) lands on a hidden name here that answers with the namespace's inode
    number, as nsfs does on Linux."""

    def names(self, process: Process) -> list[str]:
        return list(environment.NAMESPACES)

    def entry(self, process: Process, name: str) -> Node:
        return _NamespaceLink(self, process, name)

    def lookup(self, name: str, caller: Caller) -> Node:
        kind, _, number = name.partition(":[")
        if number.endswith("]") and f"{kind}:[{number}" in {environment.namespace_target(n)
                                                            for n in environment.NAMESPACES}:
            self.process()
            self.require_trace(caller)
            return _NamespaceInode(self, int(number[:-1]))
        return super().lookup(name, caller)


class _NamespaceLink(_Leaf):
    def __init__(self, owner_entry: ProcessEntry, process: Process, name: str) -> None:
        super().__init__(owner_entry, LNK, 0o777)
        self.process = process
        self.namespace = name

    def readlink(self, caller: Caller) -> str:
        self.owner_entry.require_trace(caller)  # proc_ns_get_link: PTRACE_MODE_READ
        return _live_target(self.process, lambda p: environment.namespace_target(self.namespace))


class _NamespaceInode(_Leaf):
    """What an ns/ link leads to.  Its stat gives the namespace's number; an open is refused
    with EACCES: it would be for the nsfs ioctls (NS_GET_PARENT...), which FUSE cannot carry,
    and EACCES is the answer lsns and other readers already take as "keep the number, skip
    the parent"."""

    def __init__(self, owner_entry: ProcessEntry, number: int) -> None:
        super().__init__(owner_entry, REG, 0o444)
        self.inode_number = number

    def check_open(self, caller: Caller) -> str | None:
        self.read(caller)
        return None

    def read(self, caller: Caller) -> bytes:
        raise ProcFSError(errno.EACCES, "namespace ioctls do not pass through FUSE")


def _comm(view: ProcessView) -> bytes:
    return (view.comm() + "\n").encode("utf-8", "surrogateescape")


_SERENITY_ENTRIES = [
    FileSpec("pledge", REG, 0o400, content=ProcessView.pledge_json),
    FileSpec("unveil", REG, 0o400, content=ProcessView.unveil_json),
    FileSpec("perf_events", REG, 0o400, content=ProcessView.perf_events_json),
    FileSpec("fd", DIR, 0o555, directory=FdDirectory),
    FileSpec("fds", REG, 0o400, content=ProcessView.fds_json),
    FileSpec("root", LNK, 0o777, target=lambda p: p.root),
    FileSpec("vm", REG, 0o400, content=ProcessView.vm_json),
    FileSpec("cwd", LNK, 0o777, target=lambda p: p.cwd),
    FileSpec("exe", LNK, 0o777, target=_exe_target),
    FileSpec("stacks", DIR, 0o555, directory=StacksDirectory),
]
_LINUX_ENTRIES = [
    FileSpec("stat", REG, 0o444, content=ProcessView.stat_line),
    FileSpec("status", REG, 0o444, content=ProcessView.status),
    FileSpec("statm", REG, 0o444, content=ProcessView.statm),
    FileSpec("cmdline", REG, 0o444, content=ProcessView.cmdline),
    FileSpec("comm", REG, 0o644, content=_comm),  # Linux lets the owner rename; procsim refuses writes
    FileSpec("maps", REG, 0o444, content=ProcessView.maps, ptrace_read=True),
    FileSpec("smaps", REG, 0o444, content=ProcessView.smaps, ptrace_read=True),
    FileSpec("smaps_rollup", REG, 0o444, content=ProcessView.smaps_rollup, ptrace_read=True),
    FileSpec("io", REG, 0o400, content=ProcessView.io),
    FileSpec("fdinfo", DIR, 0o555, directory=FdInfoDirectory, ptrace_read=True),
    FileSpec("environ", REG, 0o400, content=ProcessView.environ, pins=PIN_MEMORY),
    FileSpec("limits", REG, 0o444, content=environment.limits),
    FileSpec("wchan", REG, 0o444, content=environment.wchan),
    FileSpec("cgroup", REG, 0o444, content=environment.cgroup),
    FileSpec("cpuset", REG, 0o444, content=environment.cpuset),
    FileSpec("ns", DIR, 0o511, directory=NamespaceDirectory),
    FileSpec("numa_maps", REG, 0o444, content=environment.numa_maps, ptrace_read=True),
    FileSpec("mounts", REG, 0o444, content=environment.mounts, pins=PIN_NAMESPACE),
    FileSpec("mountinfo", REG, 0o444, content=environment.mountinfo, pins=PIN_NAMESPACE),
    FileSpec("mountstats", REG, 0o400, content=environment.mountstats, pins=PIN_NAMESPACE),
    FileSpec("schedstat", REG, 0o444, content=environment.schedstat),
    FileSpec("oom_score", REG, 0o444, content=environment.zero_line),
    FileSpec("oom_score_adj", REG, 0o644, content=environment.zero_line),
    FileSpec("oom_adj", REG, 0o644, content=environment.zero_line),
    FileSpec("loginuid", REG, 0o644, content=environment.login_uid),
    FileSpec("sessionid", REG, 0o444, content=environment.session_id),
    FileSpec("personality", REG, 0o400, content=environment.personality, ptrace_read=True),
    FileSpec("cwd", LNK, 0o777, target=lambda p: p.cwd),
    FileSpec("root", LNK, 0o777, target=lambda p: p.root),
    FileSpec("exe", LNK, 0o777, target=_exe_target),
    FileSpec("fd", DIR, 0o500, directory=FdDirectory),
    FileSpec("task", DIR, 0o555, directory=TaskDirectory),
]
# task/TID/ has the process's Linux files but task/ itself.
THREAD_SPECS = [spec for spec in _LINUX_ENTRIES if spec.name != "task"]
# Under serenity both flavours, SerenityOS's shapes first (fd/ 0555, owned by root); under linux
# fd/ is owned by the process and closed to others, as on Linux.
SERENITY_SPECS = {s.name: s for s in _SERENITY_ENTRIES}
for _spec in _LINUX_ENTRIES:
    SERENITY_SPECS.setdefault(_spec.name, _spec)
LINUX_SPECS = {**SERENITY_SPECS, **{s.name: s for s in _LINUX_ENTRIES}}

__all__ = ["CLK_TCK", "FileSpec", "entry_of", "LINUX", "PERSONALITIES", "ProcessDirectory", "ProcessEntry",
           "ProcessView", "SERENITY"]
