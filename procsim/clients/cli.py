"""`procsim` command line: mount, umount, ctl.

`procsim mount MOUNTPOINT` starts the daemon in the background and returns once the mount
answers; `--foreground` serves in this process instead.  `procsim ctl MOUNTPOINT COMMAND ...`
writes one command to MOUNTPOINT/sim/ctl and prints its result.
"""
from __future__ import annotations

import argparse
import errno
import os
import subprocess
import sys
import time
from pathlib import Path

from .mount_client import (
    PROCSIM_FSTYPE,
    clear_stale_mount,
    connection_of,
    ctl_line,
    daemon_lock,
    daemon_pid,
    is_mounted,
    mount_owner,
    mount_path,
    mounted_here,
    namespaces_holding,
    run_ctl,
    unmount,
    wait_for_daemon,
)
from ..options import add_simulation_arguments, option_argv, options_from
from .terminal_text import visible

# The simulator (kernel, procfs, runner, trio, FUSE) is imported by the subcommands that run one
# (mount, run) when they run, so that ctl, umount, top and snapshot -- clients of a mount -- load
# none of it.

MOUNT_TIMEOUT = 30.0
#: About 10 KB of host memory per simulated process: past this, no host holds the machine.
MAX_PROCESSES_CEILING = 1_000_000
#: `procsim run --seconds`: a simulated day (a minute or so of work), not hours without a word.
MAX_RUN_SECONDS = 86_400.0


def die(message: str, code: int = 1) -> int:
    print(f"procsim: {visible(message)}", file=sys.stderr)  # a message may quote what a user typed
    return code


def check_options(args: argparse.Namespace) -> str | None:
    """What is wrong with the simulation options, as one line, before any daemon starts."""
    from kernel_model import KernelError

    from ..simulator.commands import parse_size
    from ..simulator.event_log import read_record
    from ..simulator.scenarios import load_scenario

    try:
        parse_size(str(args.memory))
    except KernelError as e:
        return f"--memory: {e.message}"
    if not args.speed > 0:
        return f"--speed must be positive, not {args.speed}"
    if args.processes < 0 or args.max_processes < 1:
        return "--processes and --max-processes must not be negative"
    if args.max_processes > MAX_PROCESSES_CEILING:
        return f"--max-processes {args.max_processes} is past what one host can hold ({MAX_PROCESSES_CEILING})"
    if args.scenario == "scale" and args.processes + 1 > args.max_processes:
        return (f"--processes {args.processes}: the scale scenario would pass --max-processes {args.max_processes} "
                f"(init counts too); raise --max-processes to build more")
    seconds = getattr(args, "seconds", None)
    if seconds is not None and not 0 <= seconds <= MAX_RUN_SECONDS:
        return f"--seconds must be between 0 and {MAX_RUN_SECONDS} simulated seconds, not {seconds}"
    from ..simulator.scenarios import load_budget

    try:
        load_budget()
    except ValueError as e:
        return str(e)
    if args.replay:
        if not os.path.isfile(args.replay):
            return f"{args.replay}: no such record file"
        if args.record and os.path.realpath(args.record) == os.path.realpath(args.replay):
            return f"{args.record}: --record would overwrite the record --replay reads"
        try:
            read_record(args.replay)
        except ValueError as e:
            return str(e)
        return None
    if args.scenario in ("host", "scale"):
        return None
    try:
        load_scenario(args.scenario, 1)
    except UnicodeDecodeError:
        return f"{args.scenario}: not a UTF-8 text file"
    except (FileNotFoundError, ValueError, SyntaxError) as e:
        return str(e)
    except OSError as e:
        return f"{args.scenario}: {e.strerror or e}"
    return None


def absolute_paths(args: argparse.Namespace) -> None:
    """The daemon runs in /: files named on the command line are made absolute first."""
    from ..simulator.scenarios import BUILTIN

    if args.scenario not in BUILTIN and args.scenario not in ("host", "scale") and os.path.exists(args.scenario):
        args.scenario = os.path.abspath(args.scenario)
    for attr in ("record", "replay"):
        if getattr(args, attr):
            setattr(args, attr, os.path.abspath(getattr(args, attr)))


