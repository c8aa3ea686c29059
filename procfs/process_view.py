"""ProcessView: one process (live, dying or a zombie) formatted as SerenityOS's JSON and as Linux's
text -- every per-process file's content, and the rows of the root's `all`.

Callers hold the kernel lock, so a view is a consistent snapshot of the process.  The view only
formats: which file shows which method, and what an open or a read answers when the process is
gone, are the per-process tree's (process_directory.py, process_backend.py).
"""
from __future__ import annotations

import errno

from kernel_model import Kernel, Process, ProcessState
from kernel_model.physical_page import PAGE_SIZE
from kernel_model.process import NO_TTY
from kernel_model.region import Region, RegionUsage

from .component import ProcFSError, json_bytes

CLK_TCK = 100
PF_KTHREAD = 0x00200000
PF_RANDOMIZE = 0x00400000
RLIM_INFINITY = 18446744073709551615


def ticks(ns: int) -> int:
    """Nanoseconds as Linux's clock ticks (USER_HZ)."""
    return ns * CLK_TCK // 1_000_000_000


_dumps = json_bytes

def _kb(n: int) -> str:
    return f"{n // 1024:>8} kB"

class ProcessView:
    """Formats one process (a live, dying or zombie Process) in both flavours.

    Callers hold the kernel lock, so a view is a consistent snapshot of the process.
    """

    def __init__(self, process: Process, kernel: Kernel | None, host_pid: int | None = None) -> None:
        self.p = process
        self.kernel = kernel
        self.host_pid = host_pid  # a host caller's own view (kernel None): its PID on the host

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
