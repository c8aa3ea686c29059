"""`procsim explore` finds the races in /proc readers, names the points, and hands back reproducers
that need nothing but procsim (issue "procsim explore")."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from procsim.clients.explore import shape
from procsim.clients.testing import explore

from ..conftest import run

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "explore"
PROCSIM = [sys.executable, "-m", "procsim.clients.cli"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="explore runs readers in their own namespaces (root)")


def explored(tmp_path: Path, *command: str, extra: tuple[str, ...] = ()) -> tuple[subprocess.CompletedProcess, dict]:
    report = tmp_path / "report.json"
    result = run(PROCSIM + ["explore", "--scenario", "zombies", "--personality", "linux", "--json", str(report),
                            "--reproducers", str(tmp_path / "repro"), *extra, "--", *command], timeout=240)
    return result, json.loads(report.read_text())


def reader(name: str) -> list[str]:
    return [sys.executable, str(EXAMPLES / f"{name}.py")]


def reproduce(failure: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    """Mount the reproducer's scenario as its commands say, run the reader once, unmount."""
    scenario = tmp_path / failure["reproducer"]["file"]
    scenario.write_text(failure["reproducer"]["scenario"])
    mount_line, reader_line, _ = failure["reproducer"]["commands"].splitlines()
    mnt = tmp_path / "repro-mnt"
    mount = re.sub(r"/tmp/procsim-repro-\d+", str(mnt), mount_line.split("&& ", 1)[1]).replace(
        f"--scenario {scenario.name}", f"--scenario {scenario}").split()
    mnt.mkdir(exist_ok=True)
    assert run([sys.executable, "-m", "procsim.clients.cli", *mount[1:]]).returncode == 0
    try:
        words = re.sub(r"/tmp/procsim-repro-\d+", str(mnt), reader_line).split()
        assert words[:2] == ["procsim", "shell"]
        return run([sys.executable, "-m", "procsim.clients.cli", *words[1:]], timeout=60)
    finally:
        run(PROCSIM + ["umount", str(mnt)])


def test_a_reader_that_trusts_the_listing_is_caught_at_the_listing(tmp_path):
    result, report = explored(tmp_path, *reader("fragile"))
    assert result.returncode == 1, result.stderr
    first = report["failures"][0]
    assert first["kind"] == "error output" and first["detail"].startswith("FileNotFoundError")
    assert first["point"]["operation"] == "readdir" and first["point"]["path"] == "/"
    assert first["point"]["fault"] == "reap"
    for _ in range(2):  # the reproducer reproduces, every time
        again = reproduce(first, tmp_path)
        assert again.returncode == 1 and "FileNotFoundError" in again.stderr, again.stderr
    assert (tmp_path / "repro" / "explore-1.scenario").exists() and (tmp_path / "repro" / "explore-1.scenario.sh").exists()


def test_a_reader_that_handles_enoent_but_not_esrch_is_caught_between_the_lookup_and_the_read(tmp_path):
    """Reaped once the open has looked the file up: as on Linux, the open succeeds and the read
    fails with ESRCH (the nix bug), whether the reap came before the OPEN request or after it."""
    result, report = explored(tmp_path, *reader("half_careful"))
    assert result.returncode == 1
    kinds = {(f["point"]["operation"], f["detail"]) for f in report["failures"]}
    assert kinds == {("lookup", "ProcessLookupError: [Errno 3] No such process (exit status 1)")}, kinds  # the read's (no file name)
    at_open = next(f for f in report["failures"] if f["point"]["operation"] == "lookup")
    assert at_open["count"] == 2, at_open  # reaped after the LOOKUP, and after the OPEN
    again = reproduce(at_open, tmp_path)
    assert again.returncode == 1 and "ProcessLookupError" in again.stderr, again.stderr


def test_a_careful_reader_passes_and_two_runs_report_alike(tmp_path):
    (tmp_path / "a").mkdir()
    result, report = explored(tmp_path / "a", *reader("careful"))
    assert result.returncode == 0 and report["failures"] == [], result.stdout
    assert report["runs"] == report["points"] > 5
    assert sum(counts["correct"] for counts in report["outcomes"].values()) == report["runs"]
    (tmp_path / "b").mkdir()
    _, again = explored(tmp_path / "b", *reader("careful"))
    timeless = {"seconds", "overhead_ms_per_run"}
    assert {k: v for k, v in report.items() if k not in timeless} == {k: v for k, v in again.items() if k not in timeless}


def test_ps_ef_is_explored_and_its_finding_reproduces(tmp_path):
    """An unmodified tool: ps shows a process reaped between its stat and its cmdline as a
    kernel thread would look ([Shell]), a line that is neither state (docs/exploring-readers.md)."""
    result, report = explored(tmp_path, "ps", "-ef")
    assert report["points"] > 20 and report["runs"] == report["points"]
    assert [f["kind"] for f in report["failures"]] == ["torn output"], result.stdout
    failure = report["failures"][0]
    assert failure["detail"].endswith("[Shell]")
    again = reproduce(failure, tmp_path)
    # the same line, but for the start time ps prints (the reproducer's mount boots later)
    assert shape(failure["detail"]) in [shape(line) for line in again.stdout.splitlines()], again.stdout


