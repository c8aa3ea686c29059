"""Scenarios: command scripts that build a simulated system, optionally with programs of their own.

A scenario is a list of command lines in the one command language, plus two conveniences:
`NAME = COMMAND` stores the command's result and `$NAME` (or `${NAME}`) uses it later.  A scenario
*file* is either such a script or a Python file (`.py`) that defines `SCENARIO` (the script) and
may define `PROGRAMS`, a dict of name -> `async def program(ctx)` usable as `program=NAME`.
"""
from __future__ import annotations

import contextlib
import errno
import math
import os
import re
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from kernel_model import Kernel, KernelError

from .commands import CommandInterpreter, argv_hex
from .program_context import Program

DEFAULT = """\
# A small living system that shows off procsim: init reaping orphans, a shell running commands,
# daemons, a leaky parent whose children stay zombies, a browser cache made volatile and purged
# under memory pressure, and a memory hog killed by the OOM path (see dmesg).
init = spawn SystemServer program=init cmdline="/bin/SystemServer"
ws = spawn WindowServer ppid=$init program=daemon cmdline="/bin/WindowServer --load 0.05"
lookup = spawn LookupServer ppid=$init program=daemon cmdline="/bin/LookupServer --load 0.01"
shell = spawn Shell ppid=$init uid=100 tty=tty0 program=shell cmdline="/bin/Shell"
leaky = spawn leaky_parent ppid=$shell uid=100 program=leaky_parent cmdline="leaky_parent --children 3 --interval 0.3"
browser = spawn Browser ppid=$ws uid=100 program=cache cmdline="/bin/Browser --pages 4096 --idle 3"
lib = mmap $browser 32K shared file=/usr/lib/libc.so prot=r
read $browser $lib 32K
hog = spawn memory_hog ppid=$shell uid=100 program=memory_hog cmdline="memory_hog --chunk-pages 8192"
tick 2
"""

EMPTY = """\
init = spawn init program=init cmdline="/sbin/init"
"""

ZOMBIES = """\
# A parent that forked children which exited, and never waited for them: zombies pile up.
init = spawn init program=init cmdline="/sbin/init"
shell = spawn Shell ppid=$init uid=100 tty=tty0
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

OOM = """\
# A process that touches memory until a page fault finds none: the kernel kills *it* (SIGSEGV,
# "Out of memory, killing: ..." in dmesg); nobody else dies.
init = spawn init program=init cmdline="/sbin/init"
shell = spawn Shell ppid=$init uid=100 tty=tty0 program=shell cmdline="/bin/Shell --every 30"
steady = spawn steady ppid=$init program=daemon cmdline="steady --load 0.1"
hog = spawn memory_hog ppid=$shell uid=100 program=memory_hog cmdline="memory_hog --chunk-pages 4096"
tick 3
"""

PURGEABLE = """\
# Caches of purgeable memory go volatile while idle; memory pressure purges them, and they refill
# when taken back non-volatile (madvise answers 1: "had been purged").
init = spawn init program=init cmdline="/sbin/init"
a = spawn Browser ppid=$init uid=100 program=cache cmdline="/bin/Browser --pages 8192 --idle 2"
b = spawn ImageViewer ppid=$init uid=100 program=cache cmdline="/bin/ImageViewer --pages 8192 --idle 3"
hog = spawn memory_hog ppid=$init uid=100 program=memory_hog cmdline="memory_hog --chunk-pages 4096"
tick 4
"""

PAGES_PER_SCALE_PROCESS = 64


def scale(processes: int) -> str:
    """N user processes under init, each with 64 touched pages of anonymous memory (as commands)."""
    lines = ['init = spawn init cmdline="/sbin/init"']
    for i in range(processes):
        lines += [f"p = spawn worker{i % 100} ppid=$init uid={1000 + i % 7} cmdline=\"worker --id {i}\"",
                  f"m = mmap $p {PAGES_PER_SCALE_PROCESS * 4}K name=heap",
                  f"write $p $m {PAGES_PER_SCALE_PROCESS * 4}K"]
    return "\n".join(lines) + "\n"


def build_scale(kernel: Kernel, processes: int) -> None:
    """What `scale(processes)` says, through the facade directly: 100,000 processes are 300,000
    commands, and parsing them would cost more than building them."""
    size = PAGES_PER_SCALE_PROCESS * 4096
    init = kernel.spawn("init", cmdline=["/sbin/init"])
    for i in range(processes):
        pid = kernel.spawn(f"worker{i % 100}", ppid=init, uid=1000 + i % 7, cmdline=["worker", "--id", str(i)])
        kernel.access(pid, kernel.mmap(pid, size, name="heap"), size, write=True)


def scale_memory_bytes(processes: int) -> int:
    """Enough simulated memory for `scale(processes)`: heap, stack reservation and headroom."""
    return (processes * (PAGES_PER_SCALE_PROCESS + 8) + 65536) * 4096


MAX_ARGV_HEX = 3600  # of a scenario line's 4096 characters


def _cut_argv(argv: str) -> str:
    """A hex argv cut to MAX_ARGV_HEX, ending with a NUL (00) at a byte boundary."""
    cut = argv[:MAX_ARGV_HEX - 2]
    cut = cut[:len(cut) - len(cut) % 2]
    end = cut.rfind("00", 0)
    while end > 0 and end % 2:
        end = cut.rfind("00", 0, end)
    return (cut[:end + 2] if end > 0 else cut) + ("" if end > 0 else "00")


def host(fraction: int = 4) -> tuple[str, int]:
    """The real machine's process table (names, parents, users, command lines) with each
    process's resident memory as touched pages, in a machine with 1/`fraction` of the memory."""
    import psutil  # only this scenario reads the host

    procs = []
    for p in psutil.process_iter(["pid", "ppid", "name", "uids", "cmdline", "memory_info"]):
        info = p.info
        if info["name"] is None or info["uids"] is None:
            continue
        procs.append(info)
    memory = psutil.virtual_memory().total // fraction
    return host_text(procs, memory, fraction), memory


