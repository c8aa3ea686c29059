"""Process lifecycle: PIDs, zombies, waitpid, orphans, fork failure, signals, CPU time (serenity.md E)."""
import errno
import signal

import pytest

from kernel_model import Kernel, KernelError, ProcessState

from .helpers import assert_all_freed, state_of

PAGE = 4096


def test_pids_are_monotonic_and_never_reused():
    kernel = Kernel(1 << 24)
    pids = [kernel.spawn("Shell") for _ in range(3)]
    kernel.exit(pids[-1])
    assert kernel.spawn("Shell") == 4
    assert pids == [1, 2, 3]


def test_a_dead_child_is_a_zombie_kept_only_by_its_parents_wait_list():
    kernel = Kernel(1 << 24)
    parent = kernel.spawn("Shell")
    child = kernel.spawn("sleep", ppid=parent)
    kernel.exit(child, 7)
    zombie = kernel.process(child)
    assert zombie.state == ProcessState.DEAD and zombie in kernel.zombies()
    assert zombie.strong_holders() == {"wait list of PID 1 (Shell)": 1}
    assert zombie.space.regions == [] and zombie.fds == {}
    assert kernel.waitpid(parent, child) == (child, 7 << 8)
    assert zombie.is_destroyed and kernel.process(child) is None


def test_waitpid_nohang_echild_and_would_block():
    kernel = Kernel(1 << 24)
    parent = kernel.spawn("Shell")
    with pytest.raises(KernelError) as e:
        kernel.waitpid(parent)
    assert e.value.errno == errno.ECHILD
    child = kernel.spawn("sleep", ppid=parent)
    assert kernel.waitpid(parent, nohang=True) is None
    with pytest.raises(KernelError) as e:
        kernel.waitpid(parent)
    assert e.value.errno == errno.EAGAIN
    other = kernel.spawn("Shell")
    with pytest.raises(KernelError) as e:
        kernel.waitpid(other, child)
    assert e.value.errno == errno.ECHILD
    kernel.kill(child, signal.SIGKILL)
    assert kernel.waitpid(parent, nohang=True) == (child, signal.SIGKILL)


def test_serenity_policy_frees_orphans_at_once_without_reparenting():
    kernel = Kernel(1 << 24, orphan_policy="serenity")
    init = kernel.spawn("SystemServer")
    parent = kernel.spawn("Shell", ppid=init)
    child = kernel.spawn("sleep", ppid=parent)
    zombie = kernel.spawn("true", ppid=parent)
    kernel.exit(zombie)
    kernel.exit(parent)
    assert kernel.process(zombie) is None          # freed with its parent's wait list
    assert kernel.process(child).ppid == parent    # ppid keeps the old value
    kernel.exit(child)
    assert kernel.process(child) is None           # never a zombie
    kernel.check_invariants()


def test_linux_policy_reparents_to_pid_1_where_zombies_pile_up():
    kernel = Kernel(1 << 24, orphan_policy="linux")
    init = kernel.spawn("init")
    parent = kernel.spawn("leaky", ppid=init)
    kids = [kernel.spawn("kid", ppid=parent) for _ in range(3)]
    kernel.exit(kids[0])
    kernel.exit(parent)
    assert all(kernel.process(k).ppid == 1 for k in kids)
    kernel.exit(kids[1])
    assert set(kernel.process(init).wait_list) == {kids[0], kids[1], parent}
    assert kernel.waitpid(init, kids[0]) == (kids[0], 0)


def test_fork_fails_with_enomem_and_leaves_no_half_built_child():
    kernel = Kernel(64 * PAGE)
    parent = kernel.spawn("Shell")
    kernel.mmap(parent, 30 * PAGE)
    before = state_of(kernel)
    next_pid = kernel.next_pid
    with pytest.raises(KernelError) as e:
        kernel.fork(parent)
    assert e.value.errno == errno.ENOMEM
    assert state_of(kernel) == before and kernel.next_pid == next_pid
    kernel.check_invariants()


def test_fork_copies_identity_and_regions_and_shares_file_descriptions():
    kernel = Kernel(1 << 24)
    parent = kernel.spawn("Shell", uid=100, cmdline=["Shell", "-c", "ls"])
    fd = kernel.anon_create(parent, 2 * PAGE)
    child = kernel.fork(parent)
    c, p = kernel.process(child), kernel.process(parent)
    assert (c.uid, c.ppid, c.cmdline, c.name) == (100, parent, ["Shell", "-c", "ls"], "Shell")
    assert [r.base for r in c.space.regions] == [r.base for r in p.space.regions]
    assert c.fds[fd].description is p.fds[fd].description


