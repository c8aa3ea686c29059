"""`procsim explore`: kill, reap or orphan a process at every point where a /proc reader touches it.

A reader's bugs with vanishing processes are each one death at one point in its sequence of
calls.  procsim answers every request the reader makes, so it can put the death at each point
in turn, deterministically:

1. **Baseline.** The reader runs on the mount (twice: lines that differ between the two are
   unstable -- a clock -- and never judged).  The first run is traced (`sim/trace`): every
   request of the reader's process tree, in order.  Each request that touches a simulated
   process's `/PID` (or the root listing that named it) is an access point.
2. **Injection.** For each point and fault, the mount is reset to the same start state
   (`sim/reset`: the same scenario and seed, every cached name taken back) and a race trigger is
   armed (`after nth=N OPERATION PATH COMMAND`): right after the mount answers that request, the
   process exits, is reaped, or loses its parent.  The reader's next system call sees it.
3. **Verdict.** Each run is compared with the baseline *and* with a run of the reader on the state
   after the fault (the fault applied before it starts): a line about the affected process must
   be one of those two outputs, or be left out.  Anything else is a failure: a crash, an exit
   status neither clean run had, a hang, new error output, or a line that mixes the two states.

A client of a mount: it starts daemons and talks to them through their files, never by
importing the simulator.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .mount_client import run_ctl
from .namespace import reader_argv
from ..options import MountOptions, options_from
from .terminal_text import visible
from .testing import MountedSystem

FAULTS = ("exit", "reap", "orphan")
POINT_MODES = ("distinct", "all")
#: New error output: a line on stderr, in neither clean run, that says something failed.
ERROR_WORDS = re.compile(r"traceback|error|fatal|no such process|no such file|panic|exception|abort|"
                         r"segmentation|core dumped|unwrap|cannot|can't", re.IGNORECASE)
#: Signals that end a reader that crashed (as `sh` reports them: 128 + N).
CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGTRAP}


class ReaderNotRun(RuntimeError):
    """The command could not be started at all (not found, not executable)."""


@dataclass(frozen=True)
class Access:
    """One request of the baseline run: its index, kind and path in the mount."""

    index: int
    operation: str
    path: str


@dataclass(frozen=True)
class Point:
    """A place to inject a fault: right after the `nth` request `operation` of `path`."""

    index: int
    operation: str
    path: str
    nth: int
    pid: int
    fault: str
    commands: tuple[str, ...]

    @property
    def key(self) -> str:
        """What `--points distinct` keeps one of: the request and the path inside /PID."""
        return f"{self.operation} {pid_relative(self.path)} {self.fault}"

    def triggers(self) -> list[str]:
        return [f"after nth={self.nth} {self.operation} {shlex.quote(self.path)} {command}" for command in self.commands]

    def describe(self) -> str:
        return f"{self.fault} PID {self.pid} after request {self.index} ({self.operation} {self.path})"


@dataclass
class Outcome:
    stdout: str
    stderr: str
    returncode: int | None  # None: it hung
    seconds: float


@dataclass
class Failure:
    signature: str
    kind: str
    detail: str
    point: Point
    count: int = 1
    reproducer: dict[str, str] = field(default_factory=dict)


@dataclass
class Report:
    command: list[str]
    options: dict[str, Any]
    requests: int = 0
    points: int = 0
    runs: int = 0
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    reader_runs: int = 0  # every run of the reader: baselines, after-fault states, injections
    overhead_seconds: float = 0.0  # the runs' time beyond the reader's own (reset, triggers, start, verdict)
    baseline_exit: int | None = 0
    baseline_error: str = ""  # the first line the reader wrote to stderr without any fault

    @property
    def ok(self) -> bool:
        return not self.failures

    def assert_ok(self) -> None:
        """For tests: an AssertionError whose message is the report, reproducers included."""
        if self.failures:
            raise AssertionError("procsim explore found failures:\n" + self.text())

    def overhead_ms(self) -> float:
        """What a run cost beyond the reader's own time (reset, triggers, start, verdict)."""
        return self.overhead_seconds / max(1, self.reader_runs) * 1000

    def as_dict(self) -> dict[str, Any]:
        return {"command": self.command, "options": self.options, "requests": self.requests,
                "points": self.points, "runs": self.runs, "outcomes": self.outcomes,
                "failures": [{**asdict(f), "point": {**asdict(f.point), "key": f.point.key}} for f in self.failures],
                "reader_runs": self.reader_runs, "seconds": round(self.seconds, 3),
                "overhead_ms_per_run": round(self.overhead_ms(), 1)}

    def text(self) -> str:
        lines = [f"explored {' '.join(shlex.quote(a) for a in self.command)}",
                 f"  baseline: {self.requests} requests, {self.points} access points; {self.runs} runs in "
                 f"{self.seconds:.1f} s ({self.overhead_ms():.0f} ms per run beyond the reader's own time)"]
        if self.baseline_exit != 0:
            lines.append(f"  note: without any fault the reader exited {self.baseline_exit}"
                         + (f" ({self.baseline_error})" if self.baseline_error else ""))
        for fault, counts in self.outcomes.items():
            lines.append(f"  {fault:6}  correct {counts.get('correct', 0):4}   failure {counts.get('failure', 0):4}")
        if not self.failures:
            lines.append("no failure: the reader omitted each process or showed it in its new state")
            return "\n".join(lines) + "\n"
        lines.append(f"{len(self.failures)} distinct failure(s):")
        for number, failure in enumerate(self.failures, 1):
            lines += ["", f"[{number}] {failure.kind}: {failure.detail}",
                      f"    first at: {failure.point.describe()} ({failure.count} run(s) in all)",
                      f"    reproducer: {failure.reproducer.get('file')}, the {self.options['scenario']} scenario and:"]
            lines += ["      " + line for line in failure.point.triggers()]
            lines.append("    then:")
            lines += ["      " + line for line in failure.reproducer.get("commands", "").splitlines()]
        return "\n".join(lines) + "\n"


