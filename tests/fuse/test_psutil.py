"""Unmodified psutil reads the mount through PROCFS_PATH; its answers match the kernel's /all."""
import json
import os
import re
import subprocess
import time
from typing import Callable

import psutil
import pytest

from ..conftest import wait_until


@pytest.fixture
def ps(mount_system):
    """psutil pointed at a linux-personality mount of the zombies scenario, plus the kernel's view."""
    mounted = mount_system(scenario="default", personality="linux")
    old = psutil.PROCFS_PATH
    psutil.PROCFS_PATH = str(mounted.path)
    psutil.process_iter.cache_clear()  # its cached Process objects belong to the previous mount
    try:
        yield mounted
    finally:
        psutil.PROCFS_PATH = old
        psutil.process_iter.cache_clear()


def kernel_view(mounted) -> dict[int, dict]:
    data = json.loads((mounted.path / "all").read_text())
    return {p["pid"]: p for p in data["processes"] if p["pid"] != 0}


def test_pids_and_process_iter_match_the_kernel(ps):
    kernel = kernel_view(ps)
    assert psutil.pids() == sorted(kernel)
    seen = {p.info["pid"]: p.info for p in psutil.process_iter(["pid", "name", "ppid", "status", "memory_info"])}
    assert set(seen) == set(kernel)
    for pid, info in seen.items():
        k = kernel[pid]
        assert info["name"] == k["name"][:15] and info["ppid"] == k["ppid"]
        if k["threads"]:
            assert info["memory_info"].rss == k["amount_resident"]
            assert info["memory_info"].vms == k["amount_virtual"]
            assert info["status"] in ("running", "sleeping")
        else:
            assert info["status"] == "zombie"


def test_a_zombie_is_a_zombie_process_to_psutil(ps):
    zombies = [pid for pid, k in kernel_view(ps).items() if not k["threads"]]
    assert zombies, "the default scenario has zombies"
    process = psutil.Process(zombies[0])
    assert process.status() == psutil.STATUS_ZOMBIE
    with pytest.raises(psutil.ZombieProcess):
        process.cmdline()
    with pytest.raises(psutil.ZombieProcess):
        process.environ()


def test_names_cmdlines_parents_children_and_times(ps):
    kernel = kernel_view(ps)
    browser = next(pid for pid, k in kernel.items() if k["name"] == "Browser")
    p = psutil.Process(browser)
    assert p.cmdline() == ["/bin/Browser", "--pages", "4096", "--idle", "3"]
    assert p.ppid() == kernel[browser]["ppid"] and p.parent().pid == kernel[browser]["ppid"]
    assert p.uids().real == kernel[browser]["uid"] == 100
    assert p.num_threads() == 1
    assert p.create_time() >= psutil.boot_time()
    leaky = next(pid for pid, k in kernel.items() if k["name"] == "leaky_parent")
    children = {c.pid for c in psutil.Process(leaky).children()}
    assert children == {pid for pid, k in kernel.items() if k["ppid"] == leaky}
    assert p.memory_full_info().uss > 0
    assert p.exe() == "/bin/Browser" and p.cwd() == "/"


def test_system_memory_boot_time_and_cpu_times(ps):
    memstat = json.loads((ps.path / "memstat").read_text())
    vm = psutil.virtual_memory()
    total_pages = memstat["user_physical_allocated"] + memstat["user_physical_available"]
    assert vm.total == total_pages * 4096
    assert vm.free == memstat["user_physical_available"] * 4096
    assert psutil.swap_memory().total == 0
    # btime is the wall-clock boot: btime + uptime is now while the clock runs at speed 1
    uptime = float((ps.path / "uptime").read_text().split()[0])
    assert abs(psutil.boot_time() + uptime - time.time()) < 3
    times = psutil.cpu_times()
    assert times.user >= 0 and times.idle > 0