def open_log(mountpoint: str) -> tuple[int, int, Path]:
    """(log fd, lock fd, log path) for the daemon of `mountpoint`: one log per mountpoint,
    rewritten by each mount, in a directory only this user can write to (procsim/safe_files.py
    says why).  The lock is held (flock) for as long as the daemon lives: a second `procsim mount`
    at the same path finds it taken (BlockingIOError) and stops."""
    import fcntl

    from ..safe_files import create_in, log_directory, log_name

    directory, path, why = log_directory()
    try:
        if why:
            print(f"procsim: {why}; the log goes to {path}", file=sys.stderr)
        name = log_name(mountpoint)
        lock = os.open(name + ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=directory)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            log = create_in(directory, name, replace=True)
        except BaseException:
            os.close(lock)
            raise
        return log, lock, path / name
    finally:
        os.close(directory)


def cmd_mount(args: argparse.Namespace) -> int:
    mountpoint = args.mountpoint
    problem = check_options(args)
    if problem:
        return die(problem, 2)
    if os.path.islink(mountpoint) and os.path.isdir(mountpoint):
        mountpoint = os.path.realpath(mountpoint)  # the kernel mounts on the link's target: name that
    from .testing import fuse_unavailable_reason

    unavailable = fuse_unavailable_reason()
    if unavailable:
        return die(f"cannot mount: {unavailable} (docs/using.md: without root)", 3)
    absolute_paths(args)
    if clear_stale_mount(mountpoint):
        print(f"procsim: cleared a stale mount at {mountpoint} (its daemon had died)", file=sys.stderr)
    if not os.path.isdir(mountpoint):
        return die(f"{mountpoint}: mountpoint does not exist or is not a directory", 2)
    here = mounted_here(mountpoint)
    if here is not None:
        if here[1] == PROCSIM_FSTYPE:
            return die(f"{mountpoint}: procsim is already mounted here (procsim umount {mountpoint})", 2)
        return die(f"{mountpoint}: a {here[1]} filesystem ({here[0]}) is mounted here", 2)
    if os.listdir(mountpoint):
        return die(f"{mountpoint}: mountpoint is not empty", 2)
    options = options_from(args, os.path.abspath(mountpoint))
    if args.foreground:
        print(f"procsim: serving {options.mountpoint} in the foreground (Ctrl-C or procsim umount to stop)",
              flush=True)
        from ..server.daemon import serve

        return serve(options)
    try:
        log, lock, log_path = open_log(options.mountpoint)
    except BlockingIOError:
        return die(f"{mountpoint}: another procsim mount is starting or serving here", 2)
    except OSError as e:
        return die(f"cannot write the daemon's log: {e.strerror or e}")
    command = [sys.executable, "-m", "procsim.server.daemon", options.mountpoint, *option_argv(options)]
    try:
        # the daemon inherits the lock: it is released when the daemon exits
        daemon = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=[lock],
                                  start_new_session=True, cwd="/")
        os.ftruncate(lock, 0)
        os.pwrite(lock, f"{daemon.pid}\n".encode(), 0)  # for `procsim umount`, which waits for it
    finally:
        os.close(log)
        os.close(lock)
    deadline = time.monotonic() + MOUNT_TIMEOUT
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            said = log_path.read_text(errors="replace").strip()
            if said.startswith("procsim: ") and "\n" not in said:
                return die(said.removeprefix("procsim: "), 2)  # the daemon's own one-line message
            print(said[-4000:], file=sys.stderr)
            return die(f"the daemon exited with status {daemon.returncode} before the mount answered")
        if is_mounted(mountpoint) and os.path.exists(os.path.join(mountpoint, "sim", "ctl")):
            print(f"procsim: mounted at {mountpoint} (daemon pid {daemon.pid}, log {log_path})")
            return 0
        time.sleep(0.05)
    daemon.kill()
    unmount(mountpoint, lazy=True)
    return die(f"the mount did not answer within {MOUNT_TIMEOUT:.0f} s (log: {log_path})")


