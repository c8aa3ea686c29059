"""Shared fixtures: a real FUSE mount of a simulated system, always taken down again."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from procsim.clients.testing import FuseUnavailable, MountedSystem, fuse_unavailable_reason


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="run long load and scale tests")


MOUNT_FIXTURES = {"mount_system", "public_mount_system", "mnt", "procsim_mount"}


def pytest_collection_modifyitems(config, items):
    """Mark every test that mounts (`-m "not fuse"` runs the rest in seconds), and skip the long
    runs unless --run-slow."""
    skip = pytest.mark.skip(reason="long run: use --run-slow")
    for item in items:
        in_fuse_dir = Path(str(item.fspath)).parent.name == "fuse"
        if in_fuse_dir or MOUNT_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.fuse)
        if "slow" in item.keywords and not config.getoption("--run-slow"):
            item.add_marker(skip)


def skip_or_fail_without_fuse(reason: str) -> None:
    """Elsewhere a FUSE test skips with its reason; on a machine like CI's (root, /dev/fuse) a
    skipped FUSE test would hide a broken install, so it fails."""
    if os.geteuid() == 0 and os.path.exists("/dev/fuse"):
        pytest.fail(f"FUSE should work here (root, /dev/fuse) but: {reason}")
    pytest.skip(f"FUSE unavailable: {reason}")


def mount_factory(base: Path):
    """A factory mounting systems under `base` (skipping where FUSE is unavailable), and the
    list of what it mounted, for the fixture to take down."""
    mounts: list[MountedSystem] = []

    def start(**kwargs) -> MountedSystem:
        try:
            mounted = MountedSystem.start(base / f"mnt{len(mounts)}", **kwargs)
        except FuseUnavailable as e:
            skip_or_fail_without_fuse(str(e))
        mounts.append(mounted)
        return mounted

    return start, mounts


@pytest.fixture
def mount_system(tmp_path):
    """Factory: mount_system(scenario=..., personality=...) -> MountedSystem; all unmounted after."""
    start, mounts = mount_factory(tmp_path)
    yield start
    for mounted in mounts:
        mounted.stop()


@pytest.fixture(scope="module")
def module_mounts(tmp_path_factory):
    """Like mount_system, for mounts a whole test module shares (a 10,000-process system)."""
    start, mounts = mount_factory(tmp_path_factory.mktemp("module"))
    yield start
    for mounted in mounts:
        mounted.stop()


@pytest.fixture
def public_mount_system():
    """Like mount_system, but under a directory other users can traverse (pytest's own tmp dirs
    are 0700), for tests that act as another user; skips unless root with runuser."""
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("needs root and runuser (util-linux) to act as another user")
    base = Path(tempfile.mkdtemp(prefix="procsim-perm-", dir="/tmp"))
    base.chmod(0o755)
    start, mounts = mount_factory(base)
    yield start
    for mounted in mounts:
        mounted.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def mnt(mount_system) -> MountedSystem:
    """The default scenario, serenity personality."""
    return mount_system()


FIGURES: list[tuple[str, str]] = []


@pytest.fixture
def record_figure():
    """record_figure(name, text): a measured figure, printed at the end of the run."""
    return lambda name, text: FIGURES.append((name, text))


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("procsim figures")
        for name, text in FIGURES:
            terminalreporter.write_line(f"{name}: {text}")


def ours_left_behind(base: str) -> tuple[list[str], list[str]]:
    """procsim mounts and daemons under `base` (this session's temp dir; other runs may coexist)."""
    with open("/proc/self/mounts") as f:
        mounts = [line for line in f if line.startswith("procsim") and base in line]
    daemons = subprocess.run(["pgrep", "-af", "procsim.server.daemon"], capture_output=True, text=True).stdout.split("\n")
    return mounts, [d for d in daemons if base in d and "pgrep" not in d]


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind(tmp_path_factory):
    """After the whole run: no procsim mount and no daemon of this session may remain."""
    base = str(tmp_path_factory.getbasetemp())
    yield
    # the daemons' logs of mounts under this run's temporary directory (procsim mount keeps one
    # per mountpoint in /tmp/procsim-UID): nothing of a test run stays behind in /tmp
    logs = Path(tempfile.gettempdir()) / f"procsim-{os.getuid()}"
    prefix = base.strip("/").replace("/", "_")
    for log in logs.glob(f"{prefix}*") if logs.is_dir() else []:
        log.unlink(missing_ok=True)
    mounts, daemons = ours_left_behind(base)
    assert mounts == [], f"mounts left behind: {mounts}"
    assert daemons == [], f"daemons left behind: {daemons}"


def require_fuse() -> None:
    reason = fuse_unavailable_reason()
    if reason:
        skip_or_fail_without_fuse(reason)


def run(cmd: list[str] | str, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    kwargs.setdefault("timeout", 60)
    return subprocess.run(cmd, shell=isinstance(cmd, str), **kwargs)


def in_namespace(mounted, command: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a shell command with the mount bound over /proc in a private mount namespace and a PID
    namespace of its own (as `procsim shell` does), where unmodified tools read it as the
    system's /proc and a kill cannot reach a host process."""
    from procsim.clients.namespace import NamespaceUnavailable, shell_argv

    try:
        argv = shell_argv(str(mounted.path), command)
    except NamespaceUnavailable as e:
        pytest.skip(str(e))
    result = run(argv, **kwargs)
    if result.returncode != 0 and ("unshare failed" in result.stderr or "Operation not permitted" in result.stderr):
        pytest.skip(f"private mount namespaces are not permitted here: {result.stderr.strip()}")
    return result


def require_tool(name: str, package: str) -> str:
    """The path of a reader the tests run.  scripts/install-reader-tools installs them, so where
    it could (root) a missing one is a broken set-up: a failure, not a skip."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian package {package}; scripts/install-reader-tools)"
        if os.geteuid() == 0:
            pytest.fail(message)
        pytest.skip(message)
    return path


os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")


def wait_until(condition, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll `condition` until it holds; fail (never pass) when `timeout` runs out."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)
