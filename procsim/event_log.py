"""EventLog: every kernel event as one JSON line -- for `sim/events`, `--record` and `--replay`.

The log keeps the lines in memory (trimmed to the newest `limit` bytes; offsets stay valid, so a
reader that `tail -f`s keeps its place) and, with `--record FILE`, appends them to FILE with a
header line that says how to rebuild the run.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import IO, Any

from kernel_model import Kernel, KernelEvent

_ENCODER = json.JSONEncoder(separators=(",", ":"))


class EventLog:
    def __init__(self, kernel: Kernel, record: str | None = None, header: dict[str, Any] | None = None,
                 limit: int = 64 << 20) -> None:
        self._lock = threading.Lock()  # protects the buffer, the pending events and the file
        self._buffer = bytearray()
        self._pending: list[KernelEvent] = []  # not yet encoded: encoding waits for a reader
        self._base = 0         # offset of the first byte still kept
        self._size = 0         # total bytes ever logged
        self._limit = limit
        self._file: IO[bytes] | None = None
        if record:
            self._file = open(record, "wb")
            self._file.write((json.dumps({"procsim_record": 1, **(header or {})}) + "\n").encode())
            self._file.flush()
        kernel.subscribe(self._on_event)

    def _on_event(self, event: KernelEvent) -> None:
        if self._file is not None:  # a record is written at once: it must survive a crash
            line = (_ENCODER.encode(event.as_dict()) + "\n").encode()
            with self._lock:
                self._append(line)
                self._file.write(line)
                self._file.flush()
            return
        with self._lock:
            self._pending.append(event)
            if len(self._pending) >= 4096:
                self._encode_pending()

    def _append(self, data: bytes) -> None:
        # caller holds _lock
        self._buffer += data
        self._size += len(data)
        if len(self._buffer) > self._limit:
            cut = self._buffer.index(b"\n", len(self._buffer) - self._limit) + 1
            del self._buffer[:cut]
            self._base += cut

    def _encode_pending(self) -> None:
        # caller holds _lock
        if self._pending:
            encode = _ENCODER.encode
            self._append("".join([encode(e.as_dict()) + "\n" for e in self._pending]).encode())
            self._pending.clear()

    @property
    def size(self) -> int:
        with self._lock:
            self._encode_pending()
            return self._size

    def read(self, offset: int, size: int) -> bytes:
        """Bytes [offset, offset+size) of the log; what was trimmed reads as the oldest kept."""
        with self._lock:
            self._encode_pending()
            start = max(0, offset - self._base)
            return bytes(self._buffer[start:start + size])

    def lines(self) -> list[dict[str, Any]]:
        with self._lock:
            self._encode_pending()
            data = bytes(self._buffer)
        return [json.loads(line) for line in data.splitlines() if line]

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


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
        lines = Path(path).read_bytes().decode("utf-8").splitlines()
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
