"""Bug switches: reproduce real historical SerenityOS bugs on demand (`sim/bugs/NAME`, write 1/0).

Each switch names the commit that fixed the bug and quotes its message (../shared/seeds/), so a
user can watch the bug happen and read why the fix matters.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from procfs.registry import ProcFSComponentRegistry

    from .runner import SimulationRunner


@dataclass(frozen=True)
class BugInfo:
    name: str
    what: str
    fixed_by: str
    fix_message: str


BUGS = {b.name: b for b in (
    BugInfo("procfs_strong_backrefs",
            "PID-directory children hold strong references back to their directory (and the directory "
            "keeps its Process when unregistered): the cycle means dead processes are never freed and "
            "linger in /proc/all forever. Applies to processes registered while it is on.",
            "3344f91fc49 (2021-07-01) Kernel/ProcFS: Clean dead processes properly",
            "Now we use WeakPtrs to break Ref-counting cycle. Also, we call the prepare_for_deletion "
            "method to ensure deleted objects are ready for deletion. This is necessary to ensure we "
            "don't keep dead processes, which would become zombies."),
    BugInfo("panic_on_held_pid_dir",
            "Unregistering a PID directory asserts nobody else holds it: a process that dies while its "
            "/proc/PID is held open (a shell cd-ed into it, exec 3< /proc/PID) panics the kernel.",
            "bee75c1f242 (2021-07-10) Kernel/ProcFS: Allow a PID directory to have a null Process pointer",
            "In case we are about to delete the PID directory, we clear the Process pointer. If someone "
            "still holds a reference to the PID directory (by opening it), we still need to delete the "
            "process, but we can't delete the directory, so we will keep it alive, but any operation on "
            "it will fail by propogating the error to userspace about that the Process was deleted and "
            "therefore there's no meaning to trying to do operations on the directory. Fixes #8576."),
    BugInfo("init_does_not_reap",
            "PID 1 stops calling wait(): under the linux orphan policy, zombies of orphans pile up under "
            "PID 1 (the container PID-1 problem, e.g. a shell or app running as PID 1 without an init).",
            "not a SerenityOS commit: SerenityOS never reparents (orphans are freed at once); this is the "
            "Linux behaviour the linux personality models",
            "An init process must reap the orphans it inherits; tini and dumb-init exist for containers "
            "whose PID 1 does not."),
)}


class BugSwitches:
    def __init__(self, registry: "ProcFSComponentRegistry", runner: "SimulationRunner") -> None:
        self._registry = registry
        self._runner = runner

    def get(self, name: str) -> bool:
        if name == "procfs_strong_backrefs":
            return self._registry.strong_backrefs
        if name == "panic_on_held_pid_dir":
            return self._registry.panic_on_held_dir
        if name == "init_does_not_reap":
            return self._runner.init_does_not_reap
        raise KeyError(name)

    def set(self, name: str, on: bool) -> None:
        if name == "procfs_strong_backrefs":
            self._registry.strong_backrefs = on
        elif name == "panic_on_held_pid_dir":
            self._registry.panic_on_held_dir = on
        elif name == "init_does_not_reap":
            self._runner.init_does_not_reap = on
        else:
            raise KeyError(name)
        kernel = self._registry.kernel
        with kernel.lock:
            kernel.emit("bug_switch", name=name, on=on)  # recorded: a replay flips it at the same time
        kernel.log(f"bug switch {name} {'on' if on else 'off'}")
