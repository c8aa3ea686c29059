"""ObjectRegistry: every live RefCounted object of one simulated kernel.

The registry holds plain Python references but does not count: an object leaves it when its strong
count reaches 0.  That makes leaks visible (an object nothing should reference is still listed)
instead of hiding them behind the garbage collector.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, TypeVar

if TYPE_CHECKING:
    from .ref_counted import RefCounted


K = TypeVar("K")


@dataclass(frozen=True)
class LiveObject:
    """A snapshot of one live object for the lifetime inspector."""

    kind: str
    description: str
    strong_count: int
    weak_count: int
    holders: dict[str, int]


class ObjectRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # protects _objects
        self._objects: dict[int, "RefCounted"] = {}

    def add(self, obj: "RefCounted") -> None:
        with self._lock:
            self._objects[id(obj)] = obj

    def remove(self, obj: "RefCounted") -> None:
        with self._lock:
            self._objects.pop(id(obj), None)

    def __len__(self) -> int:
        return len(self._objects)

    def objects(self) -> list["RefCounted"]:
        with self._lock:
            return list(self._objects.values())

    def __iter__(self) -> Iterator["RefCounted"]:
        return iter(self.objects())

    def of_kind(self, kind: type[K]) -> list[K]:
        return [o for o in self.objects() if isinstance(o, kind)]

    def snapshot(self) -> list[LiveObject]:
        return [
            LiveObject(type(o).__name__, o.describe(), o.ref_count, o.weak_count(), o.strong_holders())
            for o in self.objects()
        ]
