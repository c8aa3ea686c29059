"""Readers and churn for the load tests: real processes hammering a real mount, counting everything.

A reader never accepts an answer it cannot parse, and never an errno other than ENOENT/ESRCH (and
only for per-process paths: processes vanish); everything else is an error it reports.
"""
from __future__ import annotations

import errno
import json
import os
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

JSON_FILES = {"all", "memstat", "df", "devices", "interrupts", "keymap", "vm", "fds", "pledge", "unveil"}
ROOT_FILES = ["all", "memstat", "meminfo", "stat", "uptime", "loadavg", "vmstat", "cpuinfo", "cmdline",
              "sim/zombies.json", "sim/lifetimes.json", "sim/zombies", "sys/kernel/pid_max"]
STATUS_KEYS = ("Name", "State", "Tgid", "Pid", "PPid", "Uid", "Gid", "Threads")
VANISHED = (errno.ENOENT, errno.ESRCH)


@dataclass
class ReaderStats:
    reads: int = 0
    bytes: int = 0
    listings: int = 0
    psutil_scans: int = 0
    errors: Counter = field(default_factory=Counter)      # errno name -> count (all of them)
    bad: list[str] = field(default_factory=list)          # what must never happen

    def merge(self, other: "ReaderStats") -> None:
        self.reads += other.reads
        self.bytes += other.bytes
        self.listings += other.listings
        self.psutil_scans += other.psutil_scans
        self.errors.update(other.errors)
        self.bad.extend(other.bad)


def validate(name: str, text: bytes) -> str | None:
    """Why `text` is not a well-formed `name`, or None."""
    if not text and name in {"stat", "status"} | JSON_FILES:
        return "empty"
    try:
        if name in JSON_FILES or name.endswith(".json"):
            json.loads(text)
        elif name == "stat" and text[:1].isdigit() and b"(" in text:  # per-process stat
            if len(text.rsplit(b")", 1)[1].split()) != 50:
                return f"stat has {len(text.rsplit(b')', 1)[1].split()) + 2} fields"
        elif name == "status":
            lines = text.decode().splitlines()
            keys = {line.split(":")[0] for line in lines}
            if not all(k in keys for k in STATUS_KEYS):
                return f"status lacks {[k for k in STATUS_KEYS if k not in keys]}"
            if any(not re.match(r"^[A-Za-z_()]+:\t", line) for line in lines):
                return "status line without a TAB after the colon"
        elif name in ("smaps", "smaps_rollup"):  # what psutil's memory_maps/memory_full_info parse
            for line in text.decode().splitlines():
                if not re.match(r"^([0-9a-f]+-[0-9a-f]+ |\w+: +\d+ kB$|(THPeligible|ProtectionKey): +\d+$|VmFlags:)", line):
                    return f"{name} line {line!r}"
        elif name == "io":
            if not all(re.fullmatch(r"\w+: \d+", line) for line in text.decode().splitlines()):
                return "io line not 'key: number'"
    except (ValueError, UnicodeDecodeError, IndexError) as e:
        return f"unparsable: {e}"
    return None


class _Empty(Exception):
    """A listing had nothing to pick from (the mount went away)."""


def pick(rng: random.Random, items: list[str]) -> str:
    if not items:
        raise _Empty
    return rng.choice(items)


def reader(mountpoint: str, seconds: float, seed: int) -> ReaderStats:
    rng = random.Random(seed)
    root = Path(mountpoint)
    stats = ReaderStats()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        choice = rng.random()
        per_process = False
        try:
            if choice < 0.25:
                name = rng.choice(ROOT_FILES)
                data = (root / name).read_bytes()
                check_name = name.rsplit("/", 1)[-1]
            elif choice < 0.85:
                pids = [e for e in os.listdir(root) if e.isdigit()]
                stats.listings += 1
                per_process = True
                pid = pick(rng, pids)
                # pagemap and mem are as big as the address space (pagemap is read in whole 8-byte
                # entries, mem at mapped addresses: at 0 it is EIO), and clear_refs is write-only
                # (EINVAL): no reader reads them to the end, on Linux either
                files = [e.name for e in os.scandir(root / pid) if e.is_file(follow_symlinks=False)
                         and e.name not in ("pagemap", "mem", "clear_refs")]
                stats.listings += 1
                check_name = pick(rng, files)  # every regular file; links and directories have their own turn
                data = (root / pid / check_name).read_bytes()
            elif choice < 0.95:
                per_process = True
                pid = pick(rng, [e for e in os.listdir(root) if e.isdigit()])
                os.listdir(root / pid / rng.choice(["fd", "fdinfo", "task", "stacks"]))
                stats.listings += 2
                continue
            else:
                import psutil
                old, psutil.PROCFS_PATH = psutil.PROCFS_PATH, mountpoint
                try:
                    for pid in psutil.pids():
                        try:
                            p = psutil.Process(pid)
                            p.name(), p.status(), p.ppid(), p.memory_info()
                        except psutil.NoSuchProcess:  # ZombieProcess included
                            pass
                except IndexError:  # psutil.pids() on an empty /proc (the mount went away)
                    stats.errors["psutil: empty /proc"] += 1
                    if (root / "meminfo").exists():
                        stats.bad.append("psutil found no processes in a mounted /proc")
                    continue
                finally:
                    psutil.PROCFS_PATH = old
                stats.psutil_scans += 1
                continue
        except _Empty:
            stats.errors["empty listing"] += 1
            if per_process and (root / "meminfo").exists():
                continue  # a process vanished between the listings
            stats.bad.append("empty listing of a mounted /proc")
            continue
        except OSError as e:
            name = errno.errorcode.get(e.errno or 0, str(e.errno))
            stats.errors[name] += 1
            # (a zombie's mount table is EINVAL on Linux: it has no namespaces left)
            zombie_mounts = e.errno == errno.EINVAL and os.path.basename(str(e.filename)).startswith("mount")
            if not (per_process and (e.errno in VANISHED or zombie_mounts)):
                stats.bad.append(f"{name} from {e.filename}")
            continue
        stats.reads += 1
        stats.bytes += len(data)
        problem = validate(check_name, data)
        if problem:
            stats.bad.append(f"{check_name}: {problem}")
    return stats


class Churn(threading.Thread):
    """Applies spawn/mmap/write/fork/exit/wait cycles through sim/ctl as fast as it can."""

    def __init__(self, mountpoint: str, parent: int) -> None:
        super().__init__(daemon=True)
        self.ctl = os.path.join(mountpoint, "sim", "ctl")
        self.parent = parent
        self.operations = 0
        self.failures: Counter = Counter()
        self._halt = threading.Event()

    def command(self, text: str) -> str:
        fd = os.open(self.ctl, os.O_RDWR)
        try:
            os.write(fd, text.encode())
            return os.read(fd, 65536).decode()
        finally:
            os.close(fd)

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                pid = int(self.command(f"spawn churn ppid={self.parent}"))
                self.command(f"mmap {pid} 64K addr=0x40000000 fixed name=churn\nwrite {pid} 0x40000000 64K\n")
                child = int(self.command(f"fork {pid}"))
                self.command(f"write {child} 0x40000000 16K\nexit {child} 1\nexit {pid} 3\nwait {self.parent} {pid}\n")
                self.operations += 8
            except OSError as e:
                self.failures[errno.errorcode.get(e.errno or 0, "?")] += 1
                if self.failures.total() > 100:
                    return

    def stop(self) -> None:
        self._halt.set()
        self.join(10)
