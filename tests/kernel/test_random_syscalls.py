"""Property-based test: random syscall sequences keep the kernel's invariants after every step.

After each step: page conservation (used + committed + uncommitted == total, recounted from the
objects), no negative counter, every live VM object is mapped by a region of a live process or
owned by a file description, every live process is reachable from the process table.  At the end,
killing and reaping everything frees every page and every VM object.
"""
import signal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from kernel_model import Kernel, KernelError, mman
from kernel_model.anonymous_vm_object import AnonymousVMObject
from kernel_model.process import Process
from kernel_model.vm_object import VMObject

from .helpers import assert_all_freed, state_of

PAGE = 4096
pids = st.integers(min_value=0, max_value=30)
sizes = st.sampled_from([PAGE, 2 * PAGE, 5 * PAGE, 16 * PAGE, 64 * PAGE, 0, -1, 3000])


class KernelMachine(RuleBasedStateMachine):
    @initialize(policy=st.sampled_from(["serenity", "linux"]), pages=st.sampled_from([96, 400, 2000]))
    def boot(self, policy, pages):
        self.kernel = Kernel(pages * PAGE, orphan_policy=policy)
        try:
            self.kernel.spawn("init")
        except KernelError:
            pass

    def call(self, fn, *args, **kwargs):
        """Run a syscall; if it fails, nothing may have changed."""
        before = state_of(self.kernel)
        try:
            return fn(*args, **kwargs)
        except KernelError:
            assert state_of(self.kernel) == before
            return None

    def regions_of(self, pid):
        process = self.kernel.process(pid)
        return process.space.regions if process is not None and pid else []

    @rule(parent=pids)
    def spawn(self, parent):
        self.call(self.kernel.spawn, "proc", ppid=parent or None)

    @rule(pid=pids)
    def fork(self, pid):
        self.call(self.kernel.fork, pid)

    @rule(pid=pids, code=st.integers(min_value=-1, max_value=256))
    def exit(self, pid, code):
        self.call(self.kernel.exit, pid, code)

    @rule(pid=pids, sig=st.sampled_from([0, signal.SIGKILL, signal.SIGSTOP, signal.SIGCONT, signal.SIGCHLD, 99]))
    def kill(self, pid, sig):
        self.call(self.kernel.kill, pid, sig)

    @rule(pid=pids, child=st.integers(min_value=-1, max_value=30), nohang=st.booleans())
    def wait(self, pid, child, nohang):
        self.call(self.kernel.waitpid, pid, child, nohang)

    @rule(pid=pids, size=sizes, purgeable=st.booleans(), noreserve=st.booleans(), shared=st.booleans())
    def mmap(self, pid, size, purgeable, noreserve, shared):
        flags = mman.MAP_ANONYMOUS | (mman.MAP_SHARED if shared else mman.MAP_PRIVATE)
        flags |= (mman.MAP_PURGEABLE if purgeable else 0) | (mman.MAP_NORESERVE if noreserve else 0)
        self.call(self.kernel.mmap, pid, size, flags=flags)

    @rule(pid=pids, file=st.booleans(), shared=st.booleans())
    def map_file(self, pid, file, shared):
        fd = self.call(self.kernel.open, pid, "/home/anon/data.bin") if file else \
            self.call(self.kernel.anon_create, pid, 4 * PAGE)
        if fd is not None:
            self.call(self.kernel.mmap, pid, 4 * PAGE, mman.PROT_READ | (0 if file else mman.PROT_WRITE),
                      mman.MAP_SHARED if shared else mman.MAP_PRIVATE, fd=fd)

    @rule(pid=pids, which=st.integers(min_value=0, max_value=10), write=st.booleans(),
          pages=st.integers(min_value=1, max_value=80))
    def touch(self, pid, which, write, pages):
        regions = self.regions_of(pid)
        addr = regions[which % len(regions)].base if regions else 0x10000000
        self.call(self.kernel.access, pid, addr, pages * PAGE, write)

    @rule(pid=pids, which=st.integers(min_value=0, max_value=10), volatile=st.booleans())
    def madvise(self, pid, which, volatile):
        regions = self.regions_of(pid)
        if regions:
            r = regions[which % len(regions)]
            advice = mman.MADV_SET_VOLATILE if volatile else mman.MADV_SET_NONVOLATILE
            self.call(self.kernel.madvise, pid, r.base, r.size, advice)

    @rule(pid=pids, which=st.integers(min_value=0, max_value=10), partial=st.booleans())
    def munmap(self, pid, which, partial):
        regions = self.regions_of(pid)
        if regions:
            r = regions[which % len(regions)]
            size = PAGE if partial and r.size > PAGE else r.size
            self.call(self.kernel.munmap, pid, r.base + (r.size - size), size)

    @rule()
    def purge(self):
        self.kernel.purge()

    @invariant()
    def pages_are_conserved(self):
        self.kernel.check_invariants()

    @invariant()
    def every_live_object_has_a_live_owner(self):
        kernel = self.kernel
        mapped = {id(r.vmobject) for p in kernel.processes.values() for r in p.space.regions}
        owned_by_fds = {id(e.description.vmobject_ref.get()) for p in kernel.processes.values()
                        for e in p.fds.values() if e.description.vmobject_ref is not None}
        for obj in kernel.registry.objects():
            if isinstance(obj, VMObject):
                assert id(obj) in mapped | owned_by_fds, obj.describe()
            if isinstance(obj, Process) and obj.pid:
                assert kernel.processes.get(obj.pid) is obj, obj.describe()
        for obj in kernel.mm.vmobjects.values():
            if isinstance(obj, AnonymousVMObject) and obj.unused_committed is not None:
                assert obj.unused_committed.count <= obj.page_count

    def teardown(self):
        if hasattr(self, "kernel"):
            assert_all_freed(self.kernel)


KernelMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow])
TestRandomSyscalls = KernelMachine.TestCase
