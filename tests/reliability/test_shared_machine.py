"""procsim runs as root on machines other users share: nothing another user plants in /tmp or in
a directory they hand to procsim makes root write through a link, and one procsim never takes
over another's mount (issue "Safe on a shared machine")."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from procsim.safe_files import log_name

from ..conftest import in_namespace, run, wait_until

PROCSIM = [sys.executable, "-m", "procsim.clients.cli"]
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
        daemons = subprocess.run(["pgrep", "-f", f"procsim.server.daemon {mnt} "], capture_output=True, text=True).stdout
        assert len(daemons.split()) == 1, daemons
    finally:
        run(PROCSIM + ["umount", str(mnt)])


def test_snapshot_never_follows_a_link_planted_while_it_copies(mount_system, tmp_path, monkeypatch):
    """The owner of DIR plants `uptime -> FILE` after the emptiness check, while the copy runs:
    the copy must not write FILE, and says which entry it could not write."""
    from procsim.clients import snapshot as snapshot_module

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


def test_readers_in_procsim_shell_cannot_signal_host_processes(mount_system):
    """The namespace has a PID namespace: the simulated table is what readers see, and a kill of
    a number they read reaches no host process -- while ps, top and psutil (which look
    themselves up by their own PID) work there."""
    mounted = mount_system(scenario="zombies", personality="linux")
    host = subprocess.Popen(["sleep", "60"])
    try:
        psutil_code = ("import psutil; me = psutil.Process(); "
                       "print('self', me.pid, me.name(), sorted(p.pid for p in psutil.process_iter()))")
        result = in_namespace(mounted, f"ps -ef && top -b -n 1 | head -20 && kill -0 {host.pid}; "
                                       f"echo kill=$?; {sys.executable} -c \"{psutil_code}\"")
        assert result.returncode == 0, result.stderr
        assert "leaky_parent" in result.stdout and "<defunct>" in result.stdout, result.stdout
        assert "Tasks:   7 total" in result.stdout and "3 zombie" in result.stdout, result.stdout
        assert "kill=1" in result.stdout and "No such process" in result.stderr, result.stderr
        assert host.poll() is None
        line = next(line for line in result.stdout.splitlines() if line.startswith("self "))
        own, name, pids = line.split(" ", 3)[1:]
        assert name == "python" or name.startswith("python3"), line
        assert int(own) > 1000 and pids == "[1, 2, 3, 4, 5, 6, 7]", line  # its own PID is not listed
    finally:
        host.kill()
        host.wait()


def test_a_reader_whose_own_pid_is_a_reaped_simulated_pid_still_finds_itself(mount_system):
    """procps opens /proc/<getpid()>/status itself: where that number is a simulated process that
    is gone, the reader is shown itself (it used to abort: "fatal library error, lookup self")."""
    mounted = mount_system(scenario="zombies", personality="linux")
    gone = [mounted.spawn(f"brief{i}", ppid=0) for i in range(30)]
    for pid in gone:
        mounted.kill(pid)  # no parent: reaped at once
    assert not (mounted.path / str(gone[10])).exists()
    # readers' PIDs in the namespace chosen to be those reaped simulated PIDs
    script = (f"echo {gone[10]} > /proc/sys/kernel/ns_last_pid && mount --bind \"$0\" /proc && "
              f"ps -ef | tail -n 3 && top -b -n 1 | head -3 && {sys.executable} -c 'import psutil, os; p = psutil.Process(); "
              f"print(\"self\", p.pid == os.getpid(), p.name())'; exit $?")
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    result = run(["unshare", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "sh", "-c", script,
                  str(mounted.path)])
    assert result.returncode == 0, result.stderr
    assert "fatal" not in result.stderr and "leaky_parent" in result.stdout, result.stdout + result.stderr
    assert "self True python" in result.stdout and "Tasks:" in result.stdout, result.stdout


GETDENTS64 = {"x86_64": 217, "aarch64": 61, "riscv64": 61}

# getdents64 of a directory into a buffer mapped from a file of a stalling FUSE file system: the
# kernel holds the directory's lock shared while it copies the entries, and the copy faults on
# the buffer, which waits for the stalling file system.
STALLING_LISTER = """
import ctypes, mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
buffer = mmap.mmap(fd, 1 << 20, mmap.MAP_PRIVATE, mmap.PROT_READ | mmap.PROT_WRITE)
address = ctypes.addressof(ctypes.c_char.from_buffer(buffer))
directory = os.open(sys.argv[2], os.O_RDONLY | os.O_DIRECTORY)
libc = ctypes.CDLL(None, use_errno=True)
print(libc.syscall(int(sys.argv[3]), directory, ctypes.c_void_p(address), 65536), flush=True)
"""


def stalled_listings(mounted) -> int:
    report = (mounted.path / "sim" / "requests").read_text()
    return int(report.split("stalled-listings ")[1].split()[0])


def test_a_listing_that_stalls_with_the_roots_lock_held_stops_nothing(mount_system, tmp_path):
    """A reader lists MNT into a buffer that faults slowly: it holds the root's lock for as long as
    it likes.  A reap must still return (it used to wait for the kernel to drop the name, which
    needs that lock), the name must be exact once it has, and the clock must go on."""
    number = GETDENTS64.get(os.uname().machine)
    if number is None:
        pytest.skip(f"no getdents64 number known for {os.uname().machine}")
    mounted = mount_system(scenario="empty", personality="linux")
    stall, release = tmp_path / "stall", tmp_path / "release"
    stall.mkdir()
    fs = subprocess.Popen([sys.executable, str(Path(__file__).with_name("stalling_fs.py")), str(stall),
                           str(release)], stdout=subprocess.PIPE, text=True)
    lister = None
    try:
        wait_until(lambda: (stall / "slow").exists(), what="the stalling file system")
        victim = mounted.spawn("victim", ppid=0)
        os.stat(mounted.path / str(victim))  # the kernel caches its name
        lister = subprocess.Popen([sys.executable, "-c", STALLING_LISTER, str(stall / "slow"), str(mounted.path),
                                   str(number)], stdout=subprocess.PIPE, text=True)
        assert fs.stdout.readline().strip() == "read"  # type: ignore[union-attr]
        wait_until(lambda: stalled_listings(mounted) == 1, what="the daemon to see the stalled listing")
        uptime = float((mounted.path / "uptime").read_text().split()[0])
        killed = run(PROCSIM + ["ctl", str(mounted.path), f"kill {victim} KILL"], timeout=30)
        assert killed.returncode == 0, killed.stderr
        with pytest.raises(FileNotFoundError):
            os.stat(mounted.path / str(victim))  # exact once the kill returned
        assert run(["ls", str(mounted.path)], timeout=30).returncode == 0  # others still list the root
        wait_until(lambda: float((mounted.path / "uptime").read_text().split()[0]) > uptime + 0.3,
                   what="the clock to go on")
        assert lister.poll() is None  # all this happened while the listing still stalled
    finally:
        release.touch()
        if lister is not None:
            lister.wait(30)
        subprocess.run(["fusermount", "-u", str(stall)], capture_output=True)
        fs.wait(30)


def procsim_mount(path: Path, *args: str) -> int:
    """`procsim mount` at `path`; the daemon's PID."""
    path.mkdir(exist_ok=True)
    result = run(PROCSIM + ["mount", str(path), "--scenario", "empty", *args])
    assert result.returncode == 0, result.stderr
    return int(result.stdout.split("daemon pid ")[1].split(",")[0])


