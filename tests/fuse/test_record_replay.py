"""A live mount's recording replays to the same event log, and only the owner may drive it."""
import os
import sys
import time

import pytest

from procsim.simulator.event_log import read_record

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
    result = run([sys.executable, "-m", "procsim.clients.cli", "run", "--replay", str(record), "--record", str(replayed),
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


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a small tmpfs")
def test_a_record_whose_disk_fills_refuses_commands_and_keeps_the_mount_up(mount_system, tmp_path):
    """A record write that fails must not leave a change the record lacks: the command is refused
    (ENOSPC, nothing applied), the mount stays up, and once there is room commands run again."""
    import errno
    import subprocess

    from procsim.simulator.event_log import read_record

    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], check=True)
    try:
        record = disk / "run.record"
        mounted = mount_system(scenario="empty", paused=True, extra_args=["--record", str(record)])
        filler = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            with pytest.raises(OSError):
                while True:
                    os.write(filler, b"x" * 4096)
        finally:
            os.close(filler)
        refused = None
        for _ in range(100):
            try:
                mounted.many(200)
            except OSError as e:
                refused = e
                break
        assert refused is not None and refused.errno == errno.ENOSPC, refused
        applied = len(mounted.processes())
        with pytest.raises(OSError) as again:
            mounted.spawn("late")
        assert again.value.errno == errno.ENOSPC and "not run" in again.value.strerror
        assert len(mounted.processes()) == applied  # nothing applied
        assert float((mounted.path / "uptime").read_text().split()[0]) >= 0  # the mount is up
        (disk / "filler").unlink()
        mounted.spawn("room again")
        mounted.stop()
        _, events = read_record(record)
        assert len([e for e in events if e["event"] == "spawn"]) == applied + 1  # init, the batches, the last
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_a_record_path_that_is_a_directory_is_one_line(tmp_path):
    import subprocess
    import sys

    mnt = tmp_path / "mnt"
    mnt.mkdir()
    result = subprocess.run([sys.executable, "-m", "procsim.clients.cli", "mount", str(mnt), "--record", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip() == f"procsim: --record {tmp_path}: Is a directory"
