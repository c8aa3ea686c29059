"""The simulated system and the mount daemon that serves its /proc with FUSE (foreground).

Data flows one way: this module wires the kernel model, the procfs backends and the FUSE adapter
together; nothing below it imports it.  One trio event loop in one thread runs everything: the
FUSE requests (pyfuse3's tasks), the simulation's clock, and through them the ctl commands and
the programs.  A step of the simulation is synchronous code between two awaits, so a reader never
sees half of one, and no object crosses a thread (only the kernel's cache invalidations wait in
worker threads, see procfs/fuse_adapter.py).  SIGINT and SIGTERM end the loop and unmount;
`auto_unmount` makes libfuse's helper remove the mount even if this process is SIGKILLed.
"""
from __future__ import annotations

import argparse
import gc
import logging
import os
import time
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass
from functools import partial
from typing import TYPE_CHECKING

import trio

from kernel_model import Kernel, KernelError
from procfs.component import GlobalDirectory, GlobalFile
from procfs.registry import ProcFSComponentRegistry
from procfs.sim_backend import LiveFile, SwitchFile, build_sim_directory

from . import forensics
from .bugs import BUGS, BugSwitches
from .commands import CommandInterpreter, parse_size
from .event_log import EventLog, RecordError, read_record
from .programs import BUILTIN_PROGRAMS
from .runner import SimulationRunner
from .scenarios import Scenario, load_scenario, run_scenario

if TYPE_CHECKING:
    from procfs.fuse_adapter import ProcFSOperations

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
        self.registry.watched_listings = self.interpreter.watched_listings
        self.bugs = BugSwitches(self.registry, self.runner)
        self.runner.bugs = self.bugs
        self.sim_directory = build_sim_directory(self.interpreter, os.getuid(), os.getgid(), [
            LiveFile("events", self.events.read, lambda: self.events.size, os.getuid(), os.getgid()),
            *self._forensics_files(),
            GlobalDirectory("bugs", [GlobalFile("README", lambda c: bugs_readme().encode())] + [
                SwitchFile(name, partial(self.bugs.get, name), partial(self.bugs.set, name), os.getuid(), os.getgid())
                for name in BUGS]),
        ])
        self.registry.root.add(self.sim_directory)
        self.scenario = scenario

    @staticmethod
    def _replay_programs(header: dict, named: str) -> dict:
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

    def _replay_command(self, event: dict) -> None:
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


def serve(options: MountOptions) -> int:
    import pyfuse3  # the FUSE binding is only needed to serve a mount

    from procfs.fuse_adapter import ProcFSOperations, mount_options

    logging.basicConfig(level=logging.DEBUG if os.environ.get("PROCSIM_DEBUG") else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    tune_gc_for_a_large_heap()
    try:
        simulation = Simulation(options)
        simulation.start()
    except KernelError as e:
        print(f"procsim: {e.message}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError) as e:  # a scenario or record that cannot be used
        print(f"procsim: {e}", file=sys.stderr)
        return 2
    gc.freeze()  # what the scenario built lives on: keep it out of every later collection
    simulation.kernel.log(f"procsim: mounting at {options.mountpoint} (personality {options.personality})")
    operations = ProcFSOperations(simulation.registry)
    simulation.sim_directory.add(GlobalFile("requests", lambda caller: operations.request_report().encode()))
    pyfuse3.init(operations, options.mountpoint, mount_options(options.allow_other))
    start_guardian(options.mountpoint)
    try:
        trio.run(_serve, simulation, operations)
    finally:
        pyfuse3.close(unmount=True)
        simulation.stop()
    return 0


def start_guardian(mountpoint: str) -> None:
    """A process of its own that unmounts this mount if the daemon dies without doing so
    (procsim/guardian.py says why libfuse's auto_unmount is not enough). It learns of the death
    through a pipe whose write end only this process holds."""
    from .guardian import mount_id

    # (never realpath() the mountpoint itself: that would ask this very mount, not serving yet)
    path = os.path.join(os.path.realpath(os.path.dirname(mountpoint)), os.path.basename(mountpoint))
    identity = mount_id(path)
    if identity is None:
        return
    read_end, write_end = os.pipe()
    os.set_inheritable(write_end, False)
    subprocess.Popen([sys.executable, "-m", "procsim.guardian", path, identity, str(read_end)],
                     pass_fds=[read_end], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True, cwd="/")
    os.close(read_end)
    _GUARDIAN_PIPE.append(write_end)  # held open until this process ends


_GUARDIAN_PIPE: list[int] = []


async def _serve(simulation: Simulation, operations: "ProcFSOperations") -> None:
    import pyfuse3

    async with trio.open_nursery() as nursery:
        nursery.start_soon(_unmount_on_signals)
        nursery.start_soon(_run_clock, simulation, operations)
        nursery.start_soon(operations.drop_later)
        await pyfuse3.main()  # returns once unmounted (fusermount -u) or terminated
        nursery.cancel_scope.cancel()


async def _unmount_on_signals() -> None:
    import pyfuse3

    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        async for signum in signals:
            log.warning("%s: unmounting", signal.Signals(signum).name)
            pyfuse3.terminate()
            return


#: How far (real seconds) the clock catches up after the loop was held up, step by step.
MAX_CATCH_UP = 5.0


async def _run_clock(simulation: Simulation, operations: "ProcFSOperations") -> None:
    """Simulated time runs `speed` times real time while not paused; each step completes only
    once the kernel has dropped what it made stale (a reaped /PID)."""
    runner, kernel = simulation.runner, simulation.kernel
    step = runner.step_ns / 1e9
    # Steps are due at fixed points of real time, not a fixed sleep after each one, so that the
    # time it takes to run a step does not add up (btime + uptime stays the wall clock at speed 1).
    deadline = trio.current_time()
    while True:
        deadline += step / runner.speed
        await trio.sleep_until(deadline)
        now = trio.current_time()
        if runner.paused or kernel.panicked or runner.advancing:  # a ctl tick moves it itself
            deadline = now  # paused time is not owed
            continue
        if now - deadline > MAX_CATCH_UP:
            deadline = now  # held up for long (the daemon was stopped): do not race to catch up
        runner.advance(step)
        await operations.drop_stale()


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
