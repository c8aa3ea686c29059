"""File formats and modes, read straight from the backends (no FUSE): fast and exact."""
import errno
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kernel_model import Kernel, mman
from procfs.component import Caller, ProcFSError
from procfs.registry import ProcFSComponentRegistry

ROOT = Caller(0, 0, 999999, "pytest")
PAGE = 4096


@pytest.fixture(params=["serenity", "linux"])
def system(request):
    kernel = Kernel(1 << 26, orphan_policy=request.param)
    registry = ProcFSComponentRegistry(kernel, request.param)
    init = kernel.spawn("SystemServer", cmdline=["/bin/SystemServer"])
    shell = kernel.spawn("Shell", ppid=init, uid=100, tty="tty0", environ=["HOME=/home/anon"])
    addr = kernel.mmap(shell, 8 * PAGE, flags=mman.MAP_PRIVATE | mman.MAP_ANONYMOUS | mman.MAP_PURGEABLE, name="cache")
    kernel.access(shell, addr, 3 * PAGE, write=True)
    zombie = kernel.spawn("zombie", ppid=shell)
    kernel.exit(zombie, 3)
    kernel.set_cpu_load(shell, 0.5)
    kernel.tick(2)
    return kernel, registry, {"init": init, "shell": shell, "zombie": zombie, "addr": addr}


def read(registry, path):
    node = registry.root
    for part in path.strip("/").split("/"):
        node = node.lookup(part, ROOT) if node is not registry.root else registry.root.lookup(part, ROOT)
    return node.read(ROOT).decode()


def test_all_has_the_serenity_keys_in_order_with_the_colonel_first(system):
    kernel, registry, pids = system
    data = json.loads(read(registry, "all"))
    assert list(data) == ["processes", "total_time", "total_time_kernel"]
    first = data["processes"][0]
    assert first["pid"] == 0 and first["name"] == "colonel" and first["kernel"] is True
    keys = ["pledge", "veil", "pid", "pgid", "pgp", "sid", "uid", "gid", "ppid", "nfds", "name", "executable",
            "tty", "amount_virtual", "amount_resident", "amount_dirty_private", "amount_clean_inode",
            "amount_shared", "amount_purgeable_volatile", "amount_purgeable_nonvolatile", "dumpable", "kernel",
            "threads"]
    assert all(list(p) == keys for p in data["processes"])
    by_pid = {p["pid"]: p for p in data["processes"]}
    assert by_pid[pids["zombie"]]["threads"] == []
    assert by_pid[pids["shell"]]["amount_purgeable_nonvolatile"] == 3 * PAGE
    thread_keys = ["tid", "name", "times_scheduled", "time_user", "time_kernel", "state", "cpu", "priority",
                   "syscall_count", "inode_faults", "zero_faults", "cow_faults", "file_read_bytes",
                   "file_write_bytes", "unix_socket_read_bytes", "unix_socket_write_bytes",
                   "ipv4_socket_read_bytes", "ipv4_socket_write_bytes"]
    assert list(by_pid[pids["shell"]]["threads"][0]) == thread_keys
    assert [p["pid"] for p in data["processes"][1:]] == sorted(by_pid.keys() - {0}, reverse=True)


def test_memstat_counts_pages_from_the_memory_manager(system):
    kernel, registry, _ = system
    data = json.loads(read(registry, "memstat"))
    c = kernel.mm.counters()
    assert data["user_physical_allocated"] == c["used"]
    assert data["user_physical_committed"] == c["committed"]
    assert data["user_physical_uncommitted"] == c["uncommitted"]
    assert data["user_physical_available"] == c["committed"] + c["uncommitted"]
    assert "slab_256_num_free" in data


def test_vm_regions_have_the_serenity_keys_and_pagemap(system):
    _, registry, pids = system
    regions = json.loads(read(registry, f"{pids['shell']}/vm"))
    cache = next(r for r in regions if r["name"] == "cache")
    assert list(cache) == ["readable", "writable", "executable", "stack", "shared", "syscall", "purgeable",
                           "volatile", "cacheable", "address", "size", "amount_resident", "amount_dirty",
                           "cow_pages", "name", "vmobject", "pagemap"]
    assert cache["pagemap"] == "PPPZZZZZ" and cache["amount_resident"] == 3 * PAGE
    text = next(r for r in regions if r["vmobject"] == "PrivateInodeVMObject")
    assert "volatile" not in text and text["purgeable"] is False and set(text["pagemap"]) <= {"N", "P"}


