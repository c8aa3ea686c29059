"""AllocationStrategy (Kernel/VM/AllocationStrategy.h): how an anonymous object gets its pages."""
from enum import IntEnum


class AllocationStrategy(IntEnum):
    RESERVE = 0       # commit every page now, allocate on first write (lazy committed pages)
    ALLOCATE_NOW = 1  # commit and allocate every page now
    NONE = 2          # commit nothing; a write allocates from the uncommitted pool and may fail
