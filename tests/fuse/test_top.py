"""`procsim top` renders a frame from a real mount, with no terminal attached."""
import sys

from ..conftest import run


def test_top_once_renders_the_tree_zombies_memory_and_events(mount_system):
    mounted = mount_system(scenario="default")
    result = run([sys.executable, "-m", "procsim.clients.cli", "top", str(mounted.path), "--once", "--width", "120"])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "physical memory" in out and "recent events" in out
    assert "4 zombies" in out and out.count("<defunct>") == 4
    assert "SystemServer" in out and "└ WindowServer" in out
    assert "oom_kill" in out or "zombie" in out
    assert "\x1b[" not in out  # no escape codes without a terminal


def test_top_on_something_that_is_not_a_mount_fails_cleanly(tmp_path):
    result = run([sys.executable, "-m", "procsim.clients.cli", "top", str(tmp_path), "--once"])
    assert result.returncode == 2 and result.stderr.startswith("procsim: top:") and "not a procsim mount" in result.stderr


def test_top_once_draws_a_fork_chain_deeper_than_pythons_recursion_limit(mount_system):
    mounted = mount_system(scenario="empty", paused=True)
    first = mounted.spawn("chain", ppid=1)
    for start in range(first, first + 1500, 500):  # each fork's child forks the next
        mounted.ctl("\n".join(f"fork {pid}" for pid in range(start, start + 500)))
    assert mounted.processes()[first + 1500]["ppid"] == first + 1499
    result = run([sys.executable, "-m", "procsim.clients.cli", "top", str(mounted.path), "--once", "--width", "200"])
    assert result.returncode == 0 and "RecursionError" not in result.stderr, result.stderr[-500:]
    assert "[1500] └ chain" in result.stdout
