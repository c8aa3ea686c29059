"""What the live view (`procsim top`) costs the daemon over 10,000 processes, against one `ps -ef`.

    .venv/bin/python bench/live_view_bench.py [N]

Mounts the scale scenario (N processes, default 10,000) with three zombies, measures the daemon's
idle CPU, the CPU one `ps -ef` (in a private mount namespace) costs it, then runs the live view at
one refresh a second for 10 s through Textual's pilot and prints the daemon's CPU per refresh above
idle, the view's own CPU, and how long the first screen took.
"""
from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from procsim.clients.live_view import LiveView  # noqa: E402
from procsim.clients.mount_client import run_ctl  # noqa: E402
from procsim.clients.namespace import shell_argv  # noqa: E402


def main(processes: int) -> int:
    mnt = tempfile.mkdtemp(prefix="procsim-view-")
    subprocess.run([sys.executable, "-m", "procsim.clients.cli", "mount", mnt, "--scenario", "scale", "--processes",
                    str(processes), "--personality", "linux"], check=True)
    try:
        daemon = next(p for p in psutil.process_iter(["cmdline"])
                      if "procsim.server.daemon" in (p.info["cmdline"] or []) and mnt in (p.info["cmdline"] or []))

        def cpu() -> float:
            return sum(daemon.cpu_times()[:2])
        for worker in (2, 3, 4):
            kid = run_ctl(mnt, f"fork {worker}").strip()
            run_ctl(mnt, f"exit {kid}")
        start = cpu()
        time.sleep(10)
        idle = (cpu() - start) / 10
        start, began = cpu(), time.perf_counter()
        subprocess.run(shell_argv(mnt, "ps -ef >/dev/null"), check=True)
        ps_wall = time.perf_counter() - began
        ps_cost = cpu() - start - idle * ps_wall

        async def view() -> tuple[float, float, float]:
            app = LiveView(mnt, interval=1.0)
            began = time.perf_counter()
            async with app.run_test(size=(200, 50)) as pilot:
                while not app.shown:
                    await pilot.pause(0.05)
                first = time.perf_counter() - began
                start, t0 = cpu(), time.perf_counter()
                own = sum(psutil.Process().cpu_times()[:2])
                await pilot.pause(10)
                wall = time.perf_counter() - t0
                return first, (cpu() - start - idle * wall) / wall, (sum(psutil.Process().cpu_times()[:2]) - own) / wall
        first, per_refresh, own = asyncio.run(view())
        print(f"{'figure':<52}{'value':>10}")
        for name, value in (("daemon idle (CPU share)", idle), ("one ps -ef: daemon CPU s", ps_cost),
                            ("one ps -ef: wall s", ps_wall), ("live view: first screen s", first),
                            ("live view at 1 Hz: daemon CPU s per refresh", per_refresh),
                            ("live view at 1 Hz: the view's own CPU share", own),
                            ("ps -ef cost / live view refresh cost", ps_cost / max(per_refresh, 1e-9))):
            print(f"{name:<52}{value:>10.2f}")
    finally:
        subprocess.run([sys.executable, "-m", "procsim.clients.cli", "umount", mnt], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