def host_text(procs: list[dict[str, Any]], memory: int, fraction: int = 4) -> str:
    """The scenario text for psutil `info` dicts (pid, ppid, name, uids, cmdline, memory_info).

    Resident sizes count shared pages once per process, so on a host with big shared mappings
    they add up to more than the machine has; they are scaled to fit half of `memory`, or a
    write would OOM-kill a process whose children the next lines spawn."""
    procs = sorted(procs, key=lambda i: i["pid"])
    resident = {i["pid"]: (i["memory_info"].rss if i["memory_info"] else 0) // 4096 // fraction for i in procs}
    budget = memory // 4096 // 2
    scale = min(1.0, budget / max(1, sum(resident.values())))
    lines: list[str] = []
    known: dict[int, str] = {}
    for info in procs:
        name = re.sub(r"[^A-Za-z0-9_.:-]", "_", info["name"])[:60] or "proc"
        # The command line goes in as its bytes, in hex (argv=): any byte a Linux process may
        # have in its arguments comes back from /PID/cmdline unchanged. Only a command line
        # longer than a scenario line can hold is cut, at an argument's end where it can be.
        argv = argv_hex(info["cmdline"] or [name])
        if len(argv) > MAX_ARGV_HEX:
            argv = _cut_argv(argv)
        parent = f" ppid=${known[info['ppid']]}" if info["ppid"] in known else ""
        var = f"p{info['pid']}"
        lines.append(f"{var} = spawn {name}{parent} uid={info['uids'].real} argv={argv}")
        known[info["pid"]] = var
        pages = int(resident[info["pid"]] * scale)
        if pages:
            lines += [f"m = mmap ${var} {pages * 4}K noreserve name=resident", f"write ${var} $m {pages * 4}K"]
    return "\n".join(lines) + "\n"


@dataclass
class Scenario:
    text: str
    programs: dict[str, Program] = field(default_factory=dict)
    memory: int | None = None  # a scenario that needs more memory than asked says so
    build: Callable[[Kernel], None] | None = None  # built through the facade instead of `text`


BUILTIN = {"default": DEFAULT, "empty": EMPTY, "zombies": ZOMBIES, "oom": OOM, "purgeable": PURGEABLE,
           "scale": "", "host": ""}

_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+)$")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def substitute_variables(line: str, variables: dict[str, str]) -> str:
    """Replace `$NAME`/`${NAME}` as a shell would: not inside single quotes and not after a
    backslash, so a command line quoted with shlex (a host process's `'echo $HOME'`) stays as is."""
    if "$" not in line:
        return line
    out: list[str] = []
    i, quote = 0, ""
    while i < len(line):
        c = line[i]
        if quote == "'":
            quote = "" if c == "'" else quote
        elif c == "\\" and i + 1 < len(line):
            out.append(line[i:i + 2])
            i += 2
            continue
        elif c in "'\"":
            quote = "" if quote == c else (quote or c)
        elif c == "$":
            match = _VAR.match(line, i)
            if match:
                name = match.group(1) or match.group(2)
                if name not in variables:
                    raise KernelError(errno.EINVAL, f"${name} is not set")
                out.append(variables[name])
                i = match.end()
                continue
        out.append(c)
        i += 1
    return "".join(out)