@pytest.mark.parametrize("call, err", [
    (lambda k, p: k.fork(999), errno.ESRCH),
    (lambda k, p: k.exit(999), errno.ESRCH),
    (lambda k, p: k.exit(p, 256), errno.EINVAL),
    (lambda k, p: k.kill(999, 9), errno.ESRCH),
    (lambda k, p: k.kill(p, 65), errno.EINVAL),
    (lambda k, p: k.kill(0, 9), errno.EPERM),
    (lambda k, p: k.spawn(""), errno.EINVAL),
    (lambda k, p: k.spawn("x", ppid=999), errno.ESRCH),
    (lambda k, p: k.spawn("x", uid=-1), errno.EINVAL),
    (lambda k, p: k.waitpid(p, 0), errno.EINVAL),
    (lambda k, p: k.access(p, 0x60000000, 0), errno.EINVAL),
    (lambda k, p: k.close(p, 99), errno.EBADF),
    (lambda k, p: k.tick(-1), errno.EINVAL),
])
def test_bad_calls_fail_with_the_right_errno_and_change_nothing(call, err):
    kernel = Kernel(1 << 24)
    pid = kernel.spawn("Shell")
    before = state_of(kernel)
    with pytest.raises(KernelError) as e:
        call(kernel, pid)
    assert e.value.errno == err
    assert state_of(kernel) == before


def test_signals_stop_continue_ignore_and_terminate():
    kernel = Kernel(1 << 24)
    pid = kernel.spawn("Shell")
    kernel.kill(pid, signal.SIGSTOP)
    assert kernel.process(pid).counters.state == "Stopped"
    kernel.kill(pid, signal.SIGCONT)
    kernel.kill(pid, signal.SIGCHLD)
    assert kernel.process(pid).is_alive
    kernel.kill(pid, signal.SIGTERM)
    assert kernel.process(pid) is None  # no parent: freed at once


def test_tick_charges_cpu_time_to_busy_processes_only():
    kernel = Kernel(1 << 24)
    busy, idle = kernel.spawn("busy"), kernel.spawn("idle")
    kernel.set_cpu_load(busy, 0.5)
    kernel.tick(2.0)
    b = kernel.process(busy).counters
    assert b.time_user + b.time_kernel == 1_000_000_000
    assert kernel.process(idle).counters.time_user == 0
    assert kernel.total_time == 4_000_000_000 and kernel.uptime_seconds() == 2.0


def test_every_page_and_object_is_freed_once_all_processes_are_gone():
    kernel = Kernel(1 << 24, orphan_policy="linux")
    init = kernel.spawn("init")
    sh = kernel.spawn("Shell", ppid=init)
    addr = kernel.mmap(sh, 8 * PAGE)
    kernel.access(sh, addr, 8 * PAGE, write=True)
    fd = kernel.open(sh, "/home/anon/data.bin")
    kernel.mmap(sh, PAGE, 1, 1, fd=fd)
    kernel.fork(sh)
    kernel.exit(kernel.spawn("x", ppid=sh))
    assert_all_freed(kernel)


def test_events_report_fork_exit_zombie_and_reap_with_the_injected_clock():
    kernel = Kernel(1 << 24)
    events = []
    kernel.subscribe(events.append)
    parent = kernel.spawn("Shell")
    kernel.tick(1.5)
    child = kernel.fork(parent)
    kernel.exit(child, 1)
    kernel.waitpid(parent)
    kinds = [e.kind for e in events]
    assert kinds[:1] == ["spawn"] and ["fork", "exit", "zombie", "reap"] == [k for k in kinds if k in ("fork", "exit", "zombie", "reap")]
    assert all(e.time_ns == 1_500_000_000 for e in events if e.kind != "spawn" and e.kind != "fault")


