"""A small /proc reader of the kind procsim helps to test: a process summary built with psutil."""
from __future__ import annotations

from dataclasses import dataclass

import psutil


@dataclass
class Summary:
    total: int
    zombies: list[int]
    biggest: tuple[str, int] | None  # (name, resident bytes) of the largest living process


def summarize(procfs_path: str = "/proc") -> Summary:
    """Count processes, list zombies, find the biggest -- surviving processes that vanish meanwhile.

    Process objects are built per call (not with process_iter, whose module-level cache would keep
    Process objects bound to a previous PROCFS_PATH)."""
    old, psutil.PROCFS_PATH = psutil.PROCFS_PATH, procfs_path
    try:
        total, zombies, biggest = 0, [], None
        for pid in psutil.pids():
            try:
                process = psutil.Process(pid)
                if process.status() == psutil.STATUS_ZOMBIE:
                    zombies.append(pid)
                else:
                    rss = process.memory_info().rss
                    if biggest is None or rss > biggest[1]:
                        biggest = (process.name(), rss)
            except psutil.ZombieProcess:
                zombies.append(pid)
            except psutil.NoSuchProcess:
                continue  # vanished between the listing and the read
            total += 1
        return Summary(total, sorted(zombies), biggest)
    finally:
        psutil.PROCFS_PATH = old
