"""What Linux shows of a process's surroundings: its limits, cgroup, namespaces, mount table,
NUMA placement and where it sleeps (`/PID/limits`, `cgroup`, `ns/`, `mounts`, `numa_maps`,
`wchan`...).

The kernel model has no rlimits, cgroups or namespaces: every simulated process lives in the
initial namespaces and the root cgroup of a machine with one NUMA node, with Linux's default
limits, and these files say exactly that, in Linux 6.x's formats (fs/proc/base.c,
fs/proc/task_mmu.c, fs/proc_namespace.c).  Two things come from the model: the process limit
(the kernel's `max_processes`) and the regions behind `numa_maps`.

The mount table is the exception to "simulated": `/proc/mounts` is a link to `self/mounts`, and
`/proc/self` is the calling host process, so df, findmnt, lsof and psutil read the caller's own
mount table from the host (what they need to work in a namespace where the mount is bound over
`/proc`).  A simulated process's table is the simulated machine's: its ramfs root and /proc.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from kernel_model import ProcessState
from kernel_model.physical_page import PAGE_SIZE
from kernel_model.process import NO_TTY

if TYPE_CHECKING:
    from .process_view import ProcessView

UNLIMITED = "unlimited"

# Namespace inode numbers of Linux's initial namespaces (include/linux/proc_ns.h, PROC_*_INIT_INO).
# mnt and net have no fixed number; these are the ones a booted Linux gives its first two.
NAMESPACES = {"cgroup": 0xEFFFFFFB, "ipc": 0xEFFFFFFF, "mnt": 0xF0000001, "net": 0xF0000000,
              "pid": 0xEFFFFFFC, "pid_for_children": 0xEFFFFFFC, "time": 0xEFFFFFFA,
              "time_for_children": 0xEFFFFFFA, "user": 0xEFFFFFFD, "uts": 0xEFFFFFFE}
NAMESPACE_KIND = {name: name.removesuffix("_for_children") for name in NAMESPACES}

# The simulated machine's mounts: (id, parent, device, root, mount point, options, type, source, super options)
SIMULATED_MOUNTS = [
    (21, 1, "0:19", "/", "/", "rw,relatime", "ramfs", "ramfs", "rw"),
    (22, 21, "0:20", "/", "/proc", "rw,nosuid,nodev,noexec,relatime", "proc", "proc", "rw"),
    (23, 21, "0:5", "/", "/dev", "rw,nosuid,relatime", "devtmpfs", "devtmpfs", "rw,mode=755"),
    (24, 23, "0:21", "/", "/dev/pts", "rw,nosuid,noexec,relatime", "devpts", "devpts",
     "rw,gid=5,mode=620,ptmxmode=000"),
]


def namespace_target(name: str) -> str:
    """The link text of ns/NAME: `pid:[4026531836]`."""
    return f"{NAMESPACE_KIND[name]}:[{NAMESPACES[name]}]"


def limits(view: "ProcessView") -> bytes:
    """Linux's default limits (a login session's), with the process limit from the model."""
    processes = str(view.kernel.max_processes) if view.kernel is not None else "63704"
    rows = [("Max cpu time", UNLIMITED, UNLIMITED, "seconds"),
            ("Max file size", UNLIMITED, UNLIMITED, "bytes"),
            ("Max data size", UNLIMITED, UNLIMITED, "bytes"),
            ("Max stack size", "8388608", UNLIMITED, "bytes"),
            ("Max core file size", "0", UNLIMITED, "bytes"),
            ("Max resident set", UNLIMITED, UNLIMITED, "bytes"),
            ("Max processes", processes, processes, "processes"),
            ("Max open files", "1024", "524288", "files"),
            ("Max locked memory", "8388608", "8388608", "bytes"),
            ("Max address space", UNLIMITED, UNLIMITED, "bytes"),
            ("Max file locks", UNLIMITED, UNLIMITED, "locks"),
            ("Max pending signals", "96365", "96365", "signals"),
            ("Max msgqueue size", "819200", "819200", "bytes"),
            ("Max nice priority", "0", "0", ""),
            ("Max realtime priority", "0", "0", ""),
            ("Max realtime timeout", UNLIMITED, UNLIMITED, "us")]
    lines = [f"{'Limit':<25} {'Soft Limit':<20} {'Hard Limit':<20} {'Units':<10}"]
    lines += [f"{name:<25} {soft:<20} {hard:<20} {units:<10}" for name, soft, hard, units in rows]
    return ("\n".join(lines) + "\n").encode()


def wchan(view: "ProcessView") -> bytes:
    """The kernel function a sleeping process waits in; "0" when it is running or dead."""
    p = view.p
    if p.state != ProcessState.RUNNING:
        return b"0"
    if p.stopped:
        return b"do_signal_stop"
    letter, _ = view.linux_state()
    if letter != "S":
        return b"0"
    return b"do_wait" if p.children else b"do_epoll_wait"


def cgroup(view: "ProcessView") -> bytes:
    return b"0::/\n"  # cgroup v2 only, everything in the root cgroup


def cpuset(view: "ProcessView") -> bytes:
    return b"/\n"


def numa_maps(view: "ProcessView") -> bytes:
    """One line per region, every page on node 0 (the machine has one)."""
    lines = []
    for region in view.p.space.regions:
        backing = region.backing()
        usage = region.usage()
        pages = usage.resident // PAGE_SIZE
        fields = [f"{region.base:x}", "default"]
        if backing.file_path is not None:
            fields.append(f"file={backing.file_path}")
        elif region.stack:
            fields.append("stack")
        if pages:
            fields.append(f"{'anon' if usage.anonymous else 'mapped'}={pages}")
            if usage.anonymous:
                fields.append(f"dirty={pages}")
            fields.append(f"N0={pages}")
        fields.append(f"kernelpagesize_kB={PAGE_SIZE // 1024}")
        lines.append(" ".join(fields) + "\n")
    return "".join(lines).encode()


def _host_file(view: "ProcessView", name: str) -> bytes:
    """A host caller's own file, read from the host's /proc (its mount table is its own)."""
    try:
        with open(f"/proc/{view.host_pid or view.p.pid}/{name}", "rb") as f:
            return f.read()
    except OSError:
        return b""


def mounts(view: "ProcessView") -> bytes:
    if view.kernel is None:
        return _host_file(view, "mounts")
    lines = []
    for _, _, _, _, point, options, fstype, source, sup in SIMULATED_MOUNTS:
        extra = sup.removeprefix("rw").lstrip(",")  # the superblock's options after the mount's
        lines.append(f"{source} {point} {fstype} {options}{',' + extra if extra else ''} 0 0\n")
    return "".join(lines).encode()


def mountinfo(view: "ProcessView") -> bytes:
    if view.kernel is None:
        return _host_file(view, "mountinfo")
    return "".join(f"{mid} {parent} {dev} {root} {point} {options} - {fstype} {source} {sup}\n"
                   for mid, parent, dev, root, point, options, fstype, source, sup in SIMULATED_MOUNTS).encode()


def mountstats(view: "ProcessView") -> bytes:
    if view.kernel is None:
        return _host_file(view, "mountstats")
    return "".join(f"device {source} mounted on {point} with fstype {fstype}\n"
                   for _, _, _, _, point, _, fstype, source, _ in SIMULATED_MOUNTS).encode()


def schedstat(view: "ProcessView") -> bytes:
    """Time on a CPU (ns), time waiting for one, and timeslices run."""
    c = view.p.counters
    return f"{c.time_user + c.time_kernel} 0 {c.times_scheduled}\n".encode()


def login_uid(view: "ProcessView") -> bytes:
    """A login session's user; daemons started at boot have none (4294967295, "unset")."""
    p = view.p
    return str(p.uid if p.tty != NO_TTY else 4294967295).encode()


