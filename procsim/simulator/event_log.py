"""EventLog: every kernel event as one JSON line -- for `sim/events`, `--record` and `--replay`.

The log keeps the lines in memory (trimmed to the newest `limit` bytes; offsets stay valid, so a
reader that `tail -f`s keeps its place) and, with `--record FILE`, appends them to FILE with a
header line that says how to rebuild the run.
"""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

from kernel_model import Kernel, KernelEvent

_ENCODER = json.JSONEncoder(separators=(",", ":"))


#: Disk space a record keeps allocated ahead of what it has written (posix_fallocate), so that
#: the events of a command or a step never meet a full disk half-way: a command or a step starts
#: only with ROOM_TO_START of it left (`ensure_room`).
RESERVE = 1 << 20
ROOM_TO_START = 256 << 10


class RecordFull(OSError):
    """The record cannot be written: what would change the simulation is refused."""


class EventLog:
    def __init__(self, kernel: Kernel, record: str | None = None, header: dict[str, Any] | None = None,
                 limit: int = 64 << 20) -> None:
        self._buffer = bytearray()
        self._pending: list[KernelEvent] = []  # not yet encoded: encoding waits for a reader
        self._base = 0         # offset of the first byte still kept
        self._size = 0         # total bytes ever logged
        self._limit = limit
        self._record_path = record
        self._fd: int | None = None
        self._written = 0      # bytes of the record written
        self._reserved = 0     # bytes of the record allocated on disk
        self.failure: str | None = None  # why the record can no longer be written
        if record:
            try:
                self._fd = os.open(record, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            except OSError as e:
                raise ValueError(f"--record {record}: {e.strerror}") from None
            try:
                self._write((json.dumps({"procsim_record": 1, **(header or {})}) + "\n").encode())
                self.ensure_room()
            except OSError as e:
                self.close()
                raise ValueError(f"--record {record}: {e.strerror}") from None
        kernel.subscribe(self._on_event)

    def ensure_room(self) -> None:
        """Raise RecordFull unless the record has room for a command or a step: the simulation
        must not change in a way the record cannot hold."""
        if self._fd is None and self.failure is None:
            return
        if self.failure is not None:
            raise RecordFull(errno.EIO, self.failure)
        assert self._fd is not None
        if self._reserved - self._written >= ROOM_TO_START:
            return
        try:
            os.posix_fallocate(self._fd, self._written, RESERVE)
        except OSError as e:
            raise RecordFull(e.errno or errno.ENOSPC,
                             f"no room for the record {self._record_path} ({e.strerror})") from None
        self._reserved = max(self._reserved, self._written + RESERVE)

    def _write(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            done = os.pwrite(self._fd, view, self._written)
            self._written += done
            view = view[done:]

    def _on_event(self, event: KernelEvent) -> None:
        if self._fd is not None:  # a record is written at once: it must survive a crash
            line = (_ENCODER.encode(event.as_dict()) + "\n").encode()
            self._append(line)
            try:
                self._write(line)
            except OSError as e:
                # past the reserve and the disk full: never raise into the kernel, in the
                # middle of a syscall.  The record stops here, whole up to this event, and
                # everything that would change the simulation is refused from now on.
                self.failure = f"the record {self._record_path} could not be written ({e.strerror}): " \
                               f"it ends before this point"
                self._close_record()
            return
        self._pending.append(event)
        if len(self._pending) >= 4096:
            self._encode_pending()

    def _append(self, data: bytes) -> None:
        self._buffer += data
        self._size += len(data)
        if len(self._buffer) > self._limit:
            cut = self._buffer.index(b"\n", len(self._buffer) - self._limit) + 1
            del self._buffer[:cut]
            self._base += cut

    def _encode_pending(self) -> None:
        if self._pending:
            encode = _ENCODER.encode
            self._append("".join([encode(e.as_dict()) + "\n" for e in self._pending]).encode())
            self._pending.clear()

    @property
    def size(self) -> int:
        self._encode_pending()
        return self._size

    def read(self, offset: int, size: int) -> bytes:
        """Bytes [offset, offset+size) of the log; what was trimmed reads as the oldest kept."""
        self._encode_pending()
        start = max(0, offset - self._base)
        return bytes(self._buffer[start:start + size])

    def lines(self) -> list[dict[str, Any]]:
        self._encode_pending()
        data = bytes(self._buffer)
        return [json.loads(line) for line in data.splitlines() if line]

    def _close_record(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, self._written)  # the reserve is not part of the record
            except OSError:
                pass
            os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        self._close_record()


#: The latest simulated time a record may name (about 11.6 days): replay steps the clock there,
#: 0.1 s at a time, so a damaged `"time": 1e12` would run practically forever.
MAX_RECORD_SECONDS = 1_000_000.0

_HEADER_TYPES: dict[str, tuple[type, ...]] = {
    "scenario": (str,), "scenario_text": (str,), "seed": (int,), "personality": (str,),
    "orphan_policy": (str, type(None)), "memory": (str,), "processes": (int,)}


class RecordError(ValueError):
    """A record that cannot be replayed: the file, the line and what is wrong with it."""


def read_record(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header and the events of a file written with --record, checked: every problem is a
    RecordError naming the file and the line (a record is data from anywhere)."""
    try:
        lines = Path(path).read_bytes().rstrip(b"\0").decode("utf-8").splitlines()  # a crash leaves the reserve
    except UnicodeDecodeError:
        raise RecordError(f"{path}: not a UTF-8 text file") from None
    if not lines:
        raise RecordError(f"{path}: empty record")
    header = _json_object(path, 1, lines[0])
    if header.get("procsim_record") != 1:
        raise RecordError(f"{path}:1: not a procsim record (no header line)")
    for key, types in _HEADER_TYPES.items():
        if not isinstance(header.get(key), types) or isinstance(header.get(key), bool):
            raise RecordError(f"{path}:1: the header's {key!r} is missing or not a {types[0].__name__}")
    if header["processes"] < 0 or header["seed"] < 0:
        raise RecordError(f"{path}:1: the header's seed and processes must not be negative")
    events, last = [], 0.0
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        event = _json_object(path, number, line)
        when = event.get("time")
        if not isinstance(when, (int, float)) or isinstance(when, bool) or not 0 <= when <= MAX_RECORD_SECONDS:
            raise RecordError(f"{path}:{number}: 'time' must be a number of seconds from 0 to {MAX_RECORD_SECONDS:g}")
        if when < last:
            raise RecordError(f"{path}:{number}: 'time' goes back ({when} after {last})")
        last = float(when)
        if not isinstance(event.get("event"), str):
            raise RecordError(f"{path}:{number}: no 'event' name")
        if event["event"] == "command" and not (isinstance(event.get("line"), str) and isinstance(event.get("source"), str)):
            raise RecordError(f"{path}:{number}: a command needs a 'line' and a 'source'")
        events.append({**event, "_line": number})
    return header, events


def _json_object(path: str | Path, number: int, line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError as e:  # JSONDecodeError
        raise RecordError(f"{path}:{number}: not JSON ({getattr(e, 'msg', e)})") from None
    if not isinstance(value, dict):
        raise RecordError(f"{path}:{number}: not a JSON object")
    return value