def test_umount_asks_no_other_daemon(tmp_path):
    """It used to realpath() the arguments of every procsim daemon on the machine: one stopped
    mount elsewhere hung it.  It finds its own daemon by the mount itself."""
    import signal

    stopped = procsim_mount(tmp_path / "elsewhere")
    os.kill(stopped, signal.SIGSTOP)
    try:
        procsim_mount(tmp_path / "mine")
        result = run(PROCSIM + ["umount", str(tmp_path / "mine")], timeout=30)
        assert result.returncode == 0, result.stderr
        assert not os.path.ismount(tmp_path / "mine")
    finally:
        os.kill(stopped, signal.SIGCONT)
        run(PROCSIM + ["umount", str(tmp_path / "elsewhere")])


def test_mountpoints_with_a_space_or_behind_a_link_mount_and_unmount(tmp_path):
    spaced = tmp_path / "a b"
    procsim_mount(spaced)
    assert (spaced / "sim" / "ctl").exists()
    assert run(PROCSIM + ["umount", str(spaced)]).returncode == 0 and not os.path.ismount(spaced)
    real, link = tmp_path / "real", tmp_path / "link"
    real.mkdir()
    link.symlink_to(real)
    result = run(PROCSIM + ["mount", str(link), "--scenario", "empty"])
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert os.path.ismount(real) and (link / "sim" / "ctl").exists()
    assert run(PROCSIM + ["umount", str(link)]).returncode == 0 and not os.path.ismount(real)