def cmd_umount(args: argparse.Namespace) -> int:
    mountpoint = mount_path(args.mountpoint)
    here = mounted_here(mountpoint)
    if here is None:
        return die(f"{mountpoint}: not mounted", 1)
    if here[1] != PROCSIM_FSTYPE and not args.force:
        return die(f"{mountpoint}: not a procsim mount (a {here[1]} filesystem, {here[0]}): not unmounting it "
                   f"(--force to unmount it anyway)", 2)
    owner = mount_owner(mountpoint)
    if owner is not None and owner != os.getuid() and not args.force:
        return die(f"{mountpoint}: a procsim mount that uid {owner} started, not you: not unmounting it "
                   f"(--force to unmount it anyway)", 2)
    connection = connection_of(mountpoint)
    lock = daemon_lock(mountpoint)  # this mount's own daemon, found by the mountpoint: no other asked
    try:
        if clear_stale_mount(mountpoint):
            print(f"procsim: cleared a stale mount at {mountpoint}")
            return 0
        if not unmount(mountpoint, lazy=args.lazy):
            return die(f"{mountpoint}: unmount failed (busy? try: procsim umount --lazy {mountpoint})")
        if lock is None or wait_for_daemon(lock):
            return 0
        pid = daemon_pid(lock)
        holders = namespaces_holding(connection) if connection is not None else []
        if holders:
            return die(f"{mountpoint}: unmounted here, but the daemon (pid {pid}) still serves this mount in "
                       f"{len(holders)} other mount namespace(s) (a procsim shell, unshare or test still running: "
                       f"host PID {', '.join(map(str, holders[:5]))}); it exits when the last of them ends "
                       f"(kill {pid} stops it now)")
        return die(f"{mountpoint}: unmounted, but the daemon (pid {pid}) did not exit within 10 s")
    finally:
        if lock is not None:
            os.close(lock)


def cmd_run(args: argparse.Namespace) -> int:
    """Run a simulation headless (no mount) for some simulated seconds; print a summary."""
    from kernel_model import KernelError

    from ..simulator.simulation import Simulation, tune_gc_for_a_large_heap

    problem = check_options(args)
    if problem:
        return die(problem, 2)
    options = options_from(args)
    options.paused = True  # headless: time moves only by --seconds, never with the host's clock
    tune_gc_for_a_large_heap()
    try:
        simulation = Simulation(options)
    except (FileNotFoundError, ValueError) as e:
        return die(str(e), 2)
    try:
        simulation.start()
        if args.seconds:
            simulation.runner.tick(args.seconds)
        kernel = simulation.kernel
        with kernel.lock:
            zombies = len(kernel.zombies())
            print(f"t={kernel.uptime_seconds():.1f}s processes={len(kernel.processes)} zombies={zombies} "
                  f"events={simulation.events.size}B pages used={kernel.mm.used} committed={kernel.mm.committed} "
                  f"uncommitted={kernel.mm.uncommitted}")
    except KernelError as e:
        return die(e.message)
    finally:
        simulation.stop()
        from ..server.daemon import exit_past_abandoned_programs

        exit_past_abandoned_programs(0)
    return 0


def cmd_snapshot(args: argparse.Namespace) -> int:
    from .snapshot import snapshot

    if not os.path.isfile(os.path.join(args.mountpoint, "sim", "ctl")):
        return die(f"snapshot: {args.mountpoint} is not a procsim mount (no sim/ctl)", 2)
    try:
        written, errors = snapshot(args.mountpoint, args.directory)
    except OSError as e:
        return die(f"snapshot: {e.strerror or e}")
    print(f"procsim: {written} files written to {args.directory}"
          + (f"; {len(errors)} entries could not be read (see .procsim-snapshot-errors)" if errors else ""))
    return 0


