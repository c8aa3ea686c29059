"""FileDescription: an open file shared by the fd tables that refer to it (after fork).

Three classes appear: a TTY, an InodeFile (a file of the RamFileSystem) and an AnonymousFile
(anon_create), which owns a purgeable AnonymousVMObject that every mapping of it shares.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .ref_counted import RefCounted, RefPtr

if TYPE_CHECKING:
    from .anonymous_vm_object import AnonymousVMObject
    from .inode import Inode
    from .object_registry import ObjectRegistry


class FileDescription(RefCounted):
    def __init__(self, registry: "ObjectRegistry", class_name: str, absolute_path: str, *,
                 readable: bool = True, writable: bool = True, seekable: bool = False,
                 inode: "Inode | None" = None, vmobject: "AnonymousVMObject | None" = None) -> None:
        super().__init__(registry)
        self.class_name = class_name
        self.absolute_path = absolute_path
        self.readable = readable
        self.writable = writable
        self.seekable = seekable
        self.blocking = True
        self.offset = 0
        holder = f"{class_name} {absolute_path}"
        self.inode_ref: RefPtr["Inode"] | None = inode.ref(holder) if inode is not None else None
        self.vmobject_ref: RefPtr["AnonymousVMObject"] | None = vmobject.ref(holder) if vmobject is not None else None

    def describe(self) -> str:
        return f"FileDescription {self.class_name} {self.absolute_path}"

    def _destroy(self) -> None:
        if self.inode_ref is not None:
            self.inode_ref.release()
        if self.vmobject_ref is not None:
            self.vmobject_ref.release()


class FdEntry:
    """One slot of an fd table: the description and the per-descriptor close-on-exec flag."""

    __slots__ = ("description_ref", "cloexec")

    def __init__(self, description_ref: RefPtr[FileDescription], cloexec: bool = False) -> None:
        self.description_ref = description_ref
        self.cloexec = cloexec

    @property
    def description(self) -> FileDescription:
        return self.description_ref.get()
