"""Every shell block of the walkthroughs runs, in order, in one shell, on fresh mounts, and prints
what the docs show (numbers may differ: PIDs of host processes, ages, addresses).

A block whose lines start with `$ ` is a transcript: each command's output is compared with the
lines under it. Other blocks are commands to run. A command that ends in `# until it says: TEXT`
shows a state that comes a moment later: it is run again until its output holds TEXT. The docs'
mountpoints (/tmp/zz, /tmp/pp) are moved into the test's temporary directory, and `procsim` is
this checkout's.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
WALKTHROUGHS = ["docs/debugging-zombies.md", "docs/open-pid-directory.md", "docs/using.md#Drive it",
                "docs/linux-readers.md#Try it", "docs/exploring-readers.md"]
MOUNTPOINTS = ("/tmp/zz", "/tmp/pp", "/tmp/mnt", "/tmp/repro")  # the docs' paths, moved into the test's


@dataclass
class Step:
    command: str
    line: int                       # in the doc, 1-based
    expected: list[str] | None = None  # None: output not shown in the doc
    output: list[str] = field(default_factory=list)


def steps_of(doc: Path, section: str = "") -> list[Step]:
    """The steps of a doc, or of one of its `## ` sections."""
    steps: list[Step] = []
    lines = doc.read_text().splitlines()
    in_fence = False
    in_section = not section
    for number, line in enumerate(lines, 1):
        if section and line.startswith("## "):
            in_section = line[3:].strip() == section
        if not in_section:
            continue
        if line.startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence or not line.startswith("    "):
            continue
        text = line[4:]
        if text.startswith("$ "):
            steps.append(Step(text[2:], number, expected=[]))
        elif steps and steps[-1].expected is not None and steps[-1].line >= number - 1 - len(steps[-1].expected):
            steps[-1].expected.append(text)  # output under a transcript command
        elif text.strip():
            steps.append(Step(text, number))
    return steps


def shape(line: str) -> str:
    """What must match: the words; numbers stand for any number.  (bash names the line of a
    script in its errors, which an interactive shell does not.)"""
    line = re.sub(r"^bash: line \d+: ", "bash: ", line)
    return " ".join(re.sub(r"\d+(\.\d+)?", "N", line).split())


def run_walkthrough(doc: Path, tmp: Path, section: str = "") -> list[Step]:
    steps = steps_of(doc, section)
    script = ["set +e"]
    for index, step in enumerate(steps):
        command = step.command
        for mountpoint in MOUNTPOINTS:
            command = command.replace(mountpoint, f"{tmp}{mountpoint}")
        command = command.replace(" examples/", f" {ROOT}/examples/")  # the checkout's examples
        script.append(f"echo '@@step {index}'")
        until = re.search(r"# until it says: (.+)$", command)
        if until:
            script.append(f"for _ in $(seq 500); do out=$({{ {command}\n}} 2>&1); "
                          f"case \"$out\" in *{shlex.quote(until.group(1))}*) break;; esac; sleep 0.01; done; "
                          "printf '%s\\n' \"$out\"")
        else:
            script.append(f"{{ {command}\n}} 2>&1")
    script.append("echo '@@end'")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    (tmp / "tmp").mkdir(exist_ok=True)
    result = subprocess.run(["bash", "-c", "\n".join(script)], capture_output=True, text=True, timeout=240,
                            env=env, cwd=tmp)
    current = None
    for line in result.stdout.replace(str(tmp), "").replace(f"{ROOT}/", "").splitlines():
        if line.startswith("@@step "):
            current = steps[int(line.split()[1])]
        elif line == "@@end":
            current = None
        elif current is not None:
            current.output.append(line)
    assert "@@end" in result.stdout, result.stderr[-2000:]
    return steps


def take_down(tmp: Path) -> None:
    for mountpoint in MOUNTPOINTS:
        path = f"{tmp}{mountpoint}"
        if os.path.ismount(path):
            subprocess.run([sys.executable, "-m", "procsim.clients.cli", "umount", "--lazy", path], capture_output=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="the walkthroughs run ps in a private mount namespace (root)")
@pytest.mark.parametrize("doc", WALKTHROUGHS)
def test_the_walkthrough_prints_what_it_shows(doc, tmp_path):
    path, _, section = doc.partition("#")
    try:
        steps = run_walkthrough(ROOT / path, tmp_path, section)
    finally:
        take_down(tmp_path)
    differences = []
    for step in steps:
        if step.expected is None:
            continue
        want = [shape(line) for line in step.expected if line.strip()]
        got = [shape(line) for line in step.output if line.strip()]
        if want != got:
            differences.append(f"{doc}:{step.line}: $ {step.command}\n  the doc shows:\n    "
                               + "\n    ".join(step.expected) + "\n  it printed:\n    " + "\n    ".join(step.output))
    assert differences == [], "\n\n".join(differences)
    assert any(step.expected for step in steps)
