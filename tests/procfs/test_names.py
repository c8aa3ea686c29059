"""A PID is named one way only: ASCII decimal without leading zeros, in the mount and in commands."""
import errno
from types import SimpleNamespace

import pyfuse3
import pytest
import trio

from kernel_model.kernel_error import KernelError
from procfs.fuse_adapter import ProcFSOperations
from procfs.inode_table import ROOT_INODE
from procsim.options import MountOptions
from procsim.simulator.simulation import Simulation

CONTEXT = SimpleNamespace(uid=0, gid=0, pid=1, umask=0o22)  # what the adapter reads of a request


@pytest.fixture(scope="module")
def sim():
    simulation = Simulation(MountOptions(scenario="default", paused=True))
    simulation.start()
    yield simulation
    simulation.stop()


def walk(ops: ProcFSOperations, path: bytes) -> pyfuse3.EntryAttributes:
    """LOOKUP each component from the root, as the kernel walks a fresh path."""
    async def lookups() -> pyfuse3.EntryAttributes:
        ino, attributes = ROOT_INODE, None
        for part in path.strip(b"/").split(b"/"):
            attributes = await ops.lookup(ino, part, CONTEXT)
            ino = attributes.st_ino
        return attributes
    return trio.run(lookups)


@pytest.mark.parametrize("path", ["/03", "/03/status", "/\u0663", "/\u0663/status", "/\u00b2", "/1_0", "/+3", "/ 3"])
def test_aliases_of_a_pid_are_enoent(sim, path):
    ops = ProcFSOperations(sim.registry)
    # the real names resolve
    assert walk(ops, b"/3").st_mode and walk(ops, b"/3/status").st_mode
    with pytest.raises(pyfuse3.FUSEError) as e:
        walk(ops, path.encode())
    assert e.value.errno == errno.ENOENT


@pytest.mark.parametrize("path", [b"/\xff", b"/3/\xff", b"/sim/\xc3"])
def test_names_that_are_not_utf8_are_enoent(sim, path):
    with pytest.raises(pyfuse3.FUSEError) as e:
        walk(ProcFSOperations(sim.registry), path)
    assert e.value.errno == errno.ENOENT


@pytest.mark.parametrize("line", ["fork \u0663", "fork \u00b2", "fork 0_3", "exit 3 \u0661", "kill 3 \u0669",
                                  "mmap 3 \u0664K", "tick \u0661"])
def test_commands_take_ascii_numbers_only(sim, line):
    before = sorted(sim.kernel.processes)
    with pytest.raises(KernelError) as e:
        sim.interpreter.execute(line)
    assert e.value.errno == errno.EINVAL
    assert sorted(sim.kernel.processes) == before
