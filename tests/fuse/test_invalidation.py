"""The kernel caches names and attributes; a reap takes them back before the ctl write returns.

4 readers stat and list /PID directories while the test reaps one process after another; after
each reap's ctl write returns, the reaped /PID must be ENOENT at once, from a process that had it
in the kernel's cache a moment before.  No request may hang (an invalidation awaited inside a
lookup of the same directory would deadlock) and no reader may see EIO or EINVAL.
"""
from __future__ import annotations

import errno
import multiprocessing
import os
import random
import statistics
import threading
import time

import pytest

# How long reaps race the readers, per personality (PROCSIM_RACE_SECONDS for a longer hunt).
SECONDS = float(os.environ.get("PROCSIM_RACE_SECONDS", "6"))
READERS = 4
ALLOWED = {errno.ENOENT, errno.ESRCH}


def reader(mnt: str, current, stop, seed: int, results) -> None:
    """stat and list the newest PIDs until told to stop; count every errno."""
    rng = random.Random(seed)
    operations, errors = 0, {}
    while not stop.is_set():
        pid = current.value - rng.randrange(3)
        for action in (lambda: os.stat(f"{mnt}/{pid}"), lambda: os.listdir(f"{mnt}/{pid}"),
                       lambda: os.stat(f"{mnt}/{pid}/status"), lambda: os.listdir(mnt)):
            try:
                action()
            except OSError as e:
                name = errno.errorcode.get(e.errno, str(e.errno))
                errors[name] = errors.get(name, 0) + 1
            operations += 1
    results.put((operations, errors))


def ctl_within(mounted, line: str, seconds: float = 30.0) -> str:
    """A ctl write that must return (a deadlocked invalidation would never let it)."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(mounted.ctl(line)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert result, f"ctl {line!r} did not return within {seconds:.0f} s: deadlock?"
    return result[0]


@pytest.mark.parametrize("personality", ["linux", "serenity"])
def test_a_reap_racing_readers_leaves_no_stale_entry(mount_system, personality, record_figure):
    mounted = mount_system(scenario="empty", personality=personality, extra_args=["--paused"])
    mnt = str(mounted.path)
    parent = mounted.spawn("parent", ppid=0)
    context = multiprocessing.get_context("spawn")
    current = context.Value("i", parent)
    stop = context.Event()
    stale, cycles, latencies = [], 0, []
    queue = context.Queue()
    readers = [context.Process(target=reader, args=(mnt, current, stop, seed, queue)) for seed in range(READERS)]
    for process in readers:
        process.start()
    try:
        deadline = time.monotonic() + SECONDS
        while time.monotonic() < deadline:
            pid = mounted.spawn("victim", ppid=parent)
            current.value = pid
            os.stat(f"{mnt}/{pid}")                      # the kernel now caches /PID ...
            os.stat(f"{mnt}/{pid}/status")               # ... and a name below it
            started = time.perf_counter()
            ctl_within(mounted, f"kill {pid} KILL")
            ctl_within(mounted, f"wait {parent} {pid}")  # reaped: gone under both personalities
            latencies.append(time.perf_counter() - started)
            for path in (f"{mnt}/{pid}", f"{mnt}/{pid}/status"):
                if os.path.exists(path):
                    stale.append(path)
            if str(pid) in os.listdir(mnt):
                stale.append(f"{mnt}/ lists {pid}")
            cycles += 1
    finally:
        stop.set()
        results = [queue.get(timeout=60) for _ in readers]
        for process in readers:
            process.join(10)
    operations = sum(n for n, _ in results)
    errors: dict[str, int] = {}
    for _, seen in results:
        for name, count in seen.items():
            errors[name] = errors.get(name, 0) + count
    record_figure(f"reap racing {READERS} readers ({personality})",
                  f"{cycles} reaps in {SECONDS:.0f} s, reader operations {operations}, errors {errors}, "
                  f"kill+wait writes median {statistics.median(latencies) * 1e3:.1f} ms")
    assert cycles > 0 and operations > 0
    assert stale == [], stale[:10]
    assert set(errors) <= {errno.errorcode[e] for e in ALLOWED}, errors
    assert mounted.ctl("check") == "ok"


@pytest.mark.parametrize("personality", ["serenity", "linux"])
@pytest.mark.parametrize("listed", ["/", "/PID"])
def test_a_reap_triggered_by_a_listing_leaves_no_stale_entry(mount_system, personality, listed):
    """`after readdir DIR ...` reaps inside the READDIR of DIR, where waiting for the kernel to
    drop DIR's names would deadlock: DIR is served uncached while the trigger waits instead."""
    mounted = mount_system(scenario="empty", personality=personality, extra_args=["--paused"])
    mnt = str(mounted.path)
    parent = mounted.spawn("parent", ppid=0)
    pid = mounted.spawn("victim", ppid=parent)
    os.stat(f"{mnt}/{pid}/status")                     # cached before the trigger exists
    directory = mnt if listed == "/" else f"{mnt}/{pid}"
    if personality == "linux":
        mounted.ctl(f"kill {pid} KILL")                # a zombie keeps its directory ...
        reap = f"wait {parent} {pid}"                  # ... until its parent waits
    else:
        reap = f"kill {pid} KILL"                      # serenity: unregistered at once
    mounted.ctl(f"after readdir {listed.replace('PID', str(pid))} {reap}")
    entries = os.listdir(directory)                    # the trigger fires inside this listing
    assert mounted.ctl("triggers") == ""
    assert (str(pid) in entries) if listed == "/" else ("status" in entries)
    assert not os.path.exists(f"{mnt}/{pid}")
    assert not os.path.exists(f"{mnt}/{pid}/status")
    assert str(pid) not in os.listdir(mnt)


