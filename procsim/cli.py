"""`procsim` command line: mount, umount, ctl.

`procsim mount MOUNTPOINT` starts the daemon in the background and returns once the mount
answers; `--foreground` serves in this process instead.  `procsim ctl MOUNTPOINT COMMAND ...`
writes one command to MOUNTPOINT/sim/ctl and prints its result.
"""
from __future__ import annotations

import argparse
import errno
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kernel_model import KernelError

from .daemon import Simulation, add_simulation_arguments, option_argv, options_from, serve, tune_gc_for_a_large_heap
from .scenarios import load_scenario

MOUNT_TIMEOUT = 30.0


def die(message: str, code: int = 1) -> int:
    print(f"procsim: {message}", file=sys.stderr)
    return code


def fusermount() -> str:
    return shutil.which("fusermount") or shutil.which("fusermount3") or "fusermount"


def is_mounted(path: str) -> bool:
    real = os.path.realpath(path)
    try:
        with open("/proc/self/mounts") as mounts:
            return any(line.split()[1] == real for line in mounts if len(line.split()) > 1)
    except OSError:
        return os.path.ismount(path)


def clear_stale_mount(path: str) -> bool:
    """A dead FUSE mount answers ENOTCONN; unmount it lazily.  Returns True if one was cleared.
    (statfs, not stat: the kernel may answer a stat from its attribute cache without asking.)"""
    try:
        os.statvfs(path)
        return False
    except OSError as e:
        if e.errno != errno.ENOTCONN:
            return False
    subprocess.run([fusermount(), "-u", "-z", path], check=False, capture_output=True)
    return True


def unmount(path: str, lazy: bool = False) -> bool:
    command = [fusermount(), "-u"] + (["-z"] if lazy else []) + [path]
    return subprocess.run(command, capture_output=True).returncode == 0


def cmd_mount(args: argparse.Namespace) -> int:
    mountpoint = args.mountpoint
    if not args.replay:
        try:
            load_scenario(args.scenario, 1) if args.scenario not in ("host", "scale") else None
        except FileNotFoundError as e:
            return die(str(e), 2)
    elif not os.path.isfile(args.replay):
        return die(f"{args.replay}: no such record file", 2)
    if clear_stale_mount(mountpoint):
        print(f"procsim: cleared a stale mount at {mountpoint} (its daemon had died)", file=sys.stderr)
    if not os.path.isdir(mountpoint):
        return die(f"{mountpoint}: mountpoint does not exist or is not a directory", 2)
    if is_mounted(mountpoint):
        return die(f"{mountpoint}: something is already mounted here (procsim umount {mountpoint})", 2)
    if os.listdir(mountpoint):
        return die(f"{mountpoint}: mountpoint is not empty", 2)
    if not os.path.exists("/dev/fuse"):
        return die("/dev/fuse is missing: FUSE is not available on this machine", 3)
    options = options_from(args, os.path.abspath(mountpoint))
    for attr in ("record", "replay"):
        if getattr(options, attr):
            setattr(options, attr, os.path.abspath(getattr(options, attr)))
    if args.foreground:
        return serve(options)
    log_path = Path(tempfile.gettempdir()) / f"procsim-{os.getuid()}-{abs(hash(options.mountpoint))}.log"
    command = [sys.executable, "-m", "procsim.daemon", options.mountpoint, *option_argv(options)]
    with open(log_path, "ab") as log:
        daemon = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                  start_new_session=True, cwd="/")
    deadline = time.monotonic() + MOUNT_TIMEOUT
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            print(log_path.read_text()[-4000:], file=sys.stderr)
            return die(f"the daemon exited with status {daemon.returncode} before the mount answered")
        if is_mounted(mountpoint) and os.path.exists(os.path.join(mountpoint, "sim", "ctl")):
            print(f"procsim: mounted at {mountpoint} (daemon pid {daemon.pid}, log {log_path})")
            return 0
        time.sleep(0.05)
    daemon.kill()
    unmount(mountpoint, lazy=True)
    return die(f"the mount did not answer within {MOUNT_TIMEOUT:.0f} s (log: {log_path})")


def daemons_serving(mountpoint: str) -> list:
    """The daemon processes serving `mountpoint` (found by their command line)."""
    import psutil

    real = os.path.realpath(mountpoint)
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "procsim.daemon" in cmdline and real in (os.path.realpath(a) for a in cmdline if a.startswith("/")):
            found.append(process)
    return found


def wait_for_exit(processes: list, timeout: float = 10.0) -> bool:
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for process in processes:
            try:
                if process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
            except psutil.NoSuchProcess:
                pass
        if not alive:
            return True
        time.sleep(0.02)
    return False


def cmd_umount(args: argparse.Namespace) -> int:
    mountpoint = args.mountpoint
    daemons = daemons_serving(mountpoint)
    if clear_stale_mount(mountpoint):
        print(f"procsim: cleared a stale mount at {mountpoint}")
        return 0
    if not is_mounted(mountpoint):
        return die(f"{mountpoint}: not mounted", 1)
    if not unmount(mountpoint, lazy=args.lazy):
        return die(f"{mountpoint}: unmount failed (busy? try: procsim umount --lazy {mountpoint})")
    if not wait_for_exit(daemons):
        return die(f"{mountpoint}: unmounted, but the daemon did not exit within 10 s")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run a simulation headless (no mount) for some simulated seconds; print a summary."""
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
    return 0


def cmd_snapshot(args: argparse.Namespace) -> int:
    from .snapshot import snapshot

    try:
        written, errors = snapshot(args.mountpoint, args.directory)
    except OSError as e:
        return die(f"snapshot: {e.strerror or e}")
    print(f"procsim: {written} files written to {args.directory}"
          + (f"; {len(errors)} entries could not be read (see .procsim-snapshot-errors)" if errors else ""))
    return 0


def cmd_top(args: argparse.Namespace) -> int:
    from .top import run

    try:
        return run(args.mountpoint, once=args.once, interval=args.interval, width=args.width)
    except OSError as e:
        return die(f"top: {args.mountpoint}: {os.strerror(e.errno) if e.errno else e}")


def run_ctl(mountpoint: str, line: str) -> str:
    """Write one command to MOUNTPOINT/sim/ctl and read its result from the same open file."""
    fd = os.open(os.path.join(mountpoint, "sim", "ctl"), os.O_RDWR)
    try:
        os.write(fd, (line + "\n").encode())
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        os.close(fd)


def cmd_ctl(args: argparse.Namespace) -> int:
    line = " ".join(shlex.quote(w) if (" " in w or not w) else w for w in args.command)
    try:
        output = run_ctl(args.mountpoint, line)
    except OSError as e:
        return die(f"{args.command[0] if args.command else 'ctl'}: {os.strerror(e.errno) if e.errno else e}")
    sys.stdout.write(output)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="procsim", description=__doc__.split("\n\n")[0])
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
    ctl = sub.add_parser("ctl", help="run one command on a mounted simulation")
    ctl.add_argument("mountpoint")
    ctl.add_argument("command", nargs=argparse.REMAINDER)
    ctl.set_defaults(func=cmd_ctl)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.subcommand == "ctl" and not args.command:
        return die("ctl: no command given (try: procsim ctl MOUNTPOINT help)", 2)
    try:
        return args.func(args)
    except KernelError as e:
        return die(f"{e.message}")


if __name__ == "__main__":
    sys.exit(main())
