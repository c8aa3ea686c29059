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

from typing import Iterator

import pytest

from .testing import FuseUnavailable, MountedSystem

DEFAULTS = {"scenario": "empty", "personality": "linux", "paused": True}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "procsim(**options): options for procsim_mount "
                                       "(scenario, personality, memory, orphan_policy, speed, paused, ...)")


@pytest.fixture
def procsim_mount(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MountedSystem]:
    """A mounted simulated /proc in a temporary directory (a procsim.testing.MountedSystem)."""
    marker = request.node.get_closest_marker("procsim")
    options = {**DEFAULTS, **(marker.kwargs if marker else {})}
    try:
        mounted = MountedSystem.start(tmp_path_factory.mktemp("procsim") / "proc", **options)
    except FuseUnavailable as e:
        pytest.skip(f"procsim: FUSE is unavailable here: {e}")
    try:
        yield mounted
    finally:
        mounted.stop()
