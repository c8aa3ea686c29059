"""The simulated machine's disks and network interfaces, named after the host's.

Readers cross-check /proc with the host kernel's other interfaces: psutil keeps a disk of
/proc/diskstats only if /sys/block knows it, and asks the host's ioctls about every interface
of /proc/net/dev; `vmstat -d` does the same.  A device only the mount knows is dropped or makes
them fail, so the simulated machine has the host's devices, each with the model's own counters
(idle: the model does no disk or network I/O).

Only the names and device numbers are read, from sysfs, which only the kernel writes; a name
that is not a plain device name is left out, so nothing a name holds reaches a reader.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,32}\Z")
_DEVICE_NUMBER = re.compile(r"(\d{1,4}):(\d{1,7})\Z")


@dataclass(frozen=True, slots=True)
class Disk:
    name: str
    major: int
    minor: int
    sectors: int  # 512-byte sectors, as /sys/block/NAME/size counts


@dataclass(frozen=True, slots=True)
class MachineDevices:
    disks: tuple[Disk, ...]
    interfaces: tuple[str, ...]  # `lo` first, as Linux lists it
    block_majors: tuple[tuple[int, str], ...]  # /proc/devices' block drivers
    # net/if_inet6's rows: the interfaces' IPv6 addresses, which readers compare with getifaddrs()
    ipv6_rows: tuple[str, ...] = ("00000000000000000000000000000001 01 80 10 80       lo",)

    @classmethod
    def of_host(cls, sys_root: str = "/sys", proc: str = "/proc") -> "MachineDevices":
        """The host's whole disks (not partitions) and interfaces; the defaults where sysfs has none."""
        disks = []
        for name in _listing(f"{sys_root}/block"):
            number = _DEVICE_NUMBER.match(_first_line(f"{sys_root}/block/{name}/dev"))
            size = _first_line(f"{sys_root}/block/{name}/size")
            if number and size.isdigit():
                disks.append(Disk(name, int(number[1]), int(number[2]), int(size)))
        interfaces = _listing(f"{sys_root}/class/net")
        interfaces = ["lo"] + [name for name in interfaces if name != "lo"]
        disks.sort(key=lambda disk: (disk.major, disk.minor))
        ipv6 = _ipv6_rows(f"{proc}/net/if_inet6", set(interfaces)) or DEFAULT.ipv6_rows
        if not disks:
            return cls(DEFAULT.disks, tuple(interfaces), DEFAULT.block_majors, ipv6)
        return cls(tuple(disks), tuple(interfaces), _block_majors(f"{proc}/devices", disks), ipv6)


def _listing(path: str) -> list[str]:
    try:
        return sorted(name for name in os.listdir(path) if _NAME.match(name))
    except OSError:
        return []


def _block_majors(proc_devices: str, disks: list[Disk]) -> tuple[tuple[int, str], ...]:
    """The block drivers of the disks' majors, by the host's /proc/devices (else the disk's name
    without its number): what the mount's /proc/devices lists under "Block devices"."""
    named: dict[int, str] = {}
    try:
        with open(proc_devices, encoding="ascii", errors="replace") as f:
            text = f.read(65536)
        for line in text.partition("Block devices:")[2].splitlines():
            number, _, name = line.strip().partition(" ")
            if number.isdigit() and _NAME.match(name):
                named[int(number)] = name
    except OSError:
        pass
    majors = {disk.major: named.get(disk.major, disk.name.rstrip("0123456789") or disk.name) for disk in disks}
    return tuple(sorted(majors.items()))


_IPV6_ROW = re.compile(r"[0-9a-f]{32} [0-9a-f]{2,8} [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2} +([A-Za-z0-9_.:-]{1,32})\Z")


def _ipv6_rows(path: str, interfaces: set[str]) -> tuple[str, ...]:
    """The host's if_inet6 rows of the machine's interfaces (the shape checked, nothing else kept)."""
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            lines = f.read(65536).splitlines()
    except OSError:
        return ()
    return tuple(line for line in lines if (m := _IPV6_ROW.match(line)) and m[1] in interfaces)


def _first_line(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.readline(64).strip()
    except OSError:
        return ""


#: A machine without sysfs (and the unit tests'): one idle RAM disk, the loopback interface.
DEFAULT = MachineDevices((Disk("ram0", 1, 0, 32768),), ("lo",), ((1, "ramdisk"),))
