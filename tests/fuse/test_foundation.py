"""The mount lifecycle: mount, answer, unmount; crashes and stale mounts leave nothing dead."""
import os
import signal
import sys
import time

import pytest

from procsim.clients.mount_client import is_mounted
from procsim.clients.testing import MountedSystem

from ..conftest import require_fuse, run, wait_until

PROCSIM = [sys.executable, "-m", "procsim.clients.cli"]


def wait_unmounted(path, timeout=60):
    deadline = time.monotonic() + timeout
    while is_mounted(str(path)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not is_mounted(str(path))


def test_mount_answers_and_umount_stops_the_daemon(tmp_path):
    require_fuse()
    mnt = tmp_path / "m"
    mnt.mkdir()
    result = run(PROCSIM + ["mount", str(mnt), "--scenario", "empty"])
    assert result.returncode == 0, result.stderr
    try:
        assert "mounted at" in result.stdout
        assert "1" in os.listdir(mnt) and "meminfo" in os.listdir(mnt)
        assert (mnt / "1" / "comm").read_text() == "init\n"
    finally:
        result = run(PROCSIM + ["umount", str(mnt)])
    assert result.returncode == 0, result.stderr
    assert wait_unmounted(mnt) and os.listdir(mnt) == []
    assert run(["pgrep", "-f", f"procsim.server.daemon {mnt}"]).returncode == 1  # no daemon left


def test_mount_py_is_the_same_as_procsim_mount(tmp_path):
    require_fuse()
    mnt = tmp_path / "m"
    mnt.mkdir()
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = run([sys.executable, os.path.join(repo, "mount.py"), str(mnt), "--scenario", "zombies"])
    try:
        assert result.returncode == 0, result.stderr
        assert (mnt / "3" / "comm").read_text() == "leaky_parent\n"
    finally:
        run(PROCSIM + ["umount", str(mnt)])
        wait_unmounted(mnt)


def test_sigkill_of_the_daemon_leaves_no_dead_mount_and_the_mountpoint_works_again(mount_system):
    mounted = mount_system(scenario="empty")
    assert (mounted.path / "1" / "comm").exists()
    os.kill(mounted.daemon.pid, signal.SIGKILL)
    mounted.daemon.wait(60)
    assert wait_unmounted(mounted.path), "auto_unmount did not remove the mount"
    assert os.listdir(mounted.path) == []  # no 'Transport endpoint is not connected'
    again = MountedSystem.start(mounted.path, scenario="empty")
    try:
        assert (mounted.path / "1" / "comm").read_text() == "init\n"
    finally:
        again.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_unmount_cleanly(mount_system, sig):
    mounted = mount_system(scenario="empty")
    os.kill(mounted.daemon.pid, sig)
    assert mounted.daemon.wait(60) == 0
    assert wait_unmounted(mounted.path)


def test_a_stale_mount_is_cleared_with_a_message(mount_system):
    mounted = mount_system(scenario="empty")
    # Kill the auto_unmount helper first, then the daemon: the kernel mount stays, dead.
    helpers = run(["pgrep", "-P", str(mounted.daemon.pid)]).stdout.split()
    for pid in helpers:
        os.kill(int(pid), signal.SIGKILL)
    os.kill(mounted.daemon.pid, signal.SIGKILL)
    mounted.daemon.wait(60)

    def dead() -> bool:
        try:
            os.listdir(mounted.path)
        except OSError as e:
            return e.errno == 107  # ENOTCONN: a dead mount
        return False
    wait_until(dead, what="the mount to be dead")
    result = run(PROCSIM + ["mount", str(mounted.path), "--scenario", "empty"])
    try:
        assert result.returncode == 0, result.stderr
        assert "cleared a stale mount" in result.stderr
        assert (mounted.path / "1").exists()
    finally:
        run(PROCSIM + ["umount", str(mounted.path)])
        wait_unmounted(mounted.path)


@pytest.mark.parametrize("setup, message", [
    ("missing", "does not exist"),
    ("nonempty", "not empty"),
])
def test_bad_mountpoints_get_a_clear_error(tmp_path, setup, message):
    require_fuse()
    mnt = tmp_path / "m"
    if setup == "nonempty":
        mnt.mkdir()
        (mnt / "file").write_text("x")
    result = run(PROCSIM + ["mount", str(mnt)])
    assert result.returncode != 0 and message in result.stderr


def test_an_unknown_scenario_is_refused_before_mounting(tmp_path):
    result = run(PROCSIM + ["mount", str(tmp_path), "--scenario", "no-such-scenario"])
    assert result.returncode == 2 and "no built-in scenario" in result.stderr


def test_a_program_that_never_awaits_does_not_wedge_the_mount(mount_system, tmp_path):
    """The daemon serves readers and runs programs in one loop: a spinning program is killed
    after its step budget, readers get answers, and SIGTERM still unmounts."""
    from ..simulation.test_programs import SPINNER

    path = tmp_path / "spinner.py"
    path.write_text(SPINNER)
    mounted = mount_system(scenario=str(path))           # the clock runs: the spinner starts by itself
    wait_until(lambda: "without awaiting its context" in (mounted.path / "dmesg").read_text(),
               what="the spinner to be killed")
    assert "bystander" in (mounted.path / "all").read_text()
    assert mounted.ctl("check") == "ok"
    os.kill(mounted.daemon.pid, signal.SIGTERM)
    assert mounted.daemon.wait(60) == 0
    assert wait_unmounted(mounted.path)


def test_the_daemon_serves_and_simulates_in_one_thread(mount_system):
    """FUSE requests, the clock, programs and ctl commands all run in the daemon's one trio loop:
    no thread of its own ever touches the kernel model. (Worker threads appear only to wait for
    the kernel to drop cached names, holding nothing but inode numbers.)"""
    mounted = mount_system(scenario="default")           # programs running, the clock moving
    for _ in range(20):
        (mounted.path / "1" / "status").read_text()
        mounted.ctl("tick 0.1")
    assert os.listdir(f"/proc/{mounted.daemon.pid}/task") == [str(mounted.daemon.pid)]


STUBBORN = '''
async def stubborn(ctx):
    await ctx.sleep(0.2)
    while True:              # swallows every exception, the watchdog's too, and spins on
        try:
            while True:
                pass
        except BaseException:
            pass


SCENARIO = """
stubborn = spawn stubborn ppid=0 program=stubborn
bystander = spawn bystander ppid=0 program=daemon
"""
PROGRAMS = {"stubborn": stubborn}
'''


def test_a_program_that_swallows_the_watchdog_does_not_wedge_the_mount(mount_system, tmp_path):
    """ProgramHung is raised once; a program that catches BaseException in a loop is then left
    suspended without its cooperation: readers get answers, the clock goes on, SIGTERM unmounts."""
    path = tmp_path / "stubborn.py"
    path.write_text(STUBBORN)
    mounted = mount_system(scenario=str(path))
    wait_until(lambda: "swallowed the watchdog" in (mounted.path / "dmesg").read_text(),
               what="the stubborn program to be abandoned")
    assert "bystander" in (mounted.path / "all").read_text()
    uptime = float((mounted.path / "uptime").read_text().split()[0])
    wait_until(lambda: float((mounted.path / "uptime").read_text().split()[0]) > uptime, what="the clock")
    assert mounted.ctl("check") == "ok"
    os.kill(mounted.daemon.pid, signal.SIGTERM)
    assert mounted.daemon.wait(60) == 0
    assert wait_unmounted(mounted.path)


def test_btime_plus_uptime_is_the_wall_clock_again_after_the_daemon_was_stopped(mount_system):
    """A stall longer than the clock catches up (a SIGSTOP, a suspended VM) is not simulated; the
    boot moves by it, so btime + uptime is the wall clock again, as Linux's is after a clock set."""
    import time

    mounted = mount_system(scenario="empty", personality="linux")

    def skew() -> float:
        btime = next(int(line.split()[1]) for line in (mounted.path / "stat").read_text().splitlines()
                     if line.startswith("btime "))
        return btime + float((mounted.path / "uptime").read_text().split()[0]) - time.time()

    assert abs(skew()) < 2
    os.kill(mounted.daemon.pid, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        wait_until(lambda: time.monotonic() - stopped > 7, what="a stall longer than the clock catches up")
    finally:
        os.kill(mounted.daemon.pid, signal.SIGCONT)
    wait_until(lambda: abs(skew()) < 2, timeout=10, what="btime + uptime to be the wall clock again")
