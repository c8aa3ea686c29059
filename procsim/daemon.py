"""The simulated system and the mount daemon that serves its /proc with FUSE (foreground).

Data flows one way: this module wires the kernel model, the procfs backends and the FUSE adapter
together; nothing below it imports it.  FUSE runs in the main thread, single-threaded (`nothreads`,
which fuse.md measured to scale best with concurrent readers), and libfuse's own handlers turn
SIGINT/SIGTERM into a clean unmount -- so no Python signal handler is installed.  `auto_unmount`
makes libfuse's helper remove the mount even if this process is SIGKILLed.
"""
from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from dataclasses import asdict, dataclass
from functools import partial

from kernel_model import Kernel, KernelError
from procfs.component import GlobalDirectory, GlobalFile
from procfs.registry import ProcFSComponentRegistry
from procfs.sim_backend import LiveFile, SwitchFile, build_sim_directory

from . import forensics
from .bugs import BUGS, BugSwitches
from .commands import CommandInterpreter, parse_size
from .event_log import EventLog, read_record
from .programs import BUILTIN_PROGRAMS
from .runner import SimulationRunner
from .scenarios import Scenario, load_scenario, run_scenario

log = logging.getLogger("procsim.daemon")


@dataclass
class MountOptions:
    mountpoint: str = ""
    scenario: str = "default"
    seed: int = 0
    personality: str = "serenity"
    orphan_policy: str | None = None
    memory: str = "256M"
    speed: float = 1.0
    allow_other: bool = False
    processes: int = 1000
    record: str | None = None
    replay: str | None = None
    paused: bool = False
    max_processes: int = 200_000


class Simulation:
    """One simulated machine: kernel, /proc components, command interpreter, runner, event log."""

    def __init__(self, options: MountOptions) -> None:
        self.replay_events: list[dict] = []
        if options.replay:
            header, self.replay_events = read_record(options.replay)
            for key in ("seed", "personality", "orphan_policy", "memory", "processes"):
                setattr(options, key, header[key])  # the record, not the command line, decides
            if header["scenario"] == "scale":  # rebuilt, not stored
                scenario = load_scenario("scale", header["processes"])
            else:
                scenario = Scenario(header["scenario_text"], load_scenario(header["scenario"], 1).programs
                                    if header["scenario"].endswith(".py") else {})
            options.scenario = header["scenario"]
        else:
            scenario = load_scenario(options.scenario, options.processes)
        self.options = options
        memory = max(parse_size(str(options.memory)), scenario.memory or 0)
        max_processes = options.max_processes
        if options.scenario == "scale":
            max_processes = max(max_processes, options.processes + 1000)
        self.kernel = Kernel(memory, orphan_policy=options.orphan_policy or options.personality,
                             max_processes=max_processes)
        self.registry = ProcFSComponentRegistry(self.kernel, options.personality)
        self.runner = SimulationRunner(self.kernel, {**BUILTIN_PROGRAMS, **scenario.programs},
                                       speed=options.speed, seed=options.seed)
        self.interpreter = CommandInterpreter(self.kernel, self.runner, self.runner.has_program)
        header = {"scenario": options.scenario, "scenario_text": scenario.text, "seed": options.seed,
                  "personality": options.personality, "orphan_policy": options.orphan_policy,
                  "memory": str(memory), "processes": options.processes}
        self.events = EventLog(self.kernel, options.record, header)
        self.registry.on_access = self.interpreter.on_access
        self.bugs = BugSwitches(self.registry, self.runner)
        self.runner.bugs = self.bugs
        self.registry.root.add(build_sim_directory(self.interpreter, os.getuid(), os.getgid(), [
            LiveFile("events", self.events.read, lambda: self.events.size),
            *self._forensics_files(),
            GlobalDirectory("bugs", [GlobalFile("README", lambda c: bugs_readme().encode())] + [
                SwitchFile(name, partial(self.bugs.get, name), partial(self.bugs.set, name), os.getuid(), os.getgid())
                for name in BUGS]),
        ]))
        self.scenario = scenario

    def _forensics_files(self) -> list:
        def zombie_report() -> dict:
            return forensics.zombies(self.kernel, self.runner)

        def lifetime_report() -> list:
            with self.kernel.lock:
                linked = [ref.get() for ref in self.registry.directories.values()]
            return forensics.lifetimes(self.kernel, self.registry.describe_holder, linked)

        return [GlobalFile("zombies", lambda c: forensics.zombies_text(zombie_report()).encode()),
                GlobalFile("zombies.json", lambda c: forensics.dumps(zombie_report())),
                GlobalFile("lifetimes", lambda c: forensics.lifetimes_text(lifetime_report()).encode()),
                GlobalFile("lifetimes.json", lambda c: forensics.dumps(lifetime_report()))]

    def start(self) -> None:
        """Start the clock paused, build the scenario (and replay), then let time run."""
        self.runner.start(paused=True)
        if self.scenario.build is not None:
            with self.runner.step_lock, self.kernel.lock:
                self.scenario.build(self.kernel)
        run_scenario(self.scenario.text, self.interpreter)
        if self.replay_events:
            self.replay()
        self.runner.paused = self.options.paused

    def replay(self) -> None:
        """Re-run the recorded control-file commands at their simulated times."""
        self.runner.replaying = True
        for event in self.replay_events:
            if event["event"] == "command" and event.get("source") in ("ctl", "trigger"):
                self.runner.advance_to_ns(round(event["time"] * 1e9))
                try:
                    self.interpreter.execute(event["line"], source=event["source"])
                except KernelError:
                    pass  # it failed the first time too: the record says so
        if self.replay_events:
            self.runner.advance_to_ns(round(self.replay_events[-1]["time"] * 1e9))
        self.runner.replaying = False

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


