"""The one command language of procsim: `sim/ctl`, `procsim ctl`, scenario files and the event log.

A command is one line, split like a shell would split it (quotes allowed), executed atomically
under the kernel lock through the facade.  Failures raise KernelError with the kernel's errno;
syntax errors are EINVAL.  Sizes accept 4096, 64K, 1M, 2G; addresses are decimal or 0x hex.
See docs/commands.md for the grammar with examples.
"""
from __future__ import annotations

import errno
import shlex
import signal
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Generator, Iterator, Protocol

from kernel_model import Kernel, KernelError, mman
from kernel_model.syscalls.exit import signal_name

MAX_LINE = 4096
MAX_TICK = 3600  # ~1 s of work at most (the mount answers readers between its steps)


class Clock(Protocol):
    """What `pause`, `resume` and `tick` drive (the simulation runner)."""

    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def tick(self, seconds: float, before: Callable[[], None] | None = None) -> None: ...
    def tick_steps(self, seconds: float, before: Callable[[], None] | None = None) -> Iterator[None]: ...
    @property
    def advancing(self) -> bool: ...


# Commands that drive the clock run outside the kernel lock: `tick` runs the runner's steps, which
# take it at each step.
CLOCK_COMMANDS = frozenset({"tick", "pause", "resume", "help"})

def syntax(message: str) -> KernelError:
    return KernelError(errno.EINVAL, message)


def parse_int(text: str, what: str) -> int:
    """Decimal or 0x hex, in ASCII: Python's int() alone would also take "\u0663" or "1_0"."""
    try:
        if not text.isascii() or "_" in text:
            raise ValueError(text)
        return int(text, 0)
    except ValueError:
        raise syntax(f"{what} must be a number, not {text!r}") from None


def parse_float(text: str, what: str) -> float:
    try:
        if not text.isascii() or "_" in text:
            raise ValueError(text)
        return float(text)
    except ValueError:
        raise syntax(f"{what} must be a number, not {text!r}") from None


_SUFFIX = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


#: The requests a race trigger can follow (`after OPERATION PATH COMMAND`).
ACCESS_OPERATIONS = ("lookup", "getattr", "open", "read", "readdir", "readlink")


def parse_size(text: str) -> int:
    """4096, 64K, 1M, 2G (binary units; an optional trailing B or iB is accepted)."""
    t = text.strip().lower().removesuffix("ib").removesuffix("b")
    factor = 1
    if t and t[-1] in _SUFFIX:
        factor, t = _SUFFIX[t[-1]], t[:-1]
    if not t.isascii() or not t.lstrip("-").isdigit():
        raise syntax(f"bad size {text!r}")
    value = int(t) * factor
    if value <= 0:
        raise syntax(f"size must be positive, not {text!r}")
    return value


def parse_argv(text: str) -> list[str]:
    """`argv=HEX`: the bytes of a command line as Linux keeps it (arguments each ended by a NUL),
    in hex -- any byte sequence, exactly. Bytes that are not UTF-8 are kept as surrogates
    (Python's surrogateescape), so /PID/cmdline gives them back unchanged."""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise syntax(f"argv must be hex digits, not {text[:40]!r}") from None
    if not raw.endswith(b"\0"):
        raise syntax("argv must end with a NUL (00): each argument ends with one")
    return [arg.decode("utf-8", "surrogateescape") for arg in raw[:-1].split(b"\0")]


def argv_hex(args: list[str]) -> str:
    """The inverse of parse_argv."""
    return b"".join(arg.encode("utf-8", "surrogateescape") + b"\0" for arg in args).hex()


def parse_signal(text: str) -> int:
    if text.isascii() and text.lstrip("-").isdigit():
        return int(text)
    name = text.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise syntax(f"unknown signal {text!r}") from None


@dataclass
class Parsed:
    """A command split into positional words and key=value options."""

    name: str
    args: list[str]
    options: dict[str, str]
    flags: set[str]
    raw: str = ""
    words: list[str] = field(default_factory=list)


