"""Unmodified /proc readers over a `--personality linux` mount, each checked as a user would check
it: the mount bound over /proc in a private mount namespace, or the tool's own procfs option.
Where a reader's verdict is not obvious (which collectors succeed, which metrics exist), the same
reader runs against the host's own /proc in the same test and the two are compared."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest

from procfs.machine_devices import MachineDevices

from ..conftest import in_namespace, require_tool, run, wait_until

HOST = MachineDevices.of_host()  # what the simulated machine's disks and interfaces are named after


@pytest.fixture(scope="module")
def system(module_mounts):
    """The default system, paused after its first two seconds: readers see the same processes
    from one test to the next, so their counts can be compared exactly."""
    return module_mounts(scenario="default", personality="linux", paused=True)


@pytest.fixture(scope="module")
def running(module_mounts):
    """The default system with its clock running at speed 1 (the wall clock's pace)."""
    return module_mounts(scenario="default", personality="linux")


def simulated(mounted) -> dict[int, dict]:
    """The simulated processes (not the kernel's colonel), from SerenityOS's /all."""
    return {p["pid"]: p for p in json.loads((mounted.path / "all").read_text())["processes"] if p["pid"]}


def live_pids(mounted) -> set[int]:
    return {pid for pid, p in simulated(mounted).items() if p["threads"]}


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-2000:]}"
    return result.stdout


# -- the mount table: lsof, df, findmnt, mount, fuser, psutil ------------------------------------
def test_lsof_lists_every_live_simulated_process(system):
    require_tool("lsof", "lsof")
    out = in_namespace(system, "lsof -n -w -F p").stdout
    listed = {int(line[1:]) for line in out.splitlines() if line.startswith("p")}
    assert listed == live_pids(system)  # zombies have no files: lsof skips them, on Linux too


def test_lsof_skips_a_zombie_on_the_host_too():
    require_tool("lsof", "lsof")
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    wait_until(lambda: Path(f"/proc/{child.pid}/stat").read_text().split(") ")[1][0] == "Z", what="a host zombie")
    try:
        assert run(["lsof", "-n", "-w", "-p", str(child.pid)]).stdout == ""
    finally:
        child.wait()


def test_df_findmnt_and_mount_show_the_callers_mounts_in_the_namespace(system):
    for tool, package in (("df", "coreutils"), ("findmnt", "util-linux"), ("fuser", "psmisc")):
        require_tool(tool, package)
    assert ok(in_namespace(system, "findmnt -n -o FSTYPE /proc")).split()[-1] == "fuse.procsim"
    assert "fuse.procsim" in ok(in_namespace(system, "mount"))
    df = ok(in_namespace(system, "df -P /"))
    assert df.splitlines()[1].split()[-1] == "/"
    fuser = in_namespace(system, "fuser -v /proc")
    assert "Cannot" not in fuser.stderr and "/proc" in fuser.stderr + fuser.stdout


def test_psutil_disk_partitions_and_io_read_the_mount(system):
    code = ("import json, psutil; print(json.dumps([[p.mountpoint, p.fstype] for p in psutil.disk_partitions(all=True)]"
            " + [sorted(psutil.disk_io_counters(perdisk=True))]))")
    result = json.loads(ok(in_namespace(system, f"{sys.executable} -c '{code}'")))
    *partitions, disks = result
    assert ["/proc", "fuse.procsim"] in partitions
    assert disks == sorted(disk.name for disk in HOST.disks)  # the host's disks, the model's counters


# -- the exporters --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(command: list[str], port: int) -> str:
    """Start an exporter, fetch its /metrics once it answers, and stop it."""
    exporter = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    text: list[str] = []

    def answered() -> bool:
        assert exporter.poll() is None, exporter.stderr.read().decode() if exporter.stderr else ""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
                text.append(response.read().decode())
            return True
        except OSError:
            return False
    try:
        wait_until(answered, what=f"{command[0]} to answer")
    finally:
        exporter.terminate()
        exporter.wait()
    return text[0]


def metric_values(text: str, name: str) -> dict[str, float]:
    return {m.group(1) or "": float(m.group(2))
            for m in re.finditer(rf"^{name}(\{{[^}}]*\}})? (\S+)$", text, re.MULTILINE)}


