"""A process that holds handles into BASE/PID and reports what every access route answers.

Run as `python handle_probe.py`; it reads one command per line on stdin and answers one JSON line:
- `hold BASE PID NAMES...`: open a dir fd on BASE/PID, chdir into it, and for every regular file
  in NAMES open one fd per later state (first read after) and one fd read now (re-read later);
- `observe STATE [holding]`: what each route answers now (`holding`: this process's routes too);
- `fresh BASE PID NAME:KIND...`: only the fresh-path route (the test runs it in a process that
  holds nothing; KIND is reg, dir or lnk, as `hold` answered).
Observations are shapes, never values: errno names, file type, mode, owner (root or not), field
counts and emptiness.  The same probe runs against the host's /proc and the mount.
"""
from __future__ import annotations

import errno
import json
import os
import stat
import sys
from typing import Any, Callable

STATES = ("running", "zombie", "reaped")
STATUS_KEYS = ("Name", "State", "Pid", "PPid", "Uid", "Gid", "Umask", "VmRSS", "Threads", "FDSize")


def attempt(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except OSError as e:
        return f"E{errno.errorcode.get(e.errno, e.errno)}"


def stat_shape(st: os.stat_result) -> list:
    return [stat.S_IFMT(st.st_mode), oct(stat.S_IMODE(st.st_mode)), "root" if st.st_uid == 0 else "user"]


def content_shape(name: str, data: bytes) -> Any:
    if not data:
        return "empty"
    if name in ("stat", "statm"):
        return len(data.split())  # field counts (a comm with spaces would break this; ours have none)
    if name == "status":
        keys = {line.split(b":")[0].decode() for line in data.splitlines()}
        return [k for k in STATUS_KEYS if k in keys]
    if name == "io":
        return len(data.splitlines())
    return "nonempty"


#: Files as big as the address space: read from offset 0 once, never to the end.
ONE_CHUNK = {"pagemap", "mem"}


def read_all(fd: int, name: str = "") -> bytes:
    if name.rpartition("/")[2] in ONE_CHUNK:
        return os.read(fd, 4096)
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def read_path(name: str, path: str, dir_fd: int | None = None) -> Any:
    fd = os.open(path, os.O_RDONLY, dir_fd=dir_fd)
    try:
        return content_shape(name, read_all(fd, name))
    finally:
        os.close(fd)


def list_path(path: str, dir_fd: int | None = None) -> Any:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY, dir_fd=dir_fd)
    try:
        return "empty" if not os.listdir(fd) else "nonempty"
    finally:
        os.close(fd)


def entry_routes(name: str, path: str, kind: str, dir_fd: int | None = None) -> dict:
    """stat, and by kind: read, list or readlink -- of `path` (relative to `dir_fd` if given)."""
    result = {"stat": attempt(lambda: stat_shape(os.stat(path, dir_fd=dir_fd, follow_symlinks=False)))}
    if kind in ("reg", "absent"):
        result["read"] = attempt(lambda: read_path(name, path, dir_fd))
    elif kind == "dir":
        result["list"] = attempt(lambda: list_path(path, dir_fd))
    else:
        result["readlink"] = attempt(lambda: bool(os.readlink(path, dir_fd=dir_fd)))
    return result


def kind_of(path: str) -> str:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "absent"  # a name the directory never had: probed like a file
    return "dir" if stat.S_ISDIR(mode) else "lnk" if stat.S_ISLNK(mode) else "reg"


class Probe:
    def __init__(self) -> None:
        self.base = ""
        self.pid = ""
        self.kinds: dict[str, str] = {}
        self.dir_fd = -1
        self.unread: dict[tuple[str, str], int] = {}  # (state, name) -> fd opened while running
        self.reread: dict[str, int] = {}              # name -> fd read once while running
        self.subdir_fds: dict[str, int] = {}          # fd/, task/ ... held open as directories

    def hold(self, base: str, pid: str, names: list[str]) -> dict:
        self.base, self.pid = base, pid
        directory = f"{base}/{pid}"
        self.kinds = {name: kind_of(f"{directory}/{name}") for name in names}
        self.dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        self.subdir_fds = {name: os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=self.dir_fd)
                           for name, kind in self.kinds.items() if kind == "dir"}
        os.chdir(directory)
        for name, kind in self.kinds.items():
            if kind != "reg":
                continue
            for state in STATES[1:]:
                self.unread[(state, name)] = os.open(name, os.O_RDONLY)
            fd = self.reread[name] = os.open(name, os.O_RDONLY)
            attempt(lambda fd=fd, name=name: read_all(fd, name))  # mem at 0: EIO; clear_refs: EINVAL
        return {"kinds": self.kinds}

    def fresh(self, base: str, pid: str, names: list[str], kinds: dict[str, str]) -> dict:
        result: dict[str, Any] = {"/PID": entry_routes("", f"{base}/{pid}", "dir")}
        for name in names:
            result[name] = entry_routes(name, f"{base}/{pid}/{name}", kinds[name])
        return result

    def observe(self, state: str) -> dict:
        routes: dict[str, Any] = {
            "fresh path, holder": self.fresh(self.base, self.pid, list(self.kinds), self.kinds),
            "held dir fd": {"fstat": attempt(lambda: stat_shape(os.fstat(self.dir_fd))),
                            "listdir": attempt(lambda: "empty" if not os.listdir(self.dir_fd) else "nonempty")},
            "cwd": {".": {"stat": attempt(lambda: stat_shape(os.stat("."))),
                          "list": attempt(lambda: list_path("."))}},
            "openat(dirfd)": {}, "file opened before, first read now": {}, "file re-read from offset 0": {},
            "fstat of held file": {},
            "held subdirectory fd": {
                name: {"fstat": attempt(lambda fd=fd: stat_shape(os.fstat(fd))),
                       "listdir": attempt(lambda fd=fd: "empty" if not os.listdir(fd) else "nonempty")}
                for name, fd in self.subdir_fds.items()},
        }
        for name, kind in self.kinds.items():
            routes["openat(dirfd)"][name] = entry_routes(name, name, kind, self.dir_fd)
            routes["cwd"][name] = entry_routes(name, name, kind)
            if kind != "reg":
                continue
            if state != "running":
                fd = self.unread[(state, name)]
                routes["file opened before, first read now"][name] = attempt(lambda: content_shape(name, read_all(fd, name)))
            reread = self.reread[name]
            routes["fstat of held file"][name] = attempt(lambda: stat_shape(os.fstat(reread)))

            def again(fd: int = reread, name: str = name) -> Any:
                os.lseek(fd, 0, os.SEEK_SET)
                return content_shape(name, read_all(fd, name))
            routes["file re-read from offset 0"][name] = attempt(again)
        return routes


def main() -> None:
    probe = Probe()
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "hold":
            answer = probe.hold(words[1], words[2], words[3:])
        elif words[0] == "observe":
            answer = probe.observe(words[1])
        elif words[0] == "fresh":
            kinds = dict(word.split(":") for word in words[3:])
            answer = probe.fresh(words[1], words[2], list(kinds), kinds)
        else:
            break
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