def test_a_process_that_vanishes_is_no_such_process(ps):
    pid = int(ps.ctl("spawn shortlived ppid=0"))  # no parent to wait: freed at once when it dies
    process = psutil.Process(pid)
    assert process.name() == "shortlived"
    ps.ctl(f"kill {pid} KILL")   # no living parent: freed at once
    assert not process.is_running()
    with pytest.raises(psutil.NoSuchProcess):
        process.status()
    with pytest.raises(psutil.NoSuchProcess):
        psutil.Process(pid)


def test_the_whole_process_api_answers_for_every_process(ps):
    """as_dict() calls every method; a missing io, smaps or fdinfo once made it raise
    FileNotFoundError for every live process."""
    ps.pause()  # the default scenario lives: stop it so psutil and the kernel see one state
    kernel = kernel_view(ps)
    for process in psutil.process_iter():
        info = process.as_dict()  # ZombieProcess/AccessDenied become None; anything else raises
        if kernel[process.pid]["threads"]:
            assert info["io_counters"] is not None and info["memory_maps"] is not None
            assert info["memory_full_info"].rss == kernel[process.pid]["amount_resident"]


def test_open_files_maps_and_io_match_the_model(ps):
    pid = ps.spawn("filer")
    fd = int(ps.ctl(f"open {pid} /etc/passwd"))
    ps.mmap(pid, "64K", file="/usr/lib/libc.so")
    heap = ps.mmap(pid, "64K", name="heap")
    ps.write(pid, heap, "16K")
    ps.read(pid, ps.mmap(pid, "8K", file="/usr/lib/libc.so"), "8K")
    p = psutil.Process(pid)
    assert [(f.path, f.fd, f.position, f.mode) for f in p.open_files()] == [("/etc/passwd", fd, 0, "r")]
    assert p.io_counters().read_bytes == 8192  # two inode faults loaded two pages

    def maps() -> dict:
        return {m.path: m for m in p.memory_maps(grouped=True)}
    alone = maps()
    assert alone["[anon:heap]"].rss == alone["[anon:heap]"].private_dirty == alone["[anon:heap]"].anonymous == 16384
    assert alone["/usr/lib/libc.so"].rss == alone["/usr/lib/libc.so"].private_clean == 8192
    full = p.memory_full_info()
    assert full.rss == sum(m.rss for m in alone.values()) == full.uss == full.pss

    child = ps.fork(pid)  # now the child holds the same pages until it writes them
    forked = maps()
    assert forked["[anon:heap]"].shared_dirty == 16384 and forked["/usr/lib/libc.so"].shared_clean == 8192
    assert p.memory_full_info().uss == 0
    ps.write(child, heap, "16K")  # the child's copy-on-write breaks the sharing of the heap
    assert maps()["[anon:heap]"].private_dirty == 16384


def test_the_host_mirror_keeps_any_argv_a_linux_process_has(mount_system):
    """A host process whose arguments hold bytes that are not UTF-8, U+2028 and U+0085 (line
    ends to Python) and an escape: `--scenario host` mounts, /PID/cmdline gives the same bytes
    back, and psutil's whole scan of the mount works."""
    import subprocess

    argv = [b"/bin/sh", b"-c", b"sleep 600; :", b"\xff\xfe", "x\u2028y\u0085z".encode(), b"\x1b[31m"]
    hostile = subprocess.Popen(argv)
    try:
        wait_until(lambda: open(f"/proc/{hostile.pid}/cmdline", "rb").read() == b"\0".join(argv) + b"\0",
                   what="the hostile process to start")
        mounted = mount_system(scenario="host", paused=True)
        want = b"\0".join(argv) + b"\0"
        found = [p for p in os.listdir(mounted.path) if p.isdigit()
                 and (mounted.path / p / "cmdline").read_bytes() == want]
        assert found, "the hostile process is not mirrored byte for byte"
        psutil.process_iter.cache_clear()
        psutil.PROCFS_PATH = str(mounted.path)
        try:
            names = [p.info["cmdline"] for p in psutil.process_iter(["cmdline"])]
        finally:
            psutil.PROCFS_PATH = "/proc"
            psutil.process_iter.cache_clear()
        assert any(c[2:4] == ["sleep 600; :", "\udcff\udcfe"] for c in names if c)
    finally:
        hostile.kill()
        hostile.wait()


