"""ProcFSComponentRegistry: the root directory and the kernel observer that fills it.

The kernel tells the registry when a process is registered, finalized and reaped.  Registration
creates `/PID/`; unregistration (at finalize under the serenity personality, at reap under linux,
so a Linux zombie keeps its directory) prepares the directory for deletion and unlinks it.  The
root's list holds one strong reference per directory; an open handle may hold another, which is
what keeps an orphaned directory alive.  `orphans` finds such a directory again by PID -- weakly,
so it never keeps one alive itself.
"""
from __future__ import annotations

import errno
from dataclasses import dataclass
from collections import OrderedDict
from typing import Callable, Iterable

from kernel_model import Kernel, Process
from kernel_model.object_registry import ObjectRegistry
from kernel_model.ref_counted import RefPtr, adopt_ref
from kernel_model.weak_ptr import WeakPtr

from .component import DIR, Caller, GlobalDirectory, Node, ProcFSError
from .global_backend import GlobalBackend
from .machine_devices import DEFAULT, MachineDevices
from .host_caller import host_cmdline, host_identity, host_process_facts, own_view
from .personality import SERENITY, Personality, personality_named
from .process_backend import ProcessDirectory, specs_for



#: A hidden root entry (not listed): the callers' own views, for /proc/self when a simulated
#: process has the caller's number.
HOST_CALLERS = ".host-callers"


def pid_of_name(name: str) -> int | None:
    """The PID a root entry names: ASCII decimal without leading zeros, as the kernel prints it
    (`int()` alone would also take "007", "1_0" and "\u0663", aliases no /proc has)."""
    if name.isascii() and name.isdigit() and (name[0] != "0" or name == "0"):
        return int(name)
    return None

@dataclass(frozen=True)
class ReaderHooks:
    """What the simulation asks to hear of readers, given to the registry when it is made."""

    # Called once a reader's request is answered, before the answer goes out ("open", "/5/stat"):
    # lookup, getattr, open, read, readdir, readlink.  Race triggers hang on it (`after open
    # /5/stat exit 5`).  True if one fired.
    on_access: Callable[[str, str], bool] = lambda operation, path: False
    # The directories ("/", "/5") a trigger fires inside of (a listing of it, a lookup in it):
    # their names are served uncached until it fires.
    watched_listings: Callable[[], frozenset[str]] = frozenset


