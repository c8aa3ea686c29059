"""What `procsim explore` costs: `ps -ef` over the zombies scenario (all three faults, distinct
points), the cost of a run beyond the reader's own time, and how the number of runs grows with
the scenario's process count (it should not, with --points distinct).

Baselines from the same run: the reader's own time (`ps -ef` in a namespace on the same mount),
and a fresh mount per run (what a reset replaces)."""
from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from procsim.clients.explore import Options, explore
from procsim.clients.namespace import shell_argv
from procsim.options import MountOptions
from procsim.simulator.scenarios import ZOMBIES
from procsim.clients.testing import MountedSystem

def scenario_with(extra: int, directory: Path) -> str:
    """The zombies scenario plus `extra` sleeping workers under its init."""
    path = directory / f"workers-{extra}.scenario"
    path.write_text(ZOMBIES + "".join(f"spawn worker{i} ppid=$init uid=1000\n" for i in range(extra)))
    return str(path)


def run(progress, sizes: tuple[int, ...] = (10, 100, 1000)) -> dict:
    results: dict = {}
    progress("explore: ps -ef over the zombies scenario, all faults, distinct points")
    report = explore(["ps", "-ef"], Options(MountOptions(scenario="zombies", personality="linux")))
    results["explore_ps_ef_zombies_s"] = report.seconds
    results["explore_ps_ef_zombies_runs"] = report.runs
    results["explore_ps_ef_zombies_requests"] = report.requests
    results["explore_overhead_ms_per_run"] = report.overhead_ms()
    results["explore_ps_ef_zombies_failures"] = len(report.failures)
    progress("explore: with --jobs 2")
    report2 = explore(["ps", "-ef"], Options(MountOptions(scenario="zombies", personality="linux"), jobs=2))
    results["explore_ps_ef_zombies_jobs2_s"] = report2.seconds
    progress("baselines: ps -ef alone, a fresh mount per run")
    work = Path(tempfile.mkdtemp(prefix="procsim-explore-bench-"))
    times = []
    mounted = MountedSystem.start(work / "mnt", scenario="zombies", personality="linux", paused=True)
    try:
        for _ in range(10):
            began = time.perf_counter()
            subprocess.run(shell_argv(str(mounted.path), "ps -ef > /dev/null"), check=True)
            times.append(time.perf_counter() - began)
    finally:
        mounted.stop()
    results["ps_ef_in_namespace_ms"] = statistics.median(times) * 1000
    mounts = []
    for number in range(3):
        began = time.perf_counter()
        mounted = MountedSystem.start(work / f"fresh{number}", scenario="zombies", personality="linux", paused=True)
        mounts.append(time.perf_counter() - began)
        mounted.stop()
    results["fresh_mount_per_run_ms"] = statistics.median(mounts) * 1000
    for extra in sizes:
        progress(f"explore: ps -ef with {extra} more processes (distinct points)")
        report = explore(["ps", "-ef"], Options(MountOptions(scenario=scenario_with(extra, work), personality="linux"),
                                                faults=("exit",), jobs=2))
        results[f"explore_runs_with_{extra}_more_processes"] = report.runs
        results[f"explore_requests_with_{extra}_more_processes"] = report.requests
    return results
