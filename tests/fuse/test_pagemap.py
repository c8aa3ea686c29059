"""/PID/pagemap through a mount, decoded as Linux documents it (admin-guide/mm/pagemap.rst):
the lazy, touched, COW-shared and shared-mapping states of the model's pages, where Linux tools
look for them."""
from __future__ import annotations

import errno
import os
import struct

import pytest

PRESENT, FILE_OR_SHARED, EXCLUSIVE = 1 << 63, 1 << 61, 1 << 56
PAGE = 4096


def entries(path: str, address: int, pages: int) -> list[int]:
    """The pagemap entries of `pages` pages from `address`, as a reader decodes them."""
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.pread(fd, pages * 8, address // PAGE * 8)
    finally:
        os.close(fd)
    return list(struct.unpack(f"<{pages}Q", data))


def flags(entry: int) -> str:
    return "".join(letter for bit, letter in ((PRESENT, "p"), (FILE_OR_SHARED, "f"), (EXCLUSIVE, "x"))
                   if entry & bit) or "-"


def test_pagemap_shows_lazy_touched_cow_and_shared_pages(mount_system):
    mounted = mount_system(scenario="empty", personality="linux", extra_args=["--paused"])
    parent = mounted.spawn("parent", ppid=0)
    private = int(mounted.ctl(f"mmap {parent} {8 * PAGE} private"), 0)
    shared = int(mounted.ctl(f"mmap {parent} {4 * PAGE} shared"), 0)
    mounted.ctl(f"write {parent} {private} {3 * PAGE}")
    mounted.ctl(f"write {parent} {shared} {PAGE}")
    pagemap = f"{mounted.path}/{parent}/pagemap"
    # written pages are present and the parent's alone; the others were never touched (lazy)
    assert [flags(e) for e in entries(pagemap, private, 8)] == ["px"] * 3 + ["-"] * 5
    assert [flags(e) for e in entries(pagemap, shared, 4)] == ["pfx"] + ["-"] * 3
    assert all(e & ((1 << 55) - 1) == 0 for e in entries(pagemap, private, 8))  # no frame numbers

    child = int(mounted.ctl(f"fork {parent}"))
    child_map = f"{mounted.path}/{child}/pagemap"
    # after the fork both share the written pages copy-on-write, and the shared mapping
    for path in (pagemap, child_map):
        assert [flags(e) for e in entries(path, private, 4)] == ["p", "p", "p", "-"]
        assert flags(entries(path, shared, 1)[0]) == "pf"
    mounted.ctl(f"write {child} {private + PAGE} {PAGE}")  # the child's own copy now
    assert [flags(e) for e in entries(child_map, private, 3)] == ["p", "px", "p"]

    # whole entries only, and nothing past the address space
    fd = os.open(pagemap, os.O_RDONLY)
    try:
        with pytest.raises(OSError) as refused:
            os.pread(fd, 7, 0)
        assert refused.value.errno == errno.EINVAL
        assert os.pread(fd, 8, (0x7FFFFFFFF000 >> 12) * 8) == b""
    finally:
        os.close(fd)


def test_pagemap_is_the_owners_alone(public_mount_system):
    """Mode 0400, and like maps, readable only by who may ptrace the process (root or its user)."""
    mounted = public_mount_system(scenario="empty", personality="linux", extra_args=["--paused", "--allow-other"])
    pid = mounted.spawn("Shell", ppid=0, uid=100, gid=100)
    directory = mounted.path / str(pid)
    assert oct((directory / "pagemap").stat().st_mode & 0o777) == "0o400"

    def open_as(uid: int, name: str) -> int:
        child = os.fork()
        if child == 0:
            os.setgid(uid)
            os.setuid(uid)
            try:
                os.close(os.open(directory / name, os.O_RDONLY))
            except OSError as e:
                os._exit(e.errno or 1)
            os._exit(0)
        return os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])

    assert open_as(65534, "status") == 0  # (another user reaches the mount)
    assert open_as(65534, "pagemap") == errno.EACCES
    assert open_as(100, "pagemap") == 0


def test_pmap_and_pagemap_agree_with_the_models_regions(mount_system):
    """`pmap -X` (procps, from smaps) and a pagemap decoder show, for every mapping of every live
    process, the size and resident pages the model's regions hold (/PID/vm)."""
    import json
    import re
    import shutil

    from ..conftest import in_namespace, require_tool
    require_tool("pmap", "procps")
    assert shutil.which("pmap")
    mounted = mount_system(scenario="default", personality="linux", extra_args=["--paused"])
    pids = sorted(int(name) for name in os.listdir(mounted.path) if name.isdigit()
                  and (mounted.path / name / "vm").read_bytes() != b"[]")
    assert len(pids) >= 3
    out = in_namespace(mounted, " ".join(f"pmap -X {pid};" for pid in pids)).stdout
    tables = re.split(r"^\d+: ", out, flags=re.M)[1:]
    assert len(tables) == len(pids)
    for pid, table in zip(pids, tables, strict=True):
        regions = {r["address"]: r for r in json.loads((mounted.path / str(pid) / "vm").read_text())}
        header, *rows = table.splitlines()[1:]
        columns = header.split()
        seen = {}
        for row in rows:
            fields = row.split()
            if len(fields) < 2 or not re.fullmatch(r"[r-][w-][x-][ps]", fields[1]):
                continue  # the separator and the totals
            values = dict(zip(columns, fields, strict=False))
            seen[int(values["Address"], 16)] = (int(values["Size"]), int(values["Rss"]))
        expected = {address: (r["size"] // 1024, r["amount_resident"] // 1024) for address, r in regions.items()}
        assert seen == expected, pid
        for address, r in regions.items():
            present = [bool(e & PRESENT) for e in entries(f"{mounted.path}/{pid}/pagemap", address, r["size"] // PAGE)]
            assert sum(present) * PAGE == r["amount_resident"], (pid, r["name"])


def test_mem_reads_mapped_addresses_and_fails_elsewhere(mount_system):
    """mem: 0600; a mapped address reads (zeros: the model keeps no contents), an address no
    region maps fails with EIO, as on Linux; a zombie's is ESRCH at open."""
    mounted = mount_system(scenario="empty", personality="linux", extra_args=["--paused"])
    parent = mounted.spawn("parent", ppid=0)
    pid = mounted.spawn("reader", ppid=parent)
    base = int(mounted.ctl(f"mmap {pid} {2 * PAGE} private"), 0)
    path = f"{mounted.path}/{pid}/mem"
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    fd = os.open(path, os.O_RDONLY)
    try:
        assert os.pread(fd, 3 * PAGE, base) == bytes(2 * PAGE)  # the read ends where the mapping does
        with pytest.raises(OSError) as e:
            os.pread(fd, PAGE, base + 64 * PAGE)
        assert e.value.errno == errno.EIO
    finally:
        os.close(fd)
    mounted.ctl(f"kill {pid} 9")  # a zombie until its parent reaps it
    with pytest.raises(OSError) as e:
        os.open(path, os.O_RDONLY)
    assert e.value.errno == errno.ESRCH
