"""Per-process ProcFS backend: which entries `/PID/` has under each personality, and what each
one is (SerenityOS ProcessSpecificExposed.cpp).  The tree they make is process_directory.py's,
the generated subdirectories process_subdirectories.py's, their text process_view.py's (and
process_environment.py's, for what Linux shows of a process's surroundings).
"""
from __future__ import annotations

import errno

from kernel_model import Process

from . import process_environment as environment
from .component import DIR, LNK, REG, ProcFSError
from .personality import PIN_CONTENT, PIN_MEMORY, PIN_NAMESPACE, Personality
from .process_directory import FileSpec, ProcessDirectory, ProcessEntry
from .process_subdirectories import (AttrDirectory, FdDirectory, MemFile, WriteOnlyFile, FdInfoDirectory, HostFdDirectory, HostFdInfoDirectory,
                                     MapFilesDirectory, NamespaceDirectory, NetDirectory, PagemapFile, StacksDirectory,
                                     TaskDirectory)
from .process_view import CLK_TCK, ProcessView

def _exe_target(p: Process) -> str:
    if not p.executable:
        raise ProcFSError(errno.ENOENT, "no executable")
    return p.executable

def _comm(view: ProcessView) -> bytes:
    return (view.comm() + "\n").encode("utf-8", "surrogateescape")

_SERENITY_ENTRIES = [
    FileSpec("pledge", REG, 0o400, content=ProcessView.pledge_json),
    FileSpec("unveil", REG, 0o400, content=ProcessView.unveil_json),
    FileSpec("perf_events", REG, 0o400, content=ProcessView.perf_events_json),
    FileSpec("fd", DIR, 0o555, directory=FdDirectory),
    FileSpec("fds", REG, 0o400, content=ProcessView.fds_json),
    FileSpec("root", LNK, 0o777, target=lambda p: p.root),
    FileSpec("vm", REG, 0o400, content=ProcessView.vm_json),
    FileSpec("cwd", LNK, 0o777, target=lambda p: p.cwd),
    FileSpec("exe", LNK, 0o777, target=_exe_target),
    FileSpec("stacks", DIR, 0o555, directory=StacksDirectory),
]

_LINUX_ENTRIES = [
    FileSpec("stat", REG, 0o444, content=ProcessView.stat_line),
    FileSpec("status", REG, 0o444, content=ProcessView.status),
    FileSpec("statm", REG, 0o444, content=ProcessView.statm),
    FileSpec("cmdline", REG, 0o444, content=ProcessView.cmdline),
    FileSpec("comm", REG, 0o644, content=_comm),  # Linux lets the owner rename; procsim refuses writes
    FileSpec("maps", REG, 0o444, content=ProcessView.maps, ptrace_read=True),
    FileSpec("smaps", REG, 0o444, content=ProcessView.smaps, ptrace_read=True),
    FileSpec("smaps_rollup", REG, 0o444, content=ProcessView.smaps_rollup, memory_at_open=True, ptrace_read=True),
    FileSpec("io", REG, 0o400, content=ProcessView.io),
    FileSpec("fdinfo", DIR, 0o555, directory=FdInfoDirectory, ptrace_read=True),
    FileSpec("environ", REG, 0o400, content=ProcessView.environ, pins=PIN_MEMORY),
    FileSpec("limits", REG, 0o444, content=environment.limits),
    FileSpec("wchan", REG, 0o444, content=environment.wchan),
    FileSpec("cgroup", REG, 0o444, content=environment.cgroup),
    FileSpec("cpuset", REG, 0o444, content=environment.cpuset),
    FileSpec("ns", DIR, 0o511, directory=NamespaceDirectory),
    FileSpec("numa_maps", REG, 0o444, content=environment.numa_maps, ptrace_read=True),
    FileSpec("mounts", REG, 0o444, content=environment.mounts, pins=PIN_NAMESPACE),
    FileSpec("mountinfo", REG, 0o444, content=environment.mountinfo, pins=PIN_NAMESPACE),
    FileSpec("mountstats", REG, 0o400, content=environment.mountstats, pins=PIN_NAMESPACE),
    FileSpec("schedstat", REG, 0o444, content=environment.schedstat),
    FileSpec("oom_score", REG, 0o444, content=environment.zero_line),
    FileSpec("oom_score_adj", REG, 0o644, content=environment.zero_line),
    FileSpec("oom_adj", REG, 0o644, content=environment.zero_line),
    FileSpec("loginuid", REG, 0o644, content=environment.login_uid),
    FileSpec("sessionid", REG, 0o444, content=environment.session_id),
    FileSpec("personality", REG, 0o400, content=environment.personality, ptrace_read=True),
    FileSpec("cwd", LNK, 0o777, target=lambda p: p.cwd),
    FileSpec("root", LNK, 0o777, target=lambda p: p.root),
    FileSpec("exe", LNK, 0o777, target=_exe_target),
    FileSpec("fd", DIR, 0o500, directory=FdDirectory),
    FileSpec("task", DIR, 0o555, directory=TaskDirectory),
    FileSpec("auxv", REG, 0o400, content=environment.auxv, pins=PIN_CONTENT, memory_at_open=True, ptrace_read=True),
    FileSpec("stack", REG, 0o400, content=environment.kernel_stack, ptrace_read=True),
    FileSpec("syscall", REG, 0o400, content=environment.syscall, ptrace_read=True),
    FileSpec("sched", REG, 0o644, content=environment.sched),
    FileSpec("timers", REG, 0o444, content=environment.empty),
    FileSpec("timerslack_ns", REG, 0o666, content=environment.timerslack_ns),
    FileSpec("coredump_filter", REG, 0o644, content=environment.coredump_filter),
    FileSpec("arch_status", REG, 0o444, content=environment.arch_status),
    FileSpec("autogroup", REG, 0o644, content=environment.autogroup),
    FileSpec("uid_map", REG, 0o644, content=environment.id_map, pins=PIN_CONTENT),
    FileSpec("gid_map", REG, 0o644, content=environment.id_map, pins=PIN_CONTENT),
    FileSpec("projid_map", REG, 0o644, content=environment.id_map, pins=PIN_CONTENT),
    FileSpec("setgroups", REG, 0o644, content=environment.setgroups, pins=PIN_CONTENT),
    FileSpec("timens_offsets", REG, 0o644, content=environment.timens_offsets),
    FileSpec("ksm_stat", REG, 0o400, content=environment.ksm_stat),
    FileSpec("ksm_merging_pages", REG, 0o400, content=environment.ksm_merging_pages),
    FileSpec("pagemap", REG, 0o400, directory=PagemapFile, ptrace_read=True),
    FileSpec("mem", REG, 0o600, directory=MemFile, ptrace_read=True),
    FileSpec("clear_refs", REG, 0o200, directory=WriteOnlyFile),
    FileSpec("attr", DIR, 0o555, directory=AttrDirectory),
    FileSpec("map_files", DIR, 0o500, directory=MapFilesDirectory),
    FileSpec("net", DIR, 0o555, directory=NetDirectory),
]