_SHELL_SYNTAX = frozenset("'\"\\#")


def split_words(line: str, comments: bool = True) -> list[str]:
    """Split like a shell: quotes group, `#` starts a comment.  Lines without any of those
    characters split on white space alone -- the same result, far cheaper than shlex."""
    if _SHELL_SYNTAX.isdisjoint(line):
        return line.split()
    try:
        return shlex.split(line, comments=comments)
    except ValueError as e:
        raise syntax(f"cannot split command: {e}") from None


def canonical(words: list[str]) -> str:
    return " ".join(w if w and _SAFE_WORD.issuperset(w) else shlex.quote(w) for w in words)


_SAFE_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=.,/:@%")


def tokenize(line: str) -> Parsed:
    """Split a line: key=value words are options, numeric words (and the first) are positional,
    other bare words are flags (`shared`, `nohang`, ...)."""
    if len(line) > MAX_LINE:
        raise syntax(f"command longer than {MAX_LINE} bytes")
    if any(ord(c) < 32 and c not in "\t" for c in line):
        raise syntax("control characters in command")
    words = split_words(line)
    if not words:
        raise syntax("empty command")
    args: list[str] = []
    options: dict[str, str] = {}
    flags: set[str] = set()
    for word in words[1:]:
        key, eq, value = word.partition("=")
        if eq and key.isidentifier():
            if key in options:
                raise syntax(f"option {key} given twice")
            options[key] = value
        elif not args or word[:1].isdigit() or (word[:1] == "-" and word[1:2].isdigit()):
            args.append(word)  # the first argument, or anything numeric (PIDs, sizes, addresses)
        else:
            flags.add(word)
    return Parsed(words[0].lower(), args, options, flags, line, words)


def _need(parsed: Parsed, minimum: int, maximum: int, usage: str) -> None:
    if not minimum <= len(parsed.args) <= maximum:
        raise syntax(f"usage: {usage}")


def _only(parsed: Parsed, options: Collection[str] = frozenset(), flags: Collection[str] = frozenset()) -> None:
    unknown = set(parsed.options) - set(options)
    if unknown:
        raise syntax(f"unknown option {sorted(unknown)[0]}=")
    bad = parsed.flags - set(flags)
    if bad:
        raise syntax(f"unknown word {sorted(bad)[0]!r}")


HELP = """\
spawn NAME [ppid=P] [uid=U] [gid=G] [tty=ttyN|pts/N|none] [program=PROG] [cmdline="ARGS..."]   -> PID
fork PID                                     -> child PID
exit PID [CODE]
kill PID SIGNAL                              (number or name: 9, KILL, SIGKILL)
wait PID [CHILD] [nohang]                    -> CHILD STATUS (0 0 if nohang and none ready)
mmap PID SIZE [shared|private] [purgeable] [noreserve] [file=PATH] [fd=FD] [name=NAME] [prot=rw|r|rx] [addr=ADDR] [fixed]
                                             -> address
munmap PID ADDR SIZE
read PID ADDR [LEN] / write PID ADDR [LEN]   -> pages=N zero=N cow=N inode=N killed=no|SIGNAL
madvise PID ADDR SIZE volatile|nonvolatile   -> 1 if the memory had been purged, else 0
anon_create PID SIZE                         -> fd
open PID PATH                                -> fd (a simulated file; never the host's)
load PID FRACTION                            (CPU share the process wants, 0..1)
purge                                        -> pages purged
tick SECONDS / pause / resume
after open|readdir /PATH COMMAND...          -> trigger id: COMMAND runs once, right after a reader's
                                                next open (or listing) of /PATH in the mount
triggers                                     -> the pending triggers
check                                        -> ok, or EIO if a kernel invariant is violated
help"""


