"""The DOT pictures (sim/tree.dot, sim/lifetimes.dot, procsim graph): Graphviz reads every one, and
they show what they claim (zombies, who can reap them, what holds a dead process, cycles)."""
from __future__ import annotations

import json
import re
import subprocess

import pytest

from procsim import dot_graphs
from procsim.options import MountOptions
from procsim.simulator.scenarios import BUILTIN
from procsim.simulator.simulation import Simulation

from ..conftest import require_tool


def sim_file(sim: Simulation, name: str) -> str:
    return sim.sim_directory.lookup(name, None).read(None).decode()  # type: ignore[arg-type]


def svg_of(dot_text: str) -> str:
    require_tool("dot", "graphviz")
    result = subprocess.run(["dot", "-Tsvg"], input=dot_text, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "<svg" in result.stdout, result.stderr
    return result.stdout


@pytest.mark.parametrize("scenario", sorted(BUILTIN) + ["scale"])
@pytest.mark.parametrize("personality", ["serenity", "linux"])
def test_every_built_in_scenario_draws(scenario, personality):
    sim = Simulation(MountOptions(scenario=scenario, personality=personality, paused=True, processes=50))
    sim.start()
    try:
        for name in ("tree.dot", "lifetimes.dot"):
            svg_of(sim_file(sim, name))
        tree = sim_file(sim, "tree.dot")
        zombies = json.loads(sim_file(sim, "zombies.json"))["zombies"]
        for z in zombies:  # every zombie is drawn as one, and the wait that reaps it labels its edge
            assert re.search(rf'p{z["pid"]} \[label="{z["pid"]} [^"]*\\nzombie', tree), z
            if z["reap_with"]:
                assert f'p{z["ppid"]} -> p{z["pid"]} [label="{z["reap_with"]}"' in tree
    finally:
        sim.stop()


def test_the_strong_backrefs_bug_shows_its_cycle():
    sim = Simulation(MountOptions(scenario="zombies", personality="linux", paused=True))
    sim.start()
    try:
        sim.bugs.set("procfs_strong_backrefs", True)
        kid = int(sim.interpreter.execute("fork 3"))
        sim.interpreter.execute(f"exit {kid}")
        sim.interpreter.execute(f"wait 3 {kid}")
        report = json.loads(sim_file(sim, "references.json"))
        text = dot_graphs.references_dot(report, kid)
        nodes = dict(re.findall(r'^  (o\d+) \[label="([^"]*)"', text, re.MULTILINE))
        directory = next(n for n, label in nodes.items() if label.startswith(f"ProcFS directory /{kid}"))
        entries = next(n for n, label in nodes.items() if f"entries of /{kid}" in label)
        process = next(n for n, label in nodes.items() if label.startswith(f"Process {kid} "))
        assert f"{directory} -> {entries}" in text and f"{entries} -> {directory}" in text  # the cycle
        assert f"{directory} -> {process}" in text  # and what it keeps alive
        svg_of(text)
        assert svg_of(sim_file(sim, "lifetimes.dot")).count("procfs_strong_backrefs") == 1
    finally:
        sim.stop()


def test_a_zombie_is_held_by_its_parents_wait_list():
    sim = Simulation(MountOptions(scenario="zombies", paused=True))
    sim.start()
    try:
        report = json.loads(sim_file(sim, "references.json"))
        text = dot_graphs.references_dot(report, 4)
        assert '[label="wait list of PID 3 (leaky_parent)"' in text
        assert re.search(r"h\d+ -> o\d+;", text)
    finally:
        sim.stop()


@pytest.mark.parametrize("name", ['"];\nx [label="pwned', "a\\\"b", "\\", "tab\tand\nnewline", "\udcff bytes"])
def test_hostile_names_stay_text(name):
    rows = [{"pid": 1, "ppid": 0, "name": name, "alive": True, "reparented_from": 0}]
    text = dot_graphs.tree_dot(rows, [])
    assert text.count("\n  p1 [") == 1 and "\n  x [" not in text
    svg = svg_of(text)
    assert svg.count("<g id=\"node") == 1  # one node: the name did not open another
