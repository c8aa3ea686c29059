"""AnonymousVMObject: strategies, volatility, purge and fork cloning (serenity.md B, seed 5)."""
import errno
import signal

import pytest

from kernel_model import AllocationStrategy, Kernel, KernelError, mman
from kernel_model.anonymous_vm_object import AnonymousVMObject
from kernel_model.memory_manager import MemoryManager
from kernel_model.ref_counted import adopt_ref

PAGE = 4096


def make(mm, pages, strategy, purgeable=False):
    obj = AnonymousVMObject.try_create_with_size(mm, pages * PAGE, strategy, purgeable)
    return obj, adopt_ref(obj, "test")


def test_reserve_commits_every_page_and_fills_slots_with_the_lazy_page():
    mm = MemoryManager(100)
    obj, ref = make(mm, 10, AllocationStrategy.RESERVE)
    assert mm.committed == 10 and all(p is mm.lazy_committed_page for p in obj.physical_pages)
    ref.release()
    assert mm.committed == 0


def test_allocate_now_allocates_every_page_at_creation():
    mm = MemoryManager(100)
    obj, ref = make(mm, 10, AllocationStrategy.ALLOCATE_NOW)
    assert mm.used == 12 and mm.committed == 0 and obj.real_page_count() == 10
    ref.release()
    assert mm.used == 2


def test_strategy_none_commits_nothing_and_uses_the_shared_zero_page():
    mm = MemoryManager(100)
    obj, ref = make(mm, 10, AllocationStrategy.NONE)
    assert mm.committed == 0 and all(p is mm.shared_zero_page for p in obj.physical_pages)
    ref.release()


def test_reserve_fails_with_enomem_when_the_commit_fails():
    mm = MemoryManager(10)
    with pytest.raises(KernelError) as e:
        make(mm, 9, AllocationStrategy.RESERVE)
    assert e.value.errno == errno.ENOMEM and mm.committed == 0


def test_purgeable_is_set_only_at_creation():
    mm = MemoryManager(100)
    obj, ref = make(mm, 4, AllocationStrategy.RESERVE)
    with pytest.raises(KernelError) as e:
        obj.set_volatile(True)
    assert e.value.errno == errno.EINVAL
    ref.release()


def test_making_an_object_volatile_gives_unused_reservations_back_at_once():
    mm = MemoryManager(100)
    obj, ref = make(mm, 10, AllocationStrategy.RESERVE, purgeable=True)
    obj.handle_zero_fault(0)
    assert (mm.committed, mm.used) == (9, 3)
    assert obj.set_volatile(True) is False
    assert (mm.committed, mm.used) == (0, 3)
    assert obj.physical_pages.count(mm.shared_zero_page) == 9
    ref.release()
    mm.check_invariants()


def test_making_it_non_volatile_recommits_the_zero_slots():
    mm = MemoryManager(100)
    obj, ref = make(mm, 10, AllocationStrategy.RESERVE, purgeable=True)
    obj.set_volatile(True)
    obj.set_volatile(False)
    assert mm.committed == 10 and obj.physical_pages.count(mm.lazy_committed_page) == 10
    ref.release()


def test_making_it_non_volatile_fails_with_enomem_and_stays_volatile():
    mm = MemoryManager(14)
    obj, ref = make(mm, 10, AllocationStrategy.RESERVE, purgeable=True)
    obj.set_volatile(True)
    other, other_ref = make(mm, 5, AllocationStrategy.RESERVE)
    with pytest.raises(KernelError) as e:
        obj.set_volatile(False)
    assert e.value.errno == errno.ENOMEM and obj.is_volatile and mm.committed == 5
    other_ref.release()
    ref.release()


def test_purge_only_touches_purgeable_volatile_objects_and_sets_was_purged():
    mm = MemoryManager(100)
    obj, ref = make(mm, 4, AllocationStrategy.ALLOCATE_NOW, purgeable=True)
    assert obj.purge() == 0 and obj.real_page_count() == 4
    obj.set_volatile(True)
    assert obj.purge() == 4 and obj.real_page_count() == 0 and mm.used == 2
    assert obj.set_volatile(False) is True  # reports the purge once
    assert obj.set_volatile(False) is False
    ref.release()


def test_clone_shares_committed_cow_pages_and_overcommits_the_child():
    mm = MemoryManager(1000)
    parent, pref = make(mm, 10, AllocationStrategy.RESERVE)
    for i in range(4):
        parent.handle_zero_fault(i)
    assert (mm.used, mm.committed) == (6, 6)
    child = parent.try_clone()
    cref = adopt_ref(child, "child")
    # the whole object is committed for COW, the parent keeps its own 6 reservations
    assert mm.committed == 6 + 10
    assert child.physical_pages[:4] == parent.physical_pages[:4]
    assert all(p is mm.shared_zero_page for p in child.physical_pages[4:])  # the overcommit
    assert parent.cow_page_count() == 10 and child.cow_page_count() == 10
    assert parent.shared_cow.get() is child.shared_cow.get()
    # a COW write takes its copy from the shared set and cannot fail
    assert parent.handle_cow_fault(0).value == "continue"
    assert mm.used == 7 and mm.committed == 15
    # the last holder of a shared page takes it back without copying
    assert child.handle_cow_fault(0).value == "continue" and mm.used == 7 and mm.committed == 14
    cref.release()
    pref.release()
    assert (mm.used, mm.committed) == (2, 0)
    mm.check_invariants()


def test_a_volatile_object_is_cloned_as_a_fresh_pre_purged_one():
    mm = MemoryManager(100)
    parent, pref = make(mm, 4, AllocationStrategy.ALLOCATE_NOW, purgeable=True)
    parent.set_volatile(True)
    child = parent.try_clone()
    cref = adopt_ref(child, "child")
    assert child.is_volatile and child.is_purgeable and child.real_page_count() == 0
    assert parent.real_page_count() == 4 and mm.committed == 0
    cref.release()
    pref.release()


def test_a_fork_child_dies_on_a_cow_write_when_memory_is_short_and_the_parent_survives():
    kernel = Kernel(200 * PAGE)
    parent = kernel.spawn("Shell")
    addr = kernel.mmap(parent, 40 * PAGE)
    kernel.access(parent, addr, 10 * PAGE, write=True)
    child = kernel.fork(parent)
    # use up the free pool, so the child's uncommitted (overcommitted) slots cannot be backed
    hog = kernel.spawn("hog")
    hog_addr = kernel.mmap(hog, kernel.mm.uncommitted * PAGE, flags=mman.MAP_PRIVATE | mman.MAP_ANONYMOUS | mman.MAP_NORESERVE)
    kernel.access(hog, hog_addr, kernel.mm.uncommitted * PAGE, write=True)
    result = kernel.access(child, addr + 20 * PAGE, PAGE, write=True)
    assert result.killed and result.signal == signal.SIGSEGV and "out of memory" in result.reason
    assert kernel.process(child).is_dead
    assert not kernel.access(parent, addr, 40 * PAGE, write=True).killed  # parent's pages were reserved
    assert any("Out of memory, killing: Shell" in line for line in kernel.dmesg)
    kernel.check_invariants()
