"""/proc/self is the caller, for any host process, however many simulated PIDs exist."""
from __future__ import annotations

import subprocess

READER = ('read -r mnt; read -r line < "$mnt/self/stat"; echo "$line"; read -r line < "$mnt/self/status"; echo "$line"; '
          'read -r line < "$mnt/thread-self/stat"; echo "$line"')


def test_self_is_the_caller_even_where_a_simulated_process_has_its_number(mount_system):
    """Simulated PIDs are never reused, so after enough of them one has a reader's number. The
    reader is a bash that reads with builtins (no child process: the caller is the bash itself)."""
    reader = subprocess.Popen(["bash", "-c", READER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        pid = reader.pid
        mounted = mount_system(scenario="scale", processes=pid + 10, paused=True)
        assert (mounted.path / str(pid) / "stat").read_text().split()[1].startswith("(worker")  # taken
        out, _ = reader.communicate(f"{mounted.path}\n", timeout=120)
    finally:
        if reader.poll() is None:
            reader.kill()
    stat_line, status_line, thread_line = out.splitlines()
    assert stat_line.startswith(f"{pid} (bash) ")
    assert status_line == "Name:\tbash"
    assert thread_line.startswith(f"{pid} (bash) ")  # thread-self: its own task/TID


def test_thread_self_is_the_callers_task_directory(mount_system):
    import os
    mounted = mount_system(scenario="empty", personality="linux", paused=True)
    assert os.readlink(mounted.path / "thread-self") == f"{os.getpid()}/task/{os.getpid()}"
    assert (mounted.path / "thread-self" / "stat").read_text().startswith(f"{os.getpid()} (")


def test_a_callers_own_descriptors_are_its_own(mount_system, tmp_path):
    """fd/ and fdinfo/ of the caller's own view are the caller's: a reader that waits to see a file
    it opened (psutil's own test_open_files_mode does) would otherwise wait for ever."""
    import os
    mounted = mount_system(scenario="empty", personality="linux", paused=True)
    opened = tmp_path / "opened"
    opened.write_text("x")
    script = (f'exec 7<"{opened}"; read -r mnt; printf "%s\\n" "$(readlink "$mnt/self/fd/7")"; '
              'ls "$mnt/self/fd" | sort -n | tr "\\n" " "; echo; grep ^flags "$mnt/self/fdinfo/7"; ls "$mnt/self/fd/9"')
    out = subprocess.run(["bash", "-c", script], input=f"{mounted.path}\n", capture_output=True, text=True,
                         timeout=60)
    target, listing, flags = out.stdout.splitlines()
    assert target == str(opened)
    assert {"0", "1", "2", "7"} <= set(listing.split())
    assert int(flags.split()[1], 8) & os.O_ACCMODE == os.O_RDONLY
    assert "No such file or directory" in out.stderr  # fd 9 is not open


def test_a_callers_cached_view_is_never_shown_to_a_later_process_with_its_number(monkeypatch):
    """Host PIDs wrap: the caches of who is calling (thread -> process) and of the caller's own
    view are checked against the process asking now, not trusted by number."""
    from procfs import host_caller

    identities = {4242: 1}
    facts = {4242: {"Name": "old", "Tgid": "4242", "PPid": "1", "Uid": "0", "Gid": "0", "NSpid": "4242"}}
    monkeypatch.setattr(host_caller, "host_identity", lambda pid: identities.get(pid))
    monkeypatch.setattr(host_caller, "host_process_facts", lambda pid: facts.get(pid, {}))
    resolver = host_caller.CallerResolver()
    assert resolver.process_of(4242).name == "old"
    facts[4242] = {**facts[4242], "Name": "new"}
    assert resolver.process_of(4242).name == "old"  # the same process: cached
    identities[4242] = 2  # the old one exited, a new process got its number
    assert resolver.process_of(4242).name == "new"


def test_absent_names_a_reader_asks_for_do_not_grow_the_daemon(mount_system):
    """Every absent name looked up in a live /PID used to be remembered for the directory's life
    (for init: forever).  A few are (ps's `ctty`); the rest are answered without remembering."""
    mounted = mount_system(scenario="empty", personality="linux", paused=True)

    def lookups() -> int:
        report = (mounted.path / "sim" / "requests").read_text()
        return int(report.split("\nLOOKUP ")[1].split()[0]) if "\nLOOKUP " in report else 0

    names = [f"no-such-{i}" for i in range(200)]
    for name in names:
        assert not (mounted.path / "1" / name).exists()
    before = lookups()
    for name in names:
        assert not (mounted.path / "1" / name).exists()
    asked_again = lookups() - before - 1  # (reading sim/requests looks itself up too, at most once)
    assert 150 <= asked_again <= 200  # all but the few the kernel may keep were asked again
