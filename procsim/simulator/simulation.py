"""Simulation: one simulated machine, composed -- the kernel, its /proc components (the registry and
`sim/`), the command interpreter, the runner of programs, the event log and the bug switches --
built from a scenario or rebuilt from a record.  It has no event loop and no FUSE binding: the
daemon (daemon.py) serves it, and `procsim run` and the tests drive it directly.
"""
from __future__ import annotations

import errno
import gc
import logging
import os
import time
from functools import partial
from typing import Any

from kernel_model import Kernel, KernelError
from procfs.component import GlobalDirectory, GlobalFile
from procfs.machine_devices import MachineDevices
from procfs.registry import ProcFSComponentRegistry, ReaderHooks
from procfs.sim_backend import LiveFile, SwitchFile, build_sim_directory

from .. import dot_graphs
from . import forensics
from .bugs import BUGS, BugSwitches
from .commands import CommandInterpreter, parse_size
from .event_log import EventLog, RecordError, RecordFull, read_record
from ..options import MountOptions
from .programs import BUILTIN_PROGRAMS
from .runner import SimulationRunner
from .scenarios import Scenario, load_scenario, run_scenario

log = logging.getLogger("procsim.simulator.simulation")


class Simulation:
    """One simulated machine: kernel, /proc components, command interpreter, runner, event log."""

    def __init__(self, options: MountOptions) -> None:
        self.replay_events: list[dict[str, Any]] = []
        if options.replay and options.record and os.path.realpath(options.replay) == os.path.realpath(options.record):
            raise ValueError(f"{options.record}: --record would overwrite the record --replay reads")
        if options.replay:
            header, self.replay_events = read_record(options.replay)
            for key in ("seed", "personality", "orphan_policy", "memory", "processes"):
                setattr(options, key, header[key])  # the record, not the command line, decides
            if header["scenario"] == "scale":  # rebuilt, not stored
                scenario = load_scenario("scale", header["processes"])
            else:
                scenario = Scenario(header["scenario_text"], self._replay_programs(header, options.scenario))
            options.scenario = header["scenario"]
        else:
            scenario = load_scenario(options.scenario, options.processes)
        self.options = options
        memory = max(parse_size(str(options.memory)), scenario.memory or 0)
        self.kernel = Kernel(memory, orphan_policy=options.orphan_policy or options.personality,
                             max_processes=options.max_processes)
        self.runner = SimulationRunner(self.kernel, {**BUILTIN_PROGRAMS, **scenario.programs},
                                       speed=options.speed, seed=options.seed)
        self.interpreter = CommandInterpreter(self.kernel, self.runner, self.runner.has_program)
        self.registry = ProcFSComponentRegistry(self.kernel, options.personality, ReaderHooks(
            on_access=self.interpreter.on_access, watched_listings=self.interpreter.watched_listings),
            MachineDevices.of_host())  # readers cross-check disks and interfaces with the host's
        header = {"scenario": options.scenario, "scenario_text": scenario.text, "seed": options.seed,
                  "personality": options.personality, "orphan_policy": options.orphan_policy,
                  "memory": str(memory), "processes": options.processes}
        self.events = EventLog(self.kernel, options.record, header)
        self.interpreter.before_change = self._room_for_a_change
        self._held_since: float | None = None  # the clock held for the record's room, since (sim s)
        self.bugs = BugSwitches(self.registry, self.runner)
        self.sim_directory = build_sim_directory(self.interpreter, os.getuid(), os.getgid(), [
            LiveFile("events", self.events.read, lambda: self.events.size, os.getuid(), os.getgid()),
            # the commands the scenario starts from (procsim explore writes reproducers with them)
            GlobalFile("scenario", lambda c: scenario.text.encode()),
            *self._forensics_files(),
            GlobalDirectory("bugs", [GlobalFile("README", lambda c: bugs_readme().encode())] + [
                SwitchFile(name, partial(self.bugs.get, name), partial(self.bugs.set, name), os.getuid(), os.getgid())
                for name in BUGS]),
        ])
        self.registry.root.add(self.sim_directory)
        self.scenario = scenario

    @staticmethod
    def _replay_programs(header: dict[str, Any], named: str) -> dict[str, Any]:
        """A record is data: it never runs code by itself.  A run made with a Python scenario
        (programs of its own) replays only with that file named on the command line."""
        recorded = str(header.get("scenario", ""))
        if not recorded.endswith(".py"):
            return {}
        if not named.endswith(".py"):
            raise ValueError(f"the record was made with the Python scenario {recorded}, whose programs it "
                             f"does not contain: name the file to run them with --scenario FILE.py "
                             f"(a record never runs code by itself)")
        return load_scenario(named, 1).programs

    def _forensics_files(self) -> list[Any]:
        def zombie_report() -> dict[str, Any]:
            return forensics.zombies(self.kernel, self.runner)

        def lifetime_report() -> list[Any]:
            with self.kernel.lock:
                linked = [ref.get() for ref in self.registry.directories.values()]
            return forensics.lifetimes(self.kernel, self.registry.describe_holder, linked)

        def references_report() -> list[Any]:
            with self.kernel.lock:
                linked = [ref.get() for ref in self.registry.directories.values()]
            return forensics.lifetimes(self.kernel, self.registry.describe_holder, linked, zombies=True)

        def tree_dot(caller: object) -> bytes:
            return dot_graphs.tree_dot(forensics.tree(self.kernel), zombie_report()["zombies"]).encode()

        return [GlobalFile("zombies", lambda c: forensics.zombies_text(zombie_report()).encode()),
                GlobalFile("zombies.json", lambda c: forensics.dumps(zombie_report())),
                GlobalFile("lifetimes", lambda c: forensics.lifetimes_text(lifetime_report()).encode()),
                GlobalFile("lifetimes.json", lambda c: forensics.dumps(lifetime_report())),
                GlobalFile("references.json", lambda c: forensics.dumps(references_report())),
                GlobalFile("lifetimes.dot", lambda c: dot_graphs.references_dot(references_report()).encode()),
                GlobalFile("tree.json", lambda c: forensics.dumps(forensics.tree(self.kernel))),
                GlobalFile("tree.dot", tree_dot)]

    def _room_for_a_change(self) -> None:
        """A command runs only if its record has room: a failed write must not leave a change
        the record lacks (nothing is applied, the mount stays up)."""
        try:
            self.events.ensure_room()
        except RecordFull as e:
            raise KernelError(e.errno or errno.ENOSPC, f"{e.strerror}: not run") from None

    def room_for_a_step(self) -> bool:
        """Whether the clock may step: not while the record has no room (it holds, and goes on
        by itself once there is room again)."""
        try:
            self.events.ensure_room()
        except RecordFull as e:
            if self._held_since is None:
                self._held_since = self.kernel.uptime_seconds()
                log.warning("%s: the clock holds until there is room", e.strerror)
            return False
        if self._held_since is not None:
            self.kernel.log(f"procsim: the record had no room: the clock held at {self._held_since:.1f} s, "
                            f"and goes on")
            self._held_since = None
        return True

    def start(self) -> None:
        """Start the clock paused, build the scenario (and replay), then let time run."""
        self.runner.start(paused=True)
        if self.scenario.build is not None:
            with self.kernel.lock:
                self.scenario.build(self.kernel)
        run_scenario(self.scenario.text, self.interpreter)
        if self.replay_events:
            self.replay()
        # Linux's btime: the wall-clock second the machine booted, so that btime + uptime is now
        # (and ps's STIME, `uptime -s` and psutil's boot_time are real times).  It stays true while
        # the clock runs at --speed 1 unpaused; otherwise uptime drifts from the wall clock.
        self.kernel.clock.boot_epoch = int(time.time() - self.kernel.uptime_seconds())
        self.runner.paused = self.options.paused

    def replay(self) -> None:
        """Re-run what was recorded from outside the kernel -- control-file commands, the commands
        race triggers ran, bug-switch flips -- at their simulated times, and stop at the first
        command whose result differs from the recorded one (the runs have diverged)."""
        self.runner.replaying = self.interpreter.replaying = True
        try:
            for event in self.replay_events:
                kind = event["event"]
                if kind == "bug_switch":
                    if event.get("name") not in BUGS or not isinstance(event.get("on"), bool):
                        raise RecordError(f"{self.options.replay}:{event['_line']}: not a bug switch flip")
                    self.runner.advance_to_ns(round(event["time"] * 1e9))
                    self.bugs.set(event["name"], event["on"])
                elif kind == "command" and event.get("source") in ("ctl", "trigger"):
                    self.runner.advance_to_ns(round(event["time"] * 1e9))
                    self._replay_command(event)
            if self.replay_events:
                self.runner.advance_to_ns(round(self.replay_events[-1]["time"] * 1e9))
        finally:
            self.runner.replaying = self.interpreter.replaying = False

    def _replay_command(self, event: dict[str, Any]) -> None:
        try:
            got = ("result", self.interpreter.execute(event["line"], source=event["source"]))
        except KernelError as e:
            got = ("error", e.name)
        if "error" in event:
            recorded = ("error", event["error"])
        elif "result" in event:
            recorded = ("result", event["result"])
        else:
            recorded = ("result", got[1]) if got[0] == "result" else ("result", "(success)")
        if got != recorded:
            raise RecordError(f"{self.options.replay}:{event['_line']}: the replay diverged at {event['line']!r}: "
                              f"recorded {recorded[0]} {recorded[1]!r}, replayed {got[0]} {got[1]!r}")

    def stop(self) -> None:
        self.runner.stop()
        self.events.close()


def bugs_readme() -> str:
    parts = ["Bug switches: write 1 to turn one on, 0 to turn it off (only the mount owner may).\n"]
    for bug in BUGS.values():
        parts.append(f"\n{bug.name}\n  {bug.what}\n  fixed by: {bug.fixed_by}\n  commit message:\n"
                     f"    {bug.fix_message}\n")
    return "".join(parts)


def tune_gc_for_a_large_heap() -> None:
    """Collect cycles less often.  Kernel objects die by explicit reference counts, so the cyclic
    collector only mops up strays -- but by default it traverses the whole heap every few thousand
    allocations, which at 100,000 processes was ~45% of the time to build them.  (Entry points
    only: a library must not change process-wide settings.)"""
    gc.set_threshold(50_000, 20, 100)