def vanishing_unsafe(proc: str) -> None:
    """A reader as a Python function, for the testing API: it reads each listed process's status."""
    for name in sorted(n for n in os.listdir(proc) if n.isdigit()):
        with open(f"{proc}/{name}/status") as f:
            f.read()


def test_the_python_api_explores_a_callable_and_its_failure_carries_the_reproducer():
    report = explore(vanishing_unsafe, scenario="zombies", faults=["reap"])
    assert not report.ok
    with pytest.raises(AssertionError) as failed:
        report.assert_ok()
    assert "FileNotFoundError" in str(failed.value) and "procsim mount /tmp/procsim-repro-1" in str(failed.value)
    assert "after nth=1 readdir / kill" in str(failed.value)


def test_explore_refuses_what_it_cannot_do(tmp_path):
    for args, words in [([], "no command given"), (["--faults", "explode", "--", "true"], "--faults takes"),
                        (["--scenario", "scale", "--", "true"], "built, not written"),
                        (["--jobs", "0", "--", "true"], "--jobs must be"),
                        (["--scenario", "zombies", "--", "no-such-reader"], "the reader did not run (exit 127)")]:
        result = run(PROCSIM + ["explore", *args])
        assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_a_reset_takes_back_every_name_the_kernel_cached(mount_system):
    mounted = mount_system(scenario="empty", personality="linux", paused=True)
    pid = mounted.spawn("later")
    assert (mounted.path / str(pid) / "status").exists()  # the kernel caches its names now
    (mounted.path / "sim" / "reset").write_text("1\n")
    assert not (mounted.path / str(pid)).exists()  # the start state again, not a cached name
    assert mounted.processes().keys() == {1}
    assert mounted.spawn("again") == pid  # the same PIDs as the first time: the same run


PSUTIL_ITER = "import psutil; [print(p.info) for p in psutil.process_iter(['pid', 'name', 'status', 'ppid'])]"


@pytest.mark.parametrize("command, kinds", [
    (["ps", "aux"], {"torn output"}),
    (["pgrep", "-l", "."], set()),
    (["pstree", "-p"], {"torn output"}),
    (["top", "-b", "-n", "1"], set()),
    (["lsof", "-n", "-w"], {"torn output"}),
    (["free"], set()),
    ([sys.executable, "-c", PSUTIL_ITER], set()),
], ids=["ps aux", "pgrep", "pstree", "top", "lsof", "free", "psutil"])
def test_unmodified_tools_under_explore_as_the_docs_report(tmp_path, command, kinds):
    """The table of docs/exploring-readers.md, held (ps -ef is its own test above)."""
    result, report = explored(tmp_path, *command, extra=("--jobs", "2"))
    assert {f["kind"] for f in report["failures"]} == kinds, result.stdout
    assert result.returncode == (1 if kinds else 0)


def test_without_a_namespace_the_reader_is_given_the_mount(tmp_path):
    """--no-namespace (no root needed): `{proc}` and $PROCSIM_PROC name the mount."""
    result, report = explored(tmp_path, *reader("half_careful"), "{proc}", extra=("--no-namespace", "--faults", "reap"))
    assert result.returncode == 1 and report["options"]["namespace"] is False
    failure = next(f for f in report["failures"] if f["point"]["operation"] == "lookup")
    assert "ProcessLookupError" in failure["detail"]
    assert "PROCSIM_PROC=/tmp/procsim-repro-" in failure["reproducer"]["commands"]


def test_trace_and_reset_refuse_bad_input_and_survive_held_handles(mount_system):
    mounted = mount_system(scenario="default", personality="linux")  # programs running, the clock moving
    trace = mounted.path / "sim" / "trace"
    for junk in ("-1", "0", "abc", "99999999999", "1 2", "\x00"):
        with pytest.raises(OSError) as refused:
            trace.write_text(junk)
        assert refused.value.errno == 22, junk
    held = open(mounted.path / "1" / "status")  # a handle into the tree the reset replaces
    held_dir = os.open(mounted.path / "1", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(3):
            (mounted.path / "sim" / "reset").write_text("1\n")
        assert held.read().startswith("Name:")  # what it was opened on, still
        assert "SystemServer" in (mounted.path / "1" / "status").read_text()  # the new tree
        assert mounted.ctl("check") == "ok"
    finally:
        held.close()
        os.close(held_dir)
    assert "Traceback" not in mounted.log()


def test_points_all_tries_every_request(tmp_path):
    """--points all: one run per request (and fault); distinct keeps one per request kind and path
    inside /PID (the unit tests check the nth= of each occurrence)."""
    (tmp_path / "all").mkdir()
    (tmp_path / "distinct").mkdir()
    _, every = explored(tmp_path / "all", *reader("careful"), extra=("--points", "all", "--faults", "exit"))
    _, distinct = explored(tmp_path / "distinct", *reader("careful"), extra=("--faults", "exit"))
    assert every["points"] > distinct["points"] and every["failures"] == [] == distinct["failures"]
    assert every["runs"] == every["points"]
