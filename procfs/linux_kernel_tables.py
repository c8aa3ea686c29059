"""The kernel's own tables in /proc that a simulated machine has little in: execution domains, DMA
channels, I/O memory and ports, kernel symbols, keys, System V IPC, IRQ affinity, timers, vmalloc
areas, page block types, and the small sysctl directories (abi, debug, dev, user).

Each has Linux 6.x's layout, mode and owner, so that a reader (and the host comparison in
tests/fuse/test_global_entries.py) finds what it finds on Linux.  What the model knows fills them:
the RAM in iomem is the pool's size, the IRQs are those of `interrupts`, the per-user namespace
limits follow the process limit.  Addresses are hidden from all but root, as Linux hides them
(iomem, ioports, kallsyms: kptr_restrict and the CAP_SYS_ADMIN checks).
"""
from __future__ import annotations

from kernel_model import Kernel

from .component import Caller, GlobalDirectory, GlobalFile, Node, fixed_file, text_lines

PAGE = 4096
# The IRQs of `interrupts` (linux_machine.py): the timer, the keyboard, the disk.
IRQS = (0, 1, 14)
IOPORTS = [(0x0000, 0x0CF7, "PCI Bus 0000:00", 0), (0x0000, 0x001F, "dma1", 1), (0x0020, 0x0021, "pic1", 1),
           (0x0040, 0x0043, "timer0", 1), (0x0060, 0x0060, "keyboard", 1), (0x0064, 0x0064, "keyboard", 1),
           (0x0070, 0x0071, "rtc0", 1), (0x00A0, 0x00A1, "pic2", 1), (0x01F0, 0x01F7, "ata_piix", 1)]
# A few symbols of the paths the model simulates (exit, wait, fault, procfs lookup).
KALLSYMS = ["_stext", "do_exit", "release_task", "do_wait", "wait_consider_task", "handle_mm_fault",
            "do_anonymous_page", "do_wp_page", "proc_pid_lookup", "proc_pid_readdir", "pid_revalidate"]
MIGRATE_TYPES = ("Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate")
SYSVIPC_HEADERS = {
    "msg": "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      "
           "rtime      ctime",
    "sem": "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime",
    "shm": "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime "
           "     dtime      ctime                   rss                  swap",
}
USER_NAMESPACE_LIMITS = ("max_cgroup_namespaces", "max_fanotify_groups", "max_fanotify_marks",
                         "max_inotify_instances", "max_inotify_watches", "max_ipc_namespaces", "max_mnt_namespaces",
                         "max_net_namespaces", "max_pid_namespaces", "max_time_namespaces", "max_user_namespaces",
                         "max_uts_namespaces")