def session_id(view: "ProcessView") -> bytes:
    p = view.p
    return str(p.sid if p.tty != NO_TTY else 4294967295).encode()


def zero_line(view: "ProcessView") -> bytes:
    return b"0\n"


def personality(view: "ProcessView") -> bytes:
    return b"00000000\n"


# -- the rest of Linux's per-PID entries (fs/proc/base.c), from the model where it knows ------------

#: auxv's types: AT_PAGESZ, AT_CLKTCK, AT_UID, AT_EUID, AT_GID, AT_EGID, AT_SECURE, AT_NULL.
_AT_PAGESZ, _AT_CLKTCK, _AT_UID, _AT_EUID, _AT_GID, _AT_EGID, _AT_SECURE = 6, 17, 11, 12, 13, 14, 23


def auxv(view: "ProcessView") -> bytes:
    """The ELF auxiliary vector the process started with: (type, value) pairs of 8 bytes each,
    ending with AT_NULL."""
    p = view.p
    pairs = [(_AT_PAGESZ, 4096), (_AT_CLKTCK, 100), (_AT_UID, p.uid), (_AT_EUID, p.euid), (_AT_GID, p.gid),
             (_AT_EGID, p.egid), (_AT_SECURE, 0), (0, 0)]
    return b"".join(t.to_bytes(8, "little") + v.to_bytes(8, "little") for t, v in pairs)


