"""The two personalities a mount is started with: what a dead process's /proc looks like, as
SerenityOS answers it or as Linux does (docs/personalities.md).

Every rule that differs between the two lives here, as a method or a fact of `Personality`; the
nodes of the per-process tree ask it and never compare names.  The rules are the kernels' own:
SerenityOS's ProcFS of 2021 (Kernel/ProcessSpecificExposed.cpp, serenity.md G) and Linux's
fs/proc/base.c (task_dump_owner, proc_pid_permission, proc_pident_readdir, proc_fd_instantiate).
"""
from __future__ import annotations

import errno
from typing import ClassVar

from .component import ProcFSError

#: What Linux's open of a process file takes a reference to, so that a read after the process
#: died still answers: its address space (`environ` reads as empty) or its mount namespace
#: (`mounts` keeps the table).  An open of a zombie's such file fails instead.
PIN_MEMORY = "memory"
PIN_NAMESPACE = "namespace"
#: The open keeps what the file shows (auxv's saved vector, a user namespace's id maps): made at
#: open, it is what a read answers after the process is gone.
PIN_CONTENT = "content"
#: Nothing is pinned, and a read once the task is gone is empty, not an error (task/TID/children).
PIN_EMPTY = "empty"
#: The pins whose content is made at open and kept.
KEEPS_CONTENT = frozenset({PIN_NAMESPACE, PIN_CONTENT})

#: The states a /PID's process can be in while it exists, as a personality tells them apart.
RUNNING, ZOMBIE = "running", "zombie"


class Personality:
    """What a mount shows of processes, dead ones above all."""

    name: ClassVar[str]
    #: /PID/'s Linux-only entries exist, and root files that both kernels have are in Linux's text.
    linux_files: ClassVar[bool]
    #: A zombie keeps its /PID until it is reaped (Linux); SerenityOS unregisters it at finalize.
    zombie_keeps_directory: ClassVar[bool]
    #: The mode of /PID itself.
    pid_directory_permissions: ClassVar[int]
    #: A process file's content is made at its first read, and an open pins what it needs (Linux's
    #: seq_file); SerenityOS makes it at open.
    content_at_first_read: ClassVar[bool]
    #: An entry's owner is taken when a lookup finds it, and a stat of a handle held since shows
    #: that one (Linux's pid_update_inode at revalidation); SerenityOS asks the process each time.
    owner_fixed_at_lookup: ClassVar[bool]

    def __repr__(self) -> str:
        return f"<personality {self.name}>"

    # -- a /PID whose process is gone (held open, a cwd, a walk in progress) -------------------
    def check_dead_directory(self, operation: str) -> None:
        """Raise what `operation` ("lookup", "opendir", "list") answers in an orphaned /PID."""

    def check_dead_thread_directory(self, operation: str) -> None:
        """The same for a task/TID whose thread is gone (an opendir that succeeds gives a handle
        whose listings are empty)."""

    def dead_subdirectory_listing_errno(self) -> int:
        """The errno of listing fd/, task/... of a process that is gone."""
        return errno.ESRCH

    def check_dead_fd_directory_stat(self) -> None:
        """Raise what a stat of fd/ answers once its process is gone."""

    def dead_link_error(self) -> ProcFSError:
        """What a readlink of cwd, exe... answers once the process is gone."""
        return ProcFSError(errno.ESRCH, "process is gone")

    # -- owners and modes ------------------------------------------------------------------------
    def owner(self, state: str, process_owner: tuple[int, int], entry: str,
              world_listable_directory: bool) -> tuple[int, int]:
        """Who owns `entry` of a /PID (`""` for a generated leaf) while its process is RUNNING
        or a ZOMBIE."""
        return process_owner

    def owner_after_reap(self, seen: tuple[int, int] | None, live_getattr: bool) -> tuple[int, int]:
        """Who owns an entry once its process is reaped: `seen` is the owner it showed last while
        the process existed; `live_getattr` marks the nodes whose stat asks the process itself."""
        return 0, 0

    def fd_link_mode(self, readable: bool, writable: bool) -> int:
        """The mode of fd/N for a description opened for reading and/or writing."""
        return 0o700

    def may_read_traced(self, caller_uid: int, process_uid: int | None) -> bool:
        """Whether a caller may read a file Linux guards with PTRACE_MODE_READ (maps, fdinfo...)."""
        return True

    # -- handles opened before the process died -------------------------------------------------
    def keeps_old_content(self, pin: str | None, had_content: bool) -> bool:
        """A reread of a handle failed (the process is gone): True to serve what it read before
        (and "" for an address space it pinned), False to answer the error."""
        return True