def test_linux_stat_has_52_fields_and_the_right_state(system):
    _, registry, pids = system
    fields = read(registry, f"{pids['shell']}/stat").split()
    assert len(fields) == 52 and fields[1] == "(Shell)" and fields[2] == "R" and int(fields[3]) == pids["init"]
    assert int(fields[13]) + int(fields[14]) == 100  # 1 s of CPU in 100 Hz ticks


def test_status_uses_a_tab_after_every_colon(system):
    _, registry, pids = system
    text = read(registry, f"{pids['shell']}/status")
    for line in text.splitlines():
        assert re.match(r"^[A-Za-z_()]+:\t", line), line
    assert "\nUid:\t100\t100\t100\t100\n" in text and "\nThreads:\t1\n" in text


def test_meminfo_lines_are_key_colon_padding_value_kb(system):
    """Linux's layout: a 16-column key, an 8-column value, kB except for the huge page counts."""
    kernel, registry, _ = system
    text = read(registry, "meminfo")
    values = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z_()0-9]+):\s+(\d+)( kB)?$", line)
        assert m and len(line.partition(" kB")[0]) >= 24, line
        assert (m.group(3) is None) == m.group(1).startswith("HugePages_"), line
        values[m.group(1)] = int(m.group(2))
    assert values["MemTotal"] == kernel.mm.total * 4
    for key in ("MemFree", "MemAvailable", "Buffers", "Cached", "SwapTotal", "SwapFree", "Committed_AS",
                "CommitLimit", "Active", "Inactive", "Shmem", "Slab", "SReclaimable", "HugePages_Total",
                "Hugepagesize", "DirectMap4k", "Percpu", "Zswap", "SecPageTables", "NFS_Unstable"):
        assert key in values
    assert values["DirectMap4k"] == values["MemTotal"] and values["CommitLimit"] == values["MemTotal"]


def test_stat_uptime_loadavg_cpuinfo_formats(system):
    _, registry, _ = system
    cpu = read(registry, "stat").splitlines()[0]
    assert re.match(r"^cpu  (\d+ ){9}\d+$", cpu)
    assert re.search(r"^btime \d+$", read(registry, "stat"), re.M)
    assert re.match(r"^\d+\.\d\d \d+\.\d\d\n$", read(registry, "uptime"))
    assert re.match(r"^\d+\.\d\d \d+\.\d\d \d+\.\d\d \d+/\d+ \d+\n$", read(registry, "loadavg"))
    cpuinfo = read(registry, "cpuinfo")
    assert cpuinfo.count("processor\t: ") == 2 and cpuinfo.endswith("\n\n")
    assert read(registry, "sys/kernel/pid_max").strip().isdigit()


def test_cmdline_environ_and_statm(system):
    _, registry, pids = system
    assert read(registry, f"{pids['init']}/cmdline") == "/bin/SystemServer\0"
    assert read(registry, f"{pids['shell']}/environ") == "HOME=/home/anon\0"
    statm = [int(v) for v in read(registry, f"{pids['shell']}/statm").split()]
    assert len(statm) == 7 and statm[1] == 4  # stack page + 3 cache pages


def test_modes_and_owners_follow_the_personality(system):
    kernel, registry, pids = system
    directory = registry.root.lookup(str(pids["shell"]), ROOT)
    assert directory.owner() == (100, 100)
    expected = 0o500 if registry.personality.name == "serenity" else 0o555
    assert stat.S_IMODE(directory.mode) == expected and stat.S_ISDIR(directory.mode)
    assert stat.S_IMODE(directory.lookup("vm", ROOT).mode) == 0o400
    assert stat.S_IMODE(directory.lookup("stat", ROOT).mode) == 0o444
    assert stat.S_IMODE(directory.lookup("environ", ROOT).mode) == 0o400
    assert stat.S_IMODE(registry.root.lookup("dmesg", ROOT).mode) == 0o400


def test_zombie_directory_depends_on_the_personality(system):
    _, registry, pids = system
    if registry.personality.name == "serenity":
        with pytest.raises(ProcFSError) as e:
            registry.root.lookup(str(pids["zombie"]), ROOT)
        assert e.value.errno == errno.ENOENT
    else:
        assert read(registry, f"{pids['zombie']}/stat").split()[2] == "Z"
        assert read(registry, f"{pids['zombie']}/cmdline") == ""


