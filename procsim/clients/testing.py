"""procsim as a library for tests: mount a simulated system, drive it with typed calls, clean up.

    from procsim.clients.testing import MountedSystem

    with MountedSystem.start("/tmp/fakeproc", scenario="empty", personality="linux") as sim:
        parent = sim.spawn("server")
        child = sim.zombie(parent=parent)          # a zombie under a live parent
        assert open(f"/tmp/fakeproc/{child}/stat").read().split()[2] == "Z"

`MountedSystem.start(path, ...)` runs the daemon in a child process and waits until the mount
answers; leaving the `with` block (or `stop()`) unmounts it -- with `fusermount -u -z` as a last
resort -- so that neither a mount nor a process is left behind, also when the test failed or the
daemon crashed.  Every control-file command is a method; a failing one raises the OSError subclass
of its errno (ProcessLookupError for ESRCH, ChildProcessError for ECHILD, ...).
"""
from __future__ import annotations

import ctypes.util
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .mount_client import fusermount, is_mounted, run_ctl
from ..safe_files import create_file

if TYPE_CHECKING:
    from .explore import Report

_UNAVAILABLE_MARKERS = ("device not found", "Operation not permitted", "Permission denied",
                        "fuse: failed to open /dev/fuse", "fusermount: mount failed")


class FuseUnavailable(RuntimeError):
    """This machine cannot mount FUSE file systems (the message says why)."""


def fuse_unavailable_reason() -> str | None:
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse does not exist (no FUSE in this kernel or container)"
    if not os.access("/dev/fuse", os.R_OK | os.W_OK):
        return "/dev/fuse is not readable and writable by this user"
    if ctypes.util.find_library("fuse3") is None:
        return "libfuse3.so.3 is not installed (Debian package libfuse3-3)"
    if os.geteuid() != 0 and not (os.path.exists("/usr/bin/fusermount") or os.path.exists("/usr/bin/fusermount3")):
        return "not root and no fusermount helper to mount as a user"
    return None


@dataclass(frozen=True)
class Touch:
    """What a `read`/`write` of memory did."""

    pages: int
    zero_faults: int
    cow_faults: int
    inode_faults: int
    killed: str | None  # e.g. "SIGSEGV (out of memory)", or None


