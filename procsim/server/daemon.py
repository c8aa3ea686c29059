"""The mount daemon: serves a Simulation's /proc with FUSE, in the foreground.

Data flows one way: the Simulation (simulation.py) composes the kernel model and the procfs
backends; this module puts the FUSE adapter in front of it; nothing below it imports it.  One trio event loop in one thread runs everything: the
FUSE requests (pyfuse3's tasks), the simulation's clock, and through them the ctl commands and
the programs.  A step of the simulation is synchronous code between two awaits, so a reader never
sees half of one, and no object crosses a thread (only the kernel's cache invalidations wait in
worker threads, see procfs/fuse_adapter.py).  SIGINT and SIGTERM end the loop and unmount;
`auto_unmount` makes libfuse's helper remove the mount even if this process is SIGKILLed.
"""
from __future__ import annotations

import argparse
import dataclasses
import errno
import gc
import logging
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

import trio

from kernel_model import KernelError
from procfs.component import GlobalFile
from procfs.sim_backend import ActionFile, TraceFile

from ..options import MountOptions, add_simulation_arguments, options_from
from ..simulator.simulation import Simulation, tune_gc_for_a_large_heap

if TYPE_CHECKING:
    from procfs.fuse_adapter import ProcFSOperations

log = logging.getLogger("procsim.server.daemon")


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
    served = Served(simulation, operations)
    pyfuse3.init(operations, options.mountpoint, mount_options(options.allow_other))
    start_guardian(options.mountpoint)
    try:
        trio.run(_serve, served)
    finally:
        pyfuse3.close(unmount=True)
        served.simulation.stop()
    return 0


class Served:
    """The simulation a mount serves now: `sim/reset` replaces it with a new one built from the
    same options (scenario and seed), so a run starts from the same state without a new mount."""

    def __init__(self, simulation: Simulation, operations: "ProcFSOperations") -> None:
        self.operations = operations
        self.simulation = simulation
        self._add_serving_files(simulation)

    def _add_serving_files(self, simulation: Simulation) -> None:
        operations, uid, gid = self.operations, os.getuid(), os.getgid()
        trace = operations.trace
        simulation.sim_directory.add(GlobalFile("requests", lambda caller: operations.request_report().encode()))
        simulation.sim_directory.add(TraceFile(trace.start, trace.stop, trace.text, uid, gid))
        simulation.sim_directory.add(ActionFile("reset", self.reset, uid, gid))

    def reset(self) -> None:
        """Build the simulation again, from its options, and serve it: the adapter takes back
        every name the kernel has before the write that asked for it returns.  btime stays (a
        reader's view of the clock does not jump), and the event log starts again."""
        old = self.simulation
        if old.options.record:
            raise KernelError(errno.EINVAL, "a mount that records (--record) cannot reset: the record would end")
        options = dataclasses.replace(old.options)
        new = Simulation(options)
        new.start()
        new.kernel.clock.boot_epoch = old.kernel.clock.boot_epoch
        self._add_serving_files(new)
        self.simulation = new
        self.operations.replace_tree(new.registry)
        old.stop()


def start_guardian(mountpoint: str) -> None:
    """A process of its own that unmounts this mount if the daemon dies without doing so
    (procsim/server/guardian.py says why libfuse's auto_unmount is not enough). It learns of the death
    through a pipe whose write end only this process holds."""
    from .guardian import mount_id

    # (never realpath() the mountpoint itself: that would ask this very mount, not serving yet)
    path = os.path.join(os.path.realpath(os.path.dirname(mountpoint)), os.path.basename(mountpoint))
    identity = mount_id(path)
    if identity is None:
        return
    read_end, write_end = os.pipe()
    os.set_inheritable(write_end, False)
    subprocess.Popen([sys.executable, "-m", "procsim.server.guardian", path, identity, str(read_end)],
                     pass_fds=[read_end], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True, cwd="/")
    os.close(read_end)
    _GUARDIAN_PIPE.append(write_end)  # held open until this process ends


_GUARDIAN_PIPE: list[int] = []


async def _serve(served: Served) -> None:
    import pyfuse3

    async with trio.open_nursery() as nursery:
        nursery.start_soon(_unmount_on_signals)
        nursery.start_soon(_run_clock, served)
        nursery.start_soon(served.operations.drop_later)
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


async def _run_clock(served: Served) -> None:
    """Simulated time runs `speed` times real time while not paused; each step completes only
    once the kernel has dropped what it made stale (a reaped /PID)."""
    operations = served.operations
    # Steps are due at fixed points of real time, not a fixed sleep after each one, so that the
    # time it takes to run a step does not add up (btime + uptime stays the wall clock at speed 1).
    deadline = trio.current_time()
    while True:
        simulation = served.simulation  # (a reset may have replaced it)
        runner, kernel = simulation.runner, simulation.kernel
        step = runner.step_ns / 1e9
        deadline += step / runner.speed
        await trio.sleep_until(deadline)
        now = trio.current_time()
        if runner.paused or kernel.panicked or runner.advancing:  # a ctl tick moves it itself
            deadline = now  # paused time is not owed
            continue
        if now - deadline > MAX_CATCH_UP:
            # Held up for long (the daemon was stopped, the machine suspended): that time is not
            # simulated, which is no reason for btime + uptime to lag the wall clock from now on,
            # so the boot moves by it -- as Linux's btime moves when the wall clock is set.
            kernel.clock.boot_epoch += round(now - deadline)
            deadline = now
        if not simulation.room_for_a_step():
            continue  # the record has no room: the clock holds, nothing happens unrecorded
        runner.advance(step)
        await operations.drop_stale()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="procsim-daemon")
    parser.add_argument("mountpoint")
    add_simulation_arguments(parser)
    parser.add_argument("--allow-other", action="store_true")
    args = parser.parse_args(argv)
    code = serve(options_from(args, args.mountpoint))
    exit_past_abandoned_programs(code)
    return code


def exit_past_abandoned_programs(code: int) -> None:
    """A program the watchdog abandoned would run again when its greenlet is freed at exit (and
    spin, swallowing that too): the process ends here instead, once its output is out."""
    from ..simulator.runner import SimulationRunner

    if SimulationRunner.abandoned_anywhere():
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