def test_fd_directory_links_and_pledge_unveil_json(system):
    _, registry, pids = system
    fd_dir = registry.root.lookup(str(pids["shell"]), ROOT).lookup("fd", ROOT)
    assert [name for name, _ in fd_dir.list(ROOT)] == ["0", "1", "2"]
    assert fd_dir.lookup("0", ROOT).readlink(ROOT) == "/dev/tty0"
    assert json.loads(read(registry, f"{pids['shell']}/fds"))[0]["class"] == "TTY"
    assert read(registry, f"{pids['shell']}/pledge") == "{}"
    assert read(registry, f"{pids['shell']}/unveil") == "[]"



def maps_of_a_file_mapping() -> tuple[str, int]:
    """/PID/maps of a process with /usr/lib/libc.so mapped, and that file's inode number."""
    kernel = Kernel(1 << 26)
    registry = ProcFSComponentRegistry(kernel, "linux")
    pid = kernel.spawn("Shell", cmdline=["/bin/Shell"])
    fd = kernel.open(pid, "/usr/lib/libc.so")
    kernel.mmap(pid, PAGE, flags=mman.MAP_PRIVATE, prot=mman.PROT_READ, fd=fd)
    return read(registry, f"/{pid}/maps"), kernel.files.find("/usr/lib/libc.so").index


def test_maps_names_mapped_files_by_their_inode_number_the_same_in_every_run():
    """Inode numbers come from the file system in creation order. maps once showed hash(path),
    which Python salts per process, so two runs of one scenario disagreed."""
    maps, index = maps_of_a_file_mapping()
    line = next(line for line in maps.splitlines() if line.endswith("/usr/lib/libc.so"))
    assert line.split()[3:5] == ["08:01", str(index)] and index > 2
    code = "from tests.procfs.test_formats import maps_of_a_file_mapping as m; print(m()[0], end='')"
    for seed in ("1", "2"):
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=Path(__file__).parents[2], env={**os.environ, "PYTHONHASHSEED": seed})
        assert run.returncode == 0, run.stderr
        assert run.stdout == maps


def test_smaps_has_a_block_per_maps_line_and_smaps_rollup_is_its_sum(system):
    kernel, registry, pids = system
    shell = pids["shell"]
    maps = read(registry, f"/{shell}/maps").splitlines()
    smaps = read(registry, f"/{shell}/smaps").splitlines()
    headers = [line for line in smaps if not re.match(r"^[A-Za-z_]+:", line)]
    assert headers == maps
    for line in smaps:
        if line not in headers and not line.startswith(("VmFlags:", "THPeligible:", "ProtectionKey:")):
            assert re.fullmatch(r"[A-Za-z_]+: +\d+ kB", line), line  # what psutil's memory_maps parses
    rollup = dict(re.findall(r"^(\w+): +(\d+) kB$", read(registry, f"/{shell}/smaps_rollup"), re.M))
    for key in ("Rss", "Pss", "Private_Dirty", "Anonymous"):
        assert int(rollup[key]) == sum(int(n) for k, n in re.findall(r"^(\w+): +(\d+) kB$", "\n".join(smaps), re.M)
                                       if k == key)
    assert int(rollup["Rss"]) * 1024 == kernel.process(shell).space.stats().resident


def test_io_and_fdinfo(system):
    kernel, registry, pids = system
    shell = pids["shell"]
    io = dict(line.split(": ") for line in read(registry, f"/{shell}/io").splitlines())
    assert list(io) == ["rchar", "wchar", "syscr", "syscw", "read_bytes", "write_bytes", "cancelled_write_bytes"]
    assert read(registry, f"/{shell}/fdinfo/0").startswith("pos:\t0\nflags:\t0100002\n")  # the tty, read-write
    if registry.personality.name == "linux":  # serenity: a zombie has no directory
        assert read(registry, f"/{pids['zombie']}/smaps") == ""  # a zombie's smaps reads as empty
        assert read(registry, f"/{pids['zombie']}/io").startswith("rchar: ")


def test_stat_tells_daemons_from_terminal_sessions(system):
    kernel, registry, pids = system
    init = read(registry, f"/{pids['init']}/stat").split()
    shell = read(registry, f"/{pids['shell']}/stat").split()
    assert (init[6], init[7]) == ("0", "-1")                      # tty_nr, tpgid: no terminal
    assert (shell[6], shell[7]) == (str(4 << 8), str(pids["shell"]))  # tty0, its own foreground group


