"""What /proc calls shared: a page another holder also has, whatever the mapping's flags say."""
from kernel_model import Kernel, mman

PAGE = 4096
SHARED_ANON = mman.MAP_SHARED | mman.MAP_ANONYMOUS


def usage(kernel: Kernel, pid: int, addr: int):
    return next(r for r in kernel.process(pid).space.regions if r.base == addr).usage()


def test_a_shared_mapping_is_private_until_a_second_process_maps_it():
    kernel = Kernel(1 << 24)
    parent = kernel.spawn("parent")
    addr = kernel.mmap(parent, 4 * PAGE, flags=SHARED_ANON)
    kernel.access(parent, addr, 4 * PAGE, write=True)
    alone = usage(kernel, parent, addr)
    assert (alone.resident, alone.shared, alone.proportional) == (4 * PAGE, 0, 4 * PAGE)
    child = kernel.fork(parent)
    both = usage(kernel, parent, addr)
    assert (both.shared, both.sharers, both.proportional) == (4 * PAGE, 2, 2 * PAGE)
    assert usage(kernel, child, addr) == both
    stats = kernel.process(parent).space.stats()
    assert stats.shmem == 4 * PAGE and stats.shared >= 4 * PAGE
    kernel.check_invariants()


def test_private_pages_are_shared_after_fork_until_written():
    kernel = Kernel(1 << 24)
    parent = kernel.spawn("parent")
    addr = kernel.mmap(parent, 4 * PAGE)
    kernel.access(parent, addr, 4 * PAGE, write=True)
    assert usage(kernel, parent, addr).shared == 0
    child = kernel.fork(parent)
    assert usage(kernel, parent, addr).shared == 4 * PAGE
    kernel.access(child, addr, 3 * PAGE, write=True)  # the child copies three pages
    after = usage(kernel, parent, addr)
    assert (after.shared, after.private) == (PAGE, 3 * PAGE)
    kernel.access(child, addr + 3 * PAGE, PAGE, write=True)
    assert usage(kernel, parent, addr).shared == 0
    kernel.check_invariants()