class ProcFSComponentRegistry:
    def __init__(self, kernel: Kernel, personality: str | Personality = SERENITY,
                 hooks: ReaderHooks = ReaderHooks(), devices: MachineDevices = DEFAULT) -> None:
        self.kernel = kernel
        self.personality = personality_named(personality)
        self.directories: dict[int, RefPtr[ProcessDirectory]] = {}
        self.orphans: dict[int, WeakPtr[ProcessDirectory]] = {}
        # Bug switches (sim/bugs/): reproduce what SerenityOS fixed in 3344f91fc49 and bee75c1f242.
        self.strong_backrefs = False      # procfs_strong_backrefs: children hold their directory strongly
        self.panic_on_held_dir = False    # panic_on_held_pid_dir: unregistering a held directory panics
        self.hooks = hooks
        # How a holder name reads to a person (name_holders_with: the FUSE adapter names the host
        # process behind a handle).
        self.describe_holder: Callable[[str], str] = lambda holder: holder
        # What changed since the server last took it (None until one tracks changes): (directory,
        # unlinked).  Unlinked directories leave the root; a Linux zombie's entries change owner.
        self._changed: list[tuple[ProcessDirectory, bool]] | None = None
        # The callers' own views by host PID, with what tells that process from a later one.
        self._host_dirs: OrderedDict[int, tuple[int | None, RefPtr[ProcessDirectory]]] = OrderedDict()
        self._host_registry = ObjectRegistry()  # host-caller views are not kernel objects
        backend = GlobalBackend(kernel, self.personality.linux_files, devices)
        self.machine_net = backend.net_directory  # what every /PID/net shows (linux)
        self.root = RootDirectory(self, backend.entries(self._self_target))
        with kernel.lock:
            kernel.add_observer(self)
            for process in kernel.processes.values():
                if process.is_alive or self.personality.zombie_keeps_directory:
                    self.on_process_registered(process)

    def _self_target(self, caller: Caller) -> str:
        """`/proc/self` names the caller.  Simulated PIDs are never reused, so they can pass the
        host's PIDs: where the caller's number is (or was) a simulated process's, the link leads
        to the caller's view under HOST_CALLERS instead, never to the simulated process."""
        own = caller.own_pid
        if pid_of_name(str(own)) is not None and self._is_simulated(own):
            return f"{HOST_CALLERS}/{caller.pid}"
        return str(own)

    def _is_simulated(self, pid: int) -> bool:
        """A PID the simulation shows now, or may show through a name the kernel still caches."""
        return pid in self.directories or self.kernel.was_allocated(pid)

    # -- the server in front of it (the FUSE adapter) ---------------------------------------------
    def track_changes(self) -> None:
        """From now on, queue what changed for take_changes (a server that caches names must
        take them back)."""
        self._changed = []

    def take_changes(self) -> list[tuple[ProcessDirectory, bool]]:
        changed = self._changed or []
        if self._changed is not None:
            self._changed = []
        return changed

    def name_holders_with(self, describe: Callable[[str], str]) -> None:
        """How the lifetime inspector and a panic name a holder ("open handle 7 on /42" -> "... held
        by host process 1234 (bash)")."""
        self.describe_holder = describe

    def listing_watched(self, path: str) -> bool:
        return path in self.hooks.watched_listings()

    # -- kernel observer -------------------------------------------------------------------------

    def on_process_registered(self, process: Process) -> None:
        pid = process.pid
        directory = ProcessDirectory(self.kernel.registry, process.ref(f"PID directory /{pid}"),
                                     self.personality, self.kernel, specs_for(self.personality),
                                     self.strong_backrefs)
        directory.machine_net = self.machine_net
        self.directories[pid] = adopt_ref(directory, "ProcFS root list")
        if self.strong_backrefs:
            # Before 32a4a4ac197 every child existed from the start, so the cycle always formed.
            for name in directory.specs():
                directory.child(name)

    def on_process_finalized(self, process: Process) -> None:
        if not self.personality.zombie_keeps_directory:
            self.unregister(process.pid)
        elif self._changed is not None:
            ref = self.directories.get(process.pid)
            if ref is not None:
                self._changed.append((ref.get(), False))

    def on_process_reaped(self, process: Process) -> None:
        self.unregister(process.pid)

    def unregister(self, pid: int) -> None:
        ref = self.directories.pop(pid, None)
        if ref is None:
            return
        directory = ref.get()
        if self.panic_on_held_dir and directory.ref_count > 1:
            holders = [self.describe_holder(h) for h in directory.strong_holders() if h != "ProcFS root list"]
            self.kernel.panic(
                f"ASSERTION FAILED: directory->ref_count() == 1 in ProcFSComponentRegistry::unregister_process\n"
                f"process {pid} died while its /proc/{pid} directory was held open by: {'; '.join(holders)}\n"
                f"(SerenityOS #8576, fixed by bee75c1f242; switch off sim/bugs/panic_on_held_pid_dir)")
        if directory.strong_backrefs:
            ref.release()  # the pre-fix code only unlinked the directory: the cycle keeps it alive
            return
        directory.prepare_for_deletion()
        if self._changed is not None:
            self._changed.append((directory, True))
        weak = directory.make_weak_ptr()
        ref.release()
        if not weak.is_null():
            self.orphans[pid] = weak
        self._prune_orphans()

    def _prune_orphans(self) -> None:
        for pid in [pid for pid, weak in self.orphans.items() if weak.is_null()]:
            self.orphans.pop(pid).clear()

    # -- the caller's own, hidden, directory -----------------------------------------------------
    def host_directory(self, pid: int) -> ProcessDirectory | None:
        """A read-only view of a host process (the caller), so `ps` can look itself up."""
        identity = host_identity(pid)
        cached = self._host_dirs.get(pid)
        if cached is not None and cached[0] == identity:  # not a later process with the same number
            self._host_dirs.move_to_end(pid)
            return cached[1].get()
        facts = host_process_facts(pid)
        if not facts:
            return None
        uid = int(facts.get("Uid", "0") or 0)
        own_pid, own_ppid = own_view(pid, facts)  # the numbers the caller knows (its PID namespace's)
        process = Process(self._host_registry, own_pid, own_ppid, facts.get("Name", "?"),
                          uid=uid, gid=int(facts.get("Gid", "0") or 0), cmdline=host_cmdline(pid),
                          start_time=self.kernel.clock.now_ns())
        process.thread.state = "Running"  # type: ignore[union-attr]
        process_ref = adopt_ref(process, "host caller view")
        directory = ProcessDirectory(self._host_registry, process_ref, self.personality, None,
                                     specs_for(self.personality, host_caller=True))
        directory.host_pid = pid
        directory.machine_net = self.machine_net
        if cached is not None:
            self._host_dirs.pop(pid)[1].release()
        self._host_dirs[pid] = (identity, adopt_ref(directory, "host caller cache"))
        while len(self._host_dirs) > 32:
            self._host_dirs.popitem(last=False)[1][1].release()
        return directory


class RootDirectory(GlobalDirectory):
    """`/`: fixed entries first, then one directory per registered PID, ascending."""

    def __init__(self, registry: ProcFSComponentRegistry, entries: Iterable[Node]) -> None:
        super().__init__("", entries)
        self.registry = registry
        self.host_callers = HostCallers(registry)

    def lookup(self, name: str, caller: Caller) -> Node:
        """A fresh path: a PID that is gone answers ENOENT, as both kernels do.  (A walk through a
        handle still held in a dead directory never comes here: it starts at that directory.)"""
        child = self.children.get(name)
        if child is not None:
            return child
        if name == HOST_CALLERS:
            return self.host_callers
        pid = pid_of_name(name)
        if pid is None:
            raise ProcFSError(errno.ENOENT)
        registry = self.registry
        ref = registry.directories.get(pid)
        if ref is not None:
            return ref.get()
        if caller.is_own_pid(pid):  # procps and psutil look themselves up by their own PID
            host = registry.host_directory(caller.pid)
            if host is not None:
                return host
        raise ProcFSError(errno.ENOENT)

    def list(self, caller: Caller) -> Iterable[tuple[str, int]]:
        entries = [(name, child.mode) for name, child in self.children.items()]
        with self.registry.kernel.lock:
            pids = list(self.registry.directories)
        mode = DIR | self.registry.personality.pid_directory_permissions
        entries.extend((str(pid), mode) for pid in pids)
        return entries

class HostCallers(GlobalDirectory):
    """HOST_CALLERS: each caller finds its own view here, by its own PID, and nothing else."""

    def __init__(self, registry: ProcFSComponentRegistry) -> None:
        super().__init__(HOST_CALLERS)
        self.registry = registry

    def lookup(self, name: str, caller: Caller) -> Node:
        if pid_of_name(name) == caller.pid:
            host = self.registry.host_directory(caller.pid)
            if host is not None:
                return host
        raise ProcFSError(errno.ENOENT)

    def list(self, caller: Caller) -> Iterable[tuple[str, int]]:
        return [(str(caller.pid), 0o040555)]
