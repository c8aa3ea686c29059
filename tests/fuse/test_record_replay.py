"""A live mount's recording replays to the same event log, and only the owner may drive it."""
import sys
import time

import pytest

from procsim.event_log import read_record

from ..conftest import run


def test_a_recorded_live_mount_replays_to_the_same_log(mount_system, tmp_path):
    record = tmp_path / "live.jsonl"
    mounted = mount_system(scenario="default", extra_args=["--record", str(record), "--seed", "4"])
    mounted.ctl("spawn late program=leaky_parent cmdline=\"late --children 2 --interval 0.2\"")
    time.sleep(0.5)
    with pytest.raises(OSError):
        mounted.ctl("fork 999")
    mounted.ctl("tick 1.5")
    mounted.ctl("kill 3 KILL")
    time.sleep(0.3)
    mounted.stop()
    replayed = tmp_path / "replayed.jsonl"
    result = run([sys.executable, "-m", "procsim.cli", "run", "--replay", str(record), "--record", str(replayed),
                  "--seconds", "0"])
    assert result.returncode == 0, result.stderr
    _, live = read_record(record)
    _, again = read_record(replayed)
    assert [e for e in live if e["event"] == "command" and e["source"] == "ctl"][-1]["line"] == "kill 3 KILL"
    assert again == live


def test_only_the_mount_owner_may_write_the_control_file(public_mount_system):
    private = public_mount_system(scenario="empty")
    denied = run(["runuser", "-u", "nobody", "--", "sh", "-c", f"echo help > {private.path}/sim/ctl"])
    assert denied.returncode != 0 and "Permission denied" in denied.stderr  # no allow_other: no entry at all
    shared = public_mount_system(scenario="empty", extra_args=["--allow-other"])
    readable = run(["runuser", "-u", "nobody", "--", "cat", f"{shared.path}/meminfo"])
    assert readable.returncode == 0 and "MemTotal" in readable.stdout
    denied = run(["runuser", "-u", "nobody", "--", "sh", "-c", f"echo 'spawn intruder' > {shared.path}/sim/ctl"])
    assert denied.returncode != 0 and "Permission denied" in denied.stderr
    assert "intruder" not in (shared.path / "all").read_text()
