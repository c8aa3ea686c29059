"""Global ProcFS backend: the fixed files of the root (SerenityOS GlobalProcessExposed.cpp).

Two flavours live side by side.  SerenityOS JSON files (`all`, `memstat`, `dmesg`, `cmdline`,
`df`, `devices`, `interrupts`, `keymap`, `sys/*` variables) follow SerenityOS at the reference
snapshot; Linux text files (`meminfo`, `stat`, `loadavg`, `vmstat`, `sys/kernel/*`) follow the
Linux 6.x formats that psutil and procps parse.  Where both use one name (`uptime`, `cpuinfo`)
the Linux format wins, because unmodified Linux tools read those paths.
"""
from __future__ import annotations

from typing import Callable

from kernel_model import Kernel, ProcessState

from . import serenity_machine
from .component import Caller, GlobalDirectory, GlobalFile, GlobalLink, Node, json_bytes
from .linux_machine import LinuxMachine
from .process_view import ProcessView, ticks


PAGE_KB = 4
OSRELEASE = "6.1.0-procsim"
KERNEL_CMDLINE = "serial_debug panic=shutdown root=/dev/hda1 procsim=1"


dumps = json_bytes


class GlobalBackend:
    """Builds the root's fixed entries over one kernel."""

    def __init__(self, kernel: Kernel, linux: bool = False) -> None:
        self.kernel = kernel
        self.linux = linux  # the personality: Linux's format where the two share a path
        self.machine = LinuxMachine(kernel)

    def entries(self, self_link_target: Callable[[Caller], str]) -> list[Node]:
        f = GlobalFile
        linux_sys = self.machine.sys_entries()
        sys_kernel = GlobalDirectory("kernel", [
            f("pid_max", lambda c: b"4194304\n"),
            f("osrelease", lambda c: f"{OSRELEASE}\n".encode()),
            f("ostype", lambda c: b"Linux\n"),
            f("hostname", lambda c: b"procsim\n"),
        ] + linux_sys.pop("kernel"))
        # Where SerenityOS and Linux use one path for different formats (interrupts, net/), the
        # personality chooses; everything else is there in both.
        if self.linux:
            shared_paths = [f("interrupts", self.machine.interrupts), self.machine.net_directory()]
        else:
            shared_paths = [f("interrupts", self.interrupts_json), *serenity_machine.root_entries()]
        machine = self.machine.root_entries()
        return [
            GlobalLink("self", self_link_target),
            # the caller's thread: procsim mirrors a caller's main thread only (docs/linux-readers.md)
            GlobalLink("thread-self", lambda c: _thread_of(self_link_target(c))),
            GlobalLink("mounts", lambda c: "self/mounts"),  # the caller's mount table, as on Linux
            f("all", self.all_json),
            f("memstat", self.memstat_json),
            f("cmdline", lambda c: f"{KERNEL_CMDLINE}\n".encode()),
            f("dmesg", self.dmesg, 0o400),
            f("df", self.df_json),
            f("devices", self.devices_json),
            *shared_paths,
            f("keymap", lambda c: dumps({"keymap": "en-us"})),
            f("cpuinfo", self.cpuinfo),
            f("uptime", self.uptime),
            f("meminfo", self.meminfo),
            f("stat", self.stat),
            f("loadavg", self.loadavg),
            f("vmstat", self.vmstat),
            f("version", lambda c: f"Linux version {OSRELEASE} (procsim) #1 SMP\n".encode()),
            GlobalDirectory("sys", [
                f("kmalloc_stacks", lambda c: b"false\n"),
                f("ubsan_is_deadly", lambda c: b"false\n"),
                f("caps_lock_to_ctrl", lambda c: b"false\n"),
                sys_kernel,
                *(GlobalDirectory(name, entries) for name, entries in linux_sys.items()),
            ]),
            *machine,
            GlobalDirectory("tty", [f("drivers", lambda c: (
                "/dev/tty             /dev/tty        5       0 system:/dev/tty\n"
                "unknown              /dev/tty        4 1-63 console\n").encode())]),
        ]

    # -- SerenityOS flavour ----------------------------------------------------------------------
    def all_json(self, caller: Caller) -> bytes:
        kernel = self.kernel
        with kernel.lock:
            # colonel first, then the process list newest first (SerenityOS prepends)
            processes = [ProcessView(kernel.colonel, kernel).all_entry()]
            processes += [ProcessView(p, kernel).all_entry() for p in reversed(kernel.processes.values())]
            body = {"processes": processes, "total_time": kernel.total_time,
                    "total_time_kernel": kernel.total_time_kernel}
        return dumps(body)

    def memstat_json(self, caller: Caller) -> bytes:
        mm = self.kernel.mm
        with self.kernel.lock:
            counters = mm.counters()
        body: dict[str, int] = {
            "kmalloc_allocated": 3_145_728, "kmalloc_available": 1_048_576,
            "kmalloc_eternal_allocated": 262_144,
            "user_physical_allocated": counters["used"],
            "user_physical_available": counters["total"] - counters["used"],
            "user_physical_committed": counters["committed"],
            "user_physical_uncommitted": counters["uncommitted"],
            "super_physical_allocated": 512, "super_physical_available": 1024,
            "kmalloc_call_count": 0, "kfree_call_count": 0,
        }
        for size in (16, 32, 64, 128, 256):
            body[f"slab_{size}_num_allocated"] = 0
            body[f"slab_{size}_num_free"] = 0
        return dumps(body)

    def dmesg(self, caller: Caller) -> bytes:
        with self.kernel.lock:
            lines = list(self.kernel.dmesg)
        return "".join(line + "\n" for line in lines).encode()

    def df_json(self, caller: Caller) -> bytes:
        return dumps([{"class_name": "ProcFS", "total_block_count": 0, "free_block_count": 0,
                       "total_inode_count": 0, "free_inode_count": 0, "mount_point": "/proc",
                       "block_size": 0, "readonly": True, "mount_flags": 0, "source": "none"}])

    def devices_json(self, caller: Caller) -> bytes:
        return dumps([{"major": 1, "minor": 3, "class_name": "NullDevice", "type": "character"},
                      {"major": 4, "minor": 0, "class_name": "VirtualConsole", "type": "character"}])

    def interrupts_json(self, caller: Caller) -> bytes:
        return dumps([{"purpose": "IDE", "interrupt_line": 14, "controller": "IOAPIC", "cpu_handler": 0,
                       "device_sharing": 1, "call_count": 0}])

    # -- Linux flavour ---------------------------------------------------------------------------
    def cpuinfo(self, caller: Caller) -> bytes:
        blocks = []
        for cpu in range(self.kernel.ncpus):
            blocks.append(
                f"processor\t: {cpu}\nvendor_id\t: SerenityOS\ncpu family\t: 6\nmodel\t\t: 1\n"
                f"model name\t: procsim virtual CPU\nstepping\t: 1\ncpu MHz\t\t: 2000.000\n"
                f"physical id\t: 0\nsiblings\t: {self.kernel.ncpus}\ncore id\t\t: {cpu}\n"
                f"cpu cores\t: {self.kernel.ncpus}\nflags\t\t: fpu pae sse sse2 lm\n\n")  # lm: x86_64
        return "".join(blocks).encode()

    def uptime(self, caller: Caller) -> bytes:
        kernel = self.kernel
        return f"{kernel.uptime_seconds():.2f} {kernel.idle_time / 1e9:.2f}\n".encode()

    def meminfo(self, caller: Caller) -> bytes:
        mm = self.kernel.mm
        with self.kernel.lock:
            c = mm.counters()
            usage = mm.page_usage()
        kb = PAGE_KB
        total = c["total"] * kb
        free = (c["total"] - c["used"]) * kb
        lines = [
            ("MemTotal", total), ("MemFree", free),
            ("MemAvailable", (c["uncommitted"] + usage["volatile"]) * kb),
            ("Buffers", 0), ("Cached", usage["inode"] * kb), ("SwapCached", 0),
            ("Active", usage["anonymous"] * kb), ("Inactive", (usage["volatile"] + usage["inode"]) * kb),
            ("Active(anon)", usage["anonymous"] * kb), ("Inactive(anon)", usage["volatile"] * kb),
            ("Active(file)", 0), ("Inactive(file)", usage["inode"] * kb),
            ("Unevictable", 0), ("Mlocked", 0), ("SwapTotal", 0), ("SwapFree", 0),
            ("Dirty", 0), ("Writeback", 0), ("AnonPages", (usage["anonymous"] + usage["volatile"]) * kb),
            ("Mapped", usage["inode"] * kb), ("Shmem", 0), ("KReclaimable", 0), ("Slab", 0),
            ("SReclaimable", 0), ("SUnreclaim", 0), ("KernelStack", 0), ("PageTables", 0),
            ("CommitLimit", total), ("Committed_AS", (c["used"] + c["committed"]) * kb),
            ("VmallocTotal", 0), ("VmallocUsed", 0), ("VmallocChunk", 0),
        ]
        return "".join(f"{(key + ':'):<15} {value:>8} kB\n" for key, value in lines).encode()

    def _cpu_ticks(self) -> tuple[int, int, int]:
        kernel = self.kernel
        busy = kernel.total_time - kernel.idle_time
        system = kernel.total_time_kernel
        return ticks(busy - system), ticks(system), ticks(kernel.idle_time)

    def stat(self, caller: Caller) -> bytes:
        kernel = self.kernel
        with kernel.lock:
            user, system, idle = self._cpu_ticks()
            running = kernel.runnable()
            created = kernel.total_processes_created
            switches = sum(p.thread.times_scheduled for p in kernel.processes.values() if p.thread is not None)
        n = kernel.ncpus
        lines = [f"cpu  {user} 0 {system} {idle} 0 0 0 0 0 0"]
        for cpu in range(n):
            lines.append(f"cpu{cpu} {user // n} 0 {system // n} {idle // n} 0 0 0 0 0 0")
        lines += [f"intr {self.machine.interrupt_total()}", f"ctxt {switches}", f"btime {kernel.clock.boot_epoch}", f"processes {created}",
                  f"procs_running {max(1, running)}", "procs_blocked 0", self.machine.softirq_line()]
        return ("\n".join(lines) + "\n").encode()

    def loadavg(self, caller: Caller) -> bytes:
        kernel = self.kernel
        with kernel.lock:
            averages = kernel.load.line()
            running = kernel.runnable()
            total = len(kernel.processes)
            last = kernel.next_pid - 1
        # the reader itself is running, as in /proc/stat's procs_running
        return f"{averages} {max(1, running)}/{total} {last}\n".encode()

    def vmstat(self, caller: Caller) -> bytes:
        kernel = self.kernel
        with kernel.lock:
            c = kernel.mm.counters()
            faults = sum(p.counters.zero_faults + p.counters.cow_faults + p.counters.inode_faults
                         for p in kernel.processes.values() if p.state != ProcessState.DEAD)
        values = [("nr_free_pages", c["total"] - c["used"]), ("nr_anon_pages", c["used"] - 2),
                  ("nr_mapped", 0), ("nr_file_pages", 0), ("pgfault", faults), ("pgmajfault", 0),
                  ("pswpin", 0), ("pswpout", 0), ("pgpgin", 0), ("pgpgout", 0)]
        return "".join(f"{k} {v}\n" for k, v in values).encode()


def _thread_of(self_target: str) -> str:
    """`thread-self`'s target, `PID/task/TID`, for the caller that `self` leads to."""
    pid = self_target.rpartition("/")[2]
    return f"{self_target}/task/{pid}"