class LinuxKernelTables:
    """Builds the kernel-table entries of the root and of sys/ over one kernel."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def root_entries(self) -> list[Node]:
        f = GlobalFile
        return [
            fixed_file("execdomains", ["0-0\tLinux           \t[kernel]"]),
            fixed_file("dma", [" 4: cascade"]),
            f("iomem", self.iomem),
            f("ioports", self.ioports),
            f("kallsyms", self.kallsyms),
            f("key-users", self.key_users),
            fixed_file("keys", []),  # the caller's keyrings: a simulated machine holds none
            f("timer_list", self.timer_list, 0o400),
            fixed_file("vmallocinfo", [], 0o400),  # the model maps no kernel memory
            f("pagetypeinfo", self.pagetypeinfo, 0o400),
            GlobalDirectory("sysvipc", [fixed_file(name, [header]) for name, header in SYSVIPC_HEADERS.items()]),
            GlobalDirectory("irq", self.irq_entries()),
            GlobalDirectory("fs", []),  # per-filesystem tunables: the machine's ramfs has none
        ]

    def sys_entries(self) -> dict[str, list[Node]]:
        limit = f"{self.kernel.max_processes // 2}"  # Linux: half of threads-max (init_user_ns)
        return {
            "abi": [fixed_file("vsyscall32", ["1"], 0o644)],
            "debug": [fixed_file("exception-trace", ["1"], 0o644)],
            "dev": [GlobalDirectory("tty", [fixed_file("ldisc_autoload", ["1"], 0o644),
                                            fixed_file("legacy_tiocsti", ["0"], 0o644)])],
            "user": [fixed_file(name, [limit], 0o644) for name in USER_NAMESPACE_LIMITS],
        }

    # -- addresses: root's alone --------------------------------------------------------------
    def iomem(self, caller: Caller) -> bytes:
        """The pool's RAM above the first megabyte, below it the BIOS's reserved areas."""
        end = 0x100000 + self.kernel.mm.total * PAGE - 1
        rows = [(0x0, 0xFFF, "Reserved", 0), (0x1000, 0x9FBFF, "System RAM", 0), (0x9FC00, 0xFFFFF, "Reserved", 0),
                (0xF0000, 0xFFFFF, "System ROM", 1), (0x100000, end, "System RAM", 0)]
        return self._ranges(caller, rows, 8)

    def ioports(self, caller: Caller) -> bytes:
        return self._ranges(caller, IOPORTS, 4)

    @staticmethod
    def _ranges(caller: Caller, rows: list[tuple[int, int, str, int]], width: int) -> bytes:
        shown = caller.uid == 0  # others read zeros (iomem_is_exclusive / the CAP_SYS_ADMIN check)
        return text_lines([f"{'  ' * depth}{start if shown else 0:0{width}x}-{end if shown else 0:0{width}x} : {name}"
                      for start, end, name, depth in rows])

    def kallsyms(self, caller: Caller) -> bytes:
        base = 0xFFFFFFFF81000000
        return text_lines([f"{base + 0x1000 * i if caller.uid == 0 else 0:016x} T {name}" for i, name in enumerate(KALLSYMS)])

    # -- the rest ---------------------------------------------------------------------------------
    def key_users(self, caller: Caller) -> bytes:
        """Root's quota record: one keyring (its user keyring), Linux's default quotas."""
        return text_lines([f"{0:>5}: {1:>5} 1/1 1/1000000 0/25000000"])

    def timer_list(self, caller: Caller) -> bytes:
        now = self.kernel.clock.now_ns()
        lines = ["Timer List Version: v0.10", "HRTIMER_MAX_CLOCK_BASES: 8", f"now at {now} nsecs", ""]
        for cpu in range(self.kernel.ncpus):
            lines += [f"cpu: {cpu}", " clock 0:", "  .base:               0", "  .index:      0",
                      "  .resolution: 1 nsecs", "  .get_time:   ktime_get", "active timers:", ""]
        return text_lines(lines)

    def pagetypeinfo(self, caller: Caller) -> bytes:
        """Free pages by migrate type and order: every free page of the pool is a movable order-0
        page (as buddyinfo counts them), in blocks of 512 pages."""
        with self.kernel.lock:
            counters = self.kernel.mm.counters()
        free, total = counters["total"] - counters["used"], counters["total"]
        orders = "".join(f"{order:>6} " for order in range(11))
        lines = ["Page block order: 9", "Pages per block:  512", "",
                 f"Free pages count per migrate type at order {orders}"]
        for kind in MIGRATE_TYPES:
            count = free if kind == "Movable" else 0
            lines.append(f"Node    0, zone   Normal, type {kind:>12} {count:>6} " + "".join(f"{0:>6} " for _ in range(10)))
        lines += ["", "Number of blocks type    " + "".join(f" {kind:>12}" for kind in MIGRATE_TYPES),
                  "Node 0, zone   Normal " + "".join(f" {(-(-total // 512) if kind == 'Movable' else 0):>12}"
                                                    for kind in MIGRATE_TYPES)]
        return text_lines(lines)

    def irq_entries(self) -> list[Node]:
        ncpus = self.kernel.ncpus
        mask = f"{(1 << ncpus) - 1:x}"
        cpus = f"0-{ncpus - 1}" if ncpus > 1 else "0"
        entries: list[Node] = [fixed_file("default_smp_affinity", [mask], 0o644)]
        for irq in IRQS:
            entries.append(GlobalDirectory(str(irq), [
                fixed_file("smp_affinity", [mask], 0o644), fixed_file("smp_affinity_list", [cpus], 0o644),
                fixed_file("effective_affinity", ["1"]), fixed_file("effective_affinity_list", ["0"]),
                fixed_file("node", ["0"]), fixed_file("affinity_hint", ["0"]),
                fixed_file("spurious", ["count 0", "unhandled 0", "last_unhandled 0 ms"])]))
        return entries