def cmd_top(args: argparse.Namespace) -> int:
    """The interactive live view (Textual); `--once` prints one frame for scripts (rich)."""
    if not args.interval > 0:
        return die(f"top: --interval must be positive, not {args.interval}", 2)
    if not os.path.isfile(os.path.join(args.mountpoint, "sim", "ctl")):
        return die(f"top: {args.mountpoint} is not a procsim mount (no sim/ctl)", 2)
    try:
        if args.once or not sys.stdout.isatty():
            from .top import run

            return run(args.mountpoint, once=True, interval=args.interval, width=args.width)
        from .live_view import run as run_live

        return run_live(args.mountpoint, interval=args.interval)
    except OSError as e:
        return die(f"top: {args.mountpoint}: {os.strerror(e.errno) if e.errno else e}")


def cmd_graph(args: argparse.Namespace) -> int:
    """Render the fork tree, or the graph of one PID (what keeps it alive if it is dead or its
    /PID is orphaned; else its parent and children), from the mount's sim/ files."""
    from .graph_command import GraphError, render

    try:
        written = render(args.mountpoint, args.pid, args.output)
    except GraphError as e:
        return die(f"graph: {e}", e.code)
    if args.output in (None, "-"):
        sys.stdout.write(written)
    return 0


def cmd_shell(args: argparse.Namespace) -> int:
    """COMMAND (default: a shell) with the mount as its /proc, in a mount and a PID namespace of
    its own (procsim/clients/namespace.py says why both)."""
    from .namespace import NamespaceUnavailable, reader_argv

    if not os.path.isfile(os.path.join(args.mountpoint, "sim", "ctl")):
        return die(f"shell: {args.mountpoint} is not a procsim mount (no sim/ctl)", 2)
    if os.geteuid() != 0:
        return die("shell: binding the mount over /proc in new namespaces needs root; as another user, point the "
                   "reader at the mount instead (PROCFS_PATH, --path.procfs: docs/using.md)", 2)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        argv = reader_argv(os.path.abspath(args.mountpoint), command or [os.environ.get("SHELL") or "/bin/sh"])
    except NamespaceUnavailable as e:
        return die(f"shell: {e}", 3)
    sys.stdout.flush()
    os.execv(argv[0], argv)


def cmd_explore(args: argparse.Namespace) -> int:
    """Kill, reap or orphan a process at every point where COMMAND touches it (procsim/clients/explore.py)."""
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        return die("explore: no command given (procsim explore [options] -- COMMAND [ARGS...])", 2)
    problem = check_options(args)
    if problem:
        return die(f"explore: {problem}", 2)
    if args.scenario in ("scale", "host"):
        return die(f"explore: the {args.scenario} scenario is built, not written: explore needs a scenario of "
                   f"commands (a built-in one or a file) to write reproducers with", 2)
    faults = [f for f in args.faults.split(",") if f]
    from .explore import FAULTS, main

    unknown = sorted(set(faults) - set(FAULTS)) or ([] if faults else ["(none)"])
    if unknown:
        return die(f"explore: --faults takes {','.join(FAULTS)}, not {','.join(unknown)}", 2)
    if not 1 <= args.jobs <= 64 or not 0 < args.timeout <= 3600:
        return die("explore: --jobs must be 1..64 and --timeout 0..3600 seconds", 2)
    if not args.no_namespace and os.geteuid() != 0:
        return die("explore: running the reader in its own namespaces needs root; use --no-namespace (the mount "
                   "is {proc} in the arguments and $PROCSIM_PROC)", 2)
    from .testing import fuse_unavailable_reason

    unavailable = fuse_unavailable_reason()
    if unavailable:
        return die(f"explore: cannot mount: {unavailable}", 3)
    absolute_paths(args)
    args.faults = faults
    return main(args, command)


