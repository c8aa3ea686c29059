"""A PID is named one way only: ASCII decimal without leading zeros, in the mount and in commands."""
import errno

import pytest
from fuse import FuseOSError

from kernel_model.kernel_error import KernelError
from procfs.fuse_adapter import ProcFSOperations
from procsim.daemon import MountOptions, Simulation


@pytest.fixture(scope="module")
def sim():
    simulation = Simulation(MountOptions(scenario="default", paused=True))
    simulation.start()
    yield simulation
    simulation.stop()


@pytest.mark.parametrize("path", ["/03", "/03/status", "/\u0663", "/\u0663/status", "/\u00b2", "/1_0", "/+3", "/ 3"])
def test_aliases_of_a_pid_are_enoent(sim, path):
    ops = ProcFSOperations(sim.registry)
    # the real names resolve (and /3/status now exists, for the fast path to find)
    assert ops("getattr", "/3", None)["st_mode"] and ops("getattr", "/3/status", None)["st_mode"]
    with pytest.raises(FuseOSError) as e:
        ops("getattr", path, None)
    assert e.value.errno == errno.ENOENT


@pytest.mark.parametrize("line", ["fork \u0663", "fork \u00b2", "fork 0_3", "exit 3 \u0661", "kill 3 \u0669",
                                  "mmap 3 \u0664K", "tick \u0661"])
def test_commands_take_ascii_numbers_only(sim, line):
    before = sorted(sim.kernel.processes)
    with pytest.raises(KernelError) as e:
        sim.interpreter.execute(line)
    assert e.value.errno == errno.EINVAL
    assert sorted(sim.kernel.processes) == before