#: What task/TID/ has of those (Linux's tid_base_stuff; its own `children` is ThreadDirectory's).
_PER_THREAD = {"arch_status", "attr", "auxv", "net", "cgroup", "clear_refs", "cmdline", "comm", "cpuset", "cwd", "environ", "exe",
               "fd", "fdinfo", "gid_map", "io", "ksm_merging_pages", "ksm_stat", "limits", "loginuid", "maps",
               "mem", "mountinfo", "mounts", "ns", "numa_maps", "oom_adj", "oom_score", "oom_score_adj",
               "pagemap", "personality", "projid_map", "root", "sched", "schedstat", "sessionid", "setgroups",
               "smaps", "smaps_rollup", "stack", "stat", "statm", "status", "syscall", "uid_map", "wchan"}

# Under serenity both flavours, SerenityOS's shapes first (fd/ 0555, owned by root); under linux
# fd/ is owned by the process and closed to others, as on Linux.
for _spec in _LINUX_ENTRIES:
    _spec.per_thread = _spec.name in _PER_THREAD
SERENITY_SPECS = {s.name: s for s in _SERENITY_ENTRIES}

# net/: SerenityOS's /proc/net is its own JSON directory, which no process has a view of
for _spec in _LINUX_ENTRIES:
    if _spec.name != "net":
        SERENITY_SPECS.setdefault(_spec.name, _spec)

LINUX_SPECS = {**SERENITY_SPECS, **{s.name: s for s in _LINUX_ENTRIES}}


def _host_caller_specs(specs: dict[str, FileSpec]) -> dict[str, FileSpec]:
    """A host caller's own view: the same entries, its descriptors read from the host."""
    mirrored = {"fd": HostFdDirectory, "fdinfo": HostFdInfoDirectory}
    copies = {}
    for name, directory in mirrored.items():
        spec = specs[name]
        copies[name] = FileSpec(name, DIR, spec.permissions, directory=directory, ptrace_read=spec.ptrace_read)
        copies[name].per_thread = spec.per_thread
    return {**specs, **copies}


HOST_CALLER_SPECS = {False: _host_caller_specs(SERENITY_SPECS), True: _host_caller_specs(LINUX_SPECS)}


def specs_for(personality: Personality, host_caller: bool = False) -> dict[str, FileSpec]:
    """The entries of `/PID/` under `personality` (of a host caller's own view: host_caller)."""
    if host_caller:
        return HOST_CALLER_SPECS[personality.linux_files]
    return LINUX_SPECS if personality.linux_files else SERENITY_SPECS


__all__ = ["CLK_TCK", "FileSpec", "ProcessDirectory", "ProcessEntry", "ProcessView", "specs_for"]
