"""`sim/`: the simulation's own files in the mount -- the control file and its companions.

procfs does not know the command language: the daemon hands in a Controller that executes one
line and returns its result, raising an OSError-compatible error (ProcFSError or KernelError
mapped by the caller) when it fails.  Only the mount owner (or root) may write `ctl`; the mode
bits say so and `default_permissions` makes the kernel enforce them.
"""
from __future__ import annotations

import errno
from typing import Callable, Generator, Protocol

from kernel_model import KernelError

from .component import Caller, GlobalDirectory, Node, ProcFSError

MAX_CTL_WRITE = 64 * 1024


class Controller(Protocol):
    def execute(self, line: str, caller: Caller) -> str: ...
    def execute_steps(self, line: str, caller: Caller) -> Generator[None, None, str]: ...


class ControlFile(Node):
    """`sim/ctl`: each write is one or more command lines, each run atomically on the kernel."""

    writable = True

    def __init__(self, controller: Controller, owner_uid: int, owner_gid: int) -> None:
        self.name = "ctl"
        self.controller = controller
        self._owner = (owner_uid, owner_gid)
        self.permissions = 0o600

    def owner(self) -> tuple[int, int]:
        return self._owner

    def read(self, caller: Caller) -> bytes:
        return b""

    def write(self, caller: Caller, data: bytes) -> bytes:
        steps = self.write_steps(caller, data)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                result: bytes = done.value
                return result

    def write_steps(self, caller: Caller, data: bytes) -> Generator[None, None, bytes]:
        """The write, yielding wherever the simulation may let readers in (between the steps of a
        tick): the FUSE adapter answers other requests there."""
        if caller.uid not in (0, self._owner[0]):
            raise ProcFSError(errno.EACCES, "only the mount owner may drive the simulation")
        if len(data) > MAX_CTL_WRITE:
            raise ProcFSError(errno.EINVAL, "command too long")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ProcFSError(errno.EINVAL, "command is not UTF-8 text") from None
        lines = [line for line in text.split("\n") if line.strip()]
        if not lines:
            raise ProcFSError(errno.EINVAL, "empty command")
        results: list[str] = []
        for number, line in enumerate(lines, 1):
            try:
                results.append((yield from self.controller.execute_steps(line, caller)))
            except KernelError as e:
                # Lines run in order, each atomically; the first that fails stops the write. The
                # results of the lines already applied come back with its message, never lost.
                applied = "".join(r + "\n" for r in results if r)
                where = f"line {number}: " if len(lines) > 1 else ""
                raise ProcFSError(e.errno, f"{applied}{where}{e.message}") from None
        return "".join(r + "\n" for r in results if r).encode()


class OwnersFile(Node):
    """A file of the mount owner's: only the owner (or root) may write it, whatever the mode
    bits say (checked again here, after the kernel's `default_permissions`)."""

    writable = True

    def __init__(self, name: str, owner_uid: int, owner_gid: int) -> None:
        self.name = name
        self._owner = (owner_uid, owner_gid)

    def owner(self) -> tuple[int, int]:
        return self._owner

    def check_writer(self, caller: Caller, what: str) -> None:
        if caller.uid not in (0, self._owner[0]):
            raise ProcFSError(errno.EACCES, f"only the mount owner may {what}")


class SwitchFile(OwnersFile):
    """A boolean the mount owner flips by writing 1 or 0 (`sim/bugs/NAME`)."""

    permissions = 0o644

    def __init__(self, name: str, get: Callable[[], bool], set_: Callable[[bool], None], owner_uid: int,
                 owner_gid: int) -> None:
        super().__init__(name, owner_uid, owner_gid)
        self._get = get
        self._set = set_

    def read(self, caller: Caller) -> bytes:
        return b"1\n" if self._get() else b"0\n"

    def write(self, caller: Caller, data: bytes) -> bytes:
        self.check_writer(caller, "flip switches")
        value = data.strip()
        if value not in (b"0", b"1"):
            raise ProcFSError(errno.EINVAL, "write 1 or 0")
        self._set(value == b"1")
        return self.read(caller)


class LiveFile(Node):
    """A growing file read in place (`sim/events`): `tail -f` polls its size and reads on.

    The event log holds every command line the simulation ran, which `/PID/cmdline` may hide from
    other users: it is the mount owner's alone (0400)."""

    live = True
    permissions = 0o400

    def __init__(self, name: str, read_at: Callable[[int, int], bytes], size: Callable[[], int],
                 owner_uid: int = 0, owner_gid: int = 0) -> None:
        self.name = name
        self._read_at = read_at
        self._size = size
        self._owner = (owner_uid, owner_gid)

    def owner(self) -> tuple[int, int]:
        return self._owner

    def read(self, caller: Caller) -> bytes:
        return b""

    def read_at(self, offset: int, size: int) -> bytes:
        return self._read_at(offset, size)

    def size(self) -> int:
        return self._size()


def build_sim_directory(controller: Controller, owner_uid: int, owner_gid: int,
                        extra: list[Node] | None = None) -> GlobalDirectory:
    return GlobalDirectory("sim", [ControlFile(controller, owner_uid, owner_gid), *(extra or [])])




class TraceFile(OwnersFile):
    """`sim/trace`: write a host PID to record the requests of that process and its descendants
    (from an empty trace), `off` to stop; read the requests, one `INDEX OPERATION PATH` a line."""

    permissions = 0o600

    def __init__(self, start: Callable[[int], None], stop: Callable[[], None], text: Callable[[], bytes],
                 owner_uid: int, owner_gid: int) -> None:
        super().__init__("trace", owner_uid, owner_gid)
        self._start, self._stop, self._text = start, stop, text

    def read(self, caller: Caller) -> bytes:
        return self._text()

    def write(self, caller: Caller, data: bytes) -> bytes:
        self.check_writer(caller, "trace readers")
        word = data.strip()
        if word == b"off":
            self._stop()
        elif word.isdigit() and word.isascii() and 0 < int(word) < 1 << 31:
            self._start(int(word))
        else:
            raise ProcFSError(errno.EINVAL, "write a host PID to trace its process tree, or off")
        return b""


class ActionFile(OwnersFile):
    """A file whose write does one thing (`sim/reset`): the mount owner's alone."""

    permissions = 0o200

    def __init__(self, name: str, action: Callable[[], None], owner_uid: int, owner_gid: int) -> None:
        super().__init__(name, owner_uid, owner_gid)
        self._action = action

    def read(self, caller: Caller) -> bytes:
        return b""

    def write(self, caller: Caller, data: bytes) -> bytes:
        self.check_writer(caller, f"write {self.name}")
        try:
            self._action()
        except KernelError as e:
            raise ProcFSError(e.errno, e.message) from None
        return b""
