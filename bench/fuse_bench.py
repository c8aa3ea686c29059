"""FUSE serving figures: procsim against two minimal filesystems of its shape -- pyfuse3 (the
same binding: like for like) and fusepy (libfuse 2's path API: the peer a user would write) --
and the host's /proc; and what `ps -ef` costs in FUSE requests per process."""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from procsim.clients.mount_client import fusermount, is_mounted
from procsim.clients.namespace import shell_argv
from procsim.clients.testing import MountedSystem

HERE = Path(__file__).resolve().parent


def readers(mode: str, path: str, count: int, seconds: float) -> float:
    procs = [subprocess.Popen([sys.executable, str(HERE / "driver.py"), mode, path, str(seconds)],
                              stdout=subprocess.PIPE, text=True) for _ in range(count)]
    return sum(float(p.communicate()[0]) for p in procs)


MINIMAL = {"minimal": "minimal_fs.py", "minimal_pyfuse3": "minimal_pyfuse3.py"}


def start_minimal(path: Path, processes: int, script: str = "minimal_fs.py") -> subprocess.Popen:
    path.mkdir(parents=True, exist_ok=True)
    daemon = subprocess.Popen([sys.executable, str(HERE / script), str(path), str(processes)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not (is_mounted(str(path)) and (path / "1" / "status").exists()):
        if time.monotonic() > deadline or daemon.poll() is not None:
            raise RuntimeError("the minimal filesystem did not mount")
        time.sleep(0.05)
    return daemon


def stop_minimal(path: Path, daemon: subprocess.Popen) -> None:
    subprocess.run([fusermount(), "-u", str(path)], capture_output=True)
    daemon.wait(10)


def serving(progress, seconds: float = 2.0, reps: int = 3) -> dict:
    work = Path(tempfile.mkdtemp(prefix="procsim-bench-"))
    results: dict = {}
    procsim = MountedSystem.start(work / "procsim", scenario="scale", processes=100)
    minimals = {name: (work / name, start_minimal(work / name, 101, script)) for name, script in MINIMAL.items()}
    try:
        for file in ("status", "stat"):
            targets = {"procsim": str(procsim.path / "2" / file), "real": f"/proc/1/{file}",
                       **{name: str(path / "2" / file) for name, (path, _) in minimals.items()}}
            for mode in ("stat", "read"):
                for count in (1, 4):
                    key = f"{file}_{mode}_{count}r"
                    samples: dict[str, list[float]] = {name: [] for name in targets}
                    names = list(targets)
                    for rep in range(reps):
                        # interleaved and rotated, so drift and ordering hit every target alike
                        for name in names[rep % len(names):] + names[:rep % len(names)]:
                            progress(f"/PID/{file}: {mode} x{count} readers: {name} (rep {rep + 1}/{reps})")
                            samples[name].append(readers(mode, targets[name], count, seconds))
                    for name in targets:
                        results[f"{key}_{name}_per_s"] = statistics.median(samples[name])
                    for name in MINIMAL:
                        results[f"{key}_procsim_over_{name}"] = results[f"{key}_procsim_per_s"] / results[f"{key}_{name}_per_s"]
                    results[f"{key}_procsim_over_real"] = results[f"{key}_procsim_per_s"] / results[f"{key}_real_per_s"]
        progress("the ps access pattern (stat dir + 4 files per process): procsim vs the minimal filesystems")
        roots = {"procsim": str(procsim.path), **{name: str(path) for name, (path, _) in minimals.items()}}
        procs: dict[str, list[float]] = {name: [] for name in roots}
        names = list(roots)
        for rep in range(reps):
            for name in names[rep % len(names):] + names[:rep % len(names)]:
                procs[name].append(readers("ps", roots[name], 1, seconds))
        for name in roots:
            results[f"ps_pattern_{name}_procs_per_s"] = statistics.median(procs[name])
        for name in MINIMAL:
            results[f"ps_pattern_procsim_over_{name}"] = (results["ps_pattern_procsim_procs_per_s"]
                                                          / results[f"ps_pattern_{name}_procs_per_s"])
    finally:
        procsim.stop()
        for path, daemon in minimals.values():
            stop_minimal(path, daemon)
        shutil.rmtree(work, ignore_errors=True)
    return results


def timed(command: list[str] | str) -> float:
    started = time.perf_counter()
    subprocess.run(command, shell=isinstance(command, str), capture_output=True, check=True)
    return time.perf_counter() - started


PSUTIL_SCAN = ("import psutil,sys,time; psutil.PROCFS_PATH=sys.argv[1]; t=time.perf_counter(); "
               "n=sum(1 for p in psutil.process_iter(['name','status','ppid','memory_info'])); "
               "print(time.perf_counter()-t, n)")


def tool_times(root: str, in_namespace: bool) -> dict[str, float]:
    """Seconds for each tool over the /proc at `root` (procps in a private mount namespace)."""
    def procps(command: str) -> float:
        if not in_namespace:
            return timed(command + " > /dev/null")
        return timed(shell_argv(root, f"{command} > /dev/null"))

    out = subprocess.run([sys.executable, "-c", PSUTIL_SCAN, root], capture_output=True, text=True, check=True)
    times = {"ls_root": timed(["ls", root]), "psutil_iter": float(out.stdout.split()[0])}
    if shutil.which("unshare") and os.geteuid() == 0:
        times["ps_ef"] = procps("ps -ef")
        times["ps_aux"] = procps("ps aux")
    return times


def set_affinity(pid: int, cpus: set[int]) -> None:
    """Every thread of `pid` (affinity is per thread; the FUSE loop is the main one)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(tid), cpus)


def ps_on_one_cpu(root: str, daemon_pid: int) -> float:
    """`ps -ef` with the daemon and ps on the same CPU: on a small VM most of a FUSE round trip
    is waking the other vCPU (fuse.md 3.3), so this is the figure without that cost."""
    everything = os.sched_getaffinity(daemon_pid)
    set_affinity(daemon_pid, {0})
    try:
        return timed(shell_argv(root, "taskset -c 0 ps -ef > /dev/null"))
    finally:
        set_affinity(daemon_pid, everything)


def requests_served(root: str) -> int:
    """The daemon's count of FUSE requests answered (sim/requests), a figure noise cannot move."""
    with open(f"{root}/sim/requests") as f:
        return int(f.readline().split()[1])


def ps_requests(root: str, n: int) -> tuple[float, float]:
    """FUSE requests per process of `ps -ef`, run twice in a row on a fresh mount: the first run
    fills the kernel's caches, the second finds them within their timeouts.
    Reading sim/requests costs a few requests itself, a rounding error over n processes."""
    per_run = []
    for _ in range(2):
        before = requests_served(root)
        subprocess.run(shell_argv(root, "ps -ef > /dev/null"), check=True, capture_output=True)
        per_run.append((requests_served(root) - before) / n)
    return per_run[0], per_run[1]


def tools(progress, sizes: list[int]) -> dict:
    """Tools over N simulated processes, per process, against the host's real /proc."""
    results: dict = {}
    host_processes = sum(1 for e in os.listdir("/proc") if e.isdigit())
    progress(f"tools over the real /proc ({host_processes} host processes)")
    real = tool_times("/proc", in_namespace=False)
    for tool, seconds in real.items():
        results[f"real_{tool}_s"] = seconds
        results[f"real_{tool}_us_per_proc"] = seconds / host_processes * 1e6
    for n in sizes:
        work = Path(tempfile.mkdtemp(prefix="procsim-bench-"))
        progress(f"N={n}: mounting the scale scenario")
        started = time.perf_counter()
        mounted = MountedSystem.start(work / "scale", scenario="scale", processes=n, timeout=1800)
        results[f"n{n}_mount_s"] = time.perf_counter() - started
        try:
            rss = [line.split()[1] for line in open(f"/proc/{mounted.daemon.pid}/status") if line.startswith("VmRSS")]
            results[f"n{n}_daemon_rss_mib"] = int(rss[0]) / 1024
            if shutil.which("unshare") and os.geteuid() == 0:
                progress(f"N={n}: FUSE requests per process of ps -ef, a first (cold) and a second run")
                first, second = ps_requests(str(mounted.path), n)
                results[f"n{n}_ps_ef_requests_per_proc_first"] = first
                results[f"n{n}_ps_ef_requests_per_proc_second"] = second
            progress(f"N={n}: cat all")
            results[f"n{n}_cat_all_s"] = timed(["cat", str(mounted.path / "all")])
            results[f"n{n}_cat_all_us_per_proc"] = results[f"n{n}_cat_all_s"] / n * 1e6
            progress(f"N={n}: ls, psutil.process_iter, ps -ef, ps aux")
            for tool, seconds in tool_times(str(mounted.path), in_namespace=True).items():
                results[f"n{n}_{tool}_s"] = seconds
                results[f"n{n}_{tool}_us_per_proc"] = seconds / n * 1e6
                results[f"n{n}_{tool}_per_proc_over_real"] = (seconds / n) / (real[tool] / host_processes)
            if f"n{n}_ps_ef_s" in results and shutil.which("taskset"):
                progress(f"N={n}: ps -ef with the daemon and ps on one CPU")
                results[f"n{n}_ps_ef_one_cpu_s"] = ps_on_one_cpu(str(mounted.path), mounted.daemon.pid)
        finally:
            mounted.stop()
            shutil.rmtree(work, ignore_errors=True)
    smallest, largest = min(sizes), max(sizes)
    if largest > smallest:
        for tool in ("ls_root", "psutil_iter", "ps_ef", "ps_aux", "cat_all"):
            a, b = results.get(f"n{smallest}_{tool}_us_per_proc"), results.get(f"n{largest}_{tool}_us_per_proc")
            if a and b:
                results[f"{tool}_per_proc_n{largest}_over_n{smallest}"] = b / a
    return results
