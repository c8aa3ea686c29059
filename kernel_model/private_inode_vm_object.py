"""PrivateInodeVMObject: a MAP_PRIVATE file mapping; always a fresh object, never cached."""
from __future__ import annotations

from .inode_vm_object import InodeVMObject


class PrivateInodeVMObject(InodeVMObject):
    class_name = "PrivateInodeVMObject"

    def try_clone(self) -> "PrivateInodeVMObject":
        """Fork copies the slot references: pages loaded so far are shared with the child."""
        clone = PrivateInodeVMObject(self.mm, self.inode, list(self.physical_pages))
        clone._join_family_of(self)
        return clone
