"""`procsim top MOUNTPOINT`: a live terminal view built only from the mounted files.

It reads `all` (the process tree, states, memory), `memstat` (the page counters) and the tail of
`sim/events` -- so it is itself a client of the filesystem, like SerenityOS's SystemMonitor.
Rendering uses rich; `--once` prints a single frame (no terminal needed).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any

from rich.console import Console, Group, JustifyMethod
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .process_tree import indent, tree_order
from .terminal_text import visible

EVENT_TAIL_BYTES = 16 * 1024


@dataclass
class Snapshot:
    processes: list[dict[str, Any]]
    total_time: int
    memstat: dict[str, Any]
    events: list[dict[str, Any]]


def read_snapshot(mountpoint: str, event_lines: int = 8) -> Snapshot:
    with open(os.path.join(mountpoint, "all")) as f:
        all_json = json.load(f)
    with open(os.path.join(mountpoint, "memstat")) as f:
        memstat = json.load(f)
    events: list[dict[str, Any]] = []
    path = os.path.join(mountpoint, "sim", "events")
    if os.path.exists(path):
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(max(0, size - EVENT_TAIL_BYTES))
            lines = f.read().splitlines()[1:] if size > EVENT_TAIL_BYTES else f.read().splitlines()
        for line in lines[-event_lines:]:
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
    return Snapshot(all_json["processes"], all_json["total_time"], memstat, events)


def state_of(process: dict[str, Any]) -> str:
    return process["threads"][0]["state"] if process["threads"] else "Zombie"


def process_table(snapshot: Snapshot) -> Table:
    table = Table(expand=True, box=None, header_style="bold")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("PID", "right"), ("STATE", "left"), ("UID", "right"), ("VIRTUAL", "right"), ("RESIDENT", "right"),
        ("VOLATILE", "right"), ("CPU s", "right"), ("NAME", "left"))
    for column, justify in columns:
        table.add_column(column, justify=justify, no_wrap=True)
    for p, depth in tree_order(snapshot.processes):
        state = state_of(p)
        zombie = state == "Zombie"
        cpu = sum(t["time_user"] + t["time_kernel"] for t in p["threads"]) / 1e9
        style = "bold red" if zombie else ("green" if state == "Running" else "")
        name = (indent(depth) + ("└ " if depth else "") + visible(p["name"])) + (" <defunct>" if zombie else "")
        table.add_row(str(p["pid"]), Text(state, style=style), str(p["uid"]), kib(p["amount_virtual"]),
                      kib(p["amount_resident"]), kib(p["amount_purgeable_volatile"]), f"{cpu:.2f}",
                      Text(name, style=style))
    return table


def kib(n: int) -> str:
    return f"{n // 1024}K" if n < 10 << 20 else f"{n >> 20}M"


def memory_bar(snapshot: Snapshot, width: int = 60) -> Text:
    m = snapshot.memstat
    used, committed, uncommitted = (m["user_physical_allocated"], m["user_physical_committed"],
                                    m["user_physical_uncommitted"])
    total = max(1, used + committed + uncommitted)
    volatile = sum(p["amount_purgeable_volatile"] for p in snapshot.processes) // 4096
    cells = [(used - volatile, "red", "█"), (volatile, "magenta", "█"), (committed, "yellow", "▒"),
             (uncommitted, "green", "░")]
    bar = Text()
    for pages, style, glyph in cells:
        bar.append(glyph * round(width * max(0, pages) / total), style=style)
    bar.append(f"\nused {used} pages (volatile {volatile}) · committed {committed} · uncommitted {uncommitted}"
               f" · total {total} ({total * 4 // 1024} MiB)")
    return bar


def events_text(snapshot: Snapshot) -> Text:
    text = Text()
    for event in snapshot.events:
        fields = " ".join(f"{k}={v}" for k, v in event.items() if k not in ("seq", "time", "event"))
        style = "bold red" if event["event"] in ("oom_kill", "crash", "panic", "zombie") else ""
        text.append(f"{event['time']:>9.1f}s {visible(str(event['event'])):<12} {visible(fields)}\n", style=style)
    return text or Text("(no events)")


def render(snapshot: Snapshot) -> Group:
    zombies = sum(1 for p in snapshot.processes if not p["threads"])
    title = f"procsim · {len(snapshot.processes) - 1} processes · {zombies} zombies"
    return Group(Panel(memory_bar(snapshot), title="physical memory"),
                 Panel(process_table(snapshot), title=title),
                 Panel(events_text(snapshot), title="recent events"))


def run(mountpoint: str, once: bool = False, interval: float = 1.0, width: int | None = None) -> int:
    console = Console(width=width) if width else Console()
    if once:
        console.print(render(read_snapshot(mountpoint)))
        return 0
    with Live(render(read_snapshot(mountpoint)), console=console, screen=False, auto_refresh=False) as live:
        try:
            while True:
                time.sleep(interval)
                live.update(render(read_snapshot(mountpoint)), refresh=True)
        except KeyboardInterrupt:
            pass
    return 0