# Collectors that talk to services (dbus, systemd, supervisord, an NTP server, runit) or the
# network card rather than /proc: what they answer is the host's either way.
SERVICE_COLLECTORS = ("systemd", "logind", "supervisord", "ntp", "runit", "wifi", "perf")


def node_exporter(procfs: str) -> str:
    binary = require_tool("prometheus-node-exporter", "prometheus-node-exporter")
    shown = run([binary, "--help"])
    help_text = shown.stdout + shown.stderr
    disabled = re.findall(r"--collector\.([a-z_]+)\s+Enable the \1 collector \(default: disabled\)",
                          re.sub(r"\s+", " ", help_text).replace("(default: disabled)", "(default: disabled)\n"))
    flags = [f"--collector.{name}" for name in disabled if name not in SERVICE_COLLECTORS]
    flags += [f"--no-collector.{name}" for name in SERVICE_COLLECTORS if name != "perf" or name in disabled]
    port = free_port()
    return scrape([binary, *flags, f"--path.procfs={procfs}", f"--web.listen-address=127.0.0.1:{port}"], port)


def test_every_node_exporter_collector_that_works_on_the_host_works_on_the_mount(running):
    host = metric_values(node_exporter("/proc"), "node_scrape_collector_success")
    mount_text = node_exporter(str(running.path))
    mount = metric_values(mount_text, "node_scrape_collector_success")
    working = {labels for labels, value in host.items() if value == 1}
    assert len(working) > 30
    assert {labels for labels in working if mount.get(labels) != 1} == set()
    # node_boot_time_seconds is btime: boot plus uptime is now (the clock runs at speed 1)
    boot = metric_values(mount_text, "node_boot_time_seconds")[""]
    uptime = float((running.path / "uptime").read_text().split()[0])
    assert abs(boot + uptime - time.time()) < 3
    assert metric_values(mount_text, "node_interrupts_total"), "no interrupt series"
    assert metric_values(mount_text, "node_processes_state")  # the processes collector


def process_exporter(procfs: str, config: Path) -> str:
    binary = require_tool("prometheus-process-exporter", "prometheus-process-exporter")
    port = free_port()
    return scrape([binary, "-config.path", str(config), "-procfs", procfs,
                   "-web.listen-address", f"127.0.0.1:{port}"], port)


def test_process_exporter_exports_the_hosts_metrics_for_every_process(system, tmp_path):
    """Against a single-threaded host process (every simulated one has one thread: the exporter
    reports per-thread metrics only for several)."""
    config = tmp_path / "all.yml"
    config.write_text('process_names:\n  - name: "{{.Comm}}"\n    cmdline:\n    - ".*"\n')
    host_config = tmp_path / "sleep.yml"
    host_config.write_text('process_names:\n  - name: "{{.Comm}}"\n    comm:\n    - sleep\n')
    with subprocess.Popen(["sleep", "600"]) as sleeper:
        try:
            host = process_exporter("/proc", host_config)
        finally:
            sleeper.kill()
    mount = process_exporter(str(system.path), config)

    def names(text: str) -> set[str]:
        return set(re.findall(r"^(namedprocess_\w+)", text, re.MULTILINE))
    assert names(host) - names(mount) == set()
    assert metric_values(mount, "namedprocess_scrape_procread_errors") == {"": 0.0}
    counted = sum(metric_values(mount, "namedprocess_namegroup_num_procs").values())
    assert counted == len(simulated(system))  # zombies too (the states metric tells them apart)
    threads = metric_values(mount, "namedprocess_namegroup_num_threads")
    assert sum(threads.values()) >= len(live_pids(system))  # from status (a zombie's says 1, as on Linux)


# -- memory, slabs, disks, interrupts -------------------------------------------------------------
def test_vmstat_and_slabtop_show_the_kernels_objects(system):
    require_tool("slabtop", "procps")
    processes = len(simulated(system))
    slabs = {line.split()[0]: int(line.split()[1]) for line in ok(in_namespace(system, "vmstat -m")).splitlines()[1:]}
    assert slabs.get("Process", 0) >= processes  # every Process object, zombies included
    assert "Process" in ok(in_namespace(system, "slabtop -o"))
    summary = ok(in_namespace(system, "vmstat -D"))
    assert re.search(rf"^\s*{len(HOST.disks)} disks", summary, re.MULTILINE), summary
    # vmstat -d lists the disks the host's /sys/block knows: the machine has the host's
    listed = [line.split()[0] for line in ok(in_namespace(system, "vmstat -d")).splitlines()[2:]]
    assert sorted(listed) == sorted(disk.name for disk in HOST.disks)


