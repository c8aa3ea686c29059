"""PhysicalPage: one 4 KiB page of simulated RAM, represented by its page frame number.

Pages carry no data (procsim models accounting, not contents) and no count of their own: identity
is what matters, and a PFN is an identity.  A real page is an `int` (the MemoryManager hands out
PFNs from a counter, so each page's int object is unique and `is` compares pages), markers are
MarkerPage objects, and None is an inode slot not yet read.  Handing out a run of PFNs is a C-level
`range()`, which keeps bulk faults fast; an int costs 28 bytes, so a resident page stays far below
the 100-byte budget.  A page shared after fork is found by comparing slots of the VM objects that
were cloned from one another (see VMObject.is_page_shared), which keeps fork O(pages) in C-level
list copies instead of a Python loop bumping per-page counts.
"""
from __future__ import annotations

PAGE_SIZE = 4096

PhysicalPage = int  # a real page: its page frame number (first PFNs go to nothing; see MemoryManager)


class MarkerPage:
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


#: What one slot of a VMObject holds: a real page, a marker page (not written yet), or None (an
#: inode page not read yet).
Slot = PhysicalPage | MarkerPage | None