def pid_relative(path: str) -> str:
    """`/5/task/5/stat` -> `/PID/task/5/stat` (the PID's own number inside as well)."""
    parts = path.strip("/").split("/")
    if parts and parts[0].isdigit():
        pid = parts[0]
        return "/" + "/".join(["PID"] + ["PID" if part == pid else part for part in parts[1:]])
    return path


def parse_trace(text: str) -> list[Access]:
    accesses = []
    for line in text.splitlines():
        index, operation, path = line.split(" ", 2)
        accesses.append(Access(int(index), operation, path))
    return accesses


def touched_pid(path: str, simulated: dict[int, dict[str, Any]]) -> int | None:
    first = path.strip("/").split("/")[0]
    if first.isdigit() and int(first) in simulated:
        return int(first)
    return None


def fault_commands(fault: str, pid: int, simulated: dict[int, dict[str, Any]]) -> tuple[str, ...] | None:
    """The control commands of a fault on `pid`, or None where it cannot happen.  init is never
    a victim: its death is not a race a reader meets."""
    process = simulated[pid]
    ppid, alive = process["ppid"], bool(process["threads"])
    if pid == 1:
        return None
    if fault == "exit":
        return (f"kill {pid} KILL",) if alive else None
    if fault == "reap":
        if not alive:
            return (f"wait {ppid} {pid}",) if ppid else None
        return (f"kill {pid} KILL",) + ((f"wait {ppid} {pid}",) if ppid else ())
    if fault == "orphan":
        parent = simulated.get(ppid)
        if ppid in (0, 1) or parent is None or not parent["threads"]:
            return None
        return (f"kill {ppid} KILL",)
    raise ValueError(f"unknown fault {fault!r}")


def access_points(accesses: list[Access], simulated: dict[int, dict[str, Any]], faults: Iterable[str],
                  mode: str) -> list[Point]:
    """Every (request, fault) of the baseline, or one per (request kind, path inside /PID, fault)."""
    seen_paths: dict[tuple[str, str], int] = {}
    listed = sorted(pid for pid in simulated if pid != 1)
    points: list[Point] = []
    kept: set[str] = set()
    for position, access in enumerate(accesses):
        nth = seen_paths[(access.operation, access.path)] = seen_paths.get((access.operation, access.path), 0) + 1
        pid = touched_pid(access.path, simulated)
        if pid is None and access.path == "/" and access.operation == "readdir":
            # the root listing named every PID: the one the reader goes on to touch first
            later = (touched_pid(a.path, simulated) for a in accesses[position + 1:])
            pid = next((p for p in later if p is not None and p != 1), listed[0] if listed else None)
        if pid is None:
            continue
        for fault in faults:
            commands = fault_commands(fault, pid, simulated)
            if commands is None:
                continue
            point = Point(access.index, access.operation, access.path, nth, pid, fault, commands)
            if mode == "distinct":
                if point.key in kept:
                    continue
                kept.add(point.key)
            points.append(point)
    return points