def test_the_linux_machine_files_parse(system):
    kernel, registry, _ = system
    interrupts = read(registry, "/interrupts")
    if registry.personality.name == "serenity":
        assert json.loads(interrupts)[0]["purpose"] == "IDE"
    else:
        header, *rows = interrupts.splitlines()
        assert header.split() == ["CPU0", "CPU1"]
        loc = next(row for row in rows if row.lstrip().startswith("LOC:")).split()
        assert int(loc[1]) == int(kernel.uptime_seconds() * 250)
        total = int(read(registry, "/stat").split("intr ")[1].split()[0])
        assert total == sum(int(n) for row in rows for n in row.split()[1:3] if n.isdigit())
    slabs = {line.split()[0]: int(line.split()[1]) for line in read(registry, "/slabinfo").splitlines()[2:]}
    assert slabs["Process"] == len(kernel.registry.of_kind(type(kernel.process(1))))
    assert read(registry, "/sys/fs/file-nr").split()[0] == "2"  # /dev/null (init), tty0 (shell): fds 0-2 share one
    assert read(registry, "/sys/kernel/threads-max").strip() == str(kernel.max_processes)
    assert [line.split()[2] for line in read(registry, "/diskstats").splitlines()] == ["ram0"]
    for name in ("cpu", "io", "memory"):
        assert read(registry, f"/pressure/{name}").startswith("some avg10=0.00 ")
    assert registry.root.lookup("mounts", ROOT).readlink(ROOT) == "self/mounts"


def test_serenity_machine_entries_follow_serenityos(system):
    kernel, registry, pids = system
    names = dict(registry.root.list(ROOT))
    if registry.personality.name == "linux":
        assert "pci" not in names and read(registry, f"/{pids['shell']}/net/dev").splitlines()[2].split()[0] == "lo:"
        assert registry.root.lookup("net", ROOT).readlink(ROOT) == "self/net"  # the reader's namespace
        return
    assert {"pci", "modules", "profile", "kernel_base", "net"} <= set(names)
    assert stat.S_IMODE(names["modules"]) == stat.S_IMODE(names["profile"]) == 0o400
    assert json.loads(read(registry, "/pci"))[0]["vendor_id"] == 0x8086
    assert json.loads(read(registry, "/modules")) == []
    assert read(registry, "/kernel_base") == str(0xC0000000)
    nobody = Caller(65534, 65534, 1)
    for path, who, err in (("profile", ROOT, errno.ENOENT), ("kernel_base", nobody, errno.ENOENT)):
        with pytest.raises(ProcFSError) as e:
            registry.root.lookup(path, who).read(who)
        assert e.value.errno == err
    adapters = json.loads(read(registry, "/net/adapters"))
    assert [(a["name"], a["ipv4_address"]) for a in adapters] == [("loop0", "127.0.0.1")]
    for table in ("arp", "tcp", "udp", "local"):
        assert json.loads(read(registry, f"/net/{table}")) == []
    with pytest.raises(ProcFSError) as e:
        read(registry, f"/{pids['shell']}/perf_events")
    assert e.value.errno == errno.ENOENT


def test_all_is_utf8_not_escaped_surrogate_pairs(system):
    kernel, registry, _ = system
    pid = kernel.spawn("smile\U0001F600", cmdline=["smile"])
    raw = registry.root.lookup("all", ROOT).read(ROOT)
    assert "smile\U0001F600".encode() in raw and b"\\ud83d" not in raw
    assert any(p["name"] == "smile\U0001F600" for p in json.loads(raw)["processes"] if p["pid"] == pid)


def test_comm_is_cut_at_15_bytes_not_characters(system):
    kernel, registry, _ = system
    pid = kernel.spawn("é" * 10)  # 20 bytes of UTF-8
    comm = registry.root.lookup(str(pid), ROOT).lookup("comm", ROOT).read(ROOT)
    assert comm == ("é" * 10).encode()[:15] + b"\n"


def test_fd_links_carry_the_descriptors_access(system):
    kernel, registry, pids = system
    shell = pids["shell"]
    fd = kernel.open(shell, "/usr/lib/libc.so")
    modes = {name: stat.S_IMODE(mode) for name, mode in registry.root.lookup(str(shell), ROOT).lookup("fd", ROOT).list(ROOT)}
    if registry.personality.name == "linux":
        assert (modes["0"], modes[str(fd)]) == (0o700, 0o500)   # the tty is read-write; the library read-only
    else:
        assert set(modes.values()) == {0o700}


