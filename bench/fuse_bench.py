"""FUSE serving figures: procsim vs a minimal fusepy filesystem vs the host's /proc (issue 4/7)."""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from procsim.cli import fusermount, is_mounted
from procsim.testing import MountedSystem

HERE = Path(__file__).resolve().parent


def readers(mode: str, path: str, count: int, seconds: float) -> float:
    procs = [subprocess.Popen([sys.executable, str(HERE / "driver.py"), mode, path, str(seconds)],
                              stdout=subprocess.PIPE, text=True) for _ in range(count)]
    return sum(float(p.communicate()[0]) for p in procs)


def start_minimal(path: Path, processes: int) -> subprocess.Popen:
    path.mkdir(parents=True, exist_ok=True)
    daemon = subprocess.Popen([sys.executable, str(HERE / "minimal_fs.py"), str(path), str(processes)],
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
    minimal_path = work / "minimal"
    minimal = start_minimal(minimal_path, 101)
    try:
        targets = {"procsim": str(procsim.path / "2" / "status"), "minimal": str(minimal_path / "2" / "status"),
                   "real": "/proc/1/status"}
        for mode in ("stat", "read"):
            for count in (1, 4):
                samples: dict[str, list[float]] = {name: [] for name in targets}
                for rep in range(reps):  # interleaved, so drift hits every target alike
                    for name, path in targets.items():
                        progress(f"{mode} x{count} readers: {name} (rep {rep + 1}/{reps})")
                        samples[name].append(readers(mode, path, count, seconds))
                for name in targets:
                    results[f"{mode}_{count}r_{name}_per_s"] = statistics.median(samples[name])
                results[f"{mode}_{count}r_procsim_over_minimal"] = (results[f"{mode}_{count}r_procsim_per_s"]
                                                                    / results[f"{mode}_{count}r_minimal_per_s"])
                results[f"{mode}_{count}r_procsim_over_real"] = (results[f"{mode}_{count}r_procsim_per_s"]
                                                                 / results[f"{mode}_{count}r_real_per_s"])
    finally:
        procsim.stop()
        stop_minimal(minimal_path, minimal)
        shutil.rmtree(work, ignore_errors=True)
    return results


def tools(progress, processes: int = 10000) -> dict:
    work = Path(tempfile.mkdtemp(prefix="procsim-bench-"))
    results: dict = {}
    progress(f"building the scale scenario with {processes} processes")
    t = time.perf_counter()
    mounted = MountedSystem.start(work / "scale", scenario="scale", processes=processes, timeout=600)
    results[f"mount_scale_{processes}_s"] = time.perf_counter() - t
    try:
        progress(f"ls of the root with {processes} processes")
        t = time.perf_counter()
        subprocess.run(["ls", str(mounted.path)], capture_output=True, check=True)
        results[f"ls_root_{processes}_s"] = time.perf_counter() - t
        progress(f"cat all with {processes} processes")
        t = time.perf_counter()
        subprocess.run(["cat", str(mounted.path / "all")], capture_output=True, check=True)
        results[f"cat_all_{processes}_s"] = time.perf_counter() - t
        if shutil.which("unshare") and os.geteuid() == 0:
            progress(f"ps -ef over {processes} processes")
            t = time.perf_counter()
            out = subprocess.run(["unshare", "--mount", "--fork", "sh", "-c",
                                  f'mount --bind "{mounted.path}" /proc && ps -ef | wc -l'],
                                 capture_output=True, text=True)
            results[f"ps_ef_{processes}_s"] = time.perf_counter() - t
            results[f"ps_ef_{processes}_lines"] = int(out.stdout.strip() or 0)
        rss = [line.split()[1] for line in open(f"/proc/{mounted.daemon.pid}/status") if line.startswith("VmRSS")]
        results[f"daemon_rss_mib_{processes}"] = int(rss[0]) / 1024
    finally:
        mounted.stop()
        shutil.rmtree(work, ignore_errors=True)
    return results
