"""Forensics for zombie handling: who is a zombie and who can reap it; what keeps dead objects alive.

`zombies()` gives each dead-but-listed process a verdict; `lifetimes()` lists every live kernel
object that should already be gone, with the strong references that keep it alive, named down to
the host process holding an open handle.  Both read the model under the kernel lock and are
served as `sim/zombies[.json]` and `sim/lifetimes[.json]`.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from kernel_model import Kernel, ProcessState
from kernel_model.process import Process
from kernel_model.ref_counted import RefCounted
from kernel_model.vm_object import VMObject
from procfs.process_directory import ProcessDirectory, ProcessEntry

if TYPE_CHECKING:
    from .runner import SimulationRunner

SERENITY_NOTE = ("orphan policy serenity: nothing is reparented; a process whose parent is gone is "
                 "freed the moment it dies, so it never becomes a zombie -- zombies exist only under a "
                 "living parent that has not waited yet")
LINUX_NOTE = ("orphan policy linux: children of a dying process are reparented to PID 1, which reaps "
              "them only if its program waits")


@dataclass
class ZombieReport:
    pid: int
    name: str
    ppid: int
    parent_name: str
    zombie_seconds: float
    exit_status: int
    verdict: str
    reap_with: str


def _init_reaps(kernel: Kernel, runner: "SimulationRunner | None") -> tuple[bool, str]:
    init = kernel.processes.get(1)
    if init is None or not init.is_alive:
        return False, "there is no living PID 1"
    if init.program != "init":
        return False, f"PID 1 ({init.name}) runs no init program, so nothing calls wait() for it"
    if "--no-reap" in init.cmdline:
        return False, "PID 1 runs init --no-reap (the container PID-1 problem)"
    if runner is not None and runner.init_does_not_reap:
        return False, "the init_does_not_reap bug switch is on"
    return True, "PID 1 runs the init program, which waits for every child"


def zombies(kernel: Kernel, runner: "SimulationRunner | None") -> dict[str, Any]:
    with kernel.lock:
        now = kernel.clock.now_ns()
        reports = []
        for z in kernel.zombies():
            parent = kernel.processes.get(z.ppid)
            waited_by = parent is not None and z.pid in parent.wait_list
            parent_name = parent.name if parent is not None else "?"
            reap_with = f"wait {z.ppid} {z.pid}" if waited_by else ""
            if not waited_by:
                holders = ", ".join(z.strong_holders()) or "nothing"
                verdict = (f"leaked: in no parent's wait list, so nothing can reap it; kept alive by {holders} "
                           f"(see sim/lifetimes)")
            elif z.reparented_from and z.ppid == 1:
                reaps, why = _init_reaps(kernel, runner)
                verdict = (f"parent {z.reparented_from} died; reparented to init (PID 1). "
                           + (f"{why}: reaped at the next step" if reaps else f"{why}: it stays a zombie"))
            elif runner is not None and runner.is_waiting(z.ppid):
                verdict = f"parent {z.ppid} ({parent_name}) is blocked in wait(): reaped at the next step"
            elif z.ppid == 1:
                reaps, why = _init_reaps(kernel, runner)
                verdict = f"child of init (PID 1): {why}: " + (
                    "reaped at the next step" if reaps else "it stays a zombie until PID 1 waits")
            else:
                verdict = f"parent {z.ppid} ({parent_name}) is alive and not waiting: only it can reap it"
            reports.append(ZombieReport(z.pid, z.name, z.ppid, parent.name if parent else "",
                                        round((now - (now if z.dead_time is None else z.dead_time)) / 1e9, 3), z.wait_status(),
                                        verdict, reap_with))
        note = SERENITY_NOTE if kernel.orphan_policy == "serenity" else LINUX_NOTE
        return {"orphan_policy": kernel.orphan_policy, "note": note,
                "zombies": [asdict(r) for r in sorted(reports, key=lambda r: r.pid)]}


def tree(kernel: Kernel) -> list[dict[str, object]]:
    """Every process as a row of the fork tree (sim/tree.json): who is whose child, who is dead,
    and who was reparented from which parent."""
    with kernel.lock:
        return [{"pid": p.pid, "ppid": p.ppid, "name": p.name, "alive": p.state == ProcessState.RUNNING,
                 "reparented_from": p.reparented_from} for p in kernel.processes.values()]


def zombies_text(report: dict[str, Any]) -> str:
    lines = [f"# {report['note']}", f"{'PID':>7} {'NAME':<16} {'PPID':>7} {'PARENT':<16} {'ZOMBIE FOR':>10}  "
             f"{'STATUS':>6}  VERDICT"]
    for z in report["zombies"]:
        verdict = z["verdict"] + (f" -- reap with: {z['reap_with']}" if z["reap_with"] else "")
        lines.append(f"{z['pid']:>7} {z['name'][:16]:<16} {z['ppid']:>7} {z['parent_name'][:16]:<16} "
                     f"{z['zombie_seconds']:>9.1f}s  {z['exit_status']:>6}  {verdict}")
    if not report["zombies"]:
        lines.append("(no zombies)")
    return "\n".join(lines) + "\n"


@dataclass
class LifetimeReport:
    kind: str
    object: str
    why: str
    strong: int
    weak: int
    held_by: list[str]
    pid: int | None = None  # the process it is, or whose /PID it is (None: a VM object)
    # The names it holds others under: an edge of the reference graph goes from it to them
    # ("PID directory /8" holds the process 8 and the entries of /8).
    holds_as: list[str] = field(default_factory=list)


def _holds_as(obj: object) -> list[str]:
    if isinstance(obj, ProcessDirectory):
        return [f"PID directory /{obj.pid}"]
    if isinstance(obj, ProcessEntry):
        return [f"{obj.name} entry of /{obj.pid} (strong back-pointer bug)"]
    return []


def lifetimes(kernel: Kernel, describe_holder: Callable[[str], str],
              linked_directories: Iterable[object] | None = None, *, zombies: bool = False) -> list[dict[str, Any]]:
    """Every live object that should already be gone, and who holds it.

    `linked_directories` are the PID directories /proc still lists; any other live one is left
    over from a process that was unregistered (without them, that check is skipped).  With
    `zombies`, the whole reference graph of the dead: every zombie too (its parent's wait list
    holds it), its PID directory, and the entries of a reported directory that hold it back."""
    linked = None if linked_directories is None else {id(d) for d in linked_directories}
    owned_by_fds: set[int] = set()
    with kernel.lock:
        for process in kernel.processes.values():
            for entry in process.fds.values():
                if entry.description.vmobject_ref is not None:
                    owned_by_fds.add(id(entry.description.vmobject_ref.get()))
        found = []
        reported_directories: set[int] = set()
        objects = kernel.registry.objects()
        for obj in objects:
            why = ""
            if isinstance(obj, Process) and obj.pid and obj.state == ProcessState.DEAD:
                parent = kernel.processes.get(obj.ppid)
                if obj.reaped or parent is None or obj.pid not in parent.wait_list:
                    why = "a reaped (or unreapable) process that is still alive"
                elif zombies:
                    why = f"a zombie: its parent {obj.ppid} has not waited for it yet"
            elif isinstance(obj, ProcessDirectory) and obj.process is None:
                why = "an orphaned PID directory (its process is gone)"
            elif isinstance(obj, ProcessDirectory) and linked is not None and id(obj) not in linked \
                    and obj.kernel is kernel:
                why = "a PID directory no longer linked from /proc (its process was unregistered)"
            elif zombies and isinstance(obj, ProcessDirectory) and obj.process is not None \
                    and obj.process.state != ProcessState.RUNNING:
                why = "the PID directory of a zombie (Linux keeps it until the reap)"
            elif isinstance(obj, VMObject) and not obj.regions and id(obj) not in owned_by_fds:
                why = "a VM object no region maps"
            if why:
                if isinstance(obj, ProcessDirectory):
                    reported_directories.add(id(obj))
                found.append(_report(obj, why, describe_holder))
        if zombies:  # the entries that hold a reported directory back (the strong back-pointer bug)
            cycles: dict[int, list[ProcessEntry]] = {}
            for obj in objects:
                if isinstance(obj, ProcessEntry) and obj._strong_dir is not None \
                        and id(obj._strong_dir.get()) in reported_directories:
                    cycles.setdefault(obj.pid, []).append(obj)
            for pid, entries in sorted(cycles.items()):  # one node for them all: they hold alike
                reports = [_report(e, "", describe_holder) for e in entries]
                names = ", ".join(e.name for e in entries[:4]) + (", ..." if len(entries) > 4 else "")
                found.append(LifetimeReport(
                    "ProcessEntry", f"{len(entries)} entries of /{pid} ({names})",
                    "they hold their directory strongly (the procfs_strong_backrefs bug): a cycle",
                    sum(r.strong for r in reports), sum(r.weak for r in reports),
                    sorted({h for r in reports for h in r.held_by}), pid,
                    [a for r in reports for a in r.holds_as]))
    return [asdict(r) for r in found]


def _report(obj: "RefCounted", why: str, describe_holder: Callable[[str], str]) -> LifetimeReport:
    holders = [f"{describe_holder(h)}" + (f" (x{n})" if n > 1 else "")
               for h, n in sorted(obj.strong_holders().items())]
    pid = obj.pid if isinstance(obj, (Process, ProcessDirectory, ProcessEntry)) else None
    return LifetimeReport(type(obj).__name__, obj.describe(), why, obj.ref_count, obj.weak_count(), holders,
                          pid, _holds_as(obj))


def lifetimes_text(report: list[dict[str, Any]]) -> str:
    lines = [f"{'KIND':<20} {'STRONG':>6} {'WEAK':>4}  OBJECT -- WHY -- HELD BY"]
    for r in report:
        lines.append(f"{r['kind']:<20} {r['strong']:>6} {r['weak']:>4}  {r['object']} -- {r['why']}")
        lines.extend(f"{'':<33}held by: {h}" for h in r["held_by"])
    if not report:
        lines.append("(nothing alive that should be gone)")
    return "\n".join(lines) + "\n"


def dumps(value: object) -> bytes:
    return (json.dumps(value, indent=1) + "\n").encode()

