"""How explore judges a run (procsim/clients/explore.py), without a mount: each kind of failure, and
what is not one."""
from __future__ import annotations

from procsim.clients.explore import Access, Outcome, access_points, mentions, pid_relative, verdict

BEFORE = Outcome("1 init S\n2 Shell S\n3 leaky_parent S\n", "", 0, 0.1)
AFTER = Outcome("1 init S\n3 leaky_parent S\n", "", 0, 0.1)


def judge(stdout: str, stderr: str = "", code: int | None = 0, unstable: frozenset[str] = frozenset()):
    return verdict(Outcome(stdout, stderr, code, 0.1), BEFORE, AFTER, {2}, set(unstable), 30)


def test_either_clean_state_or_leaving_the_process_out_is_correct():
    assert judge(BEFORE.stdout) is None
    assert judge(AFTER.stdout) is None
    assert judge("1  init   S\n2 Shell S\n3 leaky_parent S\n") is None  # columns, not words, differ


def test_each_kind_of_failure():
    assert judge("", code=None) == ("hang", "still running after 30 s")
    assert judge("", code=-11) == ("crash", "killed by SIGSEGV")
    assert judge("", code=128 + 6) == ("crash", "killed by SIGABRT")  # as sh reports a signal
    assert judge("", code=3) == ("exit", "exit status 3 (the clean runs: [0])")
    kind, detail = judge("", "Traceback (most recent call last):\n  File ...\nProcessLookupError: [Errno 3]\n", 1)
    assert kind == "error output" and detail == "ProcessLookupError: [Errno 3] (exit status 1)"
    assert judge("1 init S\n2 Shell Z\n")[0] == "torn output"  # a line about 2 in neither state
    assert judge("1 init S\n2 [Shell]\n") == ("torn output", "2 [Shell]")


def test_what_is_not_about_the_process_is_not_judged():
    assert judge("1 init S\n12 other S\n") is None  # 12 is not 2
    assert judge("up 00:00:02, load 2.0\n") is None  # a time and a decimal are not PIDs
    assert judge("top - 15:00:2 up 2 min\n", unstable=frozenset({"top - N:N:N up N min"})) is None
    assert mentions("init(1)-+-Shell(2)", [2]) and not mentions("x22", [2])


def test_distinct_points_keep_one_per_request_kind_path_and_fault():
    simulated = {1: {"ppid": 0, "threads": [1]}, 2: {"ppid": 1, "threads": [1]}, 3: {"ppid": 2, "threads": [1]},
                 4: {"ppid": 3, "threads": []}}
    accesses = [Access(0, "readdir", "/"), Access(1, "open", "/2/stat"), Access(2, "open", "/3/stat"),
                Access(3, "open", "/4/stat"), Access(4, "open", "/1/stat"), Access(5, "open", "/2/stat")]
    points = access_points(accesses, simulated, ("exit", "reap", "orphan"), "distinct")
    keys = [p.key for p in points]
    assert len(keys) == len(set(keys))
    assert ("readdir / exit", 2) in [(p.key, p.pid) for p in points]  # the listing, at the first PID touched
    assert all(p.pid != 1 for p in points)  # init is never a victim
    zombie = [p for p in points if p.pid == 4]
    assert [p.fault for p in zombie] == []  # open /PID/stat was kept for PID 2 already; 4 adds nothing new
    every = access_points(accesses, simulated, ("exit",), "all")
    assert [(p.index, p.nth) for p in every if p.path == "/2/stat"] == [(1, 1), (5, 2)]
    assert pid_relative("/5/task/5/stat") == "/PID/task/PID/stat"
