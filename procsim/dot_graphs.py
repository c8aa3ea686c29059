"""Pictures of a simulated system as Graphviz DOT: the fork tree (zombies, orphans and who can reap
them) and the reference graph of the dead (what keeps a dead process or an orphaned /PID alive).

Both are built from plain data -- the reports of `sim/tree.json`, `sim/zombies.json` and
`sim/references.json` -- so the daemon serves them as `sim/tree.dot` and `sim/lifetimes.dot`, and
`procsim graph` (a client of the mount) builds the graph of one PID from the same files.  Every
name is quoted: a process may be called anything.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

ZOMBIE = 'style=filled fillcolor="#f4cccc" color="#990000"'
ORPHAN = 'style="filled,dashed" fillcolor="#fff2cc"'
LIVE = 'style=filled fillcolor="#d9ead3"'
HOLDER = 'shape=box style="rounded,filled" fillcolor="#eeeeee"'
KERNEL_OBJECT = 'shape=box style=filled fillcolor="#cfe2f3"'


def quote(text: object) -> str:
    """A DOT string: every character of `text` stays text (no escape leaves the quotes)."""
    value = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    value = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{value}"'


def _graph(name: str, lines: Iterable[str], rankdir: str = "TB") -> str:
    head = [f"digraph {quote(name)} {{", f"  rankdir={rankdir};", '  node [fontname="Helvetica" fontsize=10];',
            '  edge [fontname="Helvetica" fontsize=9];']
    return "\n".join(head + [f"  {line}" for line in lines] + ["}"]) + "\n"


def tree_dot(processes: list[dict[str, Any]], zombies: list[dict[str, Any]], pid: int | None = None) -> str:
    # `processes`: rows of sim/tree.json, {pid, ppid, name, alive, reparented_from}
    """The fork tree: an edge from each parent to each child; zombies in red, with the wait that
    would reap them on the edge from the one process that can; orphans (reparented to init) dashed,
    with the parent they had.  With `pid`, only that process, its ancestors and its children."""
    by_pid = {p["pid"]: p for p in processes if p["pid"]}
    verdicts = {z["pid"]: z for z in zombies}
    shown = set(by_pid)
    if pid is not None:
        shown = {pid} | {p for p, row in by_pid.items() if row["ppid"] == pid}
        up = by_pid.get(pid)
        while up is not None and up["ppid"] in by_pid and up["ppid"] not in shown:
            shown.add(up["ppid"])
            up = by_pid[up["ppid"]]
    lines = []
    for p in sorted(shown):
        row = by_pid.get(p)
        if row is None:
            continue
        dead = not row["alive"]
        label = f"{p} {row['name']}" + ("\nzombie" if dead else "")
        style = ZOMBIE if dead else LIVE
        if row.get("reparented_from"):
            label += f"\norphan of {row['reparented_from']}"
            style = ORPHAN if not dead else ZOMBIE
        lines.append(f"p{p} [label={quote(label)} {style}];")
    for p in sorted(shown):
        row = by_pid.get(p)
        if row is None or row["ppid"] not in by_pid or row["ppid"] not in shown:
            continue
        verdict = verdicts.get(p)
        if verdict and verdict.get("reap_with"):
            lines.append(f"p{row['ppid']} -> p{p} [label={quote(verdict['reap_with'])} color=\"#990000\"];")
        else:
            lines.append(f"p{row['ppid']} -> p{p};")
    for z in zombies:
        if z["pid"] in shown and not z.get("reap_with"):
            lines.append(f"leak{z['pid']} [label={quote('nobody can reap it')} shape=note];")
            lines.append(f"leak{z['pid']} -> p{z['pid']} [style=dotted arrowhead=none];")
    return _graph("process tree", lines)


_COUNT = re.compile(r" \(x\d+\)$")


def references_dot(report: list[dict[str, Any]], pid: int | None = None) -> str:
    """What holds each dead object (sim/references.json): an edge from every holder to what it
    holds -- a parent's wait list, an open handle and the host process behind it, the kernel's
    reference for a cwd, or another object of the report (a directory and its entries holding
    each other: a cycle).  With `pid`, only the objects of that process."""
    objects = [r for r in report if pid is None or r.get("pid") == pid]
    aliases = {alias: i for i, r in enumerate(report) for alias in r.get("holds_as", [])}
    wanted = {report.index(r) for r in objects}
    # objects of the report that hold a wanted one come along (the other side of a cycle)
    for r in objects:
        for holder in r["held_by"]:
            index = aliases.get(_COUNT.sub("", holder))
            if index is not None:
                wanted.add(index)
    lines = []
    holders: dict[str, str] = {}
    for i in sorted(wanted):
        r = report[i]
        style = ZOMBIE if r["kind"] == "Process" else KERNEL_OBJECT
        lines.append(f"o{i} [label={quote(r['object'] + chr(10) + r['why'])} {style}];")
    edges: list[str] = []
    for i in sorted(wanted):
        for holder in report[i]["held_by"]:
            index = aliases.get(_COUNT.sub("", holder))
            if index is not None:
                edge = f"o{index} -> o{i} [label={quote('holds')}];"
            else:
                edge = f"{holders.setdefault(holder, f'h{len(holders)}')} -> o{i};"
            if edge not in edges:
                edges.append(edge)
    lines += edges
    lines += [f"{node} [label={quote(holder)} {HOLDER}];" for holder, node in holders.items()]
    if not wanted:
        lines.append(f"none [label={quote('nothing dead is held' + (f' for PID {pid}' if pid else ''))} "
                     f"shape=plaintext];")
    return _graph("references", lines, rankdir="LR")
