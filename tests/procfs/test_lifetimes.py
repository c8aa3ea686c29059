"""The PID-directory lifetime design (seeds 6a/6b): strong down, weak up, orphaned while held."""
import errno

import pytest

from kernel_model import Kernel
from procfs.component import Caller, ProcFSError
from procfs.process_backend import ProcessDirectory, ProcessEntry
from procfs.registry import ProcFSComponentRegistry

CALLER = Caller(0, 0, 4242, "bash")


def components(kernel):
    return [o for o in kernel.registry.objects() if isinstance(o, (ProcessDirectory, ProcessEntry))]


@pytest.mark.parametrize("personality", ["serenity", "linux"])
def test_a_held_directory_outlives_its_process_and_answers_errors(personality):
    kernel = Kernel(1 << 24, orphan_policy=personality)
    registry = ProcFSComponentRegistry(kernel, personality)
    pid = kernel.spawn("sleeper", ppid=0)
    directory = registry.root.lookup(str(pid), CALLER)
    status = directory.lookup("status", CALLER)
    process = directory.process
    assert process.strong_holders()["PID directory /%d" % pid] == 1
    handle = directory.ref("open handle on /%d held by host process 4242 (bash)" % pid)
    kernel.kill(pid, 9)                      # no parent: reaped at once under both policies
    assert process.is_destroyed              # the directory let go of the process...
    assert directory.process is None and not directory.is_destroyed  # ...but lives on, orphaned
    assert str(pid) not in dict(registry.root.list(CALLER))
    with pytest.raises(ProcFSError) as e:
        registry.root.lookup(str(pid), CALLER)   # a fresh path: gone, under both personalities
    assert e.value.errno == errno.ENOENT
    with pytest.raises(ProcFSError) as e:
        status.read(CALLER)
    assert e.value.errno == errno.ESRCH
    if personality == "serenity":
        assert len(list(directory.list(CALLER))) == len(directory.specs()) > 20  # SerenityOS still lists them
        assert directory.lookup("status", CALLER) is status  # through the held directory only
    else:
        with pytest.raises(ProcFSError) as e:
            directory.list(CALLER)
        assert e.value.errno == errno.ENOENT
    handle.release()
    assert directory.is_destroyed and status.is_destroyed
    assert components(kernel) == []


def test_without_handles_nothing_of_a_dead_process_stays_alive():
    kernel = Kernel(1 << 24, orphan_policy="linux")
    registry = ProcFSComponentRegistry(kernel, "linux")
    parent = kernel.spawn("Shell")
    child = kernel.spawn("kid", ppid=parent)
    for name in ("stat", "status", "fd", "task", "vm"):
        registry.root.lookup(str(child), CALLER).lookup(name, CALLER)
    kernel.exit(child)
    assert registry.root.lookup(str(child), CALLER).process.is_dead  # a Linux zombie keeps it
    kernel.waitpid(parent)
    assert [c for c in components(kernel) if getattr(c, "pid", None) == child] == []
    kernel.shutdown()
    assert components(kernel) == []
    assert {type(o).__name__ for o in kernel.registry.objects()} <= {"Inode", "Process"}


def test_a_zombie_has_no_directory_under_serenity_but_stays_alive_for_its_parent():
    kernel = Kernel(1 << 24)
    registry = ProcFSComponentRegistry(kernel, "serenity")
    parent = kernel.spawn("Shell")
    child = kernel.spawn("kid", ppid=parent)
    kernel.exit(child)
    with pytest.raises(ProcFSError):
        registry.root.lookup(str(child), CALLER)
    assert kernel.process(child).strong_holders() == {"wait list of PID 1 (Shell)": 1}


def test_strong_back_pointers_keep_dead_processes_alive_forever():
    """The 2021-06-12..07-01 bug (seed 6b) the sim/bugs switch will reproduce."""
    kernel = Kernel(1 << 24)
    registry = ProcFSComponentRegistry(kernel, "serenity")
    registry.strong_backrefs = True
    pid = kernel.spawn("leaker", ppid=0)
    directory = registry.root.lookup(str(pid), CALLER)
    directory.lookup("status", CALLER)
    kernel.kill(pid, 9)
    assert not directory.is_destroyed, "the cycle keeps the directory alive"
    assert any("strong back-pointer bug" in h for h in directory.strong_holders())
