"""`procsim top MOUNTPOINT`: an interactive live view of a mount, on Textual.

The process tree with zombies and orphans marked, scrollable and filtered (by name, `state:Z`,
`uid:100`); the selected process's verdict (who can reap it, with which wait), what keeps it alive
(each strong reference and its holder), its regions with a pagemap strip, and its recent events.
Keys drive the selected process through `sim/ctl` -- the same command language as everywhere --
and show the kernel's error text when it refuses.

A client of the mount: it reads `all`, `sim/tree.json`, `sim/zombies.json`,
`sim/references.json`, `PID/vm` and the tail of `sim/events`, so it works on a mount someone
else started.  Reads run in a worker thread; a refresh that finds `all` unchanged redraws nothing.
"""
from __future__ import annotations

import errno
import json
import os
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Input, Static

from .mount_client import run_ctl
from .process_tree import tree_order
from .terminal_text import visible

EVENT_TAIL_BYTES = 64 * 1024
# SerenityOS's thread states as /all names them (a blocked thread by its blocker), as ps letters.
STATE_LETTER = {"Running": "R", "Runnable": "R", "Blocked": "S", "Sleeping": "S", "Waiting": "S",
                "Stopped": "T", "Dying": "X", "Dead": "Z"}


@dataclass(frozen=True)
class Row:
    pid: int
    ppid: int
    depth: int
    name: str
    state: str  # R S T Z
    uid: int
    resident: int
    orphan_of: int  # the parent it had before it was reparented to init, or 0


def _read_json(mountpoint: str, *path: str) -> Any:
    with open(os.path.join(mountpoint, *path), "rb") as f:
        return json.loads(f.read())


def tree_rows(processes: list[dict[str, Any]], reparented: dict[int, int]) -> list[Row]:
    """The processes in fork-tree order (each parent before its children), with their depth."""
    rows: list[Row] = []
    for p, depth in tree_order(processes):
        state = STATE_LETTER.get(p["threads"][0]["state"], "?") if p["threads"] else "Z"
        rows.append(Row(p["pid"], p["ppid"], depth, visible(p["name"]), state, p["uid"], p["amount_resident"],
                        reparented.get(p["pid"], 0)))
    return rows


def matches(row: Row, query: str) -> bool:
    """`query`: words that must all match -- `state:Z`, `uid:100`, or part of the name."""
    for word in query.split():
        key, _, value = word.partition(":")
        if key == "state" and value:
            if row.state != value.upper()[:1]:
                return False
        elif key == "uid" and value:
            if str(row.uid) != value:
                return False
        elif word.lower() not in row.name.lower():
            return False
    return True


def pagemap_strip(pagemap: str, width: int) -> Text:
    """P (a real page) green, Z (zero or lazy) dim, N (not loaded) blue; cut to `width`."""
    strip = Text()
    colours = {"P": "green", "Z": "grey50", "N": "blue"}
    for letter in pagemap[:width]:
        strip.append(letter, style=colours.get(letter, ""))
    if len(pagemap) > width:
        strip.append("…")
    return strip


