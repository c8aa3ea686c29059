"""Scenarios: command scripts that build a simulated system.

A scenario is a list of command lines in the one command language, plus two conveniences:
`NAME = COMMAND` stores the command's result and `$NAME` (or `${NAME}`) uses it later.  Built-in
scenarios live here; a user scenario is a file in the same format.
"""
from __future__ import annotations

import errno
import re
from pathlib import Path

from kernel_model import KernelError

from .commands import CommandInterpreter

DEFAULT = """\
# A small living system that shows off procsim: init, a shell, daemons, a leaky parent with
# zombies, a browser cache made volatile and purged under memory pressure, and an OOM kill.
init = spawn SystemServer cmdline="/bin/SystemServer"
ws = spawn WindowServer ppid=$init cmdline="/bin/WindowServer"
load $ws 0.05
lookup = spawn LookupServer ppid=$init cmdline="/bin/LookupServer --daemon"
load $lookup 0.01
shell = spawn Shell ppid=$init uid=100 cmdline="/bin/Shell"
leaky = spawn leaky_parent ppid=$shell uid=100 cmdline="leaky_parent --children 3"
kid = fork $leaky
exit $kid 0
kid = fork $leaky
exit $kid 3
kid = fork $leaky
kill $kid SIGTERM
browser = spawn Browser ppid=$ws uid=100 cmdline="/bin/Browser https://serenityos.org"
load $browser 0.2
cache = mmap $browser 8M purgeable name=image-cache
write $browser $cache 8M
madvise $browser $cache 8M volatile
lib = mmap $browser 32K shared file=/usr/lib/libc.so prot=r
read $browser $lib 32K
hog = spawn memory_hog ppid=$shell uid=100 cmdline="memory_hog --until-killed"
buf = mmap $hog 1G noreserve name=hog
write $hog $buf 1G
tick 1
"""

EMPTY = """\
init = spawn init cmdline="/sbin/init"
"""

ZOMBIES = """\
# A parent that forks children which exit, and never waits for them: zombies pile up.
init = spawn init cmdline="/sbin/init"
shell = spawn Shell ppid=$init uid=100
leaky = spawn leaky_parent ppid=$shell uid=100 cmdline="leaky_parent --children 3"
kid = fork $leaky
exit $kid 0
kid = fork $leaky
exit $kid 1
kid = fork $leaky
kill $kid SIGKILL
worker = fork $leaky
tick 1
"""

PAGES_PER_SCALE_PROCESS = 64


def scale(processes: int) -> str:
    """N user processes under init, each with 64 touched pages of anonymous memory."""
    lines = ['init = spawn init cmdline="/sbin/init"']
    for i in range(processes):
        lines += [f"p = spawn worker{i % 100} ppid=$init uid={1000 + i % 7} cmdline=\"worker --id {i}\"",
                  f"m = mmap $p {PAGES_PER_SCALE_PROCESS * 4}K name=heap",
                  f"write $p $m {PAGES_PER_SCALE_PROCESS * 4}K"]
    return "\n".join(lines) + "\n"


def scale_memory_bytes(processes: int) -> int:
    """Enough simulated memory for `scale(processes)`: heap, stack reservation and headroom."""
    return (processes * (PAGES_PER_SCALE_PROCESS + 8) + 65536) * 4096


BUILTIN = {"default": DEFAULT, "empty": EMPTY, "zombies": ZOMBIES, "scale": ""}

_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)$")
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def load_scenario(name_or_path: str, processes: int = 1000) -> str:
    if name_or_path == "scale":
        return scale(processes)
    if name_or_path in BUILTIN:
        return BUILTIN[name_or_path]
    path = Path(name_or_path)
    if not path.is_file():
        raise FileNotFoundError(f"no built-in scenario or file named {name_or_path!r} "
                                f"(built-in: {', '.join(sorted(BUILTIN))})")
    return path.read_text()


def run_scenario(text: str, interpreter: CommandInterpreter) -> dict[str, str]:
    """Run every line; a failing line raises with its line number."""
    variables: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        target = None
        match = _ASSIGN.match(line)
        if match and "=" not in match.group(1):
            target, line = match.group(1), match.group(2)

        def substitute(m: re.Match) -> str:
            if m.group(1) not in variables:
                raise KernelError(errno.EINVAL, f"line {number}: ${m.group(1)} is not set")
            return variables[m.group(1)]

        line = _VAR.sub(substitute, line)
        try:
            result = interpreter.execute(line)
        except KernelError as e:
            raise KernelError(e.errno, f"scenario line {number} ({raw.strip()!r}): {e.message}") from None
        if target:
            variables[target] = result
    return variables
