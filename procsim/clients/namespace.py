"""Run an unmodified /proc reader with a mount as its /proc, in namespaces of its own.

A private *mount* namespace lets the mount be bound over /proc for the reader alone.  That is
not enough: the reader's `kill`, top's `k` and htop's F9 call kill(2) with the PIDs they read,
and without a *PID* namespace of its own those numbers name host processes (`kill -0 2` reaches
the host's kthreadd while `ps` calls PID 2 WindowServer).  In a new PID namespace the only
processes a reader can signal are its own, so a simulated PID can never reach a host process.

In that namespace the readers' own PIDs start high (three quarters of pid_max), away from the
simulated PIDs at the bottom of the range: procps and psutil look themselves up by their own
PID, and procsim answers a PID that no simulated process holds with the caller itself.

A client of a mount: imports no simulator.
"""
from __future__ import annotations

import shutil

#: The script PID 1 of the namespace runs: a procfs of the new PID namespace is mounted (by
#: unshare --mount-proc), so `ns_last_pid` is this namespace's; then the mount is bound over it.
#: PID 1 forks the reader and waits: a reader must not be PID 1 (it would ignore signals it does
#: not handle, and inherit every orphan); when PID 1 exits, the kernel kills what is left.
_SCRIPT = r"""
mnt=$1; shift
max=$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 32768)
echo $((max * 3 / 4)) > /proc/sys/kernel/ns_last_pid 2>/dev/null
mount --bind "$mnt" /proc || exit 125
"$@"
exit $?
"""


class NamespaceUnavailable(RuntimeError):
    """unshare is missing or this user may not make namespaces."""


def reader_argv(mountpoint: str, argv: list[str]) -> list[str]:
    """The command line that runs `argv` with `mountpoint` as /proc, in a private mount namespace
    and a PID namespace of its own.  unshare's --kill-child ends the namespace (and everything the
    reader left running in it) if unshare itself is killed, on a timeout say."""
    unshare = shutil.which("unshare")
    if unshare is None:
        raise NamespaceUnavailable("unshare (util-linux) is not installed")
    return [unshare, "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation", "private",
            "sh", "-c", _SCRIPT, "procsim-namespace", mountpoint, *argv]


def shell_argv(mountpoint: str, command: str) -> list[str]:
    """reader_argv for one shell command line."""
    return reader_argv(mountpoint, ["sh", "-c", command])
