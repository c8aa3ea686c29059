"""Render the pictures docs/debugging-zombies.md embeds, from the code, so they never drift.

Runs the walkthrough's commands on the same scenario, in-process with the clock stopped (the
pictures show who holds whom, never times), and writes docs/pictures/NAME.dot and NAME.svg for
each step.  `--check` writes nothing and fails if a committed .dot differs from what the code draws
now (tests/test_doc_pictures.py runs it); run without it after changing the pictures' code:

    .venv/bin/python scripts/doc_pictures.py
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from procsim import dot_graphs# noqa: E402
from procsim.options import MountOptions  # noqa: E402
from procsim.simulator.simulation import Simulation  # noqa: E402

PICTURES = ROOT / "docs" / "pictures"


def sim_json(sim: Simulation, name: str) -> object:
    return json.loads(sim.sim_directory.lookup(name, None).read(None))  # type: ignore[arg-type]


def tree(sim: Simulation) -> str:
    zombies = sim_json(sim, "zombies.json")["zombies"]  # type: ignore[index]
    return dot_graphs.tree_dot(sim_json(sim, "tree.json"), zombies)  # type: ignore[arg-type]


def references(sim: Simulation, pid: int) -> str:
    return dot_graphs.references_dot(sim_json(sim, "references.json"), pid)  # type: ignore[arg-type]


def pictures() -> dict[str, str]:
    """NAME -> DOT, step by step as the walkthrough goes."""
    sim = Simulation(MountOptions(scenario="zombies", personality="linux", paused=True))
    sim.start()
    run = sim.interpreter.execute
    try:
        drawn = {"zombies-1-tree": tree(sim), "zombies-2-held-by-the-wait-list": references(sim, 4)}
        for line in ("wait 3 nohang", "wait 3", "wait 3"):  # "Who can reap it?"
            run(line)
        drawn["zombies-3-reaped"] = tree(sim)
        for line in ("kill 7 KILL", "exit 3", "tick 1"):  # "What if the parent dies first?"
            run(line)
        drawn["zombies-4-parent-died"] = tree(sim)
        sim.bugs.set("init_does_not_reap", True)  # "What keeps a dead process alive?"
        orphan = int(run("spawn orphan-to-be ppid=2"))
        for line in ("kill 2 KILL", f"exit {orphan}", "tick 1"):
            run(line)
        drawn["zombies-5-unreaped-orphan"] = tree(sim)
        sim.bugs.set("init_does_not_reap", False)
        run("tick 1")
        sim.bugs.set("procfs_strong_backrefs", True)  # "Watching the 2021 bug"
        child = int(run("spawn child ppid=1"))
        run(f"exit {child}")
        run("tick 1")  # init reaps it, and the cycle keeps it
        drawn["zombies-6-strong-backrefs-cycle"] = references(sim, child)
        return drawn
    finally:
        sim.stop()


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, dot in pictures().items():
        path = PICTURES / f"{name}.dot"
        if check:
            if not path.exists() or path.read_text() != dot:
                stale.append(path.name)
            continue
        PICTURES.mkdir(parents=True, exist_ok=True)
        path.write_text(dot)
        svg = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, check=True).stdout
        (PICTURES / f"{name}.svg").write_text(svg)
    if stale:
        print(f"stale pictures (run scripts/doc_pictures.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
