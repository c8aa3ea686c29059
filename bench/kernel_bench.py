"""Kernel-model figures: fork, faults, spawn/exit/reap, model memory (issue 3 targets)."""
from __future__ import annotations

import gc
import os
import statistics
import subprocess
import sys
import time
import tracemalloc

from kernel_model import Kernel

GIB = 1 << 30
PAGE = 4096


def fork_one_gib(reps: int = 5) -> dict:
    kernel = Kernel(4 * GIB)
    parent = kernel.spawn("big")
    addr = kernel.mmap(parent, GIB)
    kernel.access(parent, addr, GIB // 2, write=True)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        child = kernel.fork(parent)
        times.append(time.perf_counter() - t)
        kernel.exit(child)
        kernel.waitpid(parent, child)
    return {"sim_fork_1gib_ms": statistics.median(times) * 1e3}


def real_fork_one_gib(reps: int = 5) -> dict:
    """os.fork() of this Python process while it holds 1 GiB of touched memory."""
    block = bytearray(GIB)
    block[::PAGE] = b"\x01" * (GIB // PAGE)  # touch every page
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        times.append(time.perf_counter() - t)
        os.waitpid(pid, 0)
    del block
    return {"real_fork_1gib_ms": statistics.median(times) * 1e3}


def faults_per_second() -> dict:
    kernel = Kernel(4 * GIB)
    pid = kernel.spawn("faulter")
    addr = kernel.mmap(pid, GIB // 2)
    t = time.perf_counter()
    result = kernel.access(pid, addr, GIB // 2, write=True)
    zero = result.zero_faults / (time.perf_counter() - t)
    child = kernel.fork(pid)
    t = time.perf_counter()
    result = kernel.access(child, addr, GIB // 4, write=True)
    cow = result.cow_faults / (time.perf_counter() - t)
    return {"zero_faults_per_s": zero, "cow_faults_per_s": cow}


def spawn_exit_reap(n: int = 20000) -> dict:
    kernel = Kernel(GIB)
    parent = kernel.spawn("parent")
    t = time.perf_counter()
    for _ in range(n):
        child = kernel.spawn("child", ppid=parent)
        kernel.exit(child)
        kernel.waitpid(parent, child)
    return {"spawn_exit_reap_per_s": n / (time.perf_counter() - t)}


def bytes_per_page() -> dict:
    pages = 262_144
    kernel = Kernel(4 * GIB)
    pid = kernel.spawn("measured")
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    addr = kernel.mmap(pid, pages * PAGE)
    mapped = tracemalloc.get_traced_memory()[0]
    kernel.access(pid, addr, pages * PAGE, write=True)
    touched = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {"bytes_per_untouched_page": (mapped - before) / pages,
            "bytes_per_resident_page": (touched - before) / pages}


RSS_SCRIPT = """
import sys
from kernel_model import Kernel
n = int(sys.argv[1])
k = Kernel((n * 80 + 65536) * 4096)
init = k.spawn("init")
for i in range(n):
    p = k.spawn("w", ppid=init)
    a = k.mmap(p, 64 * 4096)
    k.access(p, a, 64 * 4096, write=True)
print([l.split()[1] for l in open("/proc/self/status") if l.startswith("VmRSS")][0])
"""


def model_rss(processes: int = 10000) -> dict:
    out = subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(processes)], capture_output=True, text=True,
                         check=True).stdout
    baseline = subprocess.run([sys.executable, "-c", "import kernel_model; print([l.split()[1] for l in "
                               "open('/proc/self/status') if l.startswith('VmRSS')][0])"],
                              capture_output=True, text=True, check=True).stdout
    return {f"model_rss_mib_{processes}_procs": int(out) / 1024,
            f"model_rss_bytes_per_proc_{processes}": (int(out) - int(baseline)) * 1024 / processes}


def build_scale(processes: int) -> dict:
    """Building the scale scenario in a fresh process, as the daemon does (its GC settings)."""
    script = ("import time,sys; from procsim.options import MountOptions; from procsim.simulator.simulation import Simulation, tune_gc_for_a_large_heap; "
              "tune_gc_for_a_large_heap(); t=time.perf_counter(); "
              "s=Simulation(MountOptions(scenario='scale', processes=int(sys.argv[1]), paused=True)); s.start(); "
              "print(time.perf_counter()-t); s.stop()")
    out = subprocess.run([sys.executable, "-c", script, str(processes)], capture_output=True, text=True, check=True)
    return {f"build_scale_{processes}_s": float(out.stdout.split()[-1])}


def run_all(progress, scale_sizes: tuple[int, ...] = (10_000, 100_000)) -> dict:
    results: dict = {}
    for name, fn in (("fork of 1 GiB (simulated)", fork_one_gib), ("fork of 1 GiB (real os.fork)", real_fork_one_gib),
                     ("page faults", faults_per_second), ("spawn+exit+reap", spawn_exit_reap),
                     ("bytes per page", bytes_per_page), ("RSS of 10,000 processes", model_rss)):
        progress(name)
        results.update(fn())
    for n in scale_sizes:
        progress(f"building the scale scenario with {n} processes")
        results.update(build_scale(n))
    results["fork_ratio_sim_over_real"] = results["sim_fork_1gib_ms"] / results["real_fork_1gib_ms"]
    return results
