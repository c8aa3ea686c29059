"""The fork tree in display order, for the views of a mount (`procsim top`, the live view).

Iterative, not recursive: a fork chain can be as deep as the process table (a recursive walk
died with RecursionError past ~990 generations).  A client of a mount: imports no simulator.
"""
from __future__ import annotations

from typing import Any

#: Deeper generations are drawn at this indentation (a chain of thousands would push every name
#: off the screen).
MAX_INDENT = 32


def tree_order(processes: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    """Each process of SerenityOS's `/all` (the colonel left out) after its parent, siblings by
    PID, with its depth.  A process whose parent is not listed is a root."""
    by_pid = {p["pid"]: p for p in processes if p["pid"]}
    children: dict[int, list[int]] = {}
    for pid, p in by_pid.items():
        parent = p["ppid"] if p["ppid"] in by_pid and p["ppid"] != pid else 0
        children.setdefault(parent, []).append(pid)
    order: list[tuple[dict[str, Any], int]] = []
    stack = [(pid, 0) for pid in sorted(children.get(0, []), reverse=True)]
    while stack:
        pid, depth = stack.pop()
        order.append((by_pid[pid], depth))
        stack.extend((child, depth + 1) for child in sorted(children.get(pid, []), reverse=True))
    return order


def indent(depth: int) -> str:
    """The indentation of a generation: two spaces each, MAX_INDENT at most (then a mark)."""
    if depth > MAX_INDENT:
        return "  " * MAX_INDENT + f"[{depth}] "
    return "  " * depth