class LiveView(App[None]):
    """The live view; `mountpoint` is read only through its files."""

    TITLE = "procsim"
    CSS = """
    #summary { height: 1; background: $boost; }
    #processes { height: 1fr; }
    #details-box { height: 2fr; border-top: solid $accent; }
    #filter { display: none; }
    #filter.shown { display: block; }
    #status { height: 1; color: $warning; }
    """
    BINDINGS = [
        Binding("q", "quit", "quit"),
        Binding("slash", "filter", "filter"),
        Binding("z", "next_zombie", "next zombie"),
        Binding("w", "reap", "wait (reap)"),
        Binding("k", "kill", "kill"),
        Binding("f", "fork", "fork"),
        Binding("escape", "clear_filter", "clear", show=False),
    ]

    def __init__(self, mountpoint: str, interval: float = 1.0) -> None:
        super().__init__()
        self.mountpoint = mountpoint
        self.interval = interval
        self.rows: list[Row] = []
        self.shown: list[Row] = []
        self.query_text = ""
        self.zombies: dict[int, dict[str, Any]] = {}
        self._all_bytes = b""
        self._selected: int | None = None
        self._confirm_kill: int | None = None  # k was pressed once on this PID (init): press again

    def compose(self) -> ComposeResult:
        yield Static(id="summary")
        table: DataTable[str | Text] = DataTable(id="processes", cursor_type="row", zebra_stripes=True)
        yield table
        with VerticalScroll(id="details-box"):
            yield Static(id="details")
        yield Input(placeholder="filter: name, state:Z, uid:100 (Enter to apply, Esc to clear)", id="filter")
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#processes", DataTable)
        table.add_column("PID", key="pid", width=7)
        table.add_column("S", key="state", width=1)
        table.add_column("UID", key="uid", width=5)
        table.add_column("RSS K", key="rss", width=7)
        table.add_column("NAME", key="name")
        table.focus()
        self.load()
        self.set_interval(self.interval, self.load)

    # -- reading the mount ---------------------------------------------------------------------
    def load(self) -> None:
        self.run_worker(self._read, thread=True, exclusive=True, group="read")

    def _read(self) -> None:
        try:
            with open(os.path.join(self.mountpoint, "all"), "rb") as f:
                raw = f.read()
            if raw == self._all_bytes:  # nothing changed: only the details (holders come and go)
                self.call_from_thread(self._show_details)
                return
            zombies = _read_json(self.mountpoint, "sim", "zombies.json")["zombies"]
            tree = _read_json(self.mountpoint, "sim", "tree.json")
        except (OSError, ValueError) as e:
            self.call_from_thread(self._say, f"reading {self.mountpoint}: {e}")
            return
        self.call_from_thread(self._apply, raw, zombies, tree)

    def _apply(self, raw: bytes, zombies: list[dict[str, Any]], tree: list[dict[str, Any]]) -> None:
        self.zombies = {z["pid"]: z for z in zombies}
        self._all_bytes = raw
        data = json.loads(raw)
        reparented = {row["pid"]: row["reparented_from"] for row in tree if row.get("reparented_from")}
        self.rows = tree_rows(data["processes"], reparented)
        colonel = next((p for p in data["processes"] if p["pid"] == 0), None)
        zombie_count = sum(1 for r in self.rows if r.state == "Z")
        self.query_one("#summary", Static).update(Text(
            f" {len(self.rows)} processes, {zombie_count} zombies"
            + (f"   CPU time {data['total_time'] / 1e9:.1f} s" if colonel else "")))
        self._fill_table()

    def _fill_table(self) -> None:
        table = self.query_one("#processes", DataTable)
        shown = [r for r in self.rows if matches(r, self.query_text)]
        if shown == self.shown and table.row_count == len(shown):
            return
        self.shown = shown
        keep, row_before = self._selected, table.cursor_row
        table.clear()
        for r in shown:
            zombie = r.state == "Z"
            marks = " <- zombie" if zombie else ""
            if r.orphan_of:
                marks += f" (orphan of {r.orphan_of})"
            # the depth as dots: cells lose leading blanks
            name = Text("· " * min(r.depth, 12), style="grey50")
            name.append(r.name[:40], style="bold red" if zombie else "")
            name.append(marks, style="red" if zombie else "yellow")
            cell_style = "bold red" if zombie else ""
            table.add_row(Text(str(r.pid), justify="right"), Text(r.state, style=cell_style),
                          Text(str(r.uid), justify="right"), Text(str(r.resident // 1024), justify="right"),
                          name, key=str(r.pid))
        if keep is not None and any(r.pid == keep for r in shown):
            table.move_cursor(row=table.get_row_index(str(keep)))
        elif shown:  # the selected process is gone (reaped): stay where it was
            table.move_cursor(row=min(max(row_before, 0), len(shown) - 1))
        self._show_details()

    # -- the selected process ------------------------------------------------------------------
    def selected(self) -> Row | None:
        table = self.query_one("#processes", DataTable)
        if not self.shown or table.cursor_row < 0 or table.cursor_row >= len(self.shown):
            return None
        return self.shown[table.cursor_row]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        row = self.selected()
        self._selected = row.pid if row else None
        self._show_details()

    def _show_details(self) -> None:
        row = self.selected()
        if row is None:
            self.query_one("#details", Static).update(Text("no process selected"))
            return
        self.run_worker(lambda: self._read_details(row), thread=True, exclusive=True, group="details")

    def _read_details(self, row: Row) -> None:
        details = Text()
        details.append(f"PID {row.pid}  {row.name}  ", style="bold")
        details.append({"Z": "zombie", "R": "running", "S": "sleeping", "T": "stopped"}.get(row.state, row.state),
                       style="bold red" if row.state == "Z" else "green")
        details.append(f" | uid {row.uid} | parent {row.ppid}")
        if row.orphan_of:
            details.append(f" (reparented from {row.orphan_of})", style="yellow")
        details.append("\n")
        zombie = self.zombies.get(row.pid)
        if zombie:
            details.append("verdict: ", style="bold")
            details.append(zombie["verdict"] + "\n")
            if zombie["reap_with"]:
                details.append("reap with: ", style="bold")
                details.append(f"{zombie['reap_with']}   [w] does it\n", style="green")
        try:
            references = _read_json(self.mountpoint, "sim", "references.json")
        except (OSError, ValueError):
            references = []
        holders = [(r["object"], h) for r in references if r.get("pid") == row.pid for h in r["held_by"]]
        if holders:
            details.append("kept alive by:\n", style="bold")
            for obj, holder in holders:
                details.append(f"- {visible(str(obj))} <- {visible(str(holder))}\n")
        try:
            regions = _read_json(self.mountpoint, str(row.pid), "vm")
        except (OSError, ValueError):
            regions = []
        if regions:
            details.append("regions (P page, Z zero/lazy, N not loaded):\n", style="bold")
            for region in regions[:12]:
                flags = ("r" if region["readable"] else "-") + ("w" if region["writable"] else "-") \
                    + ("x" if region["executable"] else "-")
                extra = (" volatile" if region.get("volatile") else "") + \
                    (f" cow {region['cow_pages']}" if region["cow_pages"] else "")
                details.append(f"- {region['address']:#010x} {region['size'] // 1024:>6}K {flags} "
                               f"{region['name'][:14]:<14}{extra} ")
                details.append_text(pagemap_strip(region["pagemap"], 24))
                details.append("\n")
        events = self._events_of(row.pid)
        if events:
            details.append("recent events:\n", style="bold")
            for e in events[-6:]:
                fields = " ".join(f"{k}={v}" for k, v in e.items() if k not in ("seq", "time", "event", "pid"))
                details.append(visible(f"- {e.get('time', 0):.3f}s {e['event']} {fields}")[:160] + "\n")
        self.call_from_thread(self.query_one("#details", Static).update, details)

    def _events_of(self, pid: int) -> list[dict[str, Any]]:
        path = os.path.join(self.mountpoint, "sim", "events")
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                f.seek(max(0, size - EVENT_TAIL_BYTES))
                lines = f.read().splitlines()[1 if size > EVENT_TAIL_BYTES else 0:]
        except OSError:
            return []
        found = []
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("pid") == pid or event.get("parent") == pid:
                found.append(event)
        return found

    # -- keys ----------------------------------------------------------------------------------
    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("shown")
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_text = event.value.strip()
        self.query_one("#processes", DataTable).focus()
        self._fill_table()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.remove_class("shown")
        self.query_text = ""
        self.query_one("#processes", DataTable).focus()
        self._fill_table()

    def action_next_zombie(self) -> None:
        table = self.query_one("#processes", DataTable)
        start = table.cursor_row
        order = list(range(start + 1, len(self.shown))) + list(range(0, start + 1))
        for index in order:
            if self.shown[index].state == "Z":
                table.move_cursor(row=index)
                return
        self._say("no zombie in the list")

    def action_reap(self) -> None:
        row = self.selected()
        if row is not None:
            self._drive(f"wait {row.ppid} {row.pid}")

    def action_kill(self) -> None:
        row = self.selected()
        if row is None:
            return
        if row.pid == 1 and self._confirm_kill != 1:
            self._confirm_kill = 1  # init: the whole machine's reaper; a second k confirms
            self._say("k again to kill init (PID 1): every orphan after it stays unreaped")
            return
        self._confirm_kill = None
        self._drive(f"kill {row.pid} KILL")

    def action_fork(self) -> None:
        row = self.selected()
        if row is not None:
            self._drive(f"fork {row.pid}")

    def _drive(self, line: str) -> None:
        try:
            result = run_ctl(self.mountpoint, line).strip()
            self._say(f"{line}: {result or 'done'}")
        except OSError as e:
            name = errno.errorcode.get(e.errno or 0, str(e.errno))
            self._say(f"{line}: {e.strerror} ({name})")
        self._all_bytes = b""  # redraw at once
        self.load()

    def _say(self, message: str) -> None:
        self.query_one("#status", Static).update(Text(visible(message)))


def run(mountpoint: str, interval: float = 1.0) -> int:
    LiveView(mountpoint, interval).run()
    return 0
