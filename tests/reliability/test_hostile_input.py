"""Property-based fuzzing of the control file: every input succeeds or fails cleanly, and a
failure changes nothing.  Runs the real ControlFile + command interpreter in-process (fast).
1,500 inputs by default; PROCSIM_FUZZ_EXAMPLES=N for a longer run."""
import errno
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procfs.component import Caller, ProcFSError
from procfs.sim_backend import ControlFile
from procsim.options import MountOptions
from procsim.simulator.simulation import Simulation

from ..kernel.helpers import state_of

ROOT = Caller(0, 0, os.getpid(), "fuzzer")
# A grammar of the command language (commands.md), so that most inputs get past the parser and
# reach the kernel's own checks and paths -- with values at and beyond every boundary.
ODD_PIDS = ["999", "0", "-1", "1.5", "0x1", "４"]
SIZES = ["4096", "4K", "64K", "1M", "8192", "0", "-1", "4097", "1e9", "99999999999999999999", "nan"]
ADDRESSES = ["0x10000000", "0x10004000", "0x10010000", "0x10020000", "0x20000000", "0x7ffdffff8000", "0",
             "-4096", "0x1001", "notanaddress"]
SIGNALS = ["KILL", "SIGKILL", "9", "STOP", "CONT", "TERM", "SEGV", "CHLD", "0", "65", "-1", "NOPE"]
MMAP_WORDS = ["shared", "private", "purgeable", "noreserve", "fixed", "file=/usr/lib/libc.so", "file=/etc/passwd",
              "file=../../etc/shadow", "fd=0", "fd=3", "fd=99", "name=heap", "name=", "prot=r", "prot=rx",
              "prot=rwx", "prot=q", "addr=0x20000000", "addr=0x1001"]
SPAWN_WORDS = ["ppid=1", "ppid=4", "ppid=999", "uid=100", "uid=-1", "gid=5", "tty=tty1", "tty=pts/0", "tty=none",
               "tty=../x", "program=sleeper", "program=daemon", "program=nope", 'cmdline="a b"', "argv=6100",
               "argv=zz", "nope=1"]
pick = st.sampled_from
# mostly the PIDs that live (the scenario's, and the ones earlier inputs spawned and forked)
pid = st.one_of(st.integers(1, 60).map(str), st.integers(1, 60).map(str), pick(ODD_PIDS))


def command(name: str, *parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*parts).map(lambda words: " ".join([name, *(w for w in words if w)]))


def some(words: list[str], most: int = 3) -> st.SearchStrategy[str]:
    return st.lists(pick(words), max_size=most).map(" ".join)


maybe = lambda strategy: st.one_of(st.just(""), strategy)  # noqa: E731
grammar = st.one_of(
    command("spawn", pick(["worker", "x" * 300, "a/b", "sh", "é"]), some(SPAWN_WORDS)),
    command("fork", pid),
    command("exit", pid, maybe(pick(["0", "3", "255", "256", "-1"]))),
    command("kill", pid, pick(SIGNALS)),
    command("wait", pid, maybe(pid), maybe(st.just("nohang"))),
    command("mmap", pid, pick(SIZES), some(MMAP_WORDS, 4)),
    command("munmap", pid, pick(ADDRESSES), pick(SIZES)),
    command("read", pid, pick(ADDRESSES), maybe(pick(SIZES))),
    command("write", pid, pick(ADDRESSES), maybe(pick(SIZES))),
    command("madvise", pid, pick(ADDRESSES), pick(SIZES), pick(["volatile", "nonvolatile", "both", ""])),
    command("anon_create", pid, pick(SIZES)),
    command("open", pid, pick(["/usr/lib/libc.so", "/bin/Shell", "/etc/passwd", "../x", "/", ""])),
    command("load", pid, pick(["0", "0.5", "1", "2", "-0.1", "nan"])),
    command("after", pick(["open", "readdir", "lookup", "getattr", "read", "readlink", "close"]), pick(["/1/stat", "/", "/999", "stat"]),
            pick(["exit 5", "kill 4 KILL", "wait 1", "after open / exit 1", ""])),
    pick(["purge", "pause", "resume", "triggers", "check", "help"]),
)
almost = st.builds(lambda line, cut, junk: line[:cut] + junk + line[cut:], grammar, st.integers(0, 40),
                   st.text(max_size=3))
garbage = st.text(max_size=200)
lines = st.one_of(grammar, grammar, grammar, almost, garbage).map(lambda s: s.encode("utf-8", "surrogatepass"))
binary = st.binary(max_size=300)
huge = st.sampled_from([b"a" * 70_000, b"spawn " + b"x" * 5000, b"mmap 1 " + b"9" * 5000, b"\n" * 1000,
                        (b"spawn ok\n" * 2000)])
inputs = st.one_of(lines, lines, lines, lines, binary, huge, st.lists(lines, max_size=4).map(b"\n".join))


@pytest.fixture(scope="module")
def control():
    simulation = Simulation(MountOptions(scenario="default", paused=True, max_processes=150))
    simulation.start()
    yield simulation, ControlFile(simulation.interpreter, 0, 0)
    simulation.stop()


outcomes: dict[str, int] = {}


@settings(max_examples=int(os.environ.get("PROCSIM_FUZZ_EXAMPLES", "1500")), deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(data=inputs)
def test_every_control_input_succeeds_or_fails_cleanly_and_failures_change_nothing(control, data):
    simulation, ctl = control
    # Nothing drives the clock here but the input itself (no daemon runs it): only this input
    # may change anything between the snapshots.
    before = state_of(simulation.kernel)
    try:
        result = ctl.write(ROOT, data)
        assert isinstance(result, bytes)
        outcomes["ok"] = outcomes.get("ok", 0) + 1
    except ProcFSError as e:
        assert e.errno > 0
        outcomes[os.strerror(e.errno)] = outcomes.get(os.strerror(e.errno), 0) + 1
        if b"\n" not in data.strip():  # one command: all or nothing (several: each line is atomic)
            assert state_of(simulation.kernel) == before, data[:200]
    simulation.kernel.check_invariants()
    simulation.runner.paused = True


def test_report_the_fuzzing_outcomes(control, record_figure):
    simulation, _ = control
    if not outcomes:  # run on its own: fuzz first
        test_every_control_input_succeeds_or_fails_cleanly_and_failures_change_nothing(control)
    total = sum(outcomes.values())
    record_figure("hostile control input", f"{total} inputs: " +
                  ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items(), key=lambda kv: -kv[1])))
    assert total >= int(os.environ.get("PROCSIM_FUZZ_EXAMPLES", "1500"))
    assert outcomes.get("ok", 0) + outcomes.get(os.strerror(errno.ESRCH), 0) > total // 10  # it reached the kernel
    assert not simulation.kernel.panicked
