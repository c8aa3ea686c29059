"""The SerenityOS machine around the simulated kernel: the root entries of SerenityOS's ProcFS
(GlobalProcessExposed.cpp, 2021-08) that describe hardware and the network rather than processes.

The simulated machine is a QEMU i440FX PC with no network card but the loopback adapter, no kernel
modules loaded and profiling off, and its files say so in SerenityOS's JSON.
"""
from __future__ import annotations

import errno

from .component import Caller, GlobalDirectory, GlobalFile, Node, ProcFSError, json_bytes

KERNEL_BASE = 0xC0000000

# (vendor, device, class, subclass): the devices QEMU's i440FX machine shows on bus 0.
PCI_DEVICES = [(0x8086, 0x1237, 0x06, 0x00),  # host bridge
               (0x8086, 0x7000, 0x06, 0x01),  # PIIX3 ISA bridge
               (0x8086, 0x7010, 0x01, 0x01),  # PIIX3 IDE
               (0x1234, 0x1111, 0x03, 0x00)]  # Bochs VGA


_dumps = json_bytes


def pci(caller: Caller) -> bytes:
    return _dumps([{"seg": 0, "bus": 0, "device": slot, "function": 0, "vendor_id": vendor, "device_id": device,
                    "revision_id": 0, "subclass": subclass, "class": klass, "subsystem_id": 0x1100,
                    "subsystem_vendor_id": 0x1AF4}
                   for slot, (vendor, device, klass, subclass) in enumerate(PCI_DEVICES)])


def profile(caller: Caller) -> bytes:
    raise ProcFSError(errno.ENOENT, "profiling is not enabled")


def kernel_base(caller: Caller) -> bytes:
    if caller.uid != 0:
        raise ProcFSError(errno.ENOENT, "kernel_base is for root only")
    return str(KERNEL_BASE).encode()


def adapters(caller: Caller) -> bytes:
    return _dumps([{"name": "loop0", "class_name": "LoopbackAdapter", "mac_address": "00:00:00:00:00:00",
                    "ipv4_address": "127.0.0.1", "ipv4_netmask": "255.0.0.0", "packets_in": 0, "bytes_in": 0,
                    "packets_out": 0, "bytes_out": 0, "link_up": True, "link_speed": 1000,
                    "link_full_duplex": True, "mtu": 65536}])


def _empty_list(caller: Caller) -> bytes:
    return b"[]"


def root_entries() -> list[Node]:
    f = GlobalFile
    return [
        f("pci", pci),
        f("modules", _empty_list, 0o400),
        f("profile", profile, 0o400),
        f("kernel_base", kernel_base, 0o400),
        GlobalDirectory("net", [f("adapters", adapters)] + [f(name, _empty_list) for name in
                                                           ("arp", "tcp", "local", "udp")]),
    ]
