"""procsim.clients.testing's typed API, the pytest plugin, and `procsim snapshot`."""
import os
import sys

import pytest

from ..conftest import run

pytest_plugins = ["pytester"]


def test_the_control_commands_are_typed_methods(procsim_mount):
    sim = procsim_mount
    parent = sim.spawn("server", cmdline=["server", "--port", "80 80"])
    assert (sim.path / str(parent) / "cmdline").read_bytes() == b"server\0--port\x0080 80\0"
    child = sim.fork(parent)
    assert sim.wait(parent, nohang=True) is None
    sim.exit(child, 4)
    assert sim.wait(parent) == (child, 4 << 8)
    addr = sim.mmap(parent, "64K", purgeable=True, name="cache")
    touch = sim.write(parent, addr, "64K")
    assert (touch.pages, touch.zero_faults, touch.killed) == (16, 16, None)
    assert sim.madvise(parent, addr, "64K", volatile=True) is False
    assert sim.purge() == 16
    assert sim.madvise(parent, addr, "64K", volatile=False) is True
    fd = sim.anon_create(parent, "16K")
    sim.mmap(parent, "16K", shared=True, fd=fd)
    sim.munmap(parent, addr, "64K")
    before = float((sim.path / "uptime").read_text().split()[0])
    sim.tick(1.5)
    assert float((sim.path / "uptime").read_text().split()[0]) == pytest.approx(before + 1.5)
    assert sim.processes()[parent]["name"] == "server"


def test_failures_raise_the_oserror_of_their_errno(procsim_mount):
    with pytest.raises(ProcessLookupError):
        procsim_mount.fork(999)
    with pytest.raises(ChildProcessError):
        procsim_mount.wait(procsim_mount.spawn("childless"))
    with pytest.raises(OSError) as e:
        procsim_mount.mmap(1, "-1")
    assert e.value.errno == 22


def test_helpers_make_hard_states(procsim_mount):
    zombie = procsim_mount.zombie(code=2)
    assert (procsim_mount.path / str(zombie) / "stat").read_text().split()[2] == "Z"
    pid, fd = procsim_mount.reaped_with_open_dir()
    # From a process without a handle into it, the path is gone (this one holds fd: see the docstring)
    assert run(["test", "-e", str(procsim_mount.path / str(pid))]).returncode == 1
    with pytest.raises(ProcessLookupError):
        os.open("stat", os.O_RDONLY, dir_fd=fd)
    pids = procsim_mount.many(600)
    assert len(pids) == 600 and all(str(p) in os.listdir(procsim_mount.path) for p in pids[::100])


def test_a_race_trigger_fires_once_after_the_next_open(procsim_mount):
    pid = procsim_mount.spawn("racer", ppid=0)
    procsim_mount.after("open", f"/{pid}/stat", f"kill {pid} KILL")
    assert procsim_mount.ctl("triggers") == f"1 after open /{pid}/stat kill {pid} KILL"
    with open(procsim_mount.path / str(pid) / "stat") as f:   # the open succeeds...
        with pytest.raises(ProcessLookupError):                # ...the process is reaped right after it:
            f.read()                                           # Linux answers the read with ESRCH
    assert not (procsim_mount.path / str(pid)).exists()
    assert procsim_mount.ctl("triggers") == ""                 # fired once


def test_the_plugin_skips_with_the_reason_where_fuse_is_unavailable(pytester):
    pytester.makeconftest("""
import procsim.clients.testing
procsim.clients.testing.fuse_unavailable_reason = lambda: "no /dev/fuse in this container"
""")
    pytester.makepyfile("def test_x(procsim_mount):\n    assert False\n")
    result = pytester.runpytest_subprocess("-rs")  # the plugin loads through its pytest11 entry point
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*procsim: FUSE is unavailable here: no /dev/fuse in this container*"])


def test_snapshot_writes_the_tree_as_plain_files(mount_system, tmp_path):
    mounted = mount_system(scenario="zombies", personality="linux")
    out = tmp_path / "copy"
    result = run([sys.executable, "-m", "procsim.clients.cli", "snapshot", str(mounted.path), str(out)])
    assert result.returncode == 0, result.stderr
    assert (out / "meminfo").read_text().startswith("MemTotal:")
    assert (out / "4" / "stat").read_text().split()[2] == "Z"
    assert os.readlink(out / "1" / "fd" / "0") == "/dev/null"  # init: a daemon, no terminal
    assert os.readlink(out / "2" / "fd" / "0") == "/dev/tty0"  # the login shell's terminal
    assert not (out / "sim").exists() and not (out / "self").exists()
    assert (out / "net" / "dev").read_text().startswith("Inter-|")  # net: the machine's, as a directory
    assert (out / "1" / "net" / "dev").read_text() == (out / "net" / "dev").read_text()
    assert "4/environ: No such process" in (out / ".procsim-snapshot-errors").read_text()
    import psutil
    old, psutil.PROCFS_PATH = psutil.PROCFS_PATH, str(out)
    try:
        assert psutil.Process(4).status() == psutil.STATUS_ZOMBIE  # a static copy is enough for psutil
    finally:
        psutil.PROCFS_PATH = old
    again = run([sys.executable, "-m", "procsim.clients.cli", "snapshot", str(mounted.path), str(out)])
    assert again.returncode == 1 and "not empty" in again.stderr


def test_a_run_ended_by_sigterm_leaves_no_mount_and_the_next_run_works(pytester, tmp_path):
    """CI timeouts and cancels send SIGTERM: the fixture's mount is taken down all the same, and a
    next run with the same --basetemp works (it unmounts what a SIGKILLed run left there)."""
    from procsim.clients.mount_client import is_mounted

    where = tmp_path / "where"
    pytester.makepyfile(f"""
import os, signal
def test_terminated(procsim_mount):
    open({str(where)!r}, "w").write(str(procsim_mount.path))
    os.kill(os.getpid(), signal.SIGTERM)
""")
    basetemp = tmp_path / "base"
    result = pytester.runpytest_subprocess("--basetemp", str(basetemp))
    assert result.ret != 0
    assert where.exists() and not is_mounted(where.read_text())

    pytester.makepyfile(f"""
import os, signal
def test_killed(procsim_mount):
    open({str(where)!r}, "w").write(str(procsim_mount.path))
    os.kill(os.getpid(), signal.SIGKILL)
""")
    result = pytester.runpytest_subprocess("--basetemp", str(basetemp))
    left = where.read_text()
    assert is_mounted(left)  # SIGKILL: nothing of the run could act
    pytester.makepyfile("def test_after(procsim_mount):\n    assert procsim_mount.processes()\n")
    result = pytester.runpytest_subprocess("--basetemp", str(basetemp))
    result.assert_outcomes(passed=1)
    assert not is_mounted(left)
