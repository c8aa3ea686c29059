"""Global ProcFS backend: the fixed files of the root (SerenityOS GlobalProcessExposed.cpp).

Two flavours live side by side.  SerenityOS JSON files (`all`, `memstat`, `dmesg`, `cmdline`,
`df`, `devices`, `interrupts`, `keymap`, `sys/*` variables) follow SerenityOS at the reference
snapshot; Linux text files (`meminfo`, `stat`, `loadavg`, `vmstat`, `sys/kernel/*`) follow the
Linux 6.x formats that psutil and procps parse.  Where both use one name (`uptime`, `cpuinfo`)
the Linux format wins, because unmodified Linux tools read those paths.
"""
from __future__ import annotations

from typing import Callable

from kernel_model import Kernel

from . import serenity_machine
from .component import Caller, GlobalDirectory, GlobalFile, GlobalLink, Node, json_bytes
from .linux_machine import LinuxMachine
from .machine_devices import DEFAULT, MachineDevices
from .process_view import ProcessView, ticks


OSRELEASE = "6.1.0-procsim"
KERNEL_CMDLINE = "serial_debug panic=shutdown root=/dev/hda1 procsim=1"


dumps = json_bytes


class GlobalBackend:
    """Builds the root's fixed entries over one kernel."""

    def __init__(self, kernel: Kernel, linux: bool = False, devices: MachineDevices = DEFAULT) -> None:
        self.kernel = kernel
        self.linux = linux  # the personality: Linux's format where the two share a path
        self.machine = LinuxMachine(kernel, devices)
        # Linux's network namespace directory: /proc/net links to the reader's (self/net), and
        # every process's net/ shows this one, the machine's only namespace.
        self.net_directory = self.machine.net_directory() if linux else None

    def entries(self, self_link_target: Callable[[Caller], str]) -> list[Node]:
        f = GlobalFile
        linux_sys = self.machine.sys_entries()
        sys_kernel = GlobalDirectory("kernel", [
            f("pid_max", lambda c: b"4194304\n", 0o644),
            f("osrelease", lambda c: f"{OSRELEASE}\n".encode()),
            f("ostype", lambda c: b"Linux\n"),
            f("hostname", lambda c: b"procsim\n", 0o644),
        ] + linux_sys.pop("kernel"))
        # Where SerenityOS and Linux use one path for different formats (interrupts, net/), the
        # personality chooses; everything else is there in both.
        if self.linux:
            shared_paths = [f("interrupts", self.machine.interrupts), f("devices", self.machine.devices_text),
                            GlobalLink("net", lambda c: "self/net")]
        else:
            shared_paths = [f("interrupts", self.interrupts_json), f("devices", self.devices_json),
                            *serenity_machine.root_entries()]
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
            *shared_paths,
            f("keymap", lambda c: dumps({"keymap": "en-us"})),
            f("cpuinfo", self.machine.cpuinfo),
            f("uptime", self.uptime),
            f("meminfo", self.machine.memory.meminfo),
            f("stat", self.stat),
            f("loadavg", self.loadavg),
            f("vmstat", self.machine.memory.vmstat),
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
    def uptime(self, caller: Caller) -> bytes:
        kernel = self.kernel
        return f"{kernel.uptime_seconds():.2f} {kernel.idle_time / 1e9:.2f}\n".encode()

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


def _thread_of(self_target: str) -> str:
    """`thread-self`'s target, `PID/task/TID`, for the caller that `self` leads to."""
    pid = self_target.rpartition("/")[2]
    return f"{self_target}/task/{pid}"
