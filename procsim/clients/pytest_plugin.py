"""pytest plugin (entry point `pytest11`): the `procsim_mount` fixture, for people testing /proc readers.

    def test_my_reader_sees_zombies(procsim_mount):
        child = procsim_mount.zombie()
        assert my_reader(procsim_mount.path).zombies == [child]

The fixture mounts an `empty` system (just init) with the linux personality and the clock paused,
so the state is exactly what the test builds.  Change that with a marker:

    @pytest.mark.procsim(scenario="zombies", personality="serenity", paused=False)

Where FUSE is unavailable the test is skipped, and the reason is printed.
"""
from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Iterator

import pytest

from .mount_client import PROCSIM_FSTYPE, fusermount, unescape
from .testing import FuseUnavailable, MountedSystem

DEFAULTS = {"scenario": "empty", "personality": "linux", "paused": True}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "procsim(**options): options for procsim_mount "
                                       "(scenario, personality, memory, orphan_policy, speed, paused, ...)")
    basetemp = config.option.basetemp
    if basetemp:  # pytest empties it: a run killed earlier may have left its mounts there
        unmount_leftovers(Path(basetemp).resolve())


def unmount_leftovers(basetemp: Path) -> None:
    """procsim mounts under `basetemp` (a directory this run owns and is about to empty), left by
    an earlier run that was killed: unmounted, so that their daemons exit and the directory can go."""
    try:
        with open("/proc/self/mounts") as mounts:
            points = [unescape(line.split()[1]) for line in mounts if line.split()[2:3] == [PROCSIM_FSTYPE]]
    except OSError:
        return
    import subprocess

    for point in points:
        if Path(point).is_relative_to(basetemp):
            subprocess.run([fusermount(), "-u", "-z", point], capture_output=True)


def _end_on_sigterm() -> None:
    """SIGTERM (a CI's timeout or cancel) ends the run like Ctrl-C, so that fixtures are torn
    down and no mount outlives the run.  Installed only once a test mounts, and only over the
    default action."""
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise KeyboardInterrupt("SIGTERM")

    try:
        signal.signal(signal.SIGTERM, interrupt)
    except ValueError:
        pass  # not the main thread


@pytest.fixture
def procsim_mount(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MountedSystem]:
    """A mounted simulated /proc in a temporary directory (a procsim.clients.testing.MountedSystem)."""
    marker = request.node.get_closest_marker("procsim")
    options = {**DEFAULTS, **(marker.kwargs if marker else {})}
    _end_on_sigterm()
    try:
        mounted = MountedSystem.start(tmp_path_factory.mktemp("procsim") / "proc", **options)
    except FuseUnavailable as e:
        pytest.skip(f"procsim: FUSE is unavailable here: {e}")
    try:
        yield mounted
    finally:
        mounted.stop()
