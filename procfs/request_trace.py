"""RequestTrace: the requests one reader's process tree makes, in order -- `sim/trace`.

`procsim explore` traces a reader's baseline run to learn its access points: every lookup,
getattr, open, read, readdir and readlink the mount answered for the reader or any process it
started, with the path.  Requests from anyone else (explore's own control writes, another
reader on the same mount) are left out: a process belongs to the tree if the traced host PID
is among its ancestors, which the host's /proc tells (once per process, checked against PID
reuse).
"""
from __future__ import annotations

from typing import Callable

from .host_caller import HostProcess, host_identity, host_process_facts

#: A trace keeps this many requests at most (a reader in a loop must not grow the daemon).
MAX_RECORDED = 200_000


class RequestTrace:
    def __init__(self, process_of: Callable[[int], HostProcess]) -> None:
        self._process_of = process_of
        self.root: int | None = None
        self._lines: list[str] = []
        self._members: dict[int, tuple[int | None, bool]] = {}  # host PID -> (identity, in the tree)

    @property
    def active(self) -> bool:
        return self.root is not None

    def start(self, root: int) -> None:
        """Trace host process `root` and its descendants, from an empty trace."""
        self.root, self._lines, self._members = root, [], {}

    def stop(self) -> None:
        self.root = None

    def record(self, operation: str, path: str, tid: int) -> None:
        if self.root is None or len(self._lines) >= MAX_RECORDED or not self._in_tree(self._process_of(tid).pid):
            return
        self._lines.append(f"{len(self._lines)} {operation} {path}\n")

    def text(self) -> bytes:
        return "".join(self._lines).encode()

    def _in_tree(self, pid: int) -> bool:
        identity = host_identity(pid)
        known = self._members.get(pid)
        if known is not None and known[0] == identity:
            return known[1]
        member, seen, current = False, 0, pid
        while current > 1 and seen < 64:  # up the parents to the traced process, or to init
            if current == self.root:
                member = True
                break
            current = int(host_process_facts(current).get("PPid", "0") or 0)
            seen += 1
        self._members[pid] = (identity, member)
        return member
