"""The mount's guardian: unmounts a procsim mount whose daemon died without unmounting it.

libfuse's `auto_unmount` helper (fusermount3) does this too, but it decides with one `open` of
the mountpoint, which must fail with ENOTCONN. When the daemon is SIGKILLed, the kernel may wake
the helper before it has aborted the FUSE connection; the open then fails with ECONNABORTED and
the helper leaves a dead mount ("Transport endpoint is not connected") -- under load, most of
the time. The guardian waits for the daemon's end through a pipe only the daemon holds, then
probes until the connection is really gone, and unmounts only the very mount it was started for
(by mount ID), never one mounted there since.
"""
from __future__ import annotations

import errno
import os
import subprocess
import sys
import time

PROBES = 200          # 200 x 0.05 s: how long the guardian waits for the connection to go
GONE = {errno.ENOTCONN, errno.ECONNABORTED}


def mount_id(mountpoint: str) -> str | None:
    """The kernel's ID of the mount at `mountpoint` (the topmost one), from mountinfo."""
    found = None
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            fields = line.split()
            if len(fields) > 4 and fields[4] == mountpoint:
                found = fields[0]
    return found


def fusermount() -> str:
    for candidate in ("/usr/bin/fusermount3", "/bin/fusermount3", "/usr/bin/fusermount", "/bin/fusermount"):
        if os.path.exists(candidate):
            return candidate
    return "fusermount3"


def watch(mountpoint: str, expected_id: str, pipe: int) -> int:
    while os.read(pipe, 1):  # EOF: the daemon is gone (it never writes)
        pass
    for _ in range(PROBES):
        if mount_id(mountpoint) != expected_id:
            return 0  # unmounted cleanly (or by fusermount3's helper)
        try:
            os.statvfs(mountpoint)
        except OSError as e:
            if e.errno == errno.ENOTCONN:
                subprocess.run([fusermount(), "-u", "-z", mountpoint], capture_output=True)
                return 0
            if e.errno not in GONE:
                return 1
        time.sleep(0.05)  # the connection is still being torn down
    return 1


if __name__ == "__main__":
    sys.exit(watch(sys.argv[1], sys.argv[2], int(sys.argv[3])))
