"""KernelEvent: one entry of the kernel's event stream (fork, exit, reap, fault, purge, ...)."""
from __future__ import annotations

from typing import Any, NamedTuple


class KernelEvent(NamedTuple):
    """Immutable and built at C speed: the kernel emits one for every fork, fault and exit."""

    seq: int
    time_ns: int
    kind: str
    fields: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": round(self.time_ns / 1e9, 6), "event": self.kind, **self.fields}