# -- psutil's own test suite, with the mount as /proc -----------------------------------------------
#: Debian's python3-psutil ships psutil's tests (scripts/install-reader-tools installs it).
PSUTIL_TESTS = "/usr/lib/python3/dist-packages/psutil/tests"
#: psutil's tests that may fail with the mount as /proc and pass on the host's, each for its reason
#: (docs/linux-readers.md lists them): they need host processes of their own in /proc, or compare
#: /proc with what the host kernel answers.
NEEDS_THE_HOST = {
    "test_system.TestProcessAPIs.test_process_iter": "its own PID in the listing of /proc",
    "test_system.TestProcessAPIs.test_pid_exists": "a child it started, in /proc",
    "test_system.TestProcessAPIs.test_pid_exists_2": "every PID of /proc alive for the kernel's kill(pid, 0)",
    "test_system.TestProcessAPIs.test_wait_procs": "children it started, in /proc",
    "test_system.TestProcessAPIs.test_wait_procs_no_timeout": "children it started, in /proc",
    "test_linux.TestProcess.test_parse_smaps_vs_memory_maps": "a child it started, in /proc",
    "test_linux.TestMisc.test_issue_687": "its own second thread (the caller's own view has its main thread)",
    "test_linux.TestLoadAvg.test_getloadavg": "loadavg equal to the host kernel's os.getloadavg() (sysinfo)",
}


def psutil_suite(wrap: Callable[[list[str]], list[str]]) -> tuple[set[str], int]:
    """The failed tests (FAIL or ERROR) of psutil's test_system and test_linux, and how many ran."""
    argv = ["/usr/bin/python3", "-m", "unittest", "psutil.tests.test_system", "psutil.tests.test_linux"]
    result = subprocess.run(wrap(argv), capture_output=True, text=True, timeout=300, cwd="/tmp")
    failed = {m[1].removeprefix("psutil.tests.") for m in re.finditer(r"^(?:FAIL|ERROR): (\S+)", result.stderr, re.M)}
    ran = re.search(r"^Ran (\d+) tests", result.stderr, re.M)
    assert ran, result.stderr[-3000:]
    return failed, int(ran[1])


def test_psutils_own_tests_pass_on_the_mount_but_for_those_needing_the_host(mount_system):
    if not os.path.exists(f"{PSUTIL_TESTS}/test_linux.py"):
        message = "psutil's tests are not installed (Debian package python3-psutil; scripts/install-reader-tools)"
        if os.geteuid() == 0:
            pytest.fail(message)
        pytest.skip(message)
    from procsim.clients.namespace import NamespaceUnavailable, reader_argv

    mounted = mount_system(scenario="default", personality="linux")
    try:
        reader_argv(str(mounted.path), [])
    except NamespaceUnavailable as e:
        pytest.skip(str(e))
    on_host, ran_on_host = psutil_suite(lambda argv: argv)
    on_mount, ran_on_mount = psutil_suite(lambda argv: reader_argv(str(mounted.path), argv))
    assert ran_on_mount == ran_on_host > 100
    tolerated = set(NEEDS_THE_HOST)
    simulated_cpus = (mounted.path / "cpuinfo").read_text().count("processor\t:")
    if simulated_cpus != os.cpu_count():
        # psutil compares cpuinfo's CPUs with the host kernel's (sysconf, nproc, /sys): equal only
        # where the host has as many CPUs as the simulated machine
        tolerated |= {name for name in on_mount if "cpu_count" in name or "CPUCount" in name}
    assert on_mount - on_host <= tolerated, sorted(on_mount - on_host)