_PID_TOKEN = "(?<![\\w.:]){}(?![\\w.:])"


def mentions(line: str, pids: Iterable[int]) -> bool:
    return any(re.search(_PID_TOKEN.format(pid), line) for pid in pids)


def shape(line: str) -> str:
    return " ".join(re.sub(r"\d+", "N", line).split())


def verdict(run: Outcome, before: Outcome, after: Outcome, affected: set[int], unstable: set[str],
            timeout: float) -> tuple[str, str] | None:
    """(kind, detail) of a failure, or None if the reader behaved."""
    if run.returncode is None:
        return "hang", f"still running after {timeout:g} s"
    code = run.returncode
    clean = {before.returncode, after.returncode}
    if code < 0 or (code > 128 and code - 128 in CRASH_SIGNALS and code not in clean):
        number = -code if code < 0 else code - 128
        return "crash", f"killed by {signal.Signals(number).name}"
    known_err = set(before.stderr.splitlines()) | set(after.stderr.splitlines())
    new_err = [line for line in run.stderr.splitlines() if line not in known_err and line.strip()]
    errors = [line for line in new_err if ERROR_WORDS.search(line)]
    status = f" (exit status {code})" if code not in clean else ""
    if errors:  # a traceback says the most in its last line
        detail = new_err[-1] if any("Traceback" in line for line in new_err) else errors[0]
        return "error output", detail.strip() + status
    if status:
        return "exit", f"exit status {code} (the clean runs: {sorted(c for c in clean if c is not None)})"
    # words, not columns: a table's column widths follow its widest row, which may be another's
    known_out = {" ".join(line.split()) for line in before.stdout.splitlines() + after.stdout.splitlines()}
    for line in run.stdout.splitlines():
        if " ".join(line.split()) not in known_out and mentions(line, affected) and shape(line) not in unstable:
            return "torn output", line.strip()
    return None


def signature(kind: str, detail: str) -> str:
    return f"{kind}: {shape(detail)[:200]}"


class ExploreMount:
    """One mount that explore resets between runs."""

    def __init__(self, base: Path, number: int, mount_args: dict[str, Any], extra_args: list[str]) -> None:
        self.system = MountedSystem.start(base / f"mnt{number}", paused=True, extra_args=extra_args, **mount_args)
        self.path = str(self.system.path)

    def stop(self) -> None:
        self.system.stop()

    def reset(self) -> None:
        fd = os.open(os.path.join(self.path, "sim", "reset"), os.O_WRONLY)
        try:
            os.write(fd, b"1\n")
        finally:
            os.close(fd)

    def ctl(self, lines: list[str]) -> None:
        if lines:
            run_ctl(self.path, "\n".join(lines))

    def sim_file(self, name: str) -> str:
        with open(os.path.join(self.path, "sim", name)) as f:
            return f.read()

    def simulated(self) -> dict[int, dict[str, Any]]:
        with open(os.path.join(self.path, "all")) as f:
            return {p["pid"]: p for p in json.load(f)["processes"] if p["pid"]}

    def _trace(self, word: str) -> None:
        with open(os.path.join(self.path, "sim", "trace"), "w") as f:
            f.write(word)

    def run(self, reader: "Reader", timeout: float, trace: bool = False) -> Outcome:
        """Run the reader once; it starts only once tracing (if asked) is on."""
        gate_read, gate_write = os.pipe()
        command = ["sh", "-c", 'read go <&3; exec 3<&-; exec "$@"', "procsim-gate", *reader.argv(self.path)]
        process = subprocess.Popen(command, pass_fds=[gate_read], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, start_new_session=True, env=reader.env(self.path))
        os.close(gate_read)
        try:
            if trace:
                self._trace(str(process.pid))
            started = time.perf_counter()
            os.write(gate_write, b"go\n")
        finally:
            os.close(gate_write)
        try:
            out, err = process.communicate(timeout=timeout)
            code: int | None = process.returncode
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = process.communicate()
            code = None
        if trace:
            self._trace("off")
        return Outcome(out.decode(errors="replace"), err.decode(errors="replace"), code,
                       time.perf_counter() - started)