def serve(options: MountOptions) -> int:
    from fuse import FUSE  # the FUSE binding is only needed to serve a mount

    from procfs.fuse_adapter import FUSE_OPTIONS, ProcFSOperations

    logging.basicConfig(level=logging.DEBUG if os.environ.get("PROCSIM_DEBUG") else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    tune_gc_for_a_large_heap()
    simulation = Simulation(options)
    simulation.start()
    gc.freeze()  # what the scenario built lives on: keep it out of every later collection
    simulation.kernel.log(f"procsim: mounting at {options.mountpoint} (personality {options.personality})")
    operations = ProcFSOperations(simulation.registry, options.mountpoint)
    try:
        FUSE(operations, options.mountpoint, **FUSE_OPTIONS, allow_other=options.allow_other,
             big_writes=True, fsname="procsim", subtype="procsim")
    finally:
        simulation.stop()
    return 0


def add_simulation_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every way of starting a simulation shares (mount, run, the daemon)."""
    parser.add_argument("--scenario", default="default",
                        help="default, empty, zombies, oom, purgeable, scale, host, or a scenario file")
    parser.add_argument("--seed", type=int, default=0, help="seeds the programs' randomness")
    parser.add_argument("--personality", choices=["serenity", "linux"], default="serenity",
                        help="how dead processes look in the mount (docs/personalities.md)")
    parser.add_argument("--orphan-policy", choices=["serenity", "linux"], default=None,
                        help="what happens to orphans (default: the personality's)")
    parser.add_argument("--memory", default="256M", help="simulated physical memory (e.g. 256M, 1G)")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--processes", type=int, default=1000, help="process count of the scale scenario")
    parser.add_argument("--record", metavar="FILE", help="write the event log (with a replay header) to FILE")
    parser.add_argument("--replay", metavar="FILE", help="rebuild the state a --record FILE describes")
    parser.add_argument("--paused", action="store_true", help="start with the clock stopped")
    parser.add_argument("--max-processes", type=int, default=200_000,
                        help="spawn/fork fail with EAGAIN past this many processes (host protection)")


def options_from(args: argparse.Namespace, mountpoint: str = "") -> MountOptions:
    return MountOptions(mountpoint, args.scenario, args.seed, args.personality, args.orphan_policy, args.memory,
                        args.speed, getattr(args, "allow_other", False), args.processes, args.record,
                        args.replay, args.paused, args.max_processes)


def option_argv(options: MountOptions) -> list[str]:
    """The daemon's command line for `options` (the inverse of add_simulation_arguments)."""
    argv = []
    for key, value in asdict(options).items():
        if key == "mountpoint" or value in (None, False):
            continue
        flag = "--" + key.replace("_", "-")
        argv += [flag] if value is True else [flag, str(value)]
    return argv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="procsim-daemon")
    parser.add_argument("mountpoint")
    add_simulation_arguments(parser)
    parser.add_argument("--allow-other", action="store_true")
    args = parser.parse_args(argv)
    return serve(options_from(args, args.mountpoint))


if __name__ == "__main__":
    sys.exit(main())
