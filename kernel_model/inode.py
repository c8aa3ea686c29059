"""Inode: a file of the simulated file system, with a weak link to its shared VM object.

The VM object owns the inode strongly; the inode points back weakly (no cycle).  While any
MAP_SHARED mapping lives, `shared_vmobject.strong_ref()` finds the one SharedInodeVMObject of the
inode; once its count reaches 0 the weak pointer refuses, even before the destructor has finished
(the window of SerenityOS #4621, seed 2).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .ref_counted import RefCounted
from .weak_ptr import Weakable, WeakPtr

if TYPE_CHECKING:
    from .object_registry import ObjectRegistry
    from .shared_inode_vm_object import SharedInodeVMObject


class Inode(RefCounted, Weakable):
    def __init__(self, registry: "ObjectRegistry", path: str, data: bytes = b"", *, index: int = 0,
                 mode: int = 0o644, uid: int = 0, gid: int = 0, is_directory: bool = False) -> None:
        super().__init__(registry)
        self.index = index  # the inode number, given by the file system in creation order
        self.path = path
        self.data = data
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.is_directory = is_directory
        self.shared_vmobject: WeakPtr[SharedInodeVMObject] = WeakPtr()

    @property
    def size(self) -> int:
        return len(self.data)

    def describe(self) -> str:
        return f"Inode {self.path}"
