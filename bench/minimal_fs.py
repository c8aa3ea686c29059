"""The peer baseline: the minimal fusepy (libfuse 2, path API) filesystem a user would write.

`/N/status` for N in 1..PROCESSES, each ~1 KiB generated at open and served from a snapshot with
direct_io, st_size 0, single-threaded, attributes cached 0.1 s and names never (a path API cannot
take a cached name back), no-op callbacks unregistered -- what procsim did before it moved to
libfuse 3's inode API, minus the kernel model.
"""
import errno
import sys
import time

from fuse import FUSE, FuseOSError, Operations

FUSE_OPTIONS = dict(foreground=True, nothreads=True, raw_fi=True, default_permissions=True, auto_unmount=True,
                    attr_timeout=0.1, entry_timeout=0, negative_timeout=0)

STAT = "{pid} (worker) S 1 {pid} {pid} 0 -1 4194304" + " 0" * 43 + "\n"
FILES = ("status", "stat", "cmdline", "environ")
STATUS = ("Name:\tworker\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\nPPid:\t1\n"
          "TracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t\n" + "X:\t0\n" * 40)


class Minimal(Operations):
    use_ns = True
    flush = fsync = fsyncdir = access = utimens = setxattr = removexattr = None

    def __init__(self, processes):
        self.pids = {str(p) for p in range(1, processes + 1)}
        self.handles = {}
        self.next = 1

    def _check(self, path):
        parts = path[1:].split("/")
        if path == "/" or (len(parts) == 1 and parts[0] in self.pids):
            return 0o040555
        if len(parts) == 2 and parts[0] in self.pids and parts[1] in FILES:
            return 0o100444
        raise FuseOSError(errno.ENOENT)

    def getattr(self, path, fh=None):
        now = time.time_ns()
        return {"st_mode": self._check(path), "st_nlink": 1, "st_uid": 0, "st_gid": 0, "st_size": 0,
                "st_atime": now, "st_mtime": now, "st_ctime": now}

    def readdir(self, path, fh):
        if path == "/":
            return [".", ".."] + [(p, {"st_mode": 0o040555}, 0) for p in sorted(self.pids, key=int)]
        return [".", ".."] + [(name, {"st_mode": 0o100444}, 0) for name in FILES]

    def open(self, path, fi):
        self._check(path)
        fh = self.next
        self.next += 1
        pid, name = path.split("/")[1:3]
        template = {"status": STATUS, "stat": STAT, "cmdline": "worker\0--id\0{pid}\0", "environ": "HOME=/\0"}[name]
        self.handles[fh] = template.format(pid=pid).encode()
        fi.fh = fh
        fi.direct_io = 1
        return 0

    def read(self, path, size, offset, fi):
        return self.handles[fi.fh][offset:offset + size]

    def release(self, path, fi):
        self.handles.pop(fi.fh, None)
        return 0


if __name__ == "__main__":
    FUSE(Minimal(int(sys.argv[2])), sys.argv[1], **FUSE_OPTIONS, fsname="procsim-bench-minimal")