def test_lsirq_and_mpstat_read_linux_interrupts(running):
    system = running
    require_tool("lsirq", "util-linux")
    require_tool("mpstat", "sysstat")
    irqs = {line.split()[0]: int(line.split()[1]) for line in ok(in_namespace(system, "lsirq")).splitlines()[1:]}
    assert irqs["LOC"] > 0 and "0" in irqs
    rates = ok(in_namespace(system, "mpstat -I SUM 1 1")).splitlines()
    average = next(line for line in rates if line.startswith("Average:"))
    assert float(average.split()[-1]) > 0  # the timer ticks while the simulated clock runs


def test_procinfo_and_nmon_run_to_the_end(system, tmp_path):
    require_tool("procinfo", "procinfo")
    require_tool("nmon", "nmon")
    assert "irq   0:" in ok(in_namespace(system, "procinfo"))
    # nmon -f goes on in the background; the namespace ends (and kills it) when its shell does,
    # so the shell waits for nmon's first snapshot
    ok(in_namespace(system, f"cd {tmp_path} && nmon -f -s 1 -c 2 -m {tmp_path} && "
                            "timeout 30 sh -c 'until grep -qs ZZZZ *.nmon; do sleep 0.05; done'"))
    assert any("ZZZZ" in f.read_text() for f in tmp_path.glob("*.nmon"))


