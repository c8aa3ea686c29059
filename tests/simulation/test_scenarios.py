"""Scenario text: variables expand as in a shell, and the host mirror survives any command line."""
import errno
from types import SimpleNamespace

import pytest

from kernel_model.kernel_error import KernelError
from procsim.options import MountOptions
from procsim.simulator.simulation import Simulation
from procsim.simulator.scenarios import host_text, substitute_variables

VARS = {"init": "1", "web": "7"}


@pytest.mark.parametrize("line, expected", [
    ("fork $web", "fork 7"),
    ("spawn x ppid=${init}", "spawn x ppid=1"),
    ('spawn x cmdline="sh $web"', 'spawn x cmdline="sh 7"'),
    ("spawn x cmdline='echo $HOME'", "spawn x cmdline='echo $HOME'"),  # single quotes keep it
    ("spawn x cmdline=\\$HOME", "spawn x cmdline=\\$HOME"),  # so does a backslash
    ("spawn x cmdline=\"it's $init\"", "spawn x cmdline=\"it's 1\""),  # ' inside "" is no quote
    ("spawn x cmdline='a'$init", "spawn x cmdline='a'1"),
    ("spawn cost$", "spawn cost$"),  # a $ with no name after it is a $
])
def test_variables_expand_like_a_shell(line, expected):
    assert substitute_variables(line, VARS) == expected


def test_an_unset_variable_is_einval():
    with pytest.raises(KernelError) as e:
        substitute_variables("fork $nobody", VARS)
    assert e.value.errno == errno.EINVAL and "$nobody" in e.value.message


def info(pid, ppid, name, cmdline, rss=0, uid=0):
    return {"pid": pid, "ppid": ppid, "name": name, "uids": SimpleNamespace(real=uid),
            "cmdline": cmdline, "memory_info": SimpleNamespace(rss=rss)}


def test_the_host_mirror_keeps_hostile_command_lines(tmp_path):
    """CI once ran beside `bash -c 'large_limit=0\\n...'`: a newline in an argument broke the
    one-command-per-line text, and `$HOME` in an argument was taken for a scenario variable."""
    procs = [
        info(1, 0, "systemd", ["/sbin/init"]),
        info(40, 1, "bash", ["bash", "-c", "large_limit=0\nif [ \"$HOME\" ]; then echo 'x'; fi"], rss=1 << 20),
        info(41, 40, "we ird(name)", ["a b", "${init}", "\\", "'\"", "\t", "#not a comment"], uid=1000),
        info(42, 999, "orphan", []),
        # what a Linux process may have: U+2028 and U+0085 (line ends to Python), an escape,
        # bytes that are not UTF-8 (psutil hands them over as surrogates), heavy quoting
        info(43, 1, "hostile", ["x\u2028y", "\x85", "\x1b[31m", b"\xff\xfe".decode("utf-8", "surrogateescape"),
                                "'\"'\"'" * 20, ""]),
        info(44, 1, "long", ["java", "-cp", "x" * 5000]),
    ]
    path = tmp_path / "host.scenario"
    path.write_text(host_text(procs, memory=64 << 20))
    sim = Simulation(MountOptions(scenario=str(path), paused=True))
    sim.start()
    try:
        by_pid = {p.pid: p for p in sim.kernel.processes.values()}
        cmdlines = {p.name: p.cmdline for p in by_pid.values()}
        assert cmdlines["bash"] == ["bash", "-c", "large_limit=0\nif [ \"$HOME\" ]; then echo 'x'; fi"]
        assert cmdlines["we_ird_name_"] == ["a b", "${init}", "\\", "'\"", "\t", "#not a comment"]
        assert cmdlines["orphan"] == ["orphan"]
        assert cmdlines["hostile"] == procs[4]["cmdline"]
        assert cmdlines["long"][:2] == ["java", "-cp"] and len(cmdlines["long"]) == 2  # cut at an argument's end
        hostile = next(p for p in by_pid.values() if p.name == "hostile")
        from procfs.process_backend import ProcessView
        assert ProcessView(hostile, sim.kernel).cmdline() == (
            "x\u2028y\0\x85\0\x1b[31m\0".encode() + b"\xff\xfe\0" + ("'\"'\"'" * 20).encode() + b"\0\0")
        bash = next(p for p in by_pid.values() if p.name == "bash")
        weird = next(p for p in by_pid.values() if p.name == "we_ird_name_")
        assert weird.ppid == bash.pid and weird.uid == 1000
        assert bash.space.stats().data == (1 << 20) // 4  # resident memory, scaled to the machine
        sim.kernel.check_invariants()
    finally:
        sim.stop()


def test_the_host_mirror_fits_resident_memory_that_counts_shared_pages_twice(tmp_path):
    """Fifty processes that each map the same 1 GiB show 50 GiB of RSS between them."""
    procs = [info(1, 0, "init", ["init"], rss=1 << 30)]
    procs += [info(100 + i, 1, "worker", ["worker"], rss=1 << 30) for i in range(50)]
    path = tmp_path / "host.scenario"
    path.write_text(host_text(procs, memory=256 << 20))
    sim = Simulation(MountOptions(scenario=str(path), memory="256M", paused=True))
    sim.start()
    try:
        assert len(sim.kernel.processes) == 51 and not any("OOM" in line for line in sim.kernel.dmesg)
        sim.kernel.check_invariants()
    finally:
        sim.stop()
