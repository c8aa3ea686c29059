"""Files that a root-run procsim writes on a machine other users share.

procsim runs as root where other users can write to /tmp and to directories they hand it.  A
plain `open(path, "w")` follows a symlink that one of them planted and truncates whatever it
names.  So everything here works through a directory file descriptor that was checked once
opened (owned by us, no access for group or others), and creates files with O_NOFOLLOW | O_EXCL:
a name that exists -- a planted link included -- is refused, never followed.
"""
from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
from pathlib import Path

#: Creating a file: never follow a link, never reuse a name that exists.
CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
#: Opening a directory: the last component must be a real directory, not a link to one.
OPEN_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeDirectory(OSError):
    """A directory that someone else could write to, or that is not ours."""


def check_private(fd: int, path: str) -> None:
    """The directory open at `fd` must be ours alone: owned by this user, no group/other access."""
    info = os.fstat(fd)
    if info.st_uid != os.geteuid():
        raise UnsafeDirectory(errno.EPERM, f"{path} belongs to uid {info.st_uid}, not to uid {os.geteuid()}")
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise UnsafeDirectory(errno.EPERM, f"{path} is open to others (mode {stat.S_IMODE(info.st_mode):o})")


def private_directory(path: str) -> int:
    """An fd of the directory `path`, created 0700 if missing, checked to be ours alone (raises
    UnsafeDirectory otherwise: someone else made it first)."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    fd = os.open(path, OPEN_DIRECTORY)
    try:
        check_private(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def create_in(directory_fd: int, name: str, mode: int = 0o600, replace: bool = False) -> int:
    """A new file `name` in the directory open at `directory_fd`, opened for writing.  With
    `replace`, an existing *file* of ours is removed first (a link or another user's file is not:
    the create then fails with EEXIST)."""
    if replace:
        try:
            info = os.stat(name, dir_fd=directory_fd, follow_symlinks=False)
        except FileNotFoundError:
            pass
        else:
            if stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid():
                os.unlink(name, dir_fd=directory_fd)
    return os.open(name, CREATE, mode, dir_fd=directory_fd)


def usual_log_directory() -> Path:
    return Path(tempfile.gettempdir()) / f"procsim-{os.getuid()}"


def log_directory() -> tuple[int, Path, str | None]:
    """(fd, path, why not the usual one) of the directory for the daemons' logs:
    `$TMPDIR/procsim-UID`, made 0700 and checked.  If another user made that name first (or made
    it a link), it is not used: a fresh private directory is made instead (`mkdtemp` cannot be
    pre-empted), and the third value says why."""
    path = usual_log_directory()
    try:
        return private_directory(str(path)), path, None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.EACCES, errno.ENOTDIR, errno.ELOOP):
            raise
        why = f"not using {path}: {e.strerror}" if isinstance(e, UnsafeDirectory) else f"not using {path}: " \
              f"{os.strerror(e.errno or errno.EPERM)}"
    fresh = tempfile.mkdtemp(prefix=f"procsim-{os.getuid()}-")
    return private_directory(fresh), Path(fresh), why


def log_name(mountpoint: str) -> str:
    """One log name per mountpoint, distinct for distinct mountpoints (`/X/a_b` and `/X/a/b`
    would read alike without the hash), readable, and short enough for any file system."""
    readable = mountpoint.strip("/").replace("/", "_")[:80] or "root"
    digest = hashlib.sha256(os.fsencode(mountpoint)).hexdigest()[:12]
    return f"{readable}-{digest}.log"


def write_file_in(directory_fd: int, name: str, data: bytes, mode: int = 0o644) -> None:
    fd = create_in(directory_fd, name, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def create_file(path: Path, mode: int = 0o600) -> int:
    """`path` created anew for writing (a file of ours there is replaced; a link or someone
    else's file is not followed: EEXIST).  The directory is the caller's choice."""
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return create_in(directory, path.name, mode, replace=True)
    finally:
        os.close(directory)