def test_readers_are_answered_while_a_long_tick_runs(mount_system, record_figure):
    """A ctl write of several `tick 3600` lines takes seconds of work; the mount answers readers
    between its steps (they see the simulated clock move while the write runs), instead of
    holding every reader until the write is done."""
    mounted = mount_system(scenario="default", paused=True)
    mnt = str(mounted.path)
    done = threading.Event()
    result: list = []

    def writer() -> None:
        fd = os.open(f"{mnt}/sim/ctl", os.O_RDWR)
        try:
            os.write(fd, b"tick 3600\ntick 3600\ntick 3600\n")
            result.append("ok")
        finally:
            os.close(fd)
            done.set()

    thread = threading.Thread(target=writer)
    started = time.monotonic()
    thread.start()
    seen, slowest = set(), 0.0
    while not done.is_set():
        before = time.perf_counter()
        with open(f"{mnt}/uptime") as f:
            uptime = float(f.read().split()[0])
        slowest = max(slowest, time.perf_counter() - before)
        if not done.is_set():
            seen.add(uptime)
    thread.join()
    record_figure("readers during a 3 x tick 3600 write",
                  f"write took {time.monotonic() - started:.1f} s; {len(seen)} distinct uptimes read meanwhile; "
                  f"slowest read {slowest * 1e3:.0f} ms")
    assert result == ["ok"]
    assert len([u for u in seen if 0 < u < 3 * 3600]) >= 3, sorted(seen)[:10]


def test_triggers_fire_after_every_kind_of_request(mount_system):
    """`after lookup|getattr|open|read|readdir|readlink PATH COMMAND`: the command runs once the
    request is answered, before the reader's next one -- whichever request that is."""
    mounted = mount_system(scenario="empty", personality="linux", paused=True)
    root = mounted.path

    def armed(operation: str, path: str) -> int:
        pid = mounted.spawn("victim", ppid=0)
        mounted.after(operation, path.format(pid=pid), f"kill {pid} KILL")
        return pid

    def gone(pid: int) -> bool:
        return not (root / str(pid)).exists() and mounted.ctl("triggers") == ""

    pid = armed("lookup", "/{pid}/status")
    # looked up while it lived, reaped before the open: as on Linux, the open succeeds (it does not
    # look for the process) and the read fails
    with open(root / str(pid) / "status") as f, pytest.raises(ProcessLookupError):
        f.read()
    assert gone(pid)

    # GETATTR reaches the mount only for attributes the kernel no longer trusts: a Linux zombie's
    # (its files change owner), so the zombie is what is stat()ed here, and reaped by the trigger
    parent = mounted.spawn("parent", ppid=0, uid=1000)
    pid = mounted.spawn("zombie", ppid=parent, uid=1000)
    assert os.stat(root / str(pid)).st_uid == 1000
    mounted.exit(pid)
    mounted.after("getattr", f"/{pid}", f"wait {parent} {pid}")
    os.stat(root / str(pid))  # answered for the zombie, then it was reaped
    assert gone(pid)

    pid = armed("read", "/{pid}/stat")
    fd = os.open(root / str(pid) / "stat", os.O_RDONLY)
    try:
        assert os.pread(fd, 4096, 0).split()[0] == str(pid).encode()  # this read was answered...
        with pytest.raises(ProcessLookupError):
            os.pread(fd, 4096, 0)  # ...and the process was reaped before the next one
    finally:
        os.close(fd)
    assert gone(pid)

    pid = armed("readlink", "/{pid}/cwd")
    assert os.readlink(root / str(pid) / "cwd") == "/"
    assert gone(pid)

    pid = armed("open", "/{pid}/status")
    with open(root / str(pid) / "status") as f, pytest.raises(ProcessLookupError):
        f.read()
    assert gone(pid)


def test_many_triggers_on_one_path_fire_in_order_and_all_at_once(mount_system):
    mounted = mount_system(scenario="empty", personality="linux", paused=True)
    pids = mounted.many(2000, name="t")
    ids = [mounted.ctl("\n".join(f"after open /1/stat kill {pid} KILL" for pid in pids[i:i + 500])).split()
           for i in range(0, len(pids), 500)]
    ids = [i for batch in ids for i in batch]
    assert len(ids) == 2000 and ids == sorted(ids, key=int)
    (mounted.path / "1" / "stat").read_text()
    assert mounted.ctl("triggers") == ""
    assert not [pid for pid, p in mounted.processes().items() if pid != 1 and p["threads"]]  # all killed
    lines = [line for line in (mounted.path / "sim" / "events").read_text().splitlines() if '"source":"trigger"' in line]
    assert [line.split("kill ")[1].split()[0] for line in lines] == [str(pid) for pid in pids]
