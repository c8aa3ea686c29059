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

from .daemon import MountOptions, serve
from .scenarios import BUILTIN, load_scenario

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
    """A dead FUSE mount answers ENOTCONN; unmount it lazily.  Returns True if one was cleared."""
    try:
        os.stat(path)
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
    try:
        load_scenario(args.scenario, 1)
    except FileNotFoundError as e:
        return die(str(e), 2)
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
    options = MountOptions(os.path.abspath(mountpoint), args.scenario, args.seed, args.personality,
                           args.orphan_policy, args.memory, args.speed, args.allow_other, args.processes)
    if args.foreground:
        return serve(options)
    log_path = Path(tempfile.gettempdir()) / f"procsim-{os.getuid()}-{abs(hash(options.mountpoint))}.log"
    command = [sys.executable, "-m", "procsim.daemon", options.mountpoint, "--scenario", args.scenario,
               "--seed", str(args.seed), "--personality", args.personality, "--memory", args.memory,
               "--speed", str(args.speed), "--processes", str(args.processes)]
    if args.orphan_policy:
        command += ["--orphan-policy", args.orphan_policy]
    if args.allow_other:
        command.append("--allow-other")
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


def cmd_umount(args: argparse.Namespace) -> int:
    mountpoint = args.mountpoint
    if clear_stale_mount(mountpoint):
        print(f"procsim: cleared a stale mount at {mountpoint}")
        return 0
    if not is_mounted(mountpoint):
        return die(f"{mountpoint}: not mounted", 1)
    if not unmount(mountpoint, lazy=args.lazy):
        return die(f"{mountpoint}: unmount failed (busy? try: procsim umount --lazy {mountpoint})")
    return 0


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
    mount.add_argument("--scenario", default="default",
                       help=f"built-in ({', '.join(sorted(BUILTIN))}) or a scenario file")
    mount.add_argument("--seed", type=int, default=0)
    mount.add_argument("--personality", choices=["serenity", "linux"], default="serenity",
                       help="how dead processes look in the mount (docs/personalities.md)")
    mount.add_argument("--orphan-policy", choices=["serenity", "linux"], default=None,
                       help="what happens to orphans (default: the personality's)")
    mount.add_argument("--memory", default="256M", help="simulated physical memory (e.g. 256M, 1G)")
    mount.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    mount.add_argument("--allow-other", action="store_true", help="let other users read the mount")
    mount.add_argument("--processes", type=int, default=1000, help="process count of the scale scenario")
    mount.add_argument("--foreground", action="store_true", help="serve in this process")
    mount.set_defaults(func=cmd_mount)
    umount = sub.add_parser("umount", help="unmount and stop the daemon")
    umount.add_argument("mountpoint")
    umount.add_argument("--lazy", action="store_true")
    umount.set_defaults(func=cmd_umount)
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
