"""The like-for-like baseline: a minimal pyfuse3 (libfuse 3, inode API) filesystem of procsim's
shape, on procsim's options.

`/N/{status,stat,cmdline,environ}` for N in 1..PROCESSES, generated at open and served from a
snapshot with direct_io and st_size 0; names and attributes cached as procsim caches them (it
never needs to take one back: nothing here dies); readdirplus; one trio loop.  procsim / this =
the cost of the kernel model and the procfs layers on the same binding.
"""
import errno
import itertools
import os
import stat
import sys
import time

import pyfuse3
import trio

from minimal_fs import FILES, STAT, STATUS  # the same content as the fusepy baseline

CACHED = 300.0
TEMPLATES = {"status": STATUS, "stat": STAT, "cmdline": "worker\0--id\0{pid}\0", "environ": "HOME=/\0"}


class Minimal(pyfuse3.Operations):
    def __init__(self, processes: int) -> None:
        super().__init__()
        self.processes = processes
        self.handles: dict[int, bytes] = {}
        self.numbers = itertools.count(1)

    # inode = pid * 8 + file index + 1 (a directory is pid * 8); the root is 1 (pid 0 is none)
    def _attrs(self, ino: int) -> pyfuse3.EntryAttributes:
        attrs = pyfuse3.EntryAttributes()
        attrs.st_ino = ino
        attrs.entry_timeout = attrs.attr_timeout = CACHED
        attrs.st_mode = (stat.S_IFDIR | 0o555) if ino == pyfuse3.ROOT_INODE or ino % 8 == 0 else (stat.S_IFREG | 0o444)
        attrs.st_nlink = 1
        attrs.st_size = 0
        now = time.time_ns()
        attrs.st_atime_ns = attrs.st_mtime_ns = attrs.st_ctime_ns = now
        return attrs

    async def lookup(self, parent, name, ctx):
        text = name.decode()
        if parent == pyfuse3.ROOT_INODE:
            if text.isdigit() and 1 <= int(text) <= self.processes:
                return self._attrs(int(text) * 8)
        elif parent % 8 == 0 and text in FILES:
            return self._attrs(parent + FILES.index(text) + 1)
        raise pyfuse3.FUSEError(errno.ENOENT)

    async def getattr(self, inode, ctx):
        return self._attrs(inode)

    async def opendir(self, inode, ctx):
        return inode

    async def readdir(self, fh, start_id, token):
        if fh == pyfuse3.ROOT_INODE:
            entries = [(str(pid).encode(), pid * 8) for pid in range(1, self.processes + 1)]
        else:
            entries = [(name.encode(), fh + i + 1) for i, name in enumerate(FILES)]
        for index in range(start_id, len(entries)):
            name, ino = entries[index]
            if not pyfuse3.readdir_reply(token, name, self._attrs(ino), index + 1):
                return

    async def open(self, inode, flags, ctx):
        pid, index = divmod(inode, 8)
        fh = next(self.numbers)
        self.handles[fh] = TEMPLATES[FILES[index - 1]].format(pid=pid).encode()
        return pyfuse3.FileInfo(fh=fh, direct_io=True)

    async def read(self, fh, off, size):
        return self.handles[fh][off:off + size]

    async def release(self, fh):
        self.handles.pop(fh, None)


def main(mountpoint: str, processes: int) -> None:
    pyfuse3.init(Minimal(processes), mountpoint, set(pyfuse3.default_options) | {"fsname=procsim-bench-pyfuse3",
                                                                                 "auto_unmount"})
    try:
        trio.run(pyfuse3.main)
    finally:
        pyfuse3.close(unmount=True)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main(sys.argv[1], int(sys.argv[2]))
