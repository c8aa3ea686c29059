"""InodeTable: the inode numbers the kernel knows procsim's nodes by, and its lookup counts.

libfuse 3's low-level API names every node by an inode number.  A fresh path arrives as
`lookup(ROOT, "42")`; a walk through a handle a process still holds (its cwd, an `O_DIRECTORY`
fd) arrives as `lookup(<the held directory's inode>, "status")`.  So the inode *is* the handle,
and what a dead `/PID` answers through it needs no guessing.

Rules the kernel imposes (libfuse's fuse_lowlevel.h, `forget`):
- every successful LOOKUP reply and every READDIRPLUS entry (but `.` and `..`) adds one to the
  inode's lookup count; FORGET takes them back when the kernel evicts the inode;
- an inode number may not be reused while its count is above zero.  procsim never reuses one.

While the kernel holds a component (a PID directory or an entry below it) the table holds a
strong reference to it named `KERNEL_REFERENCE`: a held cwd keeps an orphaned directory alive
exactly as long as Linux keeps its inode, and it is freed on FORGET, not on a guess.
Fixed nodes (the root's files, `sim/`) keep one inode number for the mount's lifetime.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from kernel_model.ref_counted import RefPtr

from .component import Component, Node

ROOT_INODE = 1
KERNEL_REFERENCE = "the kernel's cached lookup (a cwd, a walk in progress, or a name it still caches, as after ps)"


@dataclass(slots=True, eq=False)
class InodeEntry:
    ino: int
    node: Node
    parent: int
    name: str
    path: str
    lookups: int = 0
    ref: RefPtr[Component] | None = None
    children: dict[str, int] = field(default_factory=dict)  # name -> inode the kernel was given
    absent: set[str] = field(default_factory=set)  # names the kernel caches as absent here
    name_expires: float = 0.0  # until when the kernel may trust this entry's name (trio's clock)


class InodeTable:
    def __init__(self, root: Node) -> None:
        self.root = InodeEntry(ROOT_INODE, root, ROOT_INODE, "", "/", lookups=1)
        self._entries: dict[int, InodeEntry] = {ROOT_INODE: self.root}
        self._component_inodes: dict[int, int] = {}  # id(component) -> its inode, while known
        self._fixed_inodes: dict[int, int] = {}      # id(fixed node) -> its inode, forever
        self._numbers = itertools.count(ROOT_INODE + 1)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, ino: int) -> InodeEntry | None:
        return self._entries.get(ino)

    def inode_of(self, node: Node) -> InodeEntry | None:
        """The entry of a component the kernel holds, if it holds it."""
        ino = self._component_inodes.get(id(node))
        return None if ino is None else self._entries.get(ino)

    def found(self, parent: InodeEntry, name: str, node: Node) -> InodeEntry:
        """`node` was found as `name` in `parent` and is about to be handed to the kernel
        (the caller counts the lookup with `count` once the kernel has it)."""
        if node.inode_number is not None:
            return self._found_numbered(parent, name, node, node.inode_number)
        ino = parent.children.get(name)
        entry = self._entries.get(ino) if ino is not None else None
        if entry is not None and (entry.node is node or (node.generated and entry.node.generated
                                                         and entry.node.file_type == node.file_type)):
            entry.node = node  # a generated leaf (fd/3, task/5) is rebuilt by every lookup
            return entry
        if isinstance(node, Component):
            known = self._component_inodes.get(id(node))
        elif not node.generated:
            known = self._fixed_inodes.get(id(node))
        else:
            known = None
        entry = self._entries.get(known) if known is not None else None
        if entry is None:
            number = known if known is not None else next(self._numbers)
            path = f"/{name}" if parent.ino == ROOT_INODE else f"{parent.path}/{name}"
            entry = InodeEntry(number, node, parent.ino, name, path)
            self._entries[number] = entry
            if isinstance(node, Component):
                self._component_inodes[id(node)] = number
            elif not node.generated:
                self._fixed_inodes[id(node)] = number
        parent.children[name] = entry.ino
        return entry

    def _found_numbered(self, parent: InodeEntry, name: str, node: Node, number: int) -> InodeEntry:
        """A node whose number is its identity (a namespace: every ns/pid link leads to it)."""
        entry = self._entries.get(number)
        if entry is None:
            path = f"/{name}" if parent.ino == ROOT_INODE else f"{parent.path}/{name}"
            entry = self._entries[number] = InodeEntry(number, node, parent.ino, name, path)
        entry.node = node
        parent.children[name] = number
        return entry

    def count(self, entry: InodeEntry) -> None:
        """One more lookup the kernel will FORGET; a component is held while any is left."""
        entry.lookups += 1
        if entry.lookups == 1 and isinstance(entry.node, Component):
            entry.ref = entry.node.try_ref(KERNEL_REFERENCE)

    def forget(self, ino: int, n: int) -> None:
        entry = self._entries.get(ino)
        if entry is None or ino == ROOT_INODE:
            return
        entry.lookups -= n
        if entry.lookups > 0:
            return
        del self._entries[ino]
        parent = self._entries.get(entry.parent)
        if parent is not None and parent.children.get(entry.name) == ino:
            del parent.children[entry.name]
        if isinstance(entry.node, Component) and self._component_inodes.get(id(entry.node)) == ino:
            del self._component_inodes[id(entry.node)]
        if entry.ref is not None:
            ref, entry.ref = entry.ref, None
            ref.release()

    def replace_root(self, root: Node) -> None:
        """A new tree at the root (a reset): the root's inode stays, its names are forgotten
        here (the kernel is told to drop them), and nodes are found afresh."""
        self.root.node = root
        for entry in self._entries.values():
            entry.children.clear()
        self._fixed_inodes.clear()

    def directories(self) -> list[InodeEntry]:
        return [entry for entry in self._entries.values() if entry.node.is_dir]

    def children(self, entry: InodeEntry) -> list[InodeEntry]:
        return [self._entries[ino] for ino in entry.children.values() if ino in self._entries]

