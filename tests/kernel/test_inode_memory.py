"""Inode VM objects: one shared object per inode while mapped, fresh private ones (serenity.md C)."""
import errno

import pytest

from kernel_model import Kernel, KernelError, mman
from kernel_model.shared_inode_vm_object import SharedInodeVMObject

PAGE = 4096
SHARED = mman.MAP_SHARED
PRIVATE = mman.MAP_PRIVATE
R = mman.PROT_READ


def region_at(kernel, pid, addr):
    return kernel.process(pid).space.find(addr)


def test_shared_mappings_of_one_inode_share_one_object_while_any_mapping_lives():
    kernel = Kernel(1 << 22)
    a, b = kernel.spawn("Shell"), kernel.spawn("Shell")
    fa, fb = kernel.open(a, "/home/anon/data.bin"), kernel.open(b, "/home/anon/data.bin")
    x = kernel.mmap(a, 4 * PAGE, R, SHARED, fd=fa)
    y = kernel.mmap(b, 4 * PAGE, R, SHARED, fd=fb)
    obj = region_at(kernel, a, x).vmobject
    assert isinstance(obj, SharedInodeVMObject) and region_at(kernel, b, y).vmobject is obj
    kernel.access(a, x, PAGE)  # an inode fault in one process is visible in the other
    assert region_at(kernel, b, y).pagemap() == "PNNN"
    kernel.munmap(a, x, 4 * PAGE)
    kernel.munmap(b, y, 4 * PAGE)
    assert obj.is_destroyed
    z = kernel.mmap(a, 4 * PAGE, R, SHARED, fd=fa)
    assert region_at(kernel, a, z).vmobject is not obj
    kernel.check_invariants()


def test_the_inode_weak_pointer_refuses_the_object_while_it_is_being_destroyed():
    kernel = Kernel(1 << 22)
    pid = kernel.spawn("Shell")
    fd = kernel.open(pid, "/home/anon/data.bin")
    addr = kernel.mmap(pid, 4 * PAGE, R, SHARED, fd=fd)
    obj = region_at(kernel, pid, addr).vmobject
    inode = obj.inode
    seen = {}

    def probe():
        seen["strong"] = inode.shared_vmobject.strong_ref("probe")
        seen["unsafe"] = inode.shared_vmobject.unsafe_ptr()

    obj.will_be_destroyed = probe
    kernel.munmap(pid, addr, 4 * PAGE)
    assert seen["strong"] is None and seen["unsafe"] is obj  # #4621: no assertion could be made here


def test_private_file_mappings_are_always_fresh_objects():
    kernel = Kernel(1 << 22)
    pid = kernel.spawn("Shell")
    fd = kernel.open(pid, "/home/anon/data.bin")
    x = kernel.mmap(pid, 4 * PAGE, R, PRIVATE, fd=fd)
    y = kernel.mmap(pid, 4 * PAGE, R, PRIVATE, fd=fd)
    assert region_at(kernel, pid, x).vmobject is not region_at(kernel, pid, y).vmobject
    assert region_at(kernel, pid, x).vmobject.class_name == "PrivateInodeVMObject"


def test_inode_faults_load_pages_from_the_uncommitted_pool_and_are_counted():
    kernel = Kernel(1 << 22)
    pid = kernel.spawn("Shell")
    fd = kernel.open(pid, "/home/anon/data.bin")
    addr = kernel.mmap(pid, 4 * PAGE, R, PRIVATE, fd=fd)
    committed = kernel.mm.committed
    result = kernel.access(pid, addr, 3 * PAGE)
    assert result.inode_faults == 3 and kernel.mm.committed == committed
    assert kernel.process(pid).counters.inode_faults == 3
    assert kernel.access(pid, addr, 3 * PAGE).inode_faults == 0


def test_file_mappings_name_only_simulated_files():
    kernel = Kernel(1 << 22)
    pid = kernel.spawn("Shell")
    for path in ("/etc/shadow", "../../etc/shadow", "/proc/self/mem"):
        with pytest.raises(KernelError) as e:
            kernel.open(pid, path)
        assert e.value.errno == errno.ENOENT
    # '..' stops at the simulated root: this names the simulated /etc/passwd
    fd = kernel.open(pid, "../../../etc/passwd")
    assert kernel.process(pid).fds[fd].description.absolute_path == "/etc/passwd"


def test_mapping_a_directory_is_enodev_and_a_bad_fd_is_ebadf():
    kernel = Kernel(1 << 22)
    pid = kernel.spawn("Shell")
    fd = kernel.open(pid, "/etc")
    for kwargs, err in (({"fd": fd}, errno.ENODEV), ({"fd": 77}, errno.EBADF), ({"fd": 0}, errno.ENODEV)):
        with pytest.raises(KernelError) as e:
            kernel.mmap(pid, PAGE, R, PRIVATE, **kwargs)
        assert e.value.errno == err
