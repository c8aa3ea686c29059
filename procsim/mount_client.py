"""A client of a mount: what talks to a running procsim only through the mount table, the files
of the mount (`sim/ctl`) and the daemon's process -- never by importing the simulator.  `procsim
ctl`, `procsim umount`, the testing API and the pytest plugin use it, so they work on a mount
someone else started, and load nothing of the kernel, the procfs backends, trio or FUSE.
"""
from __future__ import annotations

import errno
import os
import shlex
import shutil
import subprocess
import time
from typing import Any

PROCSIM_FSTYPE = "fuse.procsim"  # the daemon mounts with subtype=procsim


def fusermount() -> str:
    return shutil.which("fusermount") or shutil.which("fusermount3") or "fusermount"


def mounted_here(path: str) -> tuple[str, str] | None:
    """(source, type) of what is mounted at `path` (the topmost mount), or None."""
    real = os.path.realpath(path)
    found = None
    try:
        with open("/proc/self/mounts") as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) > 2 and fields[1] == real:
                    found = (fields[0], fields[2])
    except OSError:
        return ("?", "?") if os.path.ismount(path) else None
    return found


def is_mounted(path: str) -> bool:
    return mounted_here(path) is not None


def clear_stale_mount(path: str) -> bool:
    """A dead FUSE mount answers ENOTCONN; unmount it lazily.  Returns True if one was cleared.
    (statfs, not stat: the kernel may answer a stat from its attribute cache without asking.)"""
    try:
        os.statvfs(path)
        return False
    except OSError as e:
        if e.errno != errno.ENOTCONN:
            return False
    subprocess.run([fusermount(), "-u", "-z", path], check=False, capture_output=True)
    return True


def unmount(path: str, lazy: bool = False) -> bool:
    command = [fusermount(), "-u"] + (["-z"] if lazy else []) + [path]
    return subprocess.run(command, capture_output=True).returncode == 0


def daemons_serving(mountpoint: str) -> list[Any]:
    """The daemon processes serving `mountpoint` (found by their command line)."""
    import psutil

    real = os.path.realpath(mountpoint)
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "procsim.daemon" in cmdline and real in (os.path.realpath(a) for a in cmdline if a.startswith("/")):
            found.append(process)
    return found


def wait_for_exit(processes: list[Any], timeout: float = 10.0) -> bool:
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for process in processes:
            try:
                if process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
            except psutil.NoSuchProcess:
                pass
        if not alive:
            return True
        time.sleep(0.02)
    return False


def run_ctl(mountpoint: str, line: str) -> str:
    """Write one command to MOUNTPOINT/sim/ctl and read its result from the same open file.  When
    the kernel refuses it, the write fails with its errno and the same file reads its message:
    the OSError of that errno (ProcessLookupError for ESRCH, ...) with the kernel's message."""
    fd = os.open(os.path.join(mountpoint, "sim", "ctl"), os.O_RDWR)
    try:
        try:
            os.write(fd, (line + "\n").encode())
        except OSError as e:
            code = e.errno or errno.EIO
            message = _read_all(fd).decode(errors="replace").strip() or os.strerror(code)
            raise OSError(code, message) from None
        return _read_all(fd).decode()
    finally:
        os.close(fd)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def ctl_line(words: list[str]) -> str:
    """One argument is a whole command line (`procsim ctl M "fork 4"`); several are words, each
    reaching the kernel as typed (`spawn 'a#b'`, `spawn "it's"`)."""
    if len(words) == 1:
        return words[0]
    return " ".join(shlex.quote(word) for word in words)
