"""The command line as a new user meets it: clear one-line errors, never a traceback; nothing
unmounted that procsim did not mount; every ctl argument reaches the kernel as typed."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ..conftest import run, wait_until

PROCSIM = [sys.executable, "-m", "procsim.clients.cli"]


def procsim(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return run(PROCSIM + list(args), **kwargs)


def assert_clean_failure(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr and result.stderr.startswith("procsim: "), result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a tmpfs")
def test_umount_refuses_what_procsim_did_not_mount(tmp_path):
    target = tmp_path / "tmpfs"
    target.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(target)], check=True)
    try:
        (target / "precious").write_text("work")
        assert_clean_failure(procsim("umount", str(target)), "not a procsim mount", "tmpfs", "--force")
        assert (target / "precious").read_text() == "work"
        assert_clean_failure(procsim("mount", str(target)), "a tmpfs filesystem")
        assert procsim("umount", "--force", str(target)).returncode == 0
        assert not (target / "precious").exists()
    finally:
        subprocess.run(["umount", str(target)], capture_output=True)


def test_options_are_checked_before_a_daemon_starts(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    bad_line = tmp_path / "bad.scenario"
    bad_line.write_text("a = spawn Shell\nfork $a\nfrobnicate 1\n")
    latin1 = tmp_path / "latin1.scenario"
    latin1.write_bytes(b"spawn caf\xe9\n")
    assert_clean_failure(procsim("mount", str(mnt), "--memory", "lots"), "--memory", "bad size 'lots'")
    assert_clean_failure(procsim("mount", str(mnt), "--speed", "-1"), "--speed must be positive")
    assert_clean_failure(procsim("mount", str(mnt), "--scenario", str(latin1)), "not a UTF-8 text file")
    assert_clean_failure(procsim("mount", str(mnt), "--scenario", str(bad_line)),
                         "scenario line 3", "unknown command 'frobnicate'")
    assert_clean_failure(procsim("top", str(mnt), "--interval", "-1"), "--interval must be positive")
    looping = tmp_path / "looping.py"
    looping.write_text("while True:\n    pass\n")
    assert_clean_failure(procsim("mount", str(mnt), "--scenario", str(looping),
                                 env={**os.environ, "PROCSIM_LOAD_BUDGET": "1"}), "loading it took more than 1 s")
    assert_clean_failure(procsim("snapshot", str(tmp_path / "missing"), str(tmp_path / "copy")), "not a procsim mount")
    assert_clean_failure(procsim("ctl", str(mnt), "help"), "not a procsim mount")
    assert os.listdir(mnt) == []


def test_version():
    result = procsim("--version")
    assert result.returncode == 0 and result.stdout.startswith("procsim ")
    as_module = run([sys.executable, "-m", "procsim", "--version"])  # python -m procsim is the CLI too
    assert as_module.returncode == 0 and as_module.stdout == result.stdout


def test_a_relative_scenario_path_works(mount_system, tmp_path):
    (tmp_path / "my.scenario").write_text("spawn relative-one ppid=0\n")
    mounted = mount_system(scenario="empty")
    mounted.stop()
    result = procsim("mount", "mnt0", "--scenario", "my.scenario", cwd=tmp_path)
    try:
        assert result.returncode == 0, result.stderr
        names = [p["name"] for p in json.loads((tmp_path / "mnt0" / "all").read_text())["processes"]]
        assert "relative-one" in names
    finally:
        procsim("umount", str(tmp_path / "mnt0"))


def test_ctl_prints_the_kernels_message_and_words_arrive_as_typed(mnt):
    result = procsim("ctl", str(mnt.path), "frobnicate", "1")
    assert_clean_failure(result, "unknown command 'frobnicate' (try: help)", "EINVAL")
    result = procsim("ctl", str(mnt.path), "wait", "999999")
    assert_clean_failure(result, "ESRCH")
    assert procsim("ctl", str(mnt.path), "fork 1").stdout.strip().isdigit()      # one argument: a line
    for name in ("a#b", "it's", "a\\b", "two words", "$HOME"):
        pid = procsim("ctl", str(mnt.path), "spawn", name, "ppid=0").stdout.strip()
        assert pid.isdigit(), name
        assert (mnt.path / pid / "comm").read_text() == name[:15] + "\n"


def test_the_ctl_file_reads_back_the_kernels_message_in_a_shell(mnt):
    script = f'exec 3<>"{mnt.path}/sim/ctl"; echo frobnicate >&3; echo "status $?"; cat <&3'
    result = run(["bash", "-c", script])
    assert "status 1" in result.stdout
    assert result.stdout.count("frobnicate") == 1 and "unknown command 'frobnicate' (try: help)\n" in result.stdout


def test_foreground_says_that_it_serves(tmp_path):
    mnt = tmp_path / "fg"
    mnt.mkdir()
    daemon = subprocess.Popen(PROCSIM + ["mount", str(mnt), "--scenario", "empty", "--foreground"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert daemon.stdout is not None
        assert "serving" in daemon.stdout.readline()
        wait_until(lambda: (mnt / "sim" / "ctl").exists(), what="the foreground mount")
    finally:
        procsim("umount", str(mnt))
        daemon.wait(30)
    assert daemon.returncode == 0


def test_a_write_of_several_lines_stops_at_the_first_failure_and_keeps_the_results(mount_system):
    mounted = mount_system(scenario="empty", paused=True)
    commands = mounted.path.parent / "commands"
    commands.write_text("spawn a ppid=0\nspawn b ppid=0\nfrobnicate\nspawn c ppid=0\n")
    script = f'exec 3<>"{mounted.path}/sim/ctl"; cat "{commands}" >&3; echo "status $?"; cat <&3'  # one write
    result = run(["bash", "-c", script])
    lines = result.stdout.splitlines()
    assert lines[0] == "status 1"
    a, b = int(lines[1]), int(lines[2])
    assert lines[3] == "line 3: unknown command 'frobnicate' (try: help)"
    names = {p["pid"]: p["name"] for p in json.loads((mounted.path / "all").read_text())["processes"]}
    assert names.get(a) == "a" and names.get(b) == "b" and "c" not in names.values()


@pytest.mark.parametrize("args, words", [
    (["--memory", "0"], ["--memory", "size must be positive"]),
    (["--memory", "-1"], ["--memory", "size must be positive"]),
    (["--memory", "1P"], ["--memory", "bad size '1P'"]),
    (["--seconds", "nan"], ["--seconds must be between 0 and 86400"]),
    (["--seconds", "inf"], ["--seconds must be between 0 and 86400"]),
    (["--seconds", "1e9"], ["--seconds must be between 0 and 86400"]),
    (["--scenario", "scale", "--processes", "5000000"], ["would pass --max-processes 200000"]),
    (["--max-processes", "50000000"], ["past what one host can hold"]),
])
def test_run_checks_its_options(args, words):
    assert_clean_failure(procsim("run", *args), *words)


@pytest.mark.parametrize("budget", ["abc", "inf", "-1", "0", "nan"])
def test_a_load_budget_that_would_switch_the_limit_off_is_refused(budget, tmp_path):
    result = procsim("run", "--seconds", "0", env={**os.environ, "PROCSIM_LOAD_BUDGET": budget})
    assert_clean_failure(result, "PROCSIM_LOAD_BUDGET must be a positive number of seconds")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    result = procsim("mount", str(mnt), env={**os.environ, "PROCSIM_LOAD_BUDGET": budget})
    assert_clean_failure(result, "PROCSIM_LOAD_BUDGET")
    assert not os.path.ismount(mnt)
