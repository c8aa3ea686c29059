"""Pictures from a mount: `dot -Tsvg` reads sim/*.dot from any shell, and `procsim graph` draws the
tree or one PID's graph to SVG/PNG, with clear errors for a bad PID or file name."""
from __future__ import annotations

import subprocess

from ..conftest import require_tool, run
from .test_cli import procsim


def test_dot_reads_the_mounts_dot_files_from_a_shell(mount_system, tmp_path):
    require_tool("dot", "graphviz")
    mounted = mount_system(scenario="zombies", personality="linux", paused=True)
    for name in ("tree.dot", "lifetimes.dot"):
        result = run(f"dot -Tsvg {mounted.path}/sim/{name} -o {tmp_path}/{name}.svg")
        assert result.returncode == 0, result.stderr
        assert (tmp_path / f"{name}.svg").read_text().lstrip().startswith("<?xml")


def test_procsim_graph_draws_the_tree_and_one_pid(mount_system, tmp_path):
    require_tool("dot", "graphviz")
    mounted = mount_system(scenario="zombies", personality="linux", paused=True)
    tree = tmp_path / "tree.svg"
    assert procsim("graph", str(mounted.path), "-o", str(tree)).returncode == 0
    assert "leaky_parent" in tree.read_text() and "zombie" in tree.read_text()
    zombie = tmp_path / "4.png"
    assert procsim("graph", str(mounted.path), "4", "-o", str(zombie)).returncode == 0
    assert zombie.read_bytes().startswith(b"\x89PNG")
    text = procsim("graph", str(mounted.path), "4").stdout  # no -o: the DOT text
    assert "wait list of PID 3 (leaky_parent)" in text
    live = procsim("graph", str(mounted.path), "3").stdout  # a live process: its parent and children
    assert 'p3 -> p4 [label="wait 3 4"' in live
    subprocess.run(["dot", "-Tsvg"], input=live, text=True, check=True, capture_output=True)


def test_procsim_graph_refuses_clearly(mount_system, tmp_path):
    mounted = mount_system(scenario="zombies", paused=True)
    missing = procsim("graph", str(mounted.path), "999")
    assert missing.returncode == 1 and "no process 999 (ESRCH)" in missing.stderr
    bad_name = procsim("graph", str(mounted.path), "-o", str(tmp_path / "x.jpeg"))
    assert bad_name.returncode == 2 and "name a .svg, .png, .pdf or .dot file" in bad_name.stderr
    not_mounted = procsim("graph", str(tmp_path))
    assert not_mounted.returncode == 2 and "is not a procsim mount" in not_mounted.stderr
