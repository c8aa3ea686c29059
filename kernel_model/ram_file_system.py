"""RamFileSystem: the tiny in-memory file table that inode mappings read from.

Paths are resolved only inside this table: `..` stops at `/`, and nothing ever reaches the host
file system, so `mmap file=../../etc/passwd` can only name a simulated file.
"""
from __future__ import annotations

import errno
import itertools
import posixpath

from .inode import Inode
from .kernel_error import KernelError
from .object_registry import ObjectRegistry
from .ref_counted import RefPtr, adopt_ref

DEFAULT_FILES: dict[str, bytes] = {
    "/bin/Shell": b"\x7fELF" + b"\0" * (3 * 4096),
    "/bin/SystemServer": b"\x7fELF" + b"\0" * (2 * 4096),
    "/bin/WindowServer": b"\x7fELF" + b"\0" * (5 * 4096),
    "/bin/Browser": b"\x7fELF" + b"\0" * (6 * 4096),
    "/usr/lib/libc.so": b"\x7fELF" + b"\0" * (8 * 4096),
    "/etc/passwd": b"root:x:0:0:root:/root:/bin/Shell\nanon:x:100:100:anon:/home/anon:/bin/Shell\n",
    "/home/anon/data.bin": bytes(range(256)) * 64,
}


class RamFileSystem:
    def __init__(self, registry: ObjectRegistry, files: dict[str, bytes] | None = None) -> None:
        self._registry = registry
        self._inodes: dict[str, RefPtr[Inode]] = {}
        self._next_index = itertools.count(2)  # 2: the root directory, as on ext2 and SerenityOS's Ext2FS
        for path in ("/", "/bin", "/usr", "/usr/lib", "/etc", "/home", "/home/anon", "/tmp"):
            self._add(path, b"", is_directory=True)
        for path, data in (DEFAULT_FILES if files is None else files).items():
            self.create(path, data)

    @staticmethod
    def normalize(path: str, cwd: str = "/") -> str:
        if "\0" in path or not path:
            raise KernelError(errno.EINVAL, "bad path")
        joined = posixpath.join(cwd, path)
        parts: list[str] = []
        for part in joined.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if parts:
                    parts.pop()
                continue
            parts.append(part)
        return "/" + "/".join(parts)

    def _add(self, path: str, data: bytes, **kw: object) -> Inode:
        inode = Inode(self._registry, path, data, index=next(self._next_index), **kw)  # type: ignore[arg-type]
        self._inodes[path] = adopt_ref(inode, "file table")
        return inode

    def create(self, path: str, data: bytes) -> Inode:
        path = self.normalize(path)
        old = self._inodes.pop(path, None)
        if old is not None:
            old.release()
        return self._add(path, data)

    def find(self, path: str) -> Inode | None:
        """The inode at an absolute, normalized path, or None (no exception: spawn asks often)."""
        ref = self._inodes.get(path)
        return None if ref is None else ref.get()

    def lookup(self, path: str, cwd: str = "/") -> Inode:
        ref = self._inodes.get(path) if path in self._inodes else self._inodes.get(self.normalize(path, cwd))
        if ref is None:
            raise KernelError(errno.ENOENT, f"no simulated file {path}")
        return ref.get()

