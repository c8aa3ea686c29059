"""Physical page pool and commit accounting (serenity.md A)."""
from kernel_model import AllocationStrategy, Kernel
from kernel_model.anonymous_vm_object import AnonymousVMObject
from kernel_model.memory_manager import MemoryManager
from kernel_model.ref_counted import adopt_ref


def test_boot_takes_the_shared_zero_page_and_the_lazy_committed_page():
    mm = MemoryManager(100)
    assert mm.counters() == {"total": 100, "used": 2, "committed": 0, "uncommitted": 98}
    assert mm.shared_zero_page is not mm.lazy_committed_page
    mm.check_invariants()


def test_commit_reserves_and_release_gives_unused_pages_back():
    mm = MemoryManager(100)
    with mm.commit_user_physical_pages(10) as reservation:
        assert (mm.committed, mm.uncommitted) == (10, 88)
        reservation.take_one()
        assert (mm.used, mm.committed) == (3, 9)
        reservation.uncommit_one()
        assert (mm.committed, mm.uncommitted) == (8, 89)
    assert (mm.committed, mm.uncommitted, mm.used) == (0, 97, 3)


def test_commit_fails_when_too_few_pages_are_uncommitted():
    mm = MemoryManager(10)
    assert mm.commit_user_physical_pages(9) is None
    assert mm.counters()["uncommitted"] == 8


def test_commit_never_purges_volatile_memory():
    mm = MemoryManager(20)
    obj = AnonymousVMObject.try_create_with_size(mm, 10 * 4096, AllocationStrategy.ALLOCATE_NOW, purgeable=True)
    ref = adopt_ref(obj, "test")
    obj.set_volatile(True)
    assert mm.commit_user_physical_pages(9) is None  # 8 uncommitted; 10 purgeable pages stay
    assert obj.real_page_count() == 10
    ref.release()


def test_allocation_purges_volatile_memory_before_giving_up():
    mm = MemoryManager(12)
    obj = AnonymousVMObject.try_create_with_size(mm, 10 * 4096, AllocationStrategy.ALLOCATE_NOW, purgeable=True)
    ref = adopt_ref(obj, "test")
    obj.set_volatile(True)
    assert mm.uncommitted == 0
    page = mm.allocate_user_physical_page()
    assert page is not None and obj.was_purged and obj.real_page_count() == 0
    assert (mm.used, mm.uncommitted) == (3, 9)
    ref.release()
    mm.free_pages(1)
    assert mm.used == 2


def test_allocation_returns_none_when_nothing_can_be_purged():
    mm = MemoryManager(3)
    assert mm.allocate_user_physical_page() is not None
    assert mm.allocate_user_physical_page() is None


def test_freed_pages_return_to_the_uncommitted_pool():
    kernel = Kernel(1 << 20)
    pid = kernel.spawn("Shell")
    addr = kernel.mmap(pid, 16 * 4096)
    kernel.access(pid, addr, 16 * 4096, write=True)
    before = kernel.mm.uncommitted
    kernel.munmap(pid, addr, 16 * 4096)
    assert kernel.mm.uncommitted == before + 16
    kernel.check_invariants()