def test_a_sleeping_process_has_switched_context(system):
    """On Linux a process sleeps only after a voluntary switch: a sleeper showing 0 switches (and a
    machine with `ctxt 0`) fails psutil's own test_cpu_stats (issue 22)."""
    kernel, registry, pids = system
    status = read(registry, f"{pids['init']}/status")
    assert int(re.search(r"\nvoluntary_ctxt_switches:\t(\d+)\n", status).group(1)) >= 1
    ctxt = next(int(line.split()[1]) for line in read(registry, "stat").splitlines() if line.startswith("ctxt "))
    assert ctxt >= len(kernel.processes)


def test_loadavg_is_linux_s_decaying_average_of_the_runnable_count():
    """One process busy for a minute from idle, then idle for a minute: Linux reads
    0.63 0.18 0.06, then 0.23 0.15 0.06 (its 5 s samples and fixed-point factors).  The runnable
    count is the processes in state R, and agrees with /proc/stat's procs_running."""
    kernel = Kernel(1 << 26)
    registry = ProcFSComponentRegistry(kernel, "linux")
    busy = kernel.spawn("busy")
    kernel.spawn("sleeper")
    kernel.set_cpu_load(busy, 1.0)
    for _ in range(60):
        kernel.tick(1.0)
    assert read(registry, "loadavg").split()[:4] == ["0.63", "0.18", "0.06", "1/2"]
    procs_running = re.search(r"^procs_running (\d+)$", read(registry, "stat"), re.M)
    assert procs_running is not None and procs_running.group(1) == "1"
    kernel.set_cpu_load(busy, 0.0)
    kernel.tick(60.0)  # one long tick takes its twelve samples too
    assert read(registry, "loadavg").split()[:3] == ["0.23", "0.15", "0.06"]
    kernel.check_invariants()


def test_vmstat_counts_the_models_memory_events_since_boot():
    """pgfault, pgmajfault, oom_kill and purged volatile pages come from the machine's counters,
    which outlive the process that made them (Linux's vm_event_states)."""
    kernel = Kernel(1 << 22, orphan_policy="linux")
    registry = ProcFSComponentRegistry(kernel, "linux")

    def vmstat() -> dict[str, int]:
        return {key: int(value) for key, value in (line.split() for line in read(registry, "vmstat").splitlines())}
    init = kernel.spawn("init")
    greedy = kernel.spawn("greedy", ppid=init)
    before = vmstat()
    assert {"nr_free_pages", "pgfault", "pgmajfault", "oom_kill", "pglazyfreed", "thp_fault_alloc"} <= set(before)
    addr = kernel.mmap(greedy, 4 * PAGE)
    kernel.access(greedy, addr, 4 * PAGE, write=True)
    fd = kernel.open(greedy, "/usr/lib/libc.so")
    kernel.access(greedy, kernel.mmap(greedy, PAGE, flags=mman.MAP_PRIVATE, prot=mman.PROT_READ, fd=fd), PAGE)
    after = vmstat()
    assert after["pgfault"] - before["pgfault"] == 5 and after["pgmajfault"] - before["pgmajfault"] == 1
    kernel.exit(greedy, 0)
    kernel.waitpid(init, greedy)
    assert vmstat()["pgfault"] == after["pgfault"]  # the process is gone; its faults are not
    hog = kernel.spawn("hog", ppid=init)
    big = kernel.mmap(hog, kernel.mm.total * PAGE, flags=mman.MAP_PRIVATE | mman.MAP_ANONYMOUS | mman.MAP_NORESERVE)
    assert kernel.access(hog, big, kernel.mm.total * PAGE, write=True).killed
    assert vmstat()["oom_kill"] == before["oom_kill"] + 1


def test_sys_vm_says_the_models_commit_policy_and_write_only_sysctls_cannot_be_read():
    kernel = Kernel(1 << 22)
    registry = ProcFSComponentRegistry(kernel, "linux")
    assert read(registry, "sys/vm/overcommit_memory") == "2\n"  # strict: SerenityOS commits at allocation
    assert read(registry, "sys/vm/overcommit_ratio") == "100\n"  # against the whole pool: CommitLimit
    assert read(registry, "sys/vm/stat_refresh") == ""
    names = dict(registry.root.lookup("sys", ROOT).lookup("vm", ROOT).list(ROOT))
    assert stat.S_IMODE(names["drop_caches"]) == 0o200 and stat.S_IMODE(names["swappiness"]) == 0o644
    with pytest.raises(ProcFSError) as e:
        read(registry, "sys/vm/drop_caches")  # even root: proc_sys_permission asks the owner's bits
    assert e.value.errno == errno.EACCES
    first, second = read(registry, "sys/kernel/random/uuid"), read(registry, "sys/kernel/random/uuid")
    assert re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\n$", first)
    assert first != second


