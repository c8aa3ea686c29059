"""A live mount's recording replays to the same event log, and only the owner may drive it."""
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

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


@pytest.fixture
def public_mount(mount_system):
    """Mounts under a directory other users can traverse (pytest's own tmp dirs are 0700)."""
    base = Path(tempfile.mkdtemp(prefix="procsim-perm-", dir="/tmp"))
    base.chmod(0o755)
    mounted = []

    def start(**kwargs):
        from procsim.testing import FuseUnavailable, MountedSystem
        try:
            m = MountedSystem.start(base / f"m{len(mounted)}", **kwargs)
        except FuseUnavailable as e:
            pytest.skip(f"FUSE unavailable: {e}")
        mounted.append(m)
        return m

    yield start
    for m in mounted:
        m.stop()
    shutil.rmtree(base, ignore_errors=True)


def test_only_the_mount_owner_may_write_the_control_file(public_mount):
    if shutil.which("runuser") is None or os.geteuid() != 0:
        pytest.skip("needs root and runuser (util-linux) to act as another user")
    private = public_mount(scenario="empty")
    denied = run(["runuser", "-u", "nobody", "--", "sh", "-c", f"echo help > {private.path}/sim/ctl"])
    assert denied.returncode != 0 and "Permission denied" in denied.stderr  # no allow_other: no entry at all
    shared = public_mount(scenario="empty", extra_args=["--allow-other"])
    readable = run(["runuser", "-u", "nobody", "--", "cat", f"{shared.path}/meminfo"])
    assert readable.returncode == 0 and "MemTotal" in readable.stdout
    denied = run(["runuser", "-u", "nobody", "--", "sh", "-c", f"echo 'spawn intruder' > {shared.path}/sim/ctl"])
    assert denied.returncode != 0 and "Permission denied" in denied.stderr
    assert "intruder" not in (shared.path / "all").read_text()