# -- namespaces, NUMA, threads, wait channels -----------------------------------------------------
def test_lsns_lists_the_initial_namespaces_of_every_live_process(system):
    require_tool("lsns", "util-linux")
    rows = [line.split() for line in ok(in_namespace(system, "lsns -n -o NS,TYPE,NPROCS")).splitlines()]
    assert {row[1] for row in rows} == {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"}
    # a zombie still links to its pid and user namespaces (its struct pid and its credentials
    # hold them), not to the others (exit dropped its nsproxy): lsns counts it for those two
    with_zombies = {pid for pid in simulated(system)}
    assert with_zombies > live_pids(system)  # (the scenario has zombies)
    assert {row[1]: int(row[2]) for row in rows} == {
        kind: len(with_zombies if kind in ("pid", "user") else live_pids(system)) for _, kind, _ in rows}
    assert {int(row[0]) for row in rows if row[1] == "pid"} == {4026531836}


def test_numastat_and_tuna_read_every_process(system):
    require_tool("numastat", "numactl")
    require_tool("tuna", "tuna")
    browser = next(pid for pid, p in simulated(system).items() if p["name"] == "Browser")
    table = ok(in_namespace(system, f"numastat -p {browser}"))
    total = next(line for line in table.splitlines() if line.startswith("Total"))
    assert float(total.split()[-1]) > 0
    listed = {int(line.split()[0]) for line in ok(in_namespace(system, "tuna -P")).splitlines()
              if line.split() and line.split()[0].isdigit()}
    assert listed == known_to_the_readers_kernel(system)  # it asks the kernel for each PID's affinity


def known_to_the_readers_kernel(mounted) -> set[int]:
    """Simulated PIDs that also name a process of the reader's PID namespace: readers that ask the
    *kernel* about a PID (sched_getaffinity, getpriority, ioprio_get: tuna, glances, psutil's
    cpu_affinity, nice, ionice) drop the others, and get that process's answer for these
    (docs/linux-readers.md).  In `procsim shell`'s namespace that is PID 1, its shell."""
    return {pid for pid in simulated(mounted) if pid == 1}


def test_ps_shows_wait_channels_sessions_and_wall_clock_start_times(running):
    system = running
    out = ok(in_namespace(system, "ps -e -o pid=,tty=,stat=,wchan:20=,lstart="))
    rows = {int(line.split()[0]): line.split() for line in out.splitlines()}
    processes = simulated(system)
    # the login shell: init's child (its own short-lived children are called Shell too)
    init, shell = 1, next(pid for pid, p in processes.items() if p["name"] == "Shell" and p["ppid"] == 1)
    assert rows[init][1] == "?" and rows[init][2] == "Ss"       # a daemon: no terminal
    assert rows[shell][1] == "tty0" and rows[shell][2] == "Ss+"  # a login shell leads its session
    assert rows[init][3] == "do_wait"                             # init sleeps waiting for children
    started = datetime.strptime(" ".join(rows[init][-5:]), "%a %b %d %H:%M:%S %Y").timestamp()
    uptime = float((system.path / "uptime").read_text().split()[0])
    boot = time.time() - uptime
    assert abs(started - boot) < 3  # init started at boot; ps adds its start time to btime
    since = datetime.strptime(ok(in_namespace(system, "uptime -s")).strip(), "%Y-%m-%d %H:%M:%S").timestamp()
    assert abs(since - boot) < 3


def test_task_directories_have_the_process_files(system):
    pid = next(iter(live_pids(system)))
    process_files = set(os.listdir(system.path / str(pid)))
    thread_files = set(os.listdir(system.path / str(pid) / "task" / str(pid)))
    host_thread_files = set(os.listdir(f"/proc/self/task/{os.getpid()}"))
    assert host_thread_files & process_files <= thread_files
    assert (system.path / str(pid) / "task" / str(pid) / "cmdline").read_bytes() == \
        (system.path / str(pid) / "cmdline").read_bytes()


# -- the network ----------------------------------------------------------------------------------
def test_netstat_sar_and_psutil_see_the_hosts_interfaces_idle(system):
    require_tool("netstat", "net-tools")
    require_tool("sar", "sysstat")
    assert re.search(r"^lo\s+65536", ok(in_namespace(system, "netstat -i")), re.MULTILINE)
    assert "Tcp:" in ok(in_namespace(system, "netstat -s"))
    assert ok(in_namespace(system, "netstat -tuln")).count("\n") == 2  # the two header lines
    assert re.search(r"^Average:\s+lo\s", ok(in_namespace(system, "sar -n DEV 1 1")), re.MULTILINE)
    code = ("import json, psutil; print(json.dumps([sorted(psutil.net_io_counters(pernic=True)), "
            "len(psutil.net_connections()), psutil.boot_time()]))")
    nics, connections, boot = json.loads(ok(in_namespace(system, f"{sys.executable} -c '{code}'")))
    assert nics == sorted(HOST.interfaces) and connections == 0
    # psutil asks the host's kernel for addresses and the mount for the interface list: they agree
    code = "import psutil; assert set(psutil.net_if_addrs()) <= set(psutil.net_if_stats()), psutil.net_if_stats()"
    ok(in_namespace(system, f"{sys.executable} -c '{code}'"))


def test_glances_counts_the_simulated_processes(system):
    require_tool("glances", "glances")
    out = ok(in_namespace(system, "glances --stdout processcount --stop-after 1", timeout=120))
    counts = [json.loads(m.replace("'", '"')) for m in re.findall(r"processcount: (\{.*\})", out)]
    assert counts and counts[-1]["total"] == len(known_to_the_readers_kernel(system))  # see there


def test_lscpu_sees_a_64_bit_machine(system):
    """cpuinfo's flags carry `lm` (long mode), as every x86_64 CPU's do: lscpu said 32-bit."""
    out = ok(in_namespace(system, "lscpu"))
    assert re.search(r"^CPU op-mode\(s\):\s+32-bit, 64-bit$", out, re.MULTILINE), out


def test_sysctl_reads_every_variable_without_an_error(system):
    require_tool("sysctl", "procps")
    result = in_namespace(system, "sysctl -a")
    assert result.returncode == 0 and result.stderr == ""
    values = dict(line.split(" = ", 1) for line in result.stdout.splitlines())
    assert values["vm.overcommit_memory"] == "2" and values["vm.overcommit_ratio"] == "100"
    assert re.fullmatch(r"[0-9a-f-]{36}", values["kernel.random.uuid"])
    assert "vm.drop_caches" not in values  # write-only: sysctl skips it, as on Linux
    assert values["kernel.threads-max"].isdigit() and values["fs.file-nr"].split()[0].isdigit()