class Serenity(Personality):
    """SerenityOS 2021: a zombie's /PID is gone at finalize; an orphaned /PID keeps listing and
    looking up its children, opens fail with ESRCH and readlinks with EFAULT (the link generator's
    failure); a reread that fails only logs and keeps the old buffer (`did_seek`)."""

    name = "serenity"
    linux_files = False
    zombie_keeps_directory = False
    pid_directory_permissions = 0o500
    content_at_first_read = False
    owner_fixed_at_lookup = False

    def dead_link_error(self) -> ProcFSError:
        return ProcFSError(errno.EFAULT, "link generator failed: process is gone")

    def owner(self, state: str, process_owner: tuple[int, int], entry: str,
              world_listable_directory: bool) -> tuple[int, int]:
        if entry in ("fd", "stacks"):
            return 0, 0  # SerenityOS makes these two directories root's
        return process_owner


class Linux(Personality):
    """Linux 6.x: a zombie keeps its /PID until reaped, owned by root but for the 0555
    directories; everything below a reaped /PID answers ESRCH, its listing ENOENT."""

    name = "linux"
    linux_files = True
    zombie_keeps_directory = True
    pid_directory_permissions = 0o555
    content_at_first_read = True
    owner_fixed_at_lookup = True

    def check_dead_directory(self, operation: str) -> None:
        if operation == "list":
            raise ProcFSError(errno.ENOENT, "process is gone")  # proc_pident_readdir
        raise ProcFSError(errno.ESRCH, "process is gone")  # proc_pid_permission; opendir(".")

    def check_dead_thread_directory(self, operation: str) -> None:
        # measured on 6.x: below a dead task/TID every name is ENOENT (proc_pident_lookup finds
        # no task), its opendir succeeds and a handle opened before lists ENOENT
        if operation != "opendir":
            raise ProcFSError(errno.ENOENT, "thread is gone")

    def dead_subdirectory_listing_errno(self) -> int:
        return errno.ENOENT

    def check_dead_fd_directory_stat(self) -> None:
        raise ProcFSError(errno.ENOENT, "process is gone")  # fstat: st_size counts the fds (6.2+)

    def owner(self, state: str, process_owner: tuple[int, int], entry: str,
              world_listable_directory: bool) -> tuple[int, int]:
        # task_dump_owner: a process without an address space (a zombie) has its entries owned
        # by root, except the world-readable directories (task/, fdinfo/, task/TID).
        if state == RUNNING or world_listable_directory:
            return process_owner
        return 0, 0

    def owner_after_reap(self, seen: tuple[int, int] | None, live_getattr: bool) -> tuple[int, int]:
        # pid_getattr (/PID, task/TID, ns/) reads root once the task is gone; every other entry
        # has no getattr of its own and shows the owner its inode was given at its last lookup
        # (pid_update_inode): a file held open across the reap keeps the process's owner.
        if live_getattr or seen is None:
            return 0, 0
        return seen

    def fd_link_mode(self, readable: bool, writable: bool) -> int:
        # proc_fd_instantiate: r-x for reading, -wx for writing, rwx for both
        return (0o500 if readable else 0) | (0o300 if writable else 0)

    def may_read_traced(self, caller_uid: int, process_uid: int | None) -> bool:
        return caller_uid == 0 or process_uid is None or caller_uid == process_uid

    def keeps_old_content(self, pin: str | None, had_content: bool) -> bool:
        return pin in (PIN_MEMORY, PIN_EMPTY) or (pin in KEEPS_CONTENT and had_content)


SERENITY = Serenity()
LINUX = Linux()
PERSONALITIES = {p.name: p for p in (SERENITY, LINUX)}


def personality_named(name: "str | Personality") -> Personality:
    """The personality a mount option names ("serenity", "linux")."""
    if isinstance(name, Personality):
        return name
    try:
        return PERSONALITIES[name]
    except KeyError:
        raise ValueError(f"personality must be one of {tuple(PERSONALITIES)}") from None
