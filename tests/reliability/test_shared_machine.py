"""procsim runs as root on machines other users share: nothing another user plants in /tmp or in
a directory they hand to procsim makes root write through a link, and one procsim never takes
over another's mount (issue "Safe on a shared machine")."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from procsim.safe_files import log_name

from ..conftest import run, wait_until

PROCSIM = [sys.executable, "-m", "procsim.cli"]
NOBODY = 65534

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="acts as another user: needs root")


def precious_file(directory: Path) -> Path:
    """A root-owned 0600 file: what an attacker would like root to truncate."""
    target = directory / "precious"
    target.write_text("keep me\n")
    target.chmod(0o600)
    return target


def test_distinct_mountpoints_get_distinct_logs():
    assert log_name("/X/a_b") != log_name("/X/a/b")
    assert log_name("/X/a_b").startswith("X_a_b-") and log_name("/X/a/b").startswith("X_a_b-")
    assert log_name("/X/a/b") == log_name("/X/a/b")
    assert len(log_name("/" + "d/" * 400)) < 120


@needs_root
def test_a_log_directory_another_user_made_first_is_not_used(tmp_path):
    """Another user creates $TMPDIR/procsim-0 and plants the mountpoint's log name as a link to a
    root-owned file: the mount must neither truncate that file nor log into that directory."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir(mode=0o1777)
    tmpdir.chmod(0o1777)
    theirs = tmpdir / f"procsim-{os.getuid()}"
    theirs.mkdir()
    os.chown(theirs, NOBODY, NOBODY)
    theirs.chmod(0o777)
    target = precious_file(tmp_path)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    for name in (log_name(str(mnt)), log_name(str(mnt)) + ".lock", str(mnt).strip("/").replace("/", "_") + ".log"):
        os.symlink(target, theirs / name)
    result = run(PROCSIM + ["mount", str(mnt), "--scenario", "empty"], env={**os.environ, "TMPDIR": str(tmpdir)})
    try:
        assert result.returncode == 0, result.stderr
        assert f"not using {theirs}" in result.stderr, result.stderr
        assert target.read_text() == "keep me\n"
        log = Path(result.stdout.split("log ")[-1].rstrip(")\n"))
        assert log.parent != theirs and log.parent.stat().st_uid == 0
        assert (log.parent.stat().st_mode & 0o777) == 0o700
    finally:
        run(PROCSIM + ["umount", str(mnt)])


@needs_root
def test_a_link_planted_in_our_own_log_directory_is_refused_not_followed(tmp_path):
    """Were a link there anyway (the directory is ours, so only root could have made it), the
    create refuses it rather than follow it."""
    tmpdir = tmp_path / "tmp"
    ours = tmpdir / f"procsim-{os.getuid()}"
    ours.mkdir(parents=True, mode=0o700)
    target = precious_file(tmp_path)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    os.symlink(target, ours / log_name(str(mnt)))
    result = run(PROCSIM + ["mount", str(mnt), "--scenario", "empty"], env={**os.environ, "TMPDIR": str(tmpdir)})
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert "cannot write the daemon's log" in result.stderr
    assert target.read_text() == "keep me\n"
    assert not os.path.ismount(mnt)


def test_two_mounts_at_one_path_at_once_exactly_one_wins(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    starts = [subprocess.Popen(PROCSIM + ["mount", str(mnt), "--scenario", "empty"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        results = [(p.wait(60), p.stderr.read()) for p in starts]  # type: ignore[union-attr]
        codes = sorted(code for code, _ in results)
        assert codes[0] == 0 and codes[1] != 0, results
        loser = next(err for code, err in results if code != 0)
        assert "another procsim mount" in loser or "already mounted" in loser, loser
        daemons = subprocess.run(["pgrep", "-f", f"procsim.daemon {mnt} "], capture_output=True, text=True).stdout
        assert len(daemons.split()) == 1, daemons
    finally:
        run(PROCSIM + ["umount", str(mnt)])


def test_snapshot_never_follows_a_link_planted_while_it_copies(mount_system, tmp_path, monkeypatch):
    """The owner of DIR plants `uptime -> FILE` after the emptiness check, while the copy runs:
    the copy must not write FILE, and says which entry it could not write."""
    from procsim import snapshot as snapshot_module

    mounted = mount_system(scenario="empty", personality="linux")
    target = precious_file(tmp_path)
    out = tmp_path / "copy"
    real_scandir = os.scandir
    planted = []

    def scandir_then_plant(path):  # the first listing of the mount is when the copy has begun
        if not planted:
            os.symlink(target, out / "uptime")
            os.symlink(target, out / "sys")
            planted.append(True)
        return real_scandir(path)

    monkeypatch.setattr(snapshot_module.os, "scandir", scandir_then_plant)
    written, errors = snapshot_module.snapshot(str(mounted.path), str(out))
    monkeypatch.undo()
    assert planted and target.read_text() == "keep me\n"
    assert "uptime: File exists" in errors and "sys: File exists" in errors
    assert written > 10 and (out / "meminfo").read_text().startswith("MemTotal:")
    assert os.readlink(out / "uptime") == str(target)  # left as the planter made it


def test_snapshot_refuses_a_destination_that_is_a_link(mount_system, tmp_path):
    mounted = mount_system(scenario="empty")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "copy"
    link.symlink_to(elsewhere)
    result = run(PROCSIM + ["snapshot", str(mounted.path), str(link)])
    assert result.returncode != 0 and "a link is not followed" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert list(elsewhere.iterdir()) == []