def test_umount_says_why_a_daemon_goes_on_serving_another_namespace(tmp_path):
    """A `procsim shell` still running keeps its own copy of the mount: unmounting here cannot end
    the daemon, and umount says so, and which process holds it."""
    mnt = tmp_path / "mnt"
    daemon = procsim_mount(mnt)
    shell = subprocess.Popen(PROCSIM + ["shell", str(mnt), "sh", "-c", "echo ready; read line"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert shell.stdout.readline().strip() == "ready"  # type: ignore[union-attr]
        result = run(PROCSIM + ["umount", str(mnt)], timeout=60)
        assert result.returncode == 1 and "other mount namespace" in result.stderr, result.stderr
        assert f"daemon (pid {daemon})" in result.stderr and "Traceback" not in result.stderr
    finally:
        shell.communicate("done\n", timeout=30)
    wait_until(lambda: not os.path.exists(f"/proc/{daemon}") or
               open(f"/proc/{daemon}/stat").read().split(") ")[1][0] == "Z", what="the daemon to exit")


def test_a_user_without_fuse_gets_one_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    import procsim.clients.testing
    from procsim.clients import cli

    monkeypatch.setattr(procsim.clients.testing, "fuse_unavailable_reason",
                        lambda: "/dev/fuse is not readable and writable by this user")
    assert cli.main(["mount", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("procsim: cannot mount: /dev/fuse is not readable") and err.count("\n") == 1, err
    assert not os.path.ismount(tmp_path)


def test_umount_and_the_demo_never_take_down_a_mount_another_user_started(tmp_path, monkeypatch, capsys):
    from procsim.clients import cli, mount_client

    line = "45 27 0:40 / /tmp/t1 rw,nosuid,nodev,relatime - fuse.procsim procsim rw,user_id=1000,group_id=1000"
    assert mount_client.owner_in(line.split()) == 1000
    monkeypatch.setattr(cli, "mounted_here", lambda path: ("procsim", "fuse.procsim"))
    monkeypatch.setattr(cli, "mount_owner", lambda path: 1000 if os.getuid() != 1000 else 1001)
    unmounted = []
    monkeypatch.setattr(cli, "unmount", lambda path, lazy=False: unmounted.append(path) or True)
    assert cli.main(["umount", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "a procsim mount that uid" in err and "not unmounting it" in err, err
    assert unmounted == []
    demo = Path(__file__).resolve().parents[2] / "scripts" / "demo"
    text = demo.read_text()
    assert "/tmp/procsim-demo" not in text and "procsim umount" in text  # the demo goes through umount's check


def test_escape_sequences_a_user_typed_never_reach_a_terminal(mount_system):
    """`spawn $'evil\\e]0;T\\a\\e[31mRED'` is refused (EINVAL), but the refused line is recorded,
    and it used to reach the terminal raw in `procsim top --once`."""
    mounted = mount_system(scenario="empty", personality="linux", paused=True)
    evil = "evil\x1b]0;T\x07\x1b[31mRED"
    refused = run(PROCSIM + ["ctl", str(mounted.path), "spawn", evil])
    assert refused.returncode != 0 and "\x1b" not in refused.stderr, refused.stderr
    assert evil in (mounted.path / "sim" / "events").read_text().encode().decode("unicode_escape")  # recorded
    top = run(PROCSIM + ["top", str(mounted.path), "--once", "--width", "250"])
    assert top.returncode == 0 and "\x1b" not in top.stdout, top.stdout[-1500:]
    assert "evil\\x1b]0;T\\x07\\x1b[31mRED" in top.stdout, top.stdout[-1500:]


def test_the_kernel_log_shows_control_characters_escaped():
    from kernel_model.kernel_core import printable

    assert printable("name\x1b[31m\nforged line\tkept") == "name\\x1b[31m\\x0aforged line\tkept"
    from procsim.clients.terminal_text import visible

    assert visible("a\x1b\nb", lines=True) == "a\\x1b\nb" and visible("a\nb") == "a\\x0ab"
