"""The root of a linux-personality mount against the host's own /proc, in the same test: which
entries there are, and for each that both have, its type, mode, owner, the errno of an open and a
read (as root and as another user), and the keys of the files readers look keys up in.  Never
values: those are the simulated machine's."""
from __future__ import annotations

import errno
import json
import os
import re
import stat
from pathlib import Path

import pytest

NOBODY = 65534
#: The host's root entries the simulated machine does not have, each for its reason
#: (docs/linux-readers.md lists them).
LEFT_OUT = {
    "acpi": "firmware tables: the simulated machine has no firmware",
    "bus": "buses (PCI, USB, input): the model has no hardware",
    "driver": "hardware drivers' files",
    "mtrr": "x86 memory type range registers: hardware",
    "config.gz": "optional on Linux too (CONFIG_IKCONFIG_PROC)",
    "kpagecount": "indexed by page frame number: the model's PFNs are identities that are never reused",
    "kpageflags": "indexed by page frame number, as kpagecount",
    "kpagecgroup": "indexed by page frame number, as kpagecount",
    "program_cpu": "not a Linux entry: a module of this host's",
}
#: Directories whose every entry the host has, the mount has too.
COMPLETE = ["sys/vm", "sys/user", "sys/abi", "sys/debug", "sys/dev/tty", "sysvipc", "pressure"]
#: Directories of the host whose entries depend on its hardware, modules and configuration: only
#: the entries both have are compared (irq/N: the IRQ numbers are the hardware's).
COMMON_ONLY = ["sys", "sys/kernel", "sys/kernel/random", "sys/fs", "sys/net", "net", "net/stat", "tty", "fs",
               "irq"]
#: Files readers look keys up in, and how to find a file's keys.
KEYED = {
    "meminfo": lambda text: [line.split(":")[0] for line in text.splitlines()],
    "vmstat": lambda text: [line.split()[0] for line in text.splitlines()],
    "cpuinfo": lambda text: [line.split(":")[0].strip() for line in text.split("\n\n")[0].splitlines()],
    "stat": lambda text: [w for w in (line.split()[0] for line in text.splitlines() if line.strip())
                          if not re.fullmatch(r"cpu\d+", w)],
    # IcmpMsg lists only the ICMP types seen so far: none on the idle simulated machine
    "net/snmp": lambda text: [f"{line.split(':')[0]}.{key}" for line in text.splitlines()[::2]
                              for key in line.split()[1:] if not line.startswith("IcmpMsg")],
    "net/netstat": lambda text: [f"{line.split(':')[0]}.{key}" for line in text.splitlines()[::2]
                                 for key in line.split()[1:]],
    "sys/kernel/random/uuid": lambda text: [re.sub(r"[0-9a-f]", "x", text)],
}
#: Files whose open has side effects or whose read may block on the host: opened, never read.
NOT_READ = {"kmsg"}

PROBE = r'''
import json, os, sys
base, names, no_read = sys.argv[1], json.loads(sys.argv[2]), set(json.loads(sys.argv[3]))
out = {}
for name in names:
    try:
        fd = os.open(os.path.join(base, name), os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        out[name] = ["open", e.errno]
        continue
    try:
        if name in no_read or os.path.isdir(os.path.join(base, name)):
            out[name] = ["ok"]
        else:
            os.read(fd, 65536)
            out[name] = ["ok"]
    except OSError as e:
        out[name] = ["read", e.errno]
    finally:
        os.close(fd)
print(json.dumps(out))
'''


def walk(base: Path) -> dict[str, tuple[int, str, int, int]]:
    """Every entry of the root and of the directories compared, with its type, mode and owner."""
    found: dict[str, tuple[int, str, int, int]] = {}

    def visit(relative: str, depth: int) -> None:
        for name in os.listdir(base / relative) if relative else os.listdir(base):
            path = f"{relative}/{name}" if relative else name
            if not relative and (name.isdigit() or name in ("self", "thread-self")):
                continue
            st = os.lstat(base / path)
            found[path] = (stat.S_IFMT(st.st_mode), oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid)
            if (stat.S_ISDIR(st.st_mode) or path == "net") and (path in COMPLETE or path in COMMON_ONLY or depth < 1
                                             or path.startswith("sys/dev/") or path.startswith("irq/")):
                if path.startswith("irq/") and path != "irq/default_smp_affinity":
                    continue
                visit(path, depth + 1)
    visit("", 0)
    return found


def opened(base: Path, names: list[str], uid: int = 0) -> dict[str, list]:
    """What an open (and a read) of each name answers, as `uid`."""
    import subprocess
    argv = ["/usr/bin/python3", "-c", PROBE, str(base), json.dumps(names), json.dumps(sorted(NOT_READ))]
    kwargs = {"user": uid, "group": uid, "extra_groups": []} if uid else {}
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def parent_of(path: str) -> str:
    return path.rpartition("/")[0]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the host's /proc is read as root and as nobody")
def test_the_root_answers_as_the_hosts_proc(public_mount_system):
    mounted = public_mount_system(scenario="default", personality="linux", extra_args=["--paused", "--allow-other"])
    host, mount = walk(Path("/proc")), walk(mounted.path)
    # presence: every entry of the host's root, and of the complete directories
    missing = {path for path in host.keys() - mount.keys()
               if ("/" not in path and path not in LEFT_OUT) or parent_of(path) in COMPLETE}
    assert missing == set(), sorted(missing)
    common = sorted((host.keys() & mount.keys()) - {"irq/" + n for n in os.listdir("/proc/irq") if n.isdigit()})
    assert {"meminfo", "vmstat", "kmsg", "consoles", "crypto", "misc", "sys/vm/overcommit_memory",
            "sys/kernel/random/uuid", "devices", "diskstats", "net/dev", "iomem", "sysvipc/shm"} <= set(common)
    differences = {}
    # type, mode and owner
    for path in common:
        if host[path] != mount[path]:
            differences[f"{path}: type, mode, owner"] = (host[path], mount[path])
    # the errno of an open and a read, as root and as another user
    files = [path for path in common if not stat.S_ISLNK(host[path][0]) or path == "net"]
    for uid in (0, NOBODY):
        on_host, on_mount = opened(Path("/proc"), files, uid), opened(mounted.path, files, uid)
        for path in files:
            if on_host[path] != on_mount[path]:
                differences[f"{path}: open/read as uid {uid}"] = (on_host[path], on_mount[path])
    # keys
    for path, keys_of in KEYED.items():
        keys_on_host = keys_of(Path("/proc", path).read_text())
        keys_on_mount = keys_of((mounted.path / path).read_text())
        if not set(keys_on_host) <= set(keys_on_mount):
            differences[f"{path}: keys"] = (sorted(set(keys_on_host) - set(keys_on_mount)), "missing")
    assert differences == {}, "\n".join(f"{k}: Linux {a!r}, procsim {b!r}" for k, (a, b) in sorted(differences.items()))
    # and the comparison is not vacuous: the states differ between users on the host
    assert opened(Path("/proc"), ["kmsg"], NOBODY)["kmsg"] == ["open", errno.EACCES]