def kernel_stack(view: "ProcessView") -> bytes:
    """Where the thread sleeps in the kernel, as its wait channel says (addresses hidden: [<0>])."""
    if view.zombie:
        return b""  # a zombie has no stack left to unwind
    where = wchan(view).decode()
    frames = [f"{where}+0x1a/0x40"] if where != "0" else []
    return "".join(f"[<0>] {frame}\n" for frame in [*frames, "entry_SYSCALL_64_after_hwframe+0x76/0x7e"]).encode()


def syscall(view: "ProcessView") -> bytes:
    """The system call the thread is blocked in and its arguments, or `running`."""
    letter, _ = view.linux_state()
    if letter == "R":
        return b"running\n"
    number = 61 if wchan(view) == b"do_wait" else 232  # wait4, epoll_wait
    return f"{number} 0x0 0x0 0x0 0x0 0x0 0x0 0x7ffc00000000 0x7f0000000000\n".encode()


def sched(view: "ProcessView") -> bytes:
    """The scheduler's statistics for the thread (a few of CFS's fields, from the model's times)."""
    p, c = view.p, view.p.counters
    rows = [("se.sum_exec_runtime", f"{(c.time_user + c.time_kernel) / 1e6:.6f}"),
            ("nr_switches", str(c.times_scheduled)), ("nr_voluntary_switches", str(c.times_scheduled)),
            ("nr_involuntary_switches", "0"), ("prio", "120"), ("clock-delta", "0")]
    head = f"{view.comm()} ({p.pid}, #threads: 1)\n{'-' * 67}\n"
    return (head + "".join(f"{key:<45}:{value:>21}\n" for key, value in rows)).encode()


def empty(view: "ProcessView") -> bytes:
    return b""


def timerslack_ns(view: "ProcessView") -> bytes:
    return b"50000\n"


def coredump_filter(view: "ProcessView") -> bytes:
    if view.zombie:
        return b""  # no address space, no namespaces left
    return b"00000033\n"  # the default: anonymous private and shared, ELF headers, private huge pages


def arch_status(view: "ProcessView") -> bytes:
    return b"AVX512_elapsed_ms:\t-1\n"  # never used AVX-512


def autogroup(view: "ProcessView") -> bytes:
    return f"/autogroup-{view.p.sid} nice 0\n".encode()


def id_map(view: "ProcessView") -> bytes:
    return b"         0          0 4294967295\n"  # the initial user namespace maps every id to itself


def setgroups(view: "ProcessView") -> bytes:
    return b"allow\n"


def timens_offsets(view: "ProcessView") -> bytes:
    if view.zombie:
        return b""  # no address space, no namespaces left
    return b"monotonic           0         0\nboottime            0         0\n"


def ksm_stat(view: "ProcessView") -> bytes:
    if view.zombie:
        return b""  # no address space left
    """Kernel samepage merging: the model merges no pages."""
    return (b"ksm_rmap_items 0\nksm_zero_pages 0\nksm_merging_pages 0\nksm_process_profit 0\n"
            b"ksm_merge_any: no\nksm_mergeable: no\n")


def ksm_merging_pages(view: "ProcessView") -> bytes:
    return b"" if view.zombie else b"0\n"


def children(view: "ProcessView") -> bytes:
    """task/TID/children: the thread's children, each followed by a space."""
    return "".join(f"{pid} " for pid in sorted(view.p.children)).encode()
