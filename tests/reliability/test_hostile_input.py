"""Property-based fuzzing of the control file: every input succeeds or fails cleanly, and a
failure changes nothing.  Runs the real ControlFile + command interpreter in-process (fast)."""
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procfs.component import Caller, ProcFSError
from procfs.sim_backend import ControlFile
from procsim.daemon import MountOptions, Simulation

from ..kernel.helpers import state_of

ROOT = Caller(0, 0, os.getpid(), "fuzzer")
COMMANDS = ["spawn", "fork", "exit", "kill", "wait", "mmap", "munmap", "read", "write", "madvise", "anon_create",
            "open", "load", "purge", "pause", "resume", "help", "after", "triggers", "check"]
TOKENS = ["0", "1", "2", "3", "5", "9", "17", "999", "-1", "4096", "64K", "1M", "0x10000000", "0x7ffdffff8000",
          "shared", "private", "purgeable", "noreserve", "fixed", "volatile", "nonvolatile", "nohang", "KILL",
          "SIGSTOP", "CONT", "name=x", "file=/etc/passwd", "file=../../etc/shadow", "fd=3", "ppid=1",
          "uid=100", "program=sleeper", "program=nope", 'cmdline="a b"', "prot=rx", "addr=0x20000000",
          "open", "readdir", "/1/stat", "0.5", "1e9", "NaN", "=", "''", "\\", "$x"]

valid = st.builds(lambda c, a: " ".join([c, *a]), st.sampled_from(COMMANDS),
                  st.lists(st.sampled_from(TOKENS), max_size=6))
almost_valid = st.builds(lambda line, cut, junk: line[:cut] + junk + line[cut:], valid,
                         st.integers(0, 40), st.text(max_size=3))
garbage = st.text(max_size=200)
lines = st.one_of(valid, valid, almost_valid, garbage).map(lambda s: s.encode("utf-8", "surrogatepass"))
binary = st.binary(max_size=300)
huge = st.sampled_from([b"a" * 70_000, b"spawn " + b"x" * 5000, b"mmap 1 " + b"9" * 5000, b"\n" * 1000,
                        (b"spawn ok\n" * 2000)])
inputs = st.one_of(lines, lines, lines, binary, huge, st.lists(lines, max_size=4).map(b"\n".join))


@pytest.fixture(scope="module")
def control():
    simulation = Simulation(MountOptions(scenario="default", paused=True, max_processes=150))
    simulation.start()
    yield simulation, ControlFile(simulation.interpreter, 0, 0)
    simulation.stop()


outcomes: dict[str, int] = {}


@settings(max_examples=10_000, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(data=inputs)
def test_every_control_input_succeeds_or_fails_cleanly_and_failures_change_nothing(control, data):
    simulation, ctl = control
    # Hold the step lock: no simulation step (a `resume`d clock, programs) may run between the
    # snapshots -- only this input may change anything.
    with simulation.runner.step_lock:
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
    total = sum(outcomes.values())
    record_figure("hostile control input", f"{total} inputs: " +
                  ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items(), key=lambda kv: -kv[1])))
    assert total >= 10_000
    assert not simulation.kernel.panicked