def cmd_ctl(args: argparse.Namespace) -> int:
    if not os.path.isfile(os.path.join(args.mountpoint, "sim", "ctl")):
        return die(f"ctl: {args.mountpoint} is not a procsim mount (no sim/ctl)", 2)
    name = args.command[0].split()[0] if args.command and args.command[0].split() else "ctl"
    try:
        output = run_ctl(args.mountpoint, ctl_line(args.command))
    except OSError as e:
        return die(f"{name}: {e.strerror} ({errno.errorcode.get(e.errno or 0, e.errno)})")
    sys.stdout.write(visible(output, lines=True))
    return 0


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("procsim")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="procsim", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"procsim {version()}")
    sub = parser.add_subparsers(dest="subcommand", required=True)
    mount = sub.add_parser("mount", help="mount a simulated system's /proc")
    mount.add_argument("mountpoint")
    add_simulation_arguments(mount)
    mount.add_argument("--allow-other", action="store_true", help="let other users read the mount")
    mount.add_argument("--foreground", action="store_true", help="serve in this process")
    mount.set_defaults(func=cmd_mount)
    run = sub.add_parser("run", help="run a simulation without mounting it (determinism, replay)")
    add_simulation_arguments(run)
    run.add_argument("--seconds", type=float, default=10.0, help="simulated seconds to run after the scenario")
    run.set_defaults(func=cmd_run)
    umount = sub.add_parser("umount", help="unmount and stop the daemon")
    umount.add_argument("mountpoint")
    umount.add_argument("--lazy", action="store_true")
    umount.add_argument("--force", action="store_true", help="unmount even what is not a procsim mount")
    umount.set_defaults(func=cmd_umount)
    snap = sub.add_parser("snapshot", help="copy the mounted tree as plain files")
    snap.add_argument("mountpoint")
    snap.add_argument("directory")
    snap.set_defaults(func=cmd_snapshot)
    top = sub.add_parser("top", help="a live view of a mounted simulation (reads only the mount)")
    top.add_argument("mountpoint")
    top.add_argument("--once", action="store_true", help="print one frame and exit (no terminal needed)")
    top.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    top.add_argument("--width", type=int, default=None, help="columns (default: the terminal's)")
    top.set_defaults(func=cmd_top)
    graph = sub.add_parser("graph", help="draw the process tree, or what keeps a dead PID alive (Graphviz)")
    graph.add_argument("mountpoint")
    graph.add_argument("pid", nargs="?", type=int, default=None)
    graph.add_argument("-o", "--output", default=None,
                       help="FILE.svg, .png, .pdf or .dot (default: the DOT text on stdout)")
    graph.set_defaults(func=cmd_graph)
    shell = sub.add_parser("shell", help="run COMMAND (default: a shell) with the mount as /proc, in its own "
                                         "mount and PID namespaces")
    shell.add_argument("mountpoint")
    shell.add_argument("command", nargs=argparse.REMAINDER)
    shell.set_defaults(func=cmd_shell)
    explore = sub.add_parser("explore", help="kill, reap or orphan a process at every point where a /proc reader "
                                             "touches it, and report what broke, with reproducers")
    add_simulation_arguments(explore)
    explore.add_argument("--faults", default="exit,reap,orphan", help="which faults: exit, reap, orphan")
    explore.add_argument("--points", choices=["distinct", "all"], default="distinct",
                         help="one point per request kind and path inside /PID (distinct), or every request")
    explore.add_argument("--jobs", type=int, default=1, help="mounts side by side")
    explore.add_argument("--timeout", type=float, default=30.0, help="seconds before a run counts as a hang")
    explore.add_argument("--json", metavar="FILE", help="write the report as JSON too")
    explore.add_argument("--reproducers", metavar="DIR", help="write each failure's scenario and commands here")
    explore.add_argument("--no-namespace", action="store_true",
                         help="run COMMAND directly: {proc} in its arguments and $PROCSIM_PROC name the mount")
    explore.add_argument("command", nargs=argparse.REMAINDER)
    explore.set_defaults(func=cmd_explore)
    ctl = sub.add_parser("ctl", help="run one command on a mounted simulation")
    ctl.add_argument("mountpoint")
    ctl.add_argument("command", nargs=argparse.REMAINDER)
    ctl.set_defaults(func=cmd_ctl)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.subcommand == "ctl" and not args.command:
        return die("ctl: no command given (try: procsim ctl MOUNTPOINT help)", 2)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
