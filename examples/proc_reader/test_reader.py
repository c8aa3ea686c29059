"""Testing reader.summarize against states that are hard to make with real processes."""
import pytest

from reader import summarize


def test_a_zombie_under_a_live_parent_is_reported(procsim_mount):
    parent = procsim_mount.spawn("server")
    zombie = procsim_mount.zombie(parent=parent)
    summary = summarize(str(procsim_mount.path))
    assert summary.zombies == [zombie]
    assert summary.total == 3  # init, server, the zombie


def test_a_process_that_vanishes_between_readdir_and_open_is_skipped(procsim_mount):
    doomed = procsim_mount.spawn("doomed", ppid=0)
    procsim_mount.after("readdir", "/", f"kill {doomed} KILL")  # dies right after the listing
    summary = summarize(str(procsim_mount.path))
    assert summary.total == 1  # psutil listed it, found it gone at open, and moved on


def test_the_biggest_process_in_a_big_table(procsim_mount):
    procsim_mount.many(1000)
    hog = procsim_mount.spawn("hog")
    addr = procsim_mount.mmap(hog, "8M")
    procsim_mount.write(hog, addr, "8M")
    summary = summarize(str(procsim_mount.path))
    assert summary.total == 1002
    assert summary.biggest[0] == "hog" and summary.biggest[1] >= 8 << 20


@pytest.mark.procsim(scenario="zombies")
def test_a_prepared_scenario(procsim_mount):
    assert summarize(str(procsim_mount.path)).zombies == [4, 5, 6]
