"""PhysicalPage: one 4 KiB page of simulated RAM.

Pages carry no data (procsim models accounting, not contents) and no count of their own: identity
is what matters.  A page shared after fork is found by comparing slots of the VM objects that were
cloned from one another (see VMObject.is_page_shared), which keeps fork O(pages) in C-level list
copies instead of a Python loop bumping per-page counts.  With `__slots__ = ()` a page costs 16
bytes, so a resident page stays far below the 100-byte budget.
"""
from __future__ import annotations

PAGE_SIZE = 4096


class PhysicalPage:
    __slots__ = ()


class MarkerPage(PhysicalPage):
    """The two permanent pages: the shared zero page and the lazy committed page."""

    __slots__ = ("label",)

    def __init__(self, label: str) -> None:
        self.label = label

    def __repr__(self) -> str:
        return f"<{self.label}>"


def page_round_up(size: int) -> int:
    return (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


def page_count_for(size: int) -> int:
    return (size + PAGE_SIZE - 1) // PAGE_SIZE