class CommandInterpreter:
    """Parses and executes commands against one kernel (and optionally a clock/runner)."""

    def __init__(self, kernel: Kernel, clock: Clock | None = None,
                 programs: Callable[[str], bool] | None = None) -> None:
        self.kernel = kernel
        self.clock = clock
        self._program_exists = programs or (lambda name: True)
        self._commands: dict[str, Callable[[Parsed], str]] = {
            "spawn": self.spawn, "fork": self.fork, "exit": self.exit, "kill": self.kill,
            "wait": self.wait, "mmap": self.mmap, "munmap": self.munmap, "read": self.read,
            "write": self.write, "madvise": self.madvise, "anon_create": self.anon_create,
            "open": self.open, "load": self.load, "purge": self.purge, "tick": self.tick,
            "pause": self.pause, "resume": self.resume, "help": self.help, "after": self.after,
            "triggers": self.list_triggers, "check": self.check,
        }
        self._triggers: dict[int, tuple[str, str, str]] = {}  # id -> (operation, path, command), in order
        self._waiting: dict[tuple[str, str], list[int]] = {}  # (operation, path) -> trigger ids
        self._skips: dict[int, int] = {}  # trigger id -> matching requests to let pass first (nth=)
        self._trigger_ids = 0
        self._watched: frozenset[str] = frozenset()
        self.replaying = False  # set while a record is replayed
        # Raises KernelError if the simulation must not change now (its record has no room).
        self.before_change: Callable[[], None] = lambda: None

    def execute(self, line: str, caller: object = None, source: str = "ctl") -> str:
        """Run one command line; returns its result text (no trailing newline).

        Every command is recorded in the event stream with its source ("ctl", "scenario",
        "replay") -- failures too, with their errno -- so a run can be replayed exactly.
        """
        try:
            parsed = tokenize(line)
        except KernelError as e:
            self._record(line[:200], source, error=e)
            raise
        command = self._commands.get(parsed.name)
        if command is None:
            error = syntax(f"unknown command {parsed.name!r} (try: help)")
            self._record(line, source, error=error)
            raise error
        text = canonical(parsed.words)
        self.before_change()
        if parsed.name == "tick" and self.clock is not None:
            return self._tick(parsed, text, source)
        if parsed.name in CLOCK_COMMANDS:
            self._record(text, source)
            return command(parsed)
        with self.kernel.lock:
            try:
                result = command(parsed)
            except KernelError as e:
                self._record(text, source, error=e)
                raise
            self._record(text, source, result=result)
        return result

    def execute_steps(self, line: str, caller: object = None, source: str = "ctl") -> Generator[None, None, str]:
        """`execute`, but a tick yields between simulation steps (the mount answers readers there)."""
        if self.clock is not None:
            try:
                parsed = tokenize(line)
            except KernelError:
                parsed = None
            if parsed is not None and parsed.name == "tick":
                text = canonical(parsed.words)
                self.before_change()
                try:
                    seconds = self._tick_seconds(parsed)
                except KernelError as e:
                    self._record(text, source, error=e)
                    raise
                yield from self.clock.tick_steps(seconds, before=lambda: self._record(text, source))
                return ""
        return self.execute(line, caller, source)

    def _record(self, line: str, source: str, result: str | None = None, error: KernelError | None = None) -> None:
        fields: dict[str, Any] = {"line": line, "source": source}
        if result is not None:
            fields["result"] = result
        if error is not None:
            fields["error"] = error.name
        with self.kernel.lock:
            self.kernel.emit("command", **fields)

    # -- process commands ------------------------------------------------------------------------
    def spawn(self, p: Parsed) -> str:
        _need(p, 1, 1, "spawn NAME [ppid=P] [uid=U] [gid=G] [tty=ttyN|pts/N|none] [program=PROG] "
                       "[cmdline=...|argv=HEX]")
        _only(p, {"ppid", "uid", "gid", "tty", "program", "cmdline", "argv"})
        program = p.options.get("program", "")
        if program and not self._program_exists(program):
            raise syntax(f"unknown program {program!r}")
        if "cmdline" in p.options and "argv" in p.options:
            raise syntax("give cmdline= or argv=, not both")
        cmdline = split_words(p.options["cmdline"], comments=False) if "cmdline" in p.options else None
        if "argv" in p.options:
            cmdline = parse_argv(p.options["argv"])
        ppid = parse_int(p.options["ppid"], "ppid") if "ppid" in p.options else None
        uid = parse_int(p.options.get("uid", "0"), "uid")
        gid = parse_int(p.options["gid"], "gid") if "gid" in p.options else None
        return str(self.kernel.spawn(p.args[0], ppid=ppid, uid=uid, gid=gid, cmdline=cmdline, program=program,
                                     tty=p.options.get("tty")))

    def fork(self, p: Parsed) -> str:
        _need(p, 1, 1, "fork PID")
        _only(p)
        return str(self.kernel.fork(parse_int(p.args[0], "PID")))

    def exit(self, p: Parsed) -> str:
        _need(p, 1, 2, "exit PID [CODE]")
        _only(p)
        code = parse_int(p.args[1], "exit code") if len(p.args) > 1 else 0
        self.kernel.exit(parse_int(p.args[0], "PID"), code)
        return ""

    def kill(self, p: Parsed) -> str:
        words = p.args + sorted(p.flags)
        if len(words) != 2 or p.options:
            raise syntax("usage: kill PID SIGNAL")
        self.kernel.kill(parse_int(words[0], "PID"), parse_signal(words[1]))
        return ""

    def wait(self, p: Parsed) -> str:
        _need(p, 1, 2, "wait PID [CHILD] [nohang]")
        _only(p, flags={"nohang"})
        child = parse_int(p.args[1], "child PID") if len(p.args) > 1 else -1
        result = self.kernel.waitpid(parse_int(p.args[0], "PID"), child, "nohang" in p.flags)
        return "0 0" if result is None else f"{result[0]} {result[1]}"

    def load(self, p: Parsed) -> str:
        _need(p, 2, 2, "load PID FRACTION")
        _only(p)
        self.kernel.set_cpu_load(parse_int(p.args[0], "PID"), parse_float(p.args[1], "fraction"))
        return ""

    # -- memory commands -------------------------------------------------------------------------
    def mmap(self, p: Parsed) -> str:
        _need(p, 2, 2, "mmap PID SIZE [shared|private] [purgeable] [noreserve] [file=PATH] [fd=FD] [name=NAME]")
        _only(p, {"file", "fd", "name", "prot", "addr"}, {"shared", "private", "purgeable", "noreserve", "fixed"})
        pid = parse_int(p.args[0], "PID")
        size = parse_size(p.args[1])
        if {"shared", "private"} <= p.flags:
            raise syntax("shared and private exclude each other")
        if "file" in p.options and "fd" in p.options:
            raise syntax("file= and fd= exclude each other")
        flags = mman.MAP_SHARED if "shared" in p.flags else mman.MAP_PRIVATE
        prot_text = p.options.get("prot", "rw" if "file" not in p.options else "r")
        if not prot_text or set(prot_text) - set("rwx") or len(set(prot_text)) != len(prot_text):
            raise syntax(f"bad prot {prot_text!r} (letters r, w, x)")
        prot = sum(bit for letter, bit in (("r", mman.PROT_READ), ("w", mman.PROT_WRITE), ("x", mman.PROT_EXEC))
                   if letter in prot_text)
        flags |= mman.MAP_PURGEABLE if "purgeable" in p.flags else 0
        flags |= mman.MAP_NORESERVE if "noreserve" in p.flags else 0
        flags |= mman.MAP_FIXED if "fixed" in p.flags else 0
        addr = parse_int(p.options["addr"], "address") if "addr" in p.options else 0
        fd = -1
        opened = None
        with self.kernel.lock:
            if "file" in p.options:
                fd = opened = self.kernel.open(pid, p.options["file"])
            elif "fd" in p.options:
                fd = parse_int(p.options["fd"], "fd")
            else:
                flags |= mman.MAP_ANONYMOUS
            try:
                address = self.kernel.mmap(pid, size, prot, flags, fd=fd, addr=addr, name=p.options.get("name", ""))
            finally:
                if opened is not None:
                    self.kernel.close(pid, opened)
        return hex(address)

    def munmap(self, p: Parsed) -> str:
        _need(p, 3, 3, "munmap PID ADDR SIZE")
        _only(p)
        self.kernel.munmap(parse_int(p.args[0], "PID"), parse_int(p.args[1], "address"), parse_size(p.args[2]))
        return ""

    def _touch(self, p: Parsed, write: bool) -> str:
        _need(p, 2, 3, f"{'write' if write else 'read'} PID ADDR [LEN]")
        _only(p)
        length = parse_size(p.args[2]) if len(p.args) > 2 else 1
        r = self.kernel.access(parse_int(p.args[0], "PID"), parse_int(p.args[1], "address"), length, write)
        killed = f"{signal_name(r.signal)} ({r.reason})" if r.killed else "no"
        return f"pages={r.pages} zero={r.zero_faults} cow={r.cow_faults} inode={r.inode_faults} killed={killed}"

    def read(self, p: Parsed) -> str:
        return self._touch(p, False)

    def write(self, p: Parsed) -> str:
        return self._touch(p, True)

    def madvise(self, p: Parsed) -> str:
        _need(p, 3, 3, "madvise PID ADDR SIZE volatile|nonvolatile")
        _only(p, flags={"volatile", "nonvolatile"})
        if len(p.flags) != 1:
            raise syntax("madvise needs exactly one of volatile, nonvolatile")
        advice = mman.MADV_SET_VOLATILE if "volatile" in p.flags else mman.MADV_SET_NONVOLATILE
        return str(self.kernel.madvise(parse_int(p.args[0], "PID"), parse_int(p.args[1], "address"),
                                       parse_size(p.args[2]), advice))

    def anon_create(self, p: Parsed) -> str:
        _need(p, 2, 2, "anon_create PID SIZE")
        _only(p)
        return str(self.kernel.anon_create(parse_int(p.args[0], "PID"), parse_size(p.args[1])))

    def open(self, p: Parsed) -> str:
        words = p.args + sorted(p.flags)
        if len(words) != 2 or p.options:
            raise syntax("usage: open PID PATH")
        return str(self.kernel.open(parse_int(words[0], "PID"), words[1]))

    def purge(self, p: Parsed) -> str:
        _need(p, 0, 0, "purge")
        _only(p)
        return str(self.kernel.purge())

    # -- time ------------------------------------------------------------------------------------
    @staticmethod
    def _tick_seconds(p: Parsed) -> float:
        _need(p, 1, 1, "tick SECONDS")
        _only(p)
        seconds = parse_float(p.args[0], "seconds")
        if not 0 <= seconds <= MAX_TICK:
            raise syntax(f"tick takes 0 to {MAX_TICK} seconds (use several for more)")
        return seconds

    def tick(self, p: Parsed) -> str:
        """Without a runner (tests of the bare kernel): just move the kernel's clock."""
        self.kernel.tick(self._tick_seconds(p))
        return ""

    def _tick(self, p: Parsed, text: str, source: str) -> str:
        try:
            seconds = self._tick_seconds(p)
        except KernelError as e:
            self._record(text, source, error=e)
            raise
        assert self.clock is not None
        self.clock.tick(seconds, before=lambda: self._record(text, source))
        return ""

    def pause(self, p: Parsed) -> str:
        _need(p, 0, 0, "pause")
        if self.clock is not None:
            self.clock.pause()
        return ""

    def resume(self, p: Parsed) -> str:
        _need(p, 0, 0, "resume")
        if self.clock is not None:
            self.clock.resume()
        return ""

    def help(self, p: Parsed) -> str:
        return HELP

    def check(self, p: Parsed) -> str:
        """Run the kernel's invariant checks (page conservation, the process table): `ok`, or EIO."""
        _need(p, 0, 0, "check")
        try:
            self.kernel.check_invariants()
        except AssertionError as e:
            self.kernel.log(f"invariant check failed: {e}")
            raise KernelError(errno.EIO, f"invariant violated: {e}") from None
        return "ok"

    # -- race triggers ---------------------------------------------------------------------------
    def after(self, p: Parsed) -> str:
        """`after OPERATION PATH COMMAND...`: run COMMAND once, right after the mount answered a
        reader's next OPERATION (lookup, getattr, open, read, readdir, readlink) of PATH -- to
        reproduce races like vanish-between-readdir-and-open."""
        words = p.words[1:]
        nth = 1
        if words and words[0].startswith("nth="):
            count = words.pop(0).removeprefix("nth=")
            if not (count.isascii() and count.isdigit() and 1 <= int(count) <= 1_000_000):
                raise syntax(f"nth= must be a count from 1, not {count!r}")
            nth = int(count)
        if len(words) < 3 or words[0] not in ACCESS_OPERATIONS or not words[1].startswith("/"):
            raise syntax(f"usage: after [nth=N] {'|'.join(ACCESS_OPERATIONS)} /PATH COMMAND [ARGS...]")
        command = " ".join(shlex.quote(w) for w in words[2:])
        if tokenize(command).name not in self._commands or tokenize(command).name in ("after", "tick"):
            raise syntax(f"cannot trigger {words[2]!r}")
        path = "/" + "/".join(part for part in words[1].split("/") if part)
        self._trigger_ids += 1
        if self.replaying:  # a replay re-runs what the trigger ran, as recorded: it never fires again
            return str(self._trigger_ids)
        self._triggers[self._trigger_ids] = (words[0], path, command)
        self._waiting.setdefault((words[0], path), []).append(self._trigger_ids)
        if nth > 1:
            self._skips[self._trigger_ids] = nth - 1
        if words[0] in ("readdir", "lookup"):
            self._triggers_changed()
        return str(self._trigger_ids)

    def list_triggers(self, p: Parsed) -> str:
        _need(p, 0, 0, "triggers")
        return "\n".join(f"{i} after {self._nth(i)}{op} {path} {command}"
                         for i, (op, path, command) in self._triggers.items())

    def _nth(self, trigger: int) -> str:
        skips = self._skips.get(trigger, 0)
        return f"nth={skips + 1} " if skips else ""

    def on_access(self, operation: str, path: str) -> bool:
        """Called by procfs once it answered a reader's request: fire the matching triggers, once
        each, in the order they were set.  True if any fired.  Not while a tick is under way (the
        reader was served between two of its steps): a replay could not put the command there,
        so the trigger waits for the next."""
        if not self._waiting or (self.clock is not None and self.clock.advancing):
            return False
        ids = self._waiting.pop((operation, path), None)
        if ids is None:
            return False
        if self._skips:  # triggers for a later one of these requests count this one down
            later = [i for i in ids if self._skips.get(i)]
            for i in later:
                self._skips[i] -= 1
                if not self._skips[i]:
                    del self._skips[i]
            ids = [i for i in ids if i not in later]
            if later:
                self._waiting[(operation, path)] = later
        due = [self._triggers.pop(i)[2] for i in ids]
        if operation in ("readdir", "lookup") and (operation, path) not in self._waiting:
            self._triggers_changed()
        if not due:
            return False
        for command in due:
            try:
                self.execute(command, source="trigger")
            except KernelError as e:
                self.kernel.log(f"trigger after {operation} {path}: {command}: {e.message}")
        return True

    def watched_listings(self) -> frozenset[str]:
        """The paths a trigger waits to see listed (the mount serves them uncached)."""
        return self._watched

    def _triggers_changed(self) -> None:
        """The directories a trigger fires inside of: a listing of it, or a lookup in it.  The
        kernel holds such a directory's lock across the request, so names in it cannot be taken
        back before the reply: the mount serves them uncached until the trigger fired."""
        self._watched = frozenset(path if operation == "readdir" else (path.rsplit("/", 1)[0] or "/")
                                  for operation, path in self._waiting if operation in ("readdir", "lookup"))