def test_kmsg_hands_each_log_line_to_one_reader_once():
    kernel = Kernel(1 << 22)
    registry = ProcFSComponentRegistry(kernel, "linux")
    logged = read(registry, "kmsg").splitlines()
    assert logged and all(re.match(r"^<6>\[ *\d+\.\d{6}\] ", line) for line in logged)
    assert read(registry, "kmsg") == ""  # consumed; Linux would block here
    kernel.log("hello")
    assert read(registry, "kmsg").splitlines() == [f"<6>{kernel.dmesg[-1]}"]
    assert read(registry, "dmesg").count("hello") == 1  # dmesg reads the ring, not the reader's place


def test_devices_consoles_crypto_and_misc_have_linuxs_layout(system):
    _, registry, _ = system
    for name in ("consoles", "crypto", "misc", "kmsg"):
        assert name in dict(registry.root.list(ROOT))
    assert re.match(r"^tty0 +-WU \(EC  p  \) +4:1\n$", read(registry, "consoles"))
    blocks = read(registry, "crypto").split("\n\n")
    assert blocks[-1] == "" and all(block.startswith("name         : ") for block in blocks[:-1])
    assert "229 fuse\n" in read(registry, "misc")
    devices = read(registry, "devices")
    if registry.personality.name == "serenity":
        assert json.loads(devices)[0]["class_name"] == "NullDevice"
        return
    character, block = devices.split("\n\n")
    assert character.splitlines()[:2] == ["Character devices:", "  1 mem"]
    assert block.splitlines() == ["Block devices:", "  1 ramdisk"]


def test_the_machine_has_the_hosts_devices_and_leaves_hostile_names_out(tmp_path):
    from procfs.machine_devices import DEFAULT, MachineDevices
    sys_root = tmp_path / "sys"
    for name, number, size in (("vda", "254:0", "2048"), ("loop0", "7:0", "0"), ("bad name", "8:0", "1")):
        (sys_root / "block" / name).mkdir(parents=True)
        (sys_root / "block" / name / "dev").write_text(number + "\n")
        (sys_root / "block" / name / "size").write_text(size + "\n")
    for name in ("eth0", "lo", "x\x1b[2J"):
        (sys_root / "class" / "net" / name).mkdir(parents=True)
    (tmp_path / "proc" / "net").mkdir(parents=True)
    (tmp_path / "proc" / "devices").write_text("Character devices:\n  1 mem\n\nBlock devices:\n  7 loop\n254 virtblk\n")
    (tmp_path / "proc" / "net" / "if_inet6").write_text(
        "fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n"
        "fe8000000000000000fc00fffe000002 05 40 20 80     tap9\n"  # not an interface of the machine
        "00000000000000000000000000000001 01 80 10 80       lo\n")
    devices = MachineDevices.of_host(str(sys_root), str(tmp_path / "proc"))
    assert [d.name for d in devices.disks] == ["loop0", "vda"]
    assert devices.interfaces == ("lo", "eth0")
    assert devices.block_majors == ((7, "loop"), (254, "virtblk"))
    kernel = Kernel(1 << 22)
    registry = ProcFSComponentRegistry(kernel, "linux", devices=devices)
    assert [line.split()[2] for line in read(registry, "diskstats").splitlines()] == ["loop0", "vda"]
    assert read(registry, "partitions").splitlines()[2:] == [" 254        0       1024 vda"]  # sized ones only
    pid = kernel.spawn("init")
    assert [line.split(":")[0].strip() for line in read(registry, f"{pid}/net/dev").splitlines()[2:]] == ["lo", "eth0"]
    assert read(registry, "devices").endswith("Block devices:\n  7 loop\n254 virtblk\n")
    assert [line.split()[-1] for line in read(registry, f"{pid}/net/if_inet6").splitlines()] == ["eth0", "lo"]
    assert MachineDevices.of_host(str(tmp_path / "none")).disks == DEFAULT.disks  # no sysfs: the RAM disk
