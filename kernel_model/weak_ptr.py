"""Weak references: Weakable, WeakLink and WeakPtr (AK/Weakable.h, AK/WeakPtr.h; seeds 2 and 3).

A WeakLink is shared by every WeakPtr to one object and outlives it.  `strong_ref()` is the only
way from weak to strong and uses `try_ref`, so it returns None as soon as the strong count reached
0 -- even while the destructor still runs and `unsafe_ptr()` may still answer the object.  That is
exactly the window behind SerenityOS #4621, which the model reproduces on purpose.
"""
from __future__ import annotations

from typing import Any, Generic, TypeVar

from .ref_counted import ALIVE, LIFETIME_LOCK, RefCounted, RefPtr

T = TypeVar("T", bound=RefCounted)


class WeakLink:
    """Untyped link to a target; cleared (revoked) after the target's destructor ran."""

    __slots__ = ("ptr", "weak_ptr_count", "revoked")

    def __init__(self, target: RefCounted) -> None:
        self.ptr: RefCounted | None = target
        self.weak_ptr_count = 0
        self.revoked = False

    def revoke(self) -> None:
        with LIFETIME_LOCK:
            self.revoked = True
            self.ptr = None


class WeakPtr(Generic[T]):
    """A non-owning pointer; use `strong_ref(holder)` to get a RefPtr or None."""

    __slots__ = ("_link",)

    def __init__(self, link: WeakLink | None = None) -> None:
        self._link = link
        if link is not None:
            with LIFETIME_LOCK:
                link.weak_ptr_count += 1

    def strong_ref(self, holder: str) -> "RefPtr[T] | None":
        link = self._link
        if link is None:
            return None
        with LIFETIME_LOCK:
            obj = link.ptr
            if link.revoked or obj is None or obj._ref_count <= 0 or obj._lifetime != ALIVE:
                return None
            obj._add_ref(holder)
        return RefPtr(obj, holder)  # type: ignore[arg-type]

    def unsafe_ptr(self) -> T | None:
        """A racy snapshot (SerenityOS `unsafe_ptr`): may answer an object whose count is 0."""
        link = self._link
        return None if link is None else link.ptr  # type: ignore[return-value]

    def is_null(self) -> bool:
        link = self._link
        return link is None or link.ptr is None

    def __bool__(self) -> bool:
        return not self.is_null()

    def clear(self) -> None:
        link = self._link
        if link is not None:
            self._link = None
            with LIFETIME_LOCK:
                link.weak_ptr_count -= 1


class Weakable:
    """Mixin for RefCounted objects that hand out WeakPtrs."""

    def make_weak_ptr(self) -> WeakPtr[Any]:
        """A WeakPtr to this object, or an empty one if the object is already dying."""
        obj: RefCounted = self  # type: ignore[assignment]
        with LIFETIME_LOCK:
            if obj._ref_count <= 0 or obj._lifetime != ALIVE:
                return WeakPtr()
            link = obj._weak_link
            if link is None:
                link = obj._weak_link = WeakLink(obj)
        return WeakPtr(link)
