"""Unmodified procps and psmisc over the mount, bound onto /proc in a private mount namespace."""
import json

import pytest

from ..conftest import in_namespace


@pytest.fixture
def system(mount_system):
    return mount_system(scenario="default", personality="linux")


def processes(mounted) -> dict[int, dict]:
    return {p["pid"]: p for p in json.loads((mounted.path / "all").read_text())["processes"] if p["pid"]}


def test_ps_ef_and_ps_aux_show_every_simulated_process(system):
    kernel = processes(system)
    for command in ("ps -efww", "ps auxww"):
        result = in_namespace(system, command)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        pids = {int(line.split()[1]) for line in lines[1:]}
        assert set(kernel) <= pids, f"{command}: missing {set(kernel) - pids}"
        zombie_lines = [line for line in lines if "<defunct>" in line]
        assert len(zombie_lines) == sum(1 for p in kernel.values() if not p["threads"]), result.stdout


def test_ps_shows_zombie_state(system):
    zombie = next(pid for pid, p in processes(system).items() if not p["threads"])
    result = in_namespace(system, f"ps -o pid=,stat=,comm= -p {zombie}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1].startswith("Z")


def test_pstree_shows_the_process_tree(system):
    result = in_namespace(system, "pstree -p")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("SystemServer(1)")
    assert "Browser(" in result.stdout and "leaky_parent(" in result.stdout


def test_free_reports_the_simulated_memory(system):
    memstat = json.loads((system.path / "memstat").read_text())
    result = in_namespace(system, "free -k")
    assert result.returncode == 0, result.stderr
    total = int(result.stdout.splitlines()[1].split()[1])
    assert total == (memstat["user_physical_allocated"] + memstat["user_physical_available"]) * 4


def test_top_batch_mode_shows_tasks_and_memory(system):
    result = in_namespace(system, "top -bn1")
    assert result.returncode == 0, result.stderr
    assert "Tasks:" in result.stdout and "MiB Mem" in result.stdout
    assert "zombie" in result.stdout.splitlines()[1]
    assert "Browser" in result.stdout
