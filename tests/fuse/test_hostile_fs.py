"""Everything that would change the tree fails with its documented errno; nothing reaches the host;
other users see only what modes allow."""
import errno
import os
from pathlib import Path

import pytest

from ..conftest import run

WRITABLE = {"sim/ctl", "sim/trace", "sim/reset", "sim/bugs/procfs_strong_backrefs", "sim/bugs/panic_on_held_pid_dir",
            "sim/bugs/init_does_not_reap"}


def every_path(root: Path) -> list[Path]:
    paths = []
    for dirpath, dirnames, filenames in os.walk(root):  # does not descend into links
        base = Path(dirpath)
        paths += [base / d for d in dirnames] + [base / f for f in filenames]
    return paths


def expect(err: int, fn, *args) -> None:
    with pytest.raises(OSError) as e:
        fn(*args)
    assert e.value.errno == err, f"{fn.__name__}{args}: {e.value}"


def test_every_mutation_of_the_tree_is_refused_with_the_documented_errno(mount_system, record_figure):
    # paused: a process that ends during the walk would turn its paths into ENOENT
    mounted = mount_system(scenario="default", personality="linux", extra_args=["--paused"])
    root = mounted.path
    checked = 0
    for path in every_path(root):
        rel = str(path.relative_to(root))
        # Links in the mount (cwd, root, exe, fd/N, self) name simulated paths that resolve on the
        # *host* when followed: nothing here may follow one.
        if path.is_symlink():
            expect(errno.EPERM, os.lchown, path, 1, 1)
            expect(errno.EROFS, os.unlink, path)
            expect(errno.EROFS, os.rename, path, root / "renamed")
        elif path.is_dir():
            expect(errno.EPERM, os.chmod, path, 0o777)
            expect(errno.EROFS, os.mkdir, path / "new")
            expect(errno.EROFS, os.symlink, "/etc/passwd", path / "link")
            expect(errno.EROFS, os.rmdir, path)
        elif rel not in WRITABLE:
            expect(errno.EROFS, os.open, path, os.O_WRONLY)
            expect(errno.EROFS, os.open, path, os.O_RDWR)
            expect(errno.EPERM, os.truncate, path, 0)
            expect(errno.EPERM, os.chmod, path, 0o666)
            expect(errno.EPERM, os.chown, path, 1, 1)
            expect(errno.EROFS, os.unlink, path)
            expect(errno.EROFS, os.rename, path, root / "renamed")
            expect(errno.EROFS, os.link, path, root / "hardlink")
        checked += 1
    expect(errno.EROFS, os.open, root / "brand-new", os.O_WRONLY | os.O_CREAT)
    expect(errno.EROFS, os.mknod, root / "node")
    assert mounted.ctl("check") == "ok"
    record_figure("read-only tree", f"{checked} paths checked, every mutation refused")
    assert checked > 200


def test_file_mappings_never_reach_the_host(mount_system):
    mounted = mount_system(scenario="empty")
    pid = mounted.spawn("snoop")
    for path in ("/etc/shadow", "/etc/hostname", "../../../../etc/hostname", "/proc/self/environ",
                 str(Path.home() / ".bashrc"), "/root/.ssh/id_rsa", "/bin/../../etc/machine-id"):
        with pytest.raises(FileNotFoundError):
            mounted.mmap(pid, "4K", file=path)
    # '..' stops at the simulated root: this names the *simulated* /etc/passwd
    addr = mounted.mmap(pid, "4K", file="../../../etc/passwd")
    assert mounted.read(pid, addr, "4K").inode_faults == 1
    assert "/etc/passwd" in (mounted.path / str(pid) / "maps").read_text()


def as_nobody(*command: str):
    return run(["runuser", "-u", "nobody", "--", *command])


def test_modes_and_owners_are_enforced_for_other_users(public_mount_system):
    system = public_mount_system(scenario="empty", personality="linux", extra_args=["--allow-other"])
    m = system.path
    mine = system.spawn("nobodys", uid=65534, gid=65534)
    assert as_nobody("cat", f"{m}/1/stat").returncode == 0                      # 0444: anyone
    denied = as_nobody("cat", f"{m}/1/environ")                                 # 0400, root's process
    assert denied.returncode != 0 and "Permission denied" in denied.stderr
    assert "Permission denied" in as_nobody("cat", f"{m}/dmesg").stderr         # 0400 root
    assert as_nobody("cat", f"{m}/{mine}/environ").returncode == 0              # its own process
    assert "Permission denied" in as_nobody("sh", "-c", f"echo 1 > {m}/sim/bugs/init_does_not_reap").stderr
    assert "Permission denied" in as_nobody("sh", "-c", f"echo 'spawn x' > {m}/sim/ctl").stderr


def test_names_that_are_not_utf8_are_enoent_and_leave_no_log(mount_system):
    """Any user who can reach the mount may send any bytes as a name: ENOENT, and not a line in
    the daemon's log (it would grow without bound)."""
    mounted = mount_system(scenario="default")
    root = os.fsencode(str(mounted.path))
    for name in (b"\xff", b"1/\xff", b"sim/\xc3", b"\xed\xa0\x80", b"self/\xfe\xff"):
        for _ in range(200):
            expect(errno.ENOENT, os.stat, root + b"/" + name)
    assert os.stat(root + b"/1").st_mode  # the mount still answers
    assert mounted.log().strip() == "", mounted.log()[-2000:]


def test_other_users_are_denied_what_linux_denies_them(public_mount_system):
    """Linux checks ptrace access, not only the mode bits, for maps, smaps, smaps_rollup and
    fdinfo/: another user gets EACCES for root's processes, as on the host's own /proc; the event
    log (every command line) is the mount owner's alone."""
    system = public_mount_system(scenario="empty", personality="linux", extra_args=["--allow-other"])
    m = system.path
    mine = system.spawn("nobodys", uid=65534, gid=65534)
    for name in ("maps", "smaps", "smaps_rollup"):
        host = as_nobody("cat", f"/proc/1/{name}")
        ours = as_nobody("cat", f"{m}/1/{name}")
        assert "Permission denied" in host.stderr and "Permission denied" in ours.stderr, (name, host, ours)
        assert as_nobody("cat", f"{m}/{mine}/{name}").returncode == 0, name
    host = as_nobody("ls", "/proc/1/fdinfo")
    ours = as_nobody("ls", f"{m}/1/fdinfo")
    assert "Permission denied" in host.stderr and "Permission denied" in ours.stderr, (host, ours)
    assert as_nobody("ls", f"{m}/{mine}/fdinfo").returncode == 0
    assert "Permission denied" in as_nobody("cat", f"{m}/sim/events").stderr
    assert system.path.joinpath("sim", "events").read_text()  # the owner reads it
