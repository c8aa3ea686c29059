"""mmap / munmap / madvise / anon_create rules and fault paths (serenity.md B)."""
import errno
import signal

import pytest

from kernel_model import Kernel, KernelError, mman

from .helpers import state_of

PAGE = 4096
ANON = mman.MAP_PRIVATE | mman.MAP_ANONYMOUS
RW = mman.PROT_READ | mman.PROT_WRITE


@pytest.fixture
def kernel():
    return Kernel(1 << 24)


@pytest.fixture
def pid(kernel):
    return kernel.spawn("Shell")


@pytest.mark.parametrize("kwargs, err", [
    ({"size": 0}, errno.EINVAL),
    ({"size": -1}, errno.EINVAL),
    ({"size": PAGE, "addr": 0x10000001}, errno.EINVAL),
    ({"size": PAGE, "flags": mman.MAP_ANONYMOUS}, errno.EINVAL),                      # neither
    ({"size": PAGE, "flags": ANON | mman.MAP_SHARED}, errno.EINVAL),                  # both
    ({"size": PAGE, "flags": ANON | mman.MAP_FIXED | mman.MAP_RANDOMIZED, "addr": 0x20000000}, errno.EINVAL),
    ({"size": PAGE, "prot": mman.PROT_READ | mman.PROT_EXEC}, errno.EINVAL),          # anonymous + exec
    ({"size": PAGE, "prot": RW | mman.PROT_EXEC}, errno.EINVAL),                      # W^X
    ({"size": PAGE, "prot": mman.PROT_READ, "flags": ANON | mman.MAP_STACK}, errno.EINVAL),
    ({"size": PAGE, "flags": ANON | 0x4000}, errno.EINVAL),
    ({"size": 1 << 40}, errno.ENOMEM),                                                 # commit fails
])
def test_mmap_rejects_bad_arguments_and_changes_nothing(kernel, pid, kwargs, err):
    before = state_of(kernel)
    with pytest.raises(KernelError) as e:
        kernel.mmap(pid, **kwargs)
    assert e.value.errno == err
    assert state_of(kernel) == before


def test_anonymous_mmap_commits_by_default_and_noreserve_commits_nothing(kernel, pid):
    committed = kernel.mm.committed
    kernel.mmap(pid, 10 * PAGE)
    assert kernel.mm.committed == committed + 10
    kernel.mmap(pid, 10 * PAGE, flags=ANON | mman.MAP_NORESERVE)
    assert kernel.mm.committed == committed + 10


def test_map_fixed_on_an_occupied_range_is_enomem_and_a_hint_moves(kernel, pid):
    addr = kernel.mmap(pid, 4 * PAGE)
    with pytest.raises(KernelError) as e:
        kernel.mmap(pid, PAGE, flags=ANON | mman.MAP_FIXED, addr=addr)
    assert e.value.errno == errno.ENOMEM
    assert kernel.mmap(pid, PAGE, addr=addr) != addr


def test_munmap_of_part_of_a_region_splits_it(kernel, pid):
    addr = kernel.mmap(pid, 4 * PAGE, name="buf")
    kernel.access(pid, addr, 4 * PAGE, write=True)
    kernel.munmap(pid, addr + PAGE, PAGE)
    space = kernel.process(pid).space
    assert space.find(addr + PAGE) is None
    assert (space.find(addr).size, space.find(addr + 2 * PAGE).size) == (PAGE, 2 * PAGE)
    assert space.find(addr + 2 * PAGE).pagemap() == "PP"
    kernel.check_invariants()


def test_munmap_of_nothing_is_einval(kernel, pid):
    with pytest.raises(KernelError) as e:
        kernel.munmap(pid, 0x50000000, PAGE)
    assert e.value.errno == errno.EINVAL


