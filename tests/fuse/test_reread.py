"""A file kept open and read again from offset 0 shows the present, as top and free -s expect."""
import errno
import os

import pytest


def pread_all(fd: int) -> bytes:
    return os.pread(fd, 1 << 20, 0)


@pytest.mark.parametrize("personality", ["serenity", "linux"])
def test_reading_from_offset_0_again_regenerates(mount_system, personality):
    m = mount_system(scenario="empty", personality=personality, paused=True)
    fd = os.open(m.path / "loadavg", os.O_RDONLY)
    meminfo = os.open(m.path / "meminfo", os.O_RDONLY)
    try:
        before, mem_before = pread_all(fd), pread_all(meminfo)
        pid = m.spawn("grower")
        m.write(pid, m.mmap(pid, "4M"), "4M")
        after, mem_after = pread_all(fd), pread_all(meminfo)
        # the last field of loadavg is the last PID handed out; MemFree dropped by 4 MiB
        assert before.split()[-1] != after.split()[-1] and int(after.split()[-1]) == pid
        free = [int(x.split()[1]) for x in (mem_before, mem_after)
                for x in [next(line for line in x.decode().splitlines() if line.startswith("MemFree:"))]]
        assert free[0] - free[1] >= 4096
        # a read that continues (offset > 0) does not regenerate: no torn content
        assert os.pread(fd, 4, 0) + os.pread(fd, 1 << 20, 4) == after
    finally:
        os.close(fd)
        os.close(meminfo)


def test_a_reread_after_the_process_is_gone_follows_the_personality(mount_system):
    for personality, expected in (("serenity", "old buffer"), ("linux", errno.ESRCH)):
        m = mount_system(scenario="empty", personality=personality, paused=True)
        pid = m.spawn("brief")
        fd = os.open(m.path / str(pid) / ("vm" if personality == "serenity" else "status"), os.O_RDONLY)
        try:
            first = pread_all(fd)
            m.kill(pid, "KILL")
            if personality == "linux":
                m.wait(1, pid, nohang=True)  # reaped: a zombie's status would still read
            if expected == "old buffer":
                assert pread_all(fd) == first  # did_seek logged the failure and kept the buffer
            else:
                with pytest.raises(OSError) as e:
                    pread_all(fd)
                assert e.value.errno == expected
        finally:
            os.close(fd)
