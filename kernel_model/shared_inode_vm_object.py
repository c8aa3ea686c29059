"""SharedInodeVMObject: the one object per inode behind every MAP_SHARED mapping of it."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .inode_vm_object import InodeVMObject
from .ref_counted import RefPtr, adopt_ref

if TYPE_CHECKING:
    from .inode import Inode
    from .memory_manager import MemoryManager


class SharedInodeVMObject(InodeVMObject):
    class_name = "SharedInodeVMObject"

    @classmethod
    def try_create_with_inode(cls, mm: "MemoryManager", inode: "Inode", holder: str) -> RefPtr["SharedInodeVMObject"]:
        """The inode's existing shared object if one is alive, else a new one it links to weakly."""
        existing = inode.shared_vmobject.strong_ref(holder)
        if existing is not None:
            return existing
        vmobject = cls(mm, inode)
        ref = adopt_ref(vmobject, holder)
        inode.shared_vmobject.clear()
        inode.shared_vmobject = vmobject.make_weak_ptr()
        return ref
