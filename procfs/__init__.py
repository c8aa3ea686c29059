"""procfs: SerenityOS's ProcFS over the kernel model, and the FUSE adapter that serves it.

The component tree (component.py) is built by two backends -- the root's files
(global_backend.py, with the machine around the kernel in linux_machine.py and
serenity_machine.py) and the per-process directories (process_backend.py) -- kept by the
registry (registry.py), and served through libfuse 3's inode API (fuse_adapter.py).  Nothing
here imports trio but the adapter; nothing in kernel_model imports this package.
"""