def test_madvise_needs_one_whole_purgeable_region(kernel, pid):
    plain = kernel.mmap(pid, 4 * PAGE)
    purgeable = kernel.mmap(pid, 4 * PAGE, flags=ANON | mman.MAP_PURGEABLE)
    cases = [((plain, 4 * PAGE, mman.MADV_SET_VOLATILE), errno.EINVAL),          # not purgeable
             ((purgeable, 2 * PAGE, mman.MADV_SET_VOLATILE), errno.EINVAL),      # not the whole region
             ((purgeable, 0, mman.MADV_SET_VOLATILE), errno.EINVAL),
             ((purgeable, 4 * PAGE, 0x300), errno.EINVAL),                       # both
             ((purgeable, 4 * PAGE, 0x4), errno.EINVAL)]                          # unknown advice
    [stack] = [r for r in kernel.process(pid).space.regions if r.stack]
    cases.append(((stack.base, stack.size, mman.MADV_SET_VOLATILE), errno.EPERM))  # not from mmap
    for args, err in cases:
        with pytest.raises(KernelError) as e:
            kernel.madvise(pid, *args)
        assert e.value.errno == err, args


def test_madvise_returns_one_when_the_object_had_been_purged(kernel, pid):
    addr = kernel.mmap(pid, 4 * PAGE, flags=ANON | mman.MAP_PURGEABLE)
    kernel.access(pid, addr, 4 * PAGE, write=True)
    assert kernel.madvise(pid, addr, 4 * PAGE, mman.MADV_SET_VOLATILE) == 0
    assert kernel.purge() == 4
    assert kernel.madvise(pid, addr, 4 * PAGE, mman.MADV_SET_NONVOLATILE) == 1
    assert kernel.process(pid).space.find(addr).pagemap() == "ZZZZ"


def test_a_write_to_a_volatile_page_after_purge_is_a_zero_fault(kernel, pid):
    addr = kernel.mmap(pid, 2 * PAGE, flags=ANON | mman.MAP_PURGEABLE)
    kernel.madvise(pid, addr, 2 * PAGE, mman.MADV_SET_VOLATILE)
    result = kernel.access(pid, addr, 2 * PAGE, write=True)
    assert result.zero_faults == 2 and not result.killed


def test_anon_create_validates_size_and_maps_one_shared_purgeable_object(kernel, pid):
    for size in (0, 100, -PAGE):
        with pytest.raises(KernelError) as e:
            kernel.anon_create(pid, size)
        assert e.value.errno == errno.EINVAL
    fd = kernel.anon_create(pid, 4 * PAGE)
    x = kernel.mmap(pid, 4 * PAGE, RW, mman.MAP_SHARED, fd=fd)
    y = kernel.mmap(pid, 4 * PAGE, RW, mman.MAP_PRIVATE, fd=fd)
    space = kernel.process(pid).space
    assert space.find(x).vmobject is space.find(y).vmobject
    assert space.find(x).vmobject.is_purgeable
    with pytest.raises(KernelError) as e:
        kernel.mmap(pid, 2 * PAGE, RW, mman.MAP_SHARED, fd=fd)
    assert e.value.errno == errno.EINVAL
    assert kernel.madvise(pid, x, 4 * PAGE, mman.MADV_SET_VOLATILE) == 0


def test_page_faults_are_counted_by_kind(kernel, pid):
    addr = kernel.mmap(pid, 4 * PAGE)
    assert kernel.access(pid, addr, 4 * PAGE).zero_faults == 0  # reads of marker pages do not fault
    assert kernel.access(pid, addr, 4 * PAGE, write=True).zero_faults == 4
    child = kernel.fork(pid)
    assert kernel.access(child, addr, 4 * PAGE, write=True).cow_faults == 4
    thread = kernel.process(child).counters
    assert (thread.cow_faults, thread.zero_faults) == (4, 0)


def test_a_write_to_a_read_only_region_or_unmapped_memory_kills_with_sigsegv(kernel, pid):
    addr = kernel.mmap(pid, PAGE, prot=mman.PROT_READ)
    result = kernel.access(pid, addr, PAGE, write=True)
    assert result.killed and result.signal == signal.SIGSEGV
    other = kernel.spawn("Shell")
    assert kernel.access(other, 0x60000000, PAGE).killed
    kernel.check_invariants()


def test_shared_anonymous_memory_is_shared_with_a_fork_child(kernel, pid):
    addr = kernel.mmap(pid, 2 * PAGE, flags=mman.MAP_SHARED | mman.MAP_ANONYMOUS)
    child = kernel.fork(pid)
    kernel.access(child, addr, PAGE, write=True)
    assert kernel.process(pid).space.find(addr).pagemap() == "PZ"
