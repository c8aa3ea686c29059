"""Explicit strong reference counts: RefCounted and RefPtr (AK/RefCounted.h, AK/RefPtr.h).

A kernel object dies when its last strong reference is released, never when Python's garbage
collector decides.  Every strong reference is a RefPtr that names its holder ("parent wait list of
PID 3", "open handle on /42 held by host process 1234 (bash)"), so the lifetime inspector can say
*who* keeps an object alive.  Destruction runs at the last unref: `will_be_destroyed()`, then
`_destroy()` (the destructor), then the weak link is revoked, then the object leaves its registry.

One lock (`LIFETIME_LOCK`) guards every count and weak link.  SerenityOS uses an atomic count and a
lock bit in the pointer; a single lock gives the same observable state machine in Python, which
the tests exercise from several threads (the daemon itself runs in one).
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from .object_registry import ObjectRegistry
    from .weak_ptr import WeakLink

LIFETIME_LOCK = threading.Lock()

ALIVE = "alive"          # count >= 1
ZERO = "zero"            # count reached 0, destructor about to run or running (the #4621 window)
DESTROYED = "destroyed"  # destructor ran, weak links revoked

T = TypeVar("T", bound="RefCounted")
# A RefPtr to an AnonymousVMObject is a RefPtr to a VMObject: references are only read through.
T_co = TypeVar("T_co", bound="RefCounted", covariant=True)


class RefCounted:
    """Base of every kernel object whose lifetime is counted.

    A new object has count 0 and is not yet owned: `adopt_ref(obj, holder)` gives the creator the
    first reference (SerenityOS's `adopt_ref`).
    """

    _ref_count: int
    _holders: dict[str, int]
    _lifetime: str
    _weak_link: "WeakLink | None"

    def __init__(self, registry: "ObjectRegistry") -> None:
        self._ref_count = 0
        self._holders = {}
        self._lifetime = ALIVE
        self._weak_link = None
        self._registry = registry
        registry.add(self)

    # -- introspection ---------------------------------------------------------------------------
    @property
    def ref_count(self) -> int:
        return self._ref_count

    @property
    def is_destroyed(self) -> bool:
        return self._lifetime == DESTROYED

    def strong_holders(self) -> dict[str, int]:
        with LIFETIME_LOCK:
            return dict(self._holders)

    def weak_count(self) -> int:
        link = self._weak_link
        return 0 if link is None else link.weak_ptr_count

    def describe(self) -> str:
        """One line naming the object for the lifetime inspector."""
        return type(self).__name__

    # -- hooks -----------------------------------------------------------------------------------
    def will_be_destroyed(self) -> None:
        """Called once the count reached 0, before the destructor (SerenityOS hook)."""

    def _destroy(self) -> None:
        """The destructor: release what this object owns (pages, references)."""

    # -- counting --------------------------------------------------------------------------------
    def _add_ref(self, holder: str) -> None:
        # caller holds LIFETIME_LOCK
        self._ref_count += 1
        self._holders[holder] = self._holders.get(holder, 0) + 1

    def ref(self: T, holder: str) -> "RefPtr[T]":
        """Take another strong reference; only valid while someone already holds one."""
        with LIFETIME_LOCK:
            if self._ref_count <= 0:
                raise RuntimeError(f"ref() on {self.describe()} with count {self._ref_count}")
            self._add_ref(holder)
        return RefPtr(self, holder)

    def try_ref(self: T, holder: str) -> "RefPtr[T] | None":
        """A strong reference, or None once the count has reached 0 (no resurrection)."""
        with LIFETIME_LOCK:
            if self._ref_count <= 0 or self._lifetime != ALIVE:
                return None
            self._add_ref(holder)
        return RefPtr(self, holder)

    def _unref(self, holder: str) -> None:
        with LIFETIME_LOCK:
            left = self._holders.get(holder, 0)
            if left <= 0 or self._ref_count <= 0:
                raise RuntimeError(f"unref of {self.describe()} by {holder!r} that holds no reference")
            if left == 1:
                del self._holders[holder]
            else:
                self._holders[holder] = left - 1
            self._ref_count -= 1
            if self._ref_count:
                return
            self._lifetime = ZERO
        self.will_be_destroyed()
        self._destroy()
        link = self._weak_link
        if link is not None:
            link.revoke()
        self._lifetime = DESTROYED
        self._registry.remove(self)


def adopt_ref(obj: T, holder: str) -> "RefPtr[T]":
    """Give the creator of a fresh object its first strong reference."""
    with LIFETIME_LOCK:
        if obj._ref_count != 0 or obj._lifetime != ALIVE:
            raise RuntimeError(f"adopt_ref of {obj.describe()} that is already owned")
        obj._add_ref(holder)
    return RefPtr(obj, holder)


class RefPtr(Generic[T_co]):
    """One strong reference, held by `holder` until `release()`.

    Releasing twice is a bug in the model and raises, rather than silently corrupting a count.
    """

    __slots__ = ("_obj", "holder")

    def __init__(self, obj: T_co, holder: str) -> None:
        # Only RefCounted.ref/try_ref and adopt_ref construct these, after counting.
        self._obj: T_co | None = obj
        self.holder = holder

    def get(self) -> T_co:
        obj = self._obj
        if obj is None:
            raise RuntimeError(f"use of a released RefPtr (holder {self.holder!r})")
        return obj

    @property
    def is_null(self) -> bool:
        return self._obj is None

    def clone(self, holder: str) -> "RefPtr[T_co]":
        return self.get().ref(holder)

    def release(self) -> None:
        obj = self._obj
        if obj is None:
            raise RuntimeError(f"RefPtr released twice (holder {self.holder!r})")
        self._obj = None
        obj._unref(self.holder)

    def __repr__(self) -> str:
        return f"RefPtr({self._obj!r}, holder={self.holder!r})"
