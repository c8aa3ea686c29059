"""Load with churn, and faults under load: readers never get EINVAL/EIO or garbage, never hang."""
import json
import multiprocessing
import os
import signal
import time

import pytest

from procsim.clients.mount_client import is_mounted
from procsim.clients.testing import MountedSystem

from .load import Churn, ReaderStats, reader

READERS = 8


def run_load(mounted, seconds: float) -> tuple[ReaderStats, Churn, float]:
    parent = mounted.spawn("churner", ppid=1)
    churn = Churn(str(mounted.path), parent)
    started = time.monotonic()
    churn.start()
    with multiprocessing.get_context("spawn").Pool(READERS) as pool:
        results = pool.starmap(reader, [(str(mounted.path), seconds, seed) for seed in range(READERS)])
    churn.stop()
    elapsed = time.monotonic() - started
    total = ReaderStats()
    for stats in results:
        total.merge(stats)
    return total, churn, elapsed


def check_and_report(mounted, total, churn, elapsed, record_figure, label):
    rate = churn.operations / elapsed
    errors = ", ".join(f"{k} {v}" for k, v in total.errors.most_common()) or "none"
    record_figure(label, f"{READERS} readers, {elapsed:.0f} s: {total.reads} reads ({total.bytes >> 20} MiB), "
                         f"{total.listings} listings, {total.psutil_scans} psutil scans; errors: {errors}; "
                         f"churn {churn.operations} ops ({rate:.0f}/s), failures {dict(churn.failures) or 'none'}")
    assert total.bad == [], total.bad[:10]
    assert not churn.failures, churn.failures
    assert churn.operations > 0 and total.reads > 0 and total.listings > 0  # figures, not timed targets
    assert mounted.ctl("check") == "ok"   # the kernel invariants hold at the end
    log = mounted.log()
    assert "Traceback" not in log and " raised " not in log, log[-3000:]


def test_short_load_with_churn(mount_system, record_figure):
    mounted = mount_system(scenario="default", personality="linux")
    total, churn, elapsed = run_load(mounted, 4)
    check_and_report(mounted, total, churn, elapsed, record_figure, "load with churn (short)")


@pytest.mark.slow
def test_long_load_with_churn(mount_system, record_figure):
    mounted = mount_system(scenario="default", personality="linux")
    total, churn, elapsed = run_load(mounted, 60)
    check_and_report(mounted, total, churn, elapsed, record_figure, "load with churn (60 s)")


def readers_in_background(mounted, seconds):
    pool = multiprocessing.get_context("spawn").Pool(4)
    pending = pool.starmap_async(reader, [(str(mounted.path), seconds, s) for s in range(4)])
    time.sleep(1)
    return pool, pending


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_daemon_killed_under_load_leaves_no_dead_mount_and_readers_do_not_hang(mount_system, sig, record_figure):
    mounted = mount_system(scenario="default")
    pool, pending = readers_in_background(mounted, 4)
    os.kill(mounted.daemon.pid, sig)
    code = mounted.daemon.wait(60)
    results = pending.get(timeout=30)   # every reader finished: errors, no hang (what they saw after
    pool.close()                        # the mount went away is expected, so `bad` is not checked)
    deadline = time.monotonic() + 10
    while is_mounted(str(mounted.path)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not is_mounted(str(mounted.path)) and os.listdir(mounted.path) == []
    if sig == signal.SIGTERM:
        assert code == 0  # a clean unmount
    seen = ReaderStats()
    for stats in results:
        seen.merge(stats)
    record_figure(f"daemon {sig.name} under load", f"readers finished; errors after the kill: {dict(seen.errors)}")
    again = MountedSystem.start(mounted.path, scenario="empty")
    try:
        assert (mounted.path / "1" / "comm").read_text() == "init\n"
    finally:
        again.stop()


def test_a_reader_holding_a_file_while_its_process_dies_gets_an_answer(mount_system):
    """A read that continues a partly read file gets the rest of the text generated before the
    death (both kernels keep the buffer); a re-read from offset 0 regenerates: Linux answers
    ESRCH, SerenityOS keeps the old buffer."""
    for personality in ("serenity", "linux"):
        mounted = mount_system(scenario="empty", personality=personality)
        pid = mounted.spawn("dying", ppid=0)
        with open(mounted.path / str(pid) / "status", "rb", buffering=0) as f:
            first = f.read(10)
            mounted.kill(pid, "KILL")
            assert f"Pid:\t{pid}".encode() in first + f.read()
            f.seek(0)
            if personality == "linux":
                with pytest.raises(ProcessLookupError):
                    f.read()
            else:
                assert f"Pid:\t{pid}".encode() in f.read()


def test_a_program_that_raises_kills_only_its_own_process(mount_system):
    mounted = mount_system(scenario="empty", paused=True)
    bystander = mounted.spawn("bystander", program="sleeper")
    buggy = mounted.spawn("buggy", ppid=0, program="crasher", cmdline="buggy --after 0.3")
    mounted.tick(1)
    assert buggy not in mounted.processes() and bystander in mounted.processes()
    assert "program crasher raised RuntimeError: simulated bug in a user program" in (mounted.path / "dmesg").read_text()
    assert mounted.ctl("check") == "ok"
    json.loads((mounted.path / "all").read_text())


def _hammer(root: str, stop, done: list) -> None:
    """stat and read the mount until told to stop (or until it is gone: every error is expected)."""
    while not stop.is_set():
        try:
            os.stat(f"{root}/1/status")
            with open(f"{root}/1/stat", "rb") as f:
                f.read()
            done.append(1)
        except OSError:
            if not is_mounted(root):
                return


def test_sigkill_under_readers_never_leaves_a_dead_mount(mount_system, record_figure):
    """20 rounds (PROCSIM_SIGKILL_ROUNDS=N for more): 4 readers hammer the mount, the daemon is SIGKILLed; libfuse's auto_unmount
    helper must remove the mount every time (no 'Transport endpoint is not connected')."""
    import threading

    from ..conftest import wait_until

    rounds, dead = int(os.environ.get("PROCSIM_SIGKILL_ROUNDS", "20")), []
    for number in range(rounds):
        mounted = mount_system(scenario="empty", paused=True)
        root, stop, done = str(mounted.path), threading.Event(), []
        readers = [threading.Thread(target=_hammer, args=(root, stop, done)) for _ in range(4)]
        for thread in readers:
            thread.start()
        wait_until(lambda: len(done) >= 20, what="the readers to get going")
        os.kill(mounted.daemon.pid, signal.SIGKILL)
        mounted.daemon.wait(60)
        wait_until(lambda: not is_mounted(root), timeout=60, what="auto_unmount")
        stop.set()
        for thread in readers:
            thread.join(60)
        try:
            os.listdir(root)
        except OSError as e:
            dead.append(f"round {number}: {e}")
    record_figure("SIGKILL under 4 readers", f"{rounds} rounds, dead mounts left: {len(dead)}")
    assert dead == []
