"""Mount a simulated system for a test and always take it down again.

`MountedSystem.start(path, ...)` runs the daemon in a child process, waits until the mount
answers, and `stop()` unmounts it -- with `fusermount -u -z` as a last resort -- so that neither a
mount nor a process is left behind, also when the test failed or the daemon crashed.
"""
from __future__ import annotations

import ctypes.util
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .cli import fusermount, is_mounted, run_ctl

_UNAVAILABLE_MARKERS = ("device not found", "Operation not permitted", "Permission denied",
                        "fuse: failed to open /dev/fuse", "fusermount: mount failed")


class FuseUnavailable(RuntimeError):
    """This machine cannot mount FUSE file systems (the message says why)."""


def fuse_unavailable_reason() -> str | None:
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse does not exist (no FUSE in this kernel or container)"
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        return "/dev/fuse is not readable and writable by this user"
    if ctypes.util.find_library("fuse") is None:
        return "libfuse.so.2 is not installed (Debian package libfuse2)"
    if os.geteuid() != 0 and not (os.path.exists("/usr/bin/fusermount") or os.path.exists("/usr/bin/fusermount3")):
        return "not root and no fusermount helper to mount as a user"
    return None


@dataclass
class MountedSystem:
    path: Path
    daemon: subprocess.Popen
    log_path: Path
    args: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, path: os.PathLike | str, *, scenario: str = "default", personality: str = "serenity",
              memory: str = "256M", orphan_policy: str | None = None, speed: float = 1.0,
              processes: int = 1000,
              extra_args: list[str] | None = None, timeout: float = 30.0) -> "MountedSystem":
        reason = fuse_unavailable_reason()
        if reason:
            raise FuseUnavailable(reason)
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        log_path = path.with_name(path.name + ".daemon.log")
        args = [str(path), "--scenario", scenario, "--personality", personality, "--memory", memory,
                "--speed", str(speed), "--processes", str(processes)] \
            + (["--orphan-policy", orphan_policy] if orphan_policy else []) + list(extra_args or [])
        with open(log_path, "wb") as log:
            daemon = subprocess.Popen([sys.executable, "-m", "procsim.daemon", *args], stdin=subprocess.DEVNULL,
                                      stdout=log, stderr=log, start_new_session=True)
        mounted = cls(path, daemon, log_path, args)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if daemon.poll() is not None:
                text = mounted.log()
                mounted.stop()
                if any(marker in text for marker in _UNAVAILABLE_MARKERS):
                    raise FuseUnavailable(f"mounting is not permitted here: {text.strip()[-300:]}")
                raise RuntimeError(f"procsim daemon exited with {daemon.returncode}:\n{text[-3000:]}")
            if is_mounted(str(path)) and (path / "sim" / "ctl").exists():
                return mounted
            time.sleep(0.02)
        mounted.stop()
        raise RuntimeError(f"mount at {path} did not answer within {timeout} s:\n{mounted.log()[-3000:]}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def ctl(self, line: str) -> str:
        """Run one command; returns its result without the trailing newline (OSError on failure)."""
        return run_ctl(str(self.path), line).rstrip("\n")

    def stop(self) -> None:
        """Unmount and reap the daemon, whatever state it is in; idempotent."""
        path = str(self.path)
        if is_mounted(path):
            subprocess.run([fusermount(), "-u", path], capture_output=True)
        try:
            self.daemon.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.daemon.pid, signal.SIGKILL)
            self.daemon.wait(10)
        deadline = time.monotonic() + 5
        while is_mounted(path) and time.monotonic() < deadline:
            subprocess.run([fusermount(), "-u", "-z", path], capture_output=True)
            time.sleep(0.05)
        try:
            os.killpg(self.daemon.pid, signal.SIGKILL)  # the auto_unmount helper, if it lingers
        except ProcessLookupError:
            pass

    def __enter__(self) -> "MountedSystem":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
