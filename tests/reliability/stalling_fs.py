"""A file system of one file, `slow`, whose reads wait until a release file exists (60 s at most):
what an adversary maps under a buffer, so that a system call writing into that buffer stalls
inside the kernel for as long as the adversary likes.  Usage: stalling_fs.py MOUNTPOINT RELEASE.
It prints "read" when a read has begun (the stall is on)."""
import errno
import os
import stat
import sys
import time

from fuse import FUSE, FuseOSError, Operations

SIZE = 1 << 20


class Stalling(Operations):
    def __init__(self, release: str) -> None:
        self.release_file = release

    def getattr(self, path, fh=None):
        if path == "/":
            return {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2}
        if path == "/slow":
            return {"st_mode": stat.S_IFREG | 0o666, "st_nlink": 1, "st_size": SIZE}
        raise FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        return [".", "..", "slow"]

    def open(self, path, flags):
        return 0

    def read(self, path, size, offset, fh):
        print("read", flush=True)
        deadline = time.monotonic() + 60
        while not os.path.exists(self.release_file) and time.monotonic() < deadline:
            time.sleep(0.01)
        return bytes(size)

    def write(self, path, data, offset, fh):
        return len(data)


if __name__ == "__main__":
    FUSE(Stalling(sys.argv[2]), sys.argv[1], foreground=True, nothreads=False, auto_unmount=True)