def test_runaway_creation_ends_with_eagain_or_enomem_not_a_host_oom():
    kernel = Kernel(1 << 40, max_processes=50, max_slots=100_000)
    big = kernel.spawn("big", ppid=0)
    kernel.mmap(big, 60_000 * PAGE, flags=0x22 | 0x80)          # 60,000 page slots, noreserve
    before = state_of(kernel)
    with pytest.raises(KernelError) as e:                        # cloning it would pass the slot cap
        kernel.fork(big)
    assert e.value.errno == errno.ENOMEM and state_of(kernel) == before
    with pytest.raises(KernelError) as e:
        kernel.mmap(big, 1 << 39, flags=0x22 | 0x80)             # one huge mapping
    assert e.value.errno == errno.ENOMEM and state_of(kernel) == before
    with pytest.raises(KernelError) as e:
        kernel.anon_create(big, 1 << 39)
    assert e.value.errno == errno.ENOMEM
    parent = kernel.spawn("bomb")
    with pytest.raises(KernelError) as e:                        # a fork bomb meets the process cap
        while True:
            kernel.fork(parent)
    assert e.value.errno == errno.EAGAIN and len(kernel.processes) == 50
    kernel.check_invariants()


def test_a_spawn_refused_by_the_page_slot_cap_changes_nothing():
    """Every syscall is all-or-nothing: the text's page slots are checked before a PID is used or
    the stack committed, and the invariant check would see a Process left behind."""
    kernel = Kernel(1 << 24)
    kernel.spawn("SystemServer")
    stack_pages = 8
    kernel.mm.max_slots = kernel.mm.slots_in_use + stack_pages + 1   # the stack fits, Shell's text does not
    before = (kernel._next_pid, kernel.mm.committed, kernel.mm.used, len(kernel.registry))
    with pytest.raises(KernelError) as e:
        kernel.spawn("Shell", stack_pages=stack_pages)
    assert e.value.errno == errno.ENOMEM
    assert (kernel._next_pid, kernel.mm.committed, kernel.mm.used, len(kernel.registry)) == before
    kernel.check_invariants()


def test_sessions_daemons_have_no_terminal_and_login_shells_lead_their_own():
    kernel = Kernel(1 << 24)
    init = kernel.spawn("init")
    daemon = kernel.spawn("sshd", ppid=init)
    shell = kernel.spawn("Shell", ppid=init, tty="tty1")
    job = kernel.spawn("vim", ppid=shell)
    forked = kernel.fork(shell)
    background = kernel.spawn("cron", ppid=shell, tty="none")
    p = kernel.process
    for pid in (init, daemon, background):  # each a session leader, without a terminal
        assert (p(pid).sid, p(pid).pgid, p(pid).tty) == (pid, pid, "notty")
        assert p(pid).fds[0].description.absolute_path == "/dev/null"
    assert (p(shell).sid, p(shell).pgid, p(shell).tty) == (shell, shell, "/dev/tty1")
    for pid in (job, forked):  # commands run from the shell join its session and terminal
        assert (p(pid).sid, p(pid).pgid, p(pid).tty) == (shell, shell, "/dev/tty1")
        assert p(pid).fds[2].description.absolute_path == "/dev/tty1"


@pytest.mark.parametrize("tty", ["tty", "ttyX", "/dev/sda", "pts/", "tty1234", "../tty1", "", "ｔｔｙ1", "tty١"])
def test_a_bad_terminal_is_einval_and_spawns_nothing(tty):
    kernel = Kernel(1 << 24)
    with pytest.raises(KernelError) as e:
        kernel.spawn("Shell", tty=tty)
    assert e.value.errno == errno.EINVAL and "bad tty" in str(e.value)
    assert kernel.processes == {} and kernel.next_pid == 1
    kernel.check_invariants()


def test_every_syscall_moves_the_kernel_version_on():
    """/proc serves content cached by the kernel's version: every syscall moves it on, through the
    decorator, so that a new syscall cannot serve stale content by forgetting to."""
    import inspect

    from kernel_model import syscalls
    from kernel_model.syscalls import access, anon_create, exit, fork, mmap, open, sched, waitid

    for module in (access, anon_create, exit, fork, mmap, open, sched, waitid):
        for function in vars(module).values():
            if inspect.isclass(function) and function.__module__ == module.__name__:
                for method_name, method in vars(function).items():
                    if inspect.isfunction(method) and not method_name.startswith("_"):
                        assert hasattr(method, "__wrapped__"), f"{function.__name__}.{method_name} is no syscall"
    kernel = Kernel(16 * 1024 * 1024)
    pid = kernel.spawn("p")
    for call in (lambda: kernel.set_cpu_load(pid, 0.5), lambda: kernel.open(pid, "/etc/passwd"),
                 lambda: kernel.close(pid, 99)):
        before = kernel.version
        try:
            call()
        except Exception:
            pass  # a refused call moves it on too: cheap, and never wrong
        assert kernel.version > before
    assert syscalls.syscall and syscalls.kernel_call
