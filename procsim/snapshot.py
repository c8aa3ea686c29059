"""`procsim snapshot MOUNTPOINT DIR`: the mounted tree as plain files, for tools tested without FUSE.

Files become regular files with the content a reader got, links become symlinks, and entries
whose read failed (a zombie's `environ`, for instance) are left out and listed in
DIR/.procsim-snapshot-errors.  `sim/` (the simulation's own files) and `self` (which depends on
who reads) are not copied.  A static copy cannot show errno behaviour or change over time.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

SKIP_AT_ROOT = {"sim", "self"}


def snapshot(mountpoint: str, destination: str) -> tuple[int, list[str]]:
    """Copy the tree; returns (files written, errors)."""
    source = Path(mountpoint)
    target = Path(destination)
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise FileExistsError(errno.EEXIST, f"{destination} is not empty")
    written, errors = 0, []

    def copy_dir(src: Path, dst: Path) -> None:
        nonlocal written
        try:
            entries = sorted(os.scandir(src), key=lambda e: e.name)
        except OSError as e:
            errors.append(f"{src.relative_to(source)}/: {os.strerror(e.errno or 0)}")
            return
        for entry in entries:
            if src == source and entry.name in SKIP_AT_ROOT:
                continue
            out = dst / entry.name
            try:
                if entry.is_symlink():
                    os.symlink(os.readlink(entry.path), out)
                elif entry.is_dir(follow_symlinks=False):
                    out.mkdir()
                    copy_dir(Path(entry.path), out)
                else:
                    with open(entry.path, "rb") as f:
                        out.write_bytes(f.read())
                    written += 1
            except OSError as e:
                errors.append(f"{Path(entry.path).relative_to(source)}: {os.strerror(e.errno or errno.EIO)}")

    copy_dir(source, target)
    if errors:
        (target / ".procsim-snapshot-errors").write_text("\n".join(errors) + "\n")
    return written, errors
