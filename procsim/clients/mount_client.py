"""A client of a mount: what talks to a running procsim only through the mount table, the files
of the mount (`sim/ctl`) and the daemon's process -- never by importing the simulator.  `procsim
ctl`, `procsim umount`, the testing API and the pytest plugin use it, so they work on a mount
someone else started, and load nothing of the kernel, the procfs backends, trio or FUSE.
"""
from __future__ import annotations

import errno
import fcntl
import os
import re
import shlex
import shutil
import subprocess
import time

PROCSIM_FSTYPE = "fuse.procsim"  # the daemon mounts with subtype=procsim


def fusermount() -> str:
    return shutil.which("fusermount") or shutil.which("fusermount3") or "fusermount"


def unescape(field: str) -> str:
    """A path as the kernel's mount table writes it: space, tab, newline and backslash as octal
    escapes (`/tmp/a\\040b`)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def resolved(path: str) -> str:
    """`path` with its directories resolved, the last component not: resolving a mountpoint
    itself would ask the file system mounted there, and a stopped daemon never answers."""
    absolute = os.path.abspath(path)
    return os.path.join(os.path.realpath(os.path.dirname(absolute)), os.path.basename(absolute))


def _mountinfo_line(path: str) -> list[str] | None:
    """The caller's mountinfo fields of the topmost mount at `path`.  The table is searched for
    the path as given first: a mountpoint itself is never stat()ed, as that would ask the file
    system mounted there.  Only a path that is not in the table and is a symlink is followed."""
    try:
        with open("/proc/self/mountinfo") as mountinfo:
            table = [line.split() for line in mountinfo]
    except OSError:
        return None

    def find(real: str) -> list[str] | None:
        found = None
        for fields in table:
            if len(fields) > 4 and unescape(fields[4]) == real:
                found = fields
        return found

    found = find(resolved(path))
    if found is None and os.path.islink(os.path.abspath(path)):
        found = find(os.path.realpath(path))
    return found


def mounted_here(path: str) -> tuple[str, str] | None:
    """(source, type) of what is mounted at `path` (the topmost mount), or None."""
    fields = _mountinfo_line(path)
    if fields is None:
        return None
    after = fields[fields.index("-") + 1:] if "-" in fields else []
    return (after[1], after[0]) if len(after) > 1 else ("?", "?")


def is_mounted(path: str) -> bool:
    return mounted_here(path) is not None


def mount_owner(path: str) -> int | None:
    """The uid that mounted the FUSE mount at `path` (its `user_id=` option), if it says."""
    fields = _mountinfo_line(path)
    return owner_in(fields) if fields else None


def owner_in(fields: list[str]) -> int | None:
    options = fields[fields.index("-") + 3].split(",") if "-" in fields and len(fields) > fields.index("-") + 3 else []
    for option in options:
        if option.startswith("user_id="):
            try:
                return int(option.removeprefix("user_id="))
            except ValueError:
                return None
    return None


def mount_path(path: str) -> str:
    """The path the mount table names for the mount at `path` (a symlink's target), or `path`."""
    fields = _mountinfo_line(path)
    return unescape(fields[4]) if fields else path


def connection_of(path: str) -> int | None:
    """The FUSE connection number (the device's minor) of the mount at `path`:
    /sys/fs/fuse/connections/N exists for as long as any mount of it does, in any mount namespace."""
    fields = _mountinfo_line(path)
    try:
        return int(fields[2].split(":")[1]) if fields else None
    except (ValueError, IndexError):
        return None


def namespaces_holding(device_minor: int) -> list[int]:
    """PIDs (one per mount namespace) of host processes whose mount namespace still has a mount of
    the FUSE connection `device_minor`: what keeps a daemon serving after `umount` here."""
    seen: set[str] = set()
    holders = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            namespace = os.readlink(f"/proc/{name}/ns/mnt")
            if namespace in seen:
                continue
            seen.add(namespace)
            with open(f"/proc/{name}/mountinfo") as mountinfo:
                if any(line.split()[2] == f"0:{device_minor}" for line in mountinfo if line.strip()):
                    holders.append(int(name))
        except (OSError, IndexError):
            continue
    return holders


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


def daemon_lock(mountpoint: str) -> int | None:
    """An fd of the lock file that `procsim mount` made for `mountpoint` (its daemon holds an flock
    on it for as long as it lives), or None if there is none: found from the mountpoint alone,
    without asking any other daemon anything."""
    from ..safe_files import log_name, private_directory, usual_log_directory

    try:
        directory = private_directory(str(usual_log_directory()))
    except OSError:
        return None
    try:
        return os.open(log_name(os.path.abspath(mountpoint)) + ".lock", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                       dir_fd=directory)
    except OSError:
        return None
    finally:
        os.close(directory)


def daemon_pid(lock: int) -> int | None:
    try:
        return int(os.pread(lock, 32, 0).decode().strip() or 0) or None
    except (OSError, ValueError):
        return None


def wait_for_daemon(lock: int, timeout: float = 10.0) -> bool:
    """Wait until the daemon holding `lock` has exited (its flock is released): True if it has."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
            fcntl.flock(lock, fcntl.LOCK_UN)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)


def run_ctl(mountpoint: str, line: str) -> str:
    """Write one command to MOUNTPOINT/sim/ctl and read its result from the same open file.  When
    the kernel refuses it, the write fails with its errno and the same file reads its message:
    the OSError of that errno (ProcessLookupError for ESRCH, ...) with the kernel's message."""
    fd = os.open(os.path.join(mountpoint, "sim", "ctl"), os.O_RDWR)
    try:
        try:
            os.write(fd, (line + "\n").encode())
        except OSError as e:
            code = e.errno or errno.EIO
            message = _read_all(fd).decode(errors="replace").strip() or os.strerror(code)
            raise OSError(code, message) from None
        return _read_all(fd).decode()
    finally:
        os.close(fd)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def ctl_line(words: list[str]) -> str:
    """One argument is a whole command line (`procsim ctl M "fork 4"`); several are words, each
    reaching the kernel as typed (`spawn 'a#b'`, `spawn "it's"`)."""
    if len(words) == 1:
        return words[0]
    return " ".join(shlex.quote(word) for word in words)
