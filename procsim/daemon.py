"""The mount daemon: builds the simulated system and serves its /proc with FUSE (foreground).

Data flows one way: this entry point wires the kernel model, the procfs backends and the FUSE
adapter together; nothing below it imports it.  FUSE runs in the main thread, single-threaded
(`nothreads`, which fuse.md measured to scale best with concurrent readers), and libfuse's own
handlers turn SIGINT/SIGTERM into a clean unmount -- so no Python signal handler is installed.
`auto_unmount` makes libfuse's helper remove the mount even if this process is SIGKILLed.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import dataclass

from fuse import FUSE

from kernel_model import Kernel
from procfs.fuse_adapter import ProcFSOperations
from procfs.registry import ProcFSComponentRegistry
from procfs.sim_backend import build_sim_directory

from .commands import CommandInterpreter, parse_size
from .runner import SimulationRunner
from .scenarios import load_scenario, run_scenario, scale_memory_bytes


@dataclass
class MountOptions:
    mountpoint: str
    scenario: str = "default"
    seed: int = 0
    personality: str = "serenity"
    orphan_policy: str | None = None
    memory: str = "256M"
    speed: float = 1.0
    allow_other: bool = False
    processes: int = 1000


def build_system(options: MountOptions) -> tuple[Kernel, ProcFSComponentRegistry, CommandInterpreter, SimulationRunner]:
    memory = parse_size(options.memory)
    if options.scenario == "scale":
        memory = max(memory, scale_memory_bytes(options.processes))
    kernel = Kernel(memory, orphan_policy=options.orphan_policy or options.personality,
                    max_processes=max(1_000_000, options.processes * 2))
    registry = ProcFSComponentRegistry(kernel, options.personality)
    runner = SimulationRunner(kernel, speed=options.speed)
    interpreter = CommandInterpreter(kernel, runner)
    registry.root.add(build_sim_directory(interpreter, os.getuid(), os.getgid()))
    run_scenario(load_scenario(options.scenario, options.processes), interpreter)
    return kernel, registry, interpreter, runner


def serve(options: MountOptions) -> int:
    logging.basicConfig(level=logging.DEBUG if os.environ.get("PROCSIM_DEBUG") else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    kernel, registry, _, runner = build_system(options)
    kernel.log(f"procsim: mounting at {options.mountpoint} (personality {options.personality})")
    runner.start()
    operations = ProcFSOperations(registry, options.mountpoint)
    try:
        FUSE(operations, options.mountpoint, foreground=True, nothreads=True, raw_fi=True,
             default_permissions=True, auto_unmount=True, allow_other=options.allow_other,
             attr_timeout=0, entry_timeout=0, negative_timeout=0, big_writes=True,
             fsname="procsim", subtype="procsim")
    finally:
        runner.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="procsim-daemon")
    parser.add_argument("mountpoint")
    parser.add_argument("--scenario", default="default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--personality", choices=["serenity", "linux"], default="serenity")
    parser.add_argument("--orphan-policy", choices=["serenity", "linux"], default=None)
    parser.add_argument("--memory", default="256M")
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--allow-other", action="store_true")
    parser.add_argument("--processes", type=int, default=1000)
    args = parser.parse_args(argv)
    return serve(MountOptions(args.mountpoint, args.scenario, args.seed, args.personality,
                              args.orphan_policy, args.memory, args.speed, args.allow_other, args.processes))


if __name__ == "__main__":
    sys.exit(main())