@dataclass
class Reader:
    """The command under test, and how it finds the mount: `{proc}` in its arguments and the
    environment variable PROCSIM_PROC name it (`/proc` in the namespace, where it is bound)."""

    command: list[str]
    namespace: bool
    extra_env: dict[str, str] = field(default_factory=dict)

    def argv(self, mount: str) -> list[str]:
        if self.namespace:
            return reader_argv(mount, [word.replace("{proc}", "/proc") for word in self.command])
        return [word.replace("{proc}", mount) for word in self.command]

    def env(self, mount: str) -> dict[str, str]:
        # Python readers print dicts and sets in hash order: pinned, so that every run of the
        # reader prints the same state the same way (unless the user pinned it otherwise)
        return {"PYTHONHASHSEED": "0", **os.environ, **self.extra_env,
                "PROCSIM_PROC": "/proc" if self.namespace else mount}

    def shell_line(self, mount: str) -> str:
        if self.namespace:
            return f"procsim shell {mount} {shlex.join(self.command)}"
        return f"PROCSIM_PROC={mount} {shlex.join([w.replace('{proc}', mount) for w in self.command])}"


@dataclass
class Options:
    """The mount's options (those of `procsim mount`; the clock is always stopped) and explore's."""

    mount: MountOptions = field(default_factory=MountOptions)
    faults: tuple[str, ...] = FAULTS
    points: str = "distinct"
    jobs: int = 1
    timeout: float = 30.0
    namespace: bool = True
    reproducers: str | None = None
    env: dict[str, str] = field(default_factory=dict)  # more environment for the reader


