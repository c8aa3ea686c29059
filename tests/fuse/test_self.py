"""/proc/self is the caller, for any host process, however many simulated PIDs exist."""
from __future__ import annotations

import subprocess

READER = 'read -r mnt; read -r line < "$mnt/self/stat"; echo "$line"; read -r line < "$mnt/self/status"; echo "$line"'


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
    stat_line, status_line = out.splitlines()
    assert stat_line.startswith(f"{pid} (bash) ")
    assert status_line == "Name:\tbash"