@dataclass
class MountedSystem:
    path: Path
    daemon: subprocess.Popen[bytes]
    log_path: Path
    args: list[str] = field(default_factory=list)
    _held_fds: list[int] = field(default_factory=list)

    @classmethod
    def start(cls, path: os.PathLike[str] | str, *, scenario: str = "default", personality: str = "serenity",
              memory: str = "256M", orphan_policy: str | None = None, speed: float = 1.0,
              processes: int = 1000, paused: bool = False,
              extra_args: list[str] | None = None, timeout: float = 30.0) -> "MountedSystem":
        reason = fuse_unavailable_reason()
        if reason:
            raise FuseUnavailable(reason)
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        log_path = path.with_name(path.name + ".daemon.log")
        args = [str(path), "--scenario", scenario, "--personality", personality, "--memory", memory,
                "--speed", str(speed), "--processes", str(processes)] \
            + (["--orphan-policy", orphan_policy] if orphan_policy else []) + (["--paused"] if paused else []) \
            + list(extra_args or [])
        log = create_file(log_path)  # never through a link planted beside the mountpoint
        try:
            daemon = subprocess.Popen([sys.executable, "-m", "procsim.server.daemon", *args], stdin=subprocess.DEVNULL,
                                      stdout=log, stderr=log, start_new_session=True)
        finally:
            os.close(log)
        mounted = cls(path, daemon, log_path, args)
        try:
            mounted._wait_until_it_answers(timeout)
        except BaseException:
            mounted.stop()  # also when interrupted (Ctrl-C, SIGTERM): no mount outlives this
            raise
        return mounted

    def _wait_until_it_answers(self, timeout: float) -> None:
        daemon, path = self.daemon, self.path
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if daemon.poll() is not None:
                text = self.log()
                if any(marker in text for marker in _UNAVAILABLE_MARKERS):
                    raise FuseUnavailable(f"mounting is not permitted here: {text.strip()[-300:]}")
                raise RuntimeError(f"procsim daemon exited with {daemon.returncode}:\n{text[-3000:]}")
            if is_mounted(str(path)) and (path / "sim" / "ctl").exists():
                return
            time.sleep(0.02)
        raise RuntimeError(f"mount at {path} did not answer within {timeout} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def ctl(self, line: str) -> str:
        """Run one command; returns its result without the trailing newline (OSError on failure)."""
        return run_ctl(str(self.path), line).rstrip("\n")

    # -- the command language as methods ----------------------------------------------------------
    def _run(self, *words: object, **options: object) -> str:
        parts = [str(w) for w in words]
        parts += [f"{key}={shlex.quote(str(value))}" for key, value in options.items() if value is not None]
        return self.ctl(" ".join(parts))

    def spawn(self, name: str, *, ppid: int | None = None, uid: int | None = None, gid: int | None = None,
              program: str | None = None, cmdline: list[str] | str | None = None) -> int:
        if isinstance(cmdline, list):
            cmdline = shlex.join(cmdline)
        return int(self._run("spawn", shlex.quote(name), ppid=ppid, uid=uid, gid=gid, program=program,
                             cmdline=cmdline))

    def fork(self, pid: int) -> int:
        return int(self._run("fork", pid))

    def exit(self, pid: int, code: int = 0) -> None:
        self._run("exit", pid, code)

    def kill(self, pid: int, sig: int | str = "KILL") -> None:
        self._run("kill", pid, int(sig) if isinstance(sig, signal.Signals) else sig)

    def wait(self, pid: int, child: int | None = None, nohang: bool = False) -> tuple[int, int] | None:
        """(child, wait status), or None if `nohang` and no child has exited."""
        words = ["wait", pid] + ([child] if child is not None else []) + (["nohang"] if nohang else [])
        reaped, status = (int(w) for w in self._run(*words).split())
        return None if reaped == 0 else (reaped, status)

    def mmap(self, pid: int, size: int | str, *, shared: bool = False, purgeable: bool = False,
             noreserve: bool = False, file: str | None = None, fd: int | None = None, name: str | None = None,
             prot: str | None = None) -> int:
        flags = [w for w, on in (("shared", shared), ("purgeable", purgeable), ("noreserve", noreserve)) if on]
        return int(self._run("mmap", pid, size, *flags, file=file, fd=fd, name=name, prot=prot), 16)

    def munmap(self, pid: int, addr: int, size: int | str) -> None:
        self._run("munmap", pid, hex(addr), size)

    def _touch(self, verb: str, pid: int, addr: int, length: int | str | None) -> Touch:
        out = self._run(verb, pid, hex(addr), *([length] if length is not None else []))
        fields = dict(part.split("=", 1) for part in out.split(" ", 4))
        killed = fields["killed"]
        return Touch(int(fields["pages"]), int(fields["zero"]), int(fields["cow"]), int(fields["inode"]),
                     None if killed == "no" else killed)

    def read(self, pid: int, addr: int, length: int | str | None = None) -> Touch:
        return self._touch("read", pid, addr, length)

    def write(self, pid: int, addr: int, length: int | str | None = None) -> Touch:
        return self._touch("write", pid, addr, length)

    def madvise(self, pid: int, addr: int, size: int | str, volatile: bool) -> bool:
        """True if the memory had been purged (madvise answered 1)."""
        return self._run("madvise", pid, hex(addr), size, "volatile" if volatile else "nonvolatile") == "1"

    def anon_create(self, pid: int, size: int | str) -> int:
        return int(self._run("anon_create", pid, size))

    def purge(self) -> int:
        return int(self._run("purge"))

    def tick(self, seconds: float) -> None:
        self._run("tick", seconds)

    def pause(self) -> None:
        self._run("pause")

    def resume(self) -> None:
        self._run("resume")

    def after(self, operation: str, path: str, command: str) -> int:
        """Race scripting: run `command` once, right after the mount answered a reader's next
        `operation` ("lookup", "getattr", "open", "read", "readdir", "readlink") of `path`
        (mount-relative, e.g. "/5/stat")."""
        return int(self.ctl(f"after {operation} {shlex.quote(path)} {command}"))

    # -- states that are hard to get with real processes ------------------------------------------
    def processes(self) -> dict[int, dict[str, Any]]:
        """The kernel's own view (`all`), by PID, without the colonel."""
        data = json.loads((self.path / "all").read_text())
        return {p["pid"]: p for p in data["processes"] if p["pid"]}

    def zombie(self, parent: int | None = None, name: str = "zombie", code: int = 0) -> int:
        """A dead child that its (live, non-waiting) parent has not reaped; returns its PID."""
        if parent is None:
            parent = self.spawn("parent")
        child = self.spawn(name, ppid=parent)
        self.exit(child, code)
        return child

    def reaped_with_open_dir(self, name: str = "gone") -> tuple[int, int]:
        """A reaped process whose /PID directory is still held open: (pid, directory fd).

        The fd is closed by stop(); operations through it answer as the personality says.  While
        this process holds the fd, *its own* lookups of /PID are answered as coming through the
        handle (ESRCH), because FUSE's path API cannot tell them apart (docs/personalities.md);
        check that the path is gone from another process."""
        pid = self.spawn(name, ppid=0)
        fd = os.open(self.path / str(pid), os.O_RDONLY | os.O_DIRECTORY)
        self._held_fds.append(fd)
        self.kill(pid, "KILL")  # no parent: reaped at once
        return pid, fd

    def many(self, n: int, name: str = "worker", batch: int = 500) -> list[int]:
        """`n` more processes (children of PID 1 when it exists), created in batches of commands."""
        pids: list[int] = []
        while len(pids) < n:
            count = min(batch, n - len(pids))
            lines = "\n".join(f"spawn {name}{len(pids) + i}" for i in range(count))
            pids += [int(line) for line in self.ctl(lines).split()]
        return pids

    def stop(self) -> None:
        """Unmount and reap the daemon, whatever state it is in; idempotent."""
        for fd in self._held_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._held_fds.clear()
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


def explore(target: "Callable[[str], object] | list[str]", *, scenario: str = "default", personality: str = "linux",
            faults: "tuple[str, ...] | list[str]" = ("exit", "reap", "orphan"), points: str = "distinct",
            jobs: int = 1, timeout: float = 30.0, seed: int = 0, namespace: bool | None = None) -> "Report":
    """Kill, reap or orphan a process at every point where `target` touches it (`procsim explore`).

    `target` is a command (a list of words; `{proc}` and $PROCSIM_PROC name the /proc it reads),
    or a callable that takes that path: it runs in a subprocess (by its module and name, so it
    must be importable).  Readers run in their own mount and PID namespaces where root may make
    them (`namespace=None`), else directly on the mount.  The report's `assert_ok()` raises an
    AssertionError that carries every failure's reproducer::

        def test_my_reader_survives_vanishing_processes():
            explore(my_reader.main, scenario="zombies").assert_ok()
    """
    from .explore import Options
    from .explore import explore as run_explore
    from ..options import MountOptions

    if namespace is None:
        namespace = os.geteuid() == 0
    env: dict[str, str] = {}
    if callable(target):
        module, name = target.__module__, target.__qualname__
        command = [sys.executable, "-c", "import importlib, sys; module = importlib.import_module(sys.argv[1]); "
                                         "getattr(module, sys.argv[2])(sys.argv[3])", module, name, "{proc}"]
        env["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
    else:
        command = list(target)
    options = Options(mount=MountOptions(scenario=scenario, personality=personality, seed=seed),
                      faults=tuple(faults), points=points, jobs=jobs, timeout=timeout, namespace=namespace, env=env)
    return run_explore(command, options)