#: Real seconds a Python scenario may take to load (define SCENARIO and PROGRAMS);
#: PROCSIM_LOAD_BUDGET changes it (the tests of the limit need not wait 5 s).
def load_budget() -> float:
    """Seconds a Python scenario may take to load: PROCSIM_LOAD_BUDGET, a positive number (5 by
    default).  0, a negative number, inf or NaN would switch the limit off: refused."""
    text = os.environ.get("PROCSIM_LOAD_BUDGET", "5")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise ValueError(f"PROCSIM_LOAD_BUDGET must be a positive number of seconds, not {text!r}")
    return value


class ScenarioTimeout(ValueError):
    """A Python scenario did not finish loading in time."""


@contextlib.contextmanager
def time_limit(seconds: float, message: str) -> Iterator[None]:
    """Raise ScenarioTimeout(message) in the code running after `seconds` (main thread only:
    elsewhere, no limit -- signals reach only the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise ScenarioTimeout(message)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def load_scenario(name_or_path: str, processes: int = 1000) -> Scenario:
    if name_or_path == "scale":
        return Scenario(f"# scale: {processes} processes, built directly\n", memory=scale_memory_bytes(processes),
                        build=lambda kernel: build_scale(kernel, processes))
    if name_or_path == "host":
        text, memory = host()
        return Scenario(text, memory=memory)
    if name_or_path in BUILTIN:
        return Scenario(BUILTIN[name_or_path])
    path = Path(name_or_path)
    if not path.is_file():
        raise FileNotFoundError(f"no built-in scenario or file named {name_or_path!r} "
                                f"(built-in: {', '.join(sorted(BUILTIN))})")
    if path.suffix == ".py":
        namespace: dict[str, Any] = {"__name__": "procsim_scenario", "__file__": str(path)}
        budget = load_budget()
        with time_limit(budget, f"{path}: loading it took more than {budget:g} s (a loop at module level?)"):
            exec(compile(path.read_text(), str(path), "exec"), namespace)
        if "SCENARIO" not in namespace:
            raise ValueError(f"{path}: a Python scenario must define SCENARIO (a command script)")
        return Scenario(namespace["SCENARIO"], dict(namespace.get("PROGRAMS", {})))
    return Scenario(path.read_text())


def run_scenario(text: str, interpreter: CommandInterpreter) -> dict[str, str]:
    """Run every line; a failing line raises with its line number."""
    variables: dict[str, str] = {}
    for number, raw in enumerate(text.split("\n"), 1):  # not splitlines(): U+2028 is not a line end
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        target = None
        match = _ASSIGN.match(line)
        if match:
            target, line = match.group(1), match.group(2)

        try:
            line = substitute_variables(line, variables)
            result = interpreter.execute(line, source="scenario")
        except KernelError as e:
            raise KernelError(e.errno, f"scenario line {number} ({raw.strip()!r}): {e.message}") from None
        if target:
            variables[target] = result
    return variables
