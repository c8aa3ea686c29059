"""The options of a simulation, shared by `procsim mount`, `procsim run` and the daemon's command
line -- plain data and argparse, so that a client of a mount (`procsim ctl`) parses its command
line without importing the simulator."""
from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass


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
