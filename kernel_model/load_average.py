"""The load average: Linux's exponentially decaying averages of the runnable task count, sampled
every 5 seconds (kernel/sched/loadavg.c, `calc_global_load`).

Linux keeps them in 11-bit fixed point with EXP_1 = 1884, EXP_5 = 2014 and EXP_15 = 2037
(2048 * e^(-5/60), e^(-5/300), e^(-5/900)); the same factors here give the same figures: one task
busy for a minute from idle reads 0.63 0.18 0.06, and the idle minute after it 0.23 0.15 0.06.
"""
from __future__ import annotations

from dataclasses import dataclass, field

SAMPLE_NS = 5_000_000_000  # LOAD_FREQ: every 5 s
FACTORS = (1884 / 2048, 2014 / 2048, 2037 / 2048)


@dataclass
class LoadAverage:
    averages: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    next_sample_ns: int = SAMPLE_NS

    def advance(self, now_ns: int, runnable: int) -> None:
        """Take every sample due by `now_ns`, each seeing `runnable` tasks (the count cannot
        change inside one clock tick)."""
        while self.next_sample_ns <= now_ns:
            self.averages = [load * f + runnable * (1 - f) for load, f in zip(self.averages, FACTORS, strict=True)]
            self.next_sample_ns += SAMPLE_NS

    def line(self) -> str:
        """The first three fields of /proc/loadavg."""
        return " ".join(f"{load:.2f}" for load in self.averages)
