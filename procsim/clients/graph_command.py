"""`procsim graph MNT [PID] [-o FILE]`: pictures of a mount, drawn by Graphviz.

A client of the mount: it reads `sim/tree.dot`, or builds the graph of one PID from
`sim/references.json`, `sim/tree.json` and `sim/zombies.json`, and renders it with Graphviz's
`dot` through the `graphviz` binding.
"""
from __future__ import annotations

import errno
import json
import os
from typing import Any

from .. import dot_graphs

FORMATS = ("svg", "png", "pdf", "dot")


class GraphError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _read(mountpoint: str, name: str) -> str:
    try:
        with open(os.path.join(mountpoint, "sim", name), encoding="utf-8", errors="backslashreplace") as f:
            return f.read()
    except OSError as e:
        raise GraphError(f"{mountpoint}: {e.strerror} (is it a procsim mount?)", 2) from None


def dot_text(mountpoint: str, pid: int | None) -> str:
    if pid is None:
        return _read(mountpoint, "tree.dot")
    references: list[dict[str, Any]] = json.loads(_read(mountpoint, "references.json"))
    if any(r.get("pid") == pid for r in references):
        return dot_graphs.references_dot(references, pid)
    tree = json.loads(_read(mountpoint, "tree.json"))
    if not any(row["pid"] == pid for row in tree):
        raise GraphError(f"no process {pid} ({errno.errorcode[errno.ESRCH]})")
    zombies = json.loads(_read(mountpoint, "zombies.json"))["zombies"]
    return dot_graphs.tree_dot(tree, zombies, pid)


def render(mountpoint: str, pid: int | None, output: str | None) -> str:
    """The DOT text (no output, or "-"), or the name of the file written."""
    if not os.path.isfile(os.path.join(mountpoint, "sim", "ctl")):
        raise GraphError(f"{mountpoint} is not a procsim mount (no sim/ctl)", 2)
    text = dot_text(mountpoint, pid)
    if output in (None, "-"):
        return text
    assert output is not None
    fmt = output.rsplit(".", 1)[-1].lower() if "." in os.path.basename(output) else ""
    if fmt not in FORMATS:
        raise GraphError(f"{output}: name a .svg, .png, .pdf or .dot file", 2)
    if fmt == "dot":
        data = text.encode()
    else:
        import graphviz

        try:
            data = graphviz.Source(text).pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            raise GraphError("Graphviz's dot is not installed (Debian: apt-get install graphviz)", 3) from None
        except graphviz.CalledProcessError as e:
            raise GraphError(f"dot failed: {e.stderr.decode(errors='replace').strip()}") from None
    try:
        with open(output, "wb") as f:
            f.write(data)
    except OSError as e:
        raise GraphError(f"{output}: {e.strerror}", 2) from None
    return output
