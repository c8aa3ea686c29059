"""`procsim snapshot MOUNTPOINT DIR`: the mounted tree as plain files, for tools tested without FUSE.

Files become regular files with the content a reader got, links become symlinks, and entries
whose read failed (a zombie's `environ`, for instance) are left out and listed in
DIR/.procsim-snapshot-errors.  `sim/` (the simulation's own files) and `self` (which depends on
who reads) are not copied.  `net`, under linux a link to `self/net` as on Linux, is copied as the
directory it leads to: the machine has one network namespace, whoever reads.  A static copy
cannot show errno behaviour or change over time.

DIR may belong to another user, who can plant links in it while the copy runs.  Every write
goes through a directory file descriptor and creates its name with O_EXCL | O_NOFOLLOW
(procsim/safe_files.py): a planted name is an error in the list, never a link that root follows.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

from ..safe_files import OPEN_DIRECTORY, write_file_in

SKIP_AT_ROOT = {"sim", "self"}
FOLLOWED_AT_ROOT = {"net"}  # a link into `self`, which is not copied: copied as its directory
ERRORS = ".procsim-snapshot-errors"


def snapshot(mountpoint: str, destination: str) -> tuple[int, list[str]]:
    """Copy the tree; returns (files written, errors)."""
    source = Path(mountpoint)
    target = Path(destination)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(target, 0o755)
    except FileExistsError:
        pass
    try:
        root_fd = os.open(target, OPEN_DIRECTORY)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):
            raise NotADirectoryError(e.errno, f"{destination} is not a directory (a link is not followed)") from None
        raise
    written, errors = 0, []

    def copy_dir(src: Path, dst_fd: int) -> None:
        nonlocal written
        try:
            entries = sorted(os.scandir(src), key=lambda e: e.name)
        except OSError as e:
            errors.append(f"{src.relative_to(source)}/: {os.strerror(e.errno or 0)}")
            return
        for entry in entries:
            if src == source and entry.name in SKIP_AT_ROOT:
                continue
            followed = src == source and entry.name in FOLLOWED_AT_ROOT
            try:
                if entry.is_symlink() and not followed:
                    os.symlink(os.readlink(entry.path), entry.name, dir_fd=dst_fd)
                elif entry.is_dir(follow_symlinks=followed):
                    os.mkdir(entry.name, 0o755, dir_fd=dst_fd)
                    child_fd = os.open(entry.name, OPEN_DIRECTORY, dir_fd=dst_fd)
                    try:
                        copy_dir(Path(entry.path), child_fd)
                    finally:
                        os.close(child_fd)
                else:
                    with open(entry.path, "rb") as f:
                        content = f.read()
                    write_file_in(dst_fd, entry.name, content)
                    written += 1
            except OSError as e:
                errors.append(f"{Path(entry.path).relative_to(source)}: {os.strerror(e.errno or errno.EIO)}")

    try:
        if os.listdir(root_fd):
            raise FileExistsError(errno.EEXIST, f"{destination} is not empty")
        copy_dir(source, root_fd)
        if errors:
            write_file_in(root_fd, ERRORS, ("\n".join(errors) + "\n").encode())
    finally:
        os.close(root_fd)
    return written, errors