def explore(command: list[str], options: Options, progress: Callable[[int, int], None] | None = None) -> Report:
    """Explore `command`; the report says what failed where, with reproducers."""
    started = time.perf_counter()
    reader = Reader(command, options.namespace, options.env)
    given = options.mount
    report = Report(command, {"scenario": given.scenario, "personality": given.personality,
                              "seed": given.seed, "faults": list(options.faults), "points": options.points,
                              "namespace": options.namespace})
    extra = ["--seed", str(given.seed), "--max-processes", str(given.max_processes)]
    mount_args = {"scenario": given.scenario, "personality": given.personality, "memory": given.memory,
                  "orphan_policy": given.orphan_policy, "processes": given.processes}
    base = Path(tempfile.mkdtemp(prefix="procsim-explore-"))
    mounts: list[ExploreMount] = []
    try:
        mounts.append(ExploreMount(base, 0, mount_args, extra))
        first = mounts[0]
        scenario_text = first.sim_file("scenario")
        simulated = first.simulated()
        baseline = first.run(reader, options.timeout, trace=True)
        accesses = parse_trace(first.sim_file("trace"))
        first.reset()
        again = first.run(reader, options.timeout)
        unstable = {shape(line) for line in set(baseline.stdout.splitlines()) ^ set(again.stdout.splitlines())}
        report.requests = len(accesses)
        report.baseline_exit = baseline.returncode
        report.baseline_error = next((line.strip() for line in baseline.stderr.splitlines() if line.strip()), "")
        if baseline.returncode in (126, 127) and not accesses:
            raise ReaderNotRun(f"the reader did not run (exit {baseline.returncode}): {report.baseline_error}")
        points = access_points(accesses, simulated, options.faults, options.points)
        report.points = len(points)
        report.outcomes = {fault: {"correct": 0, "failure": 0} for fault in options.faults}
        for number in range(1, min(options.jobs, max(1, len(points)))):
            mounts.append(ExploreMount(base, number, mount_args, extra))
        afters: dict[tuple[str, int], Outcome] = {}
        lock = threading.Lock()
        failures: dict[str, Failure] = {}
        done = [0]

        def timed_run(mount: ExploreMount, setup: list[str]) -> Outcome:
            began = time.perf_counter()
            mount.reset()
            mount.ctl(setup)
            outcome = mount.run(reader, options.timeout)
            with lock:
                report.reader_runs += 1
                report.overhead_seconds += time.perf_counter() - began - outcome.seconds
            return outcome

        def after_state(mount: ExploreMount, point: Point) -> Outcome:
            key = (point.fault, point.pid)
            with lock:
                known = afters.get(key)
            if known is None:
                known = timed_run(mount, list(point.commands))
                with lock:
                    afters[key] = known
            return known

        def work(mount: ExploreMount, mine: list[Point]) -> None:
            for point in mine:
                after = after_state(mount, point)
                run = timed_run(mount, point.triggers())
                began = time.perf_counter()
                affected = {point.pid} | ({simulated[point.pid]["ppid"]} if point.fault == "orphan" else set())
                found = verdict(run, baseline, after, affected, unstable, options.timeout)
                with lock:
                    report.overhead_seconds += time.perf_counter() - began
                    report.runs += 1
                    report.outcomes[point.fault]["failure" if found else "correct"] += 1
                    if found:
                        key = signature(*found)
                        if key in failures:
                            failures[key].count += 1
                        else:
                            failures[key] = Failure(key, found[0], found[1], point)
                    done[0] += 1
                    if progress is not None:
                        progress(done[0], len(points))

        threads = [threading.Thread(target=work, args=(mount, points[number::len(mounts)]))
                   for number, mount in enumerate(mounts)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ordered = sorted(failures.values(), key=lambda f: (points.index(f.point)))
        for number, failure in enumerate(ordered, 1):
            failure.reproducer = reproducer(failure.point, number, options, reader, scenario_text)
        report.failures = ordered
    finally:
        for mount in mounts:
            mount.stop()
        try:
            for leftover in base.iterdir():
                leftover.unlink() if leftover.is_file() else leftover.rmdir()
            base.rmdir()
        except OSError:
            pass
    report.seconds = time.perf_counter() - started
    if options.reproducers:
        write_reproducers(report, Path(options.reproducers))
    return report


def reproducer(point: Point, number: int, options: Options, reader: Reader, scenario_text: str) -> dict[str, str]:
    """A scenario file (the start state and the trigger) and the commands that mount it and run
    the reader: nothing but procsim, every time the same failure.  With --reproducers DIR the
    file is written there and the commands name it by its full path."""
    triggers = "\n".join(point.triggers())
    note = f"# procsim explore: {point.describe()}\n"
    given = options.mount
    if given.scenario.endswith(".py"):
        name = f"explore-{number}.py"
        source = Path(given.scenario).read_text()
        scenario = f"{source.rstrip()}\n\n{note}SCENARIO = SCENARIO + '''\n{triggers}\n'''\n"
    else:
        name = f"explore-{number}.scenario"
        scenario = f"{scenario_text.rstrip()}\n\n{note}{triggers}\n"
    mount = f"/tmp/procsim-repro-{number}"
    flags = [f"--personality {given.personality}", "--paused"]
    defaults = MountOptions()
    for option in ("seed", "memory", "orphan_policy", "max_processes"):
        if getattr(given, option) != getattr(defaults, option):
            flags.append(f"--{option.replace('_', '-')} {getattr(given, option)}")
    where = shlex.quote(str(Path(options.reproducers).resolve() / name)) if options.reproducers else name
    commands = "\n".join([f"mkdir -p {mount} && procsim mount {mount} --scenario {where} {' '.join(flags)}",
                          reader.shell_line(mount), f"procsim umount {mount}"])
    return {"file": name, "scenario": scenario, "commands": commands}


def write_reproducers(report: Report, directory: Path) -> None:
    """Each failure's scenario, and a script that runs it from where explore ran."""
    directory.mkdir(parents=True, exist_ok=True)
    for failure in report.failures:
        (directory / failure.reproducer["file"]).write_text(failure.reproducer["scenario"])
        (directory / (failure.reproducer["file"] + ".sh")).write_text(
            f"#!/bin/sh\n# procsim explore: {failure.kind}: {failure.detail}\ncd {shlex.quote(os.getcwd())}\n"
            + failure.reproducer["commands"] + "\n")


def main(args: Any, command: list[str]) -> int:
    """`procsim explore`'s command line (cli.py parses it)."""
    options = Options(mount=options_from(args), faults=tuple(args.faults), points=args.points, jobs=args.jobs,
                      timeout=args.timeout, namespace=not args.no_namespace, reproducers=args.reproducers)
    progress_bar = _progress_bar() if sys.stderr.isatty() else None
    try:
        if progress_bar is not None:
            with progress_bar as bar:
                task = bar.add_task("exploring", total=None)
                report = explore(command, options, lambda done, total: bar.update(task, completed=done, total=total))
        else:
            report = explore(command, options)
    except ReaderNotRun as e:
        print(f"procsim: explore: {visible(str(e))}", file=sys.stderr)
        return 2
    sys.stdout.write(visible(report.text(), lines=True))
    if args.json:
        Path(args.json).write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    return 0 if report.ok else 1


def _progress_bar() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), transient=True)
