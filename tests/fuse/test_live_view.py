"""The interactive live view (`procsim top`), driven through Textual's test pilot against real
mounts: at 80x24 and 200x50, with 10,000 processes, selecting a zombie, and the keys that drive the
kernel.  Screens are compared with committed snapshots (pytest-textual-snapshot)."""
from __future__ import annotations

import asyncio
import json

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from procsim.clients.live_view import LiveView
from procsim.clients.mount_client import run_ctl



@pytest.fixture
def zombies(mount_system):
    """A fresh zombies system, clock stopped: init, Shell, leaky_parent (3) and its zombies 4 5 6."""
    return mount_system(scenario="zombies", personality="linux", paused=True)


@pytest.fixture(scope="module")
def big(module_mounts):
    mounted = module_mounts(scenario="scale", processes=10_000, personality="linux", paused=True)
    for worker in (2, 3, 4):  # three zombies among the 10,000: children their worker never waits for
        kid = run_ctl(str(mounted.path), f"fork {worker}").strip()
        run_ctl(str(mounted.path), f"exit {kid}")
    return mounted


async def loaded(app: LiveView, pilot: Pilot, what: str = "") -> None:
    for _ in range(600):
        await pilot.pause(0.05)
        if app.shown and what in str(details(app)):
            return
    raise AssertionError(f"the view did not show {what!r}: {details(app)}")


def details(app: LiveView) -> str:
    rendered = app.query_one("#details", Static).render()
    return rendered.plain if isinstance(rendered, Text) else str(rendered)


def status(app: LiveView) -> str:
    rendered = app.query_one("#status", Static).render()
    return rendered.plain if isinstance(rendered, Text) else str(rendered)


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
def test_the_tree_fits_and_a_selected_zombie_shows_who_can_reap_it(zombies, size):
    async def body() -> None:
        app = LiveView(str(zombies.path))
        async with app.run_test(size=size) as pilot:
            await loaded(app, pilot)
            assert [(r.pid, r.depth, r.state) for r in app.shown] == [
                (1, 0, "S"), (2, 1, "S"), (3, 2, "S"), (4, 3, "Z"), (5, 3, "Z"), (6, 3, "Z"), (7, 3, "S")]
            await pilot.press("z")
            await loaded(app, pilot, "verdict")
            text = details(app)
            assert "PID 4  leaky_parent  zombie" in text and "parent 3" in text
            assert "only it can reap it" in text and "reap with: wait 3 4" in text
            assert "wait list of PID 3 (leaky_parent)" in text  # what keeps it alive
    asyncio.run(body())


def test_the_keys_drive_the_kernel_and_show_its_refusals(zombies):
    async def body() -> None:
        mnt = str(zombies.path)
        app = LiveView(mnt)
        async with app.run_test(size=(100, 30)) as pilot:
            await loaded(app, pilot)
            await pilot.press("z", "w")  # reap zombie 4 as its parent would
            await pilot.pause(0.2)
            assert status(app) == "wait 3 4: 4 0"
            assert 4 not in {p["pid"] for p in json.loads(open(f"{mnt}/all").read())["processes"]}
            table = app.query_one(DataTable)
            table.move_cursor(row=[r.pid for r in app.shown].index(7))
            await pilot.press("f")
            await pilot.pause(0.2)
            assert status(app) == "fork 7: 8"
            for _ in range(200):  # the next refresh shows the child
                if any(r.pid == 8 for r in app.shown):
                    break
                await pilot.pause(0.05)
            table.move_cursor(row=[r.pid for r in app.shown].index(7))
            await pilot.press("w")  # 7 is alive: its parent cannot reap it yet
            await pilot.pause(0.2)
            assert status(app) == "wait 3 7: no child of PID 3 has exited yet (would block) (EAGAIN)"
            await pilot.press("k")
            await pilot.pause(0.2)
            assert status(app) == "kill 7 KILL: done"
            assert run_ctl(mnt, "wait 3 7").split() == ["7", "9"]  # it died of SIGKILL
            table.move_cursor(row=[r.pid for r in app.shown].index(1))
            await pilot.press("k")  # init: not at the first k
            await pilot.pause(0.2)
            assert status(app).startswith("k again to kill init (PID 1)")
            init = next(p for p in json.loads(open(f"{mnt}/all").read())["processes"] if p["pid"] == 1)
            assert init["threads"]  # init lives
            await pilot.press("k")
            await pilot.pause(0.2)
            assert status(app) == "kill 1 KILL: done"
            assert "init init(1) killed by SIGKILL" in open(f"{mnt}/dmesg").read()
    asyncio.run(body())


def test_ten_thousand_processes_scroll_and_filter(big):
    async def body() -> None:
        app = LiveView(str(big.path))
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(app, pilot)
            assert len(app.shown) == 10_004
            table = app.query_one(DataTable)
            await pilot.press("pagedown", "pagedown", "pagedown")
            assert table.cursor_row > 10 and table.scroll_offset.y > 0
            await pilot.press("z")
            await loaded(app, pilot, "verdict")
            assert app.selected() is not None and app.selected().pid > 10_000  # the first zombie
            await pilot.press("slash", *"worker17", "enter")
            await pilot.pause(0.3)
            assert app.shown and all("worker17" in r.name for r in app.shown) and len(app.shown) < 1000
            # (ctrl+u empties the filter box: a new filter without redrawing all 10,000 rows first)
            await pilot.press("slash", "ctrl+u", *"state", "colon", "Z", "enter")
            await pilot.pause(0.3)
            assert [r.pid for r in app.shown] == [10_002, 10_003, 10_004]
            await pilot.press("slash", "ctrl+u", *"uid", "colon", *"123", "enter")
            await pilot.pause(0.3)
            assert app.shown == []
    asyncio.run(body())


async def select_a_zombie(pilot: Pilot) -> None:
    app = pilot.app
    assert isinstance(app, LiveView)
    await loaded(app, pilot)
    await pilot.press("z")
    await loaded(app, pilot, "verdict")


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
def test_snapshot_with_a_zombie_selected(zombies, snap_compare, size):
    assert snap_compare(LiveView(str(zombies.path)), terminal_size=size, run_before=select_a_zombie)


def test_names_that_look_like_markup_are_shown_as_typed(zombies):
    mnt = str(zombies.path)
    names = ["[bold]evil", "[link=x]y", "a\\[b"]
    for name in names:
        run_ctl(mnt, f"spawn '{name}' ppid=1")

    async def body() -> None:
        app = LiveView(mnt)
        async with app.run_test(size=(100, 30)) as pilot:
            await loaded(app, pilot)
            assert [r.name for r in app.shown if r.ppid == 1 and r.name not in ("Shell",)] == names
            table = app.query_one(DataTable)
            table.move_cursor(row=[r.name for r in app.shown].index("[bold]evil"))
            await loaded(app, pilot, "[bold]evil")
            assert "PID 8  [bold]evil" in details(app)
    asyncio.run(body())
