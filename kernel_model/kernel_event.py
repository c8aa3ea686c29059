"""KernelEvent: one entry of the kernel's event stream (fork, exit, reap, fault, purge, ...)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class KernelEvent:
    seq: int
    time_ns: int
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": round(self.time_ns / 1e9, 6), "event": self.kind, **self.fields}
