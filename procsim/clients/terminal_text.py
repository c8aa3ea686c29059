"""Text that reaches a terminal, shown, never obeyed.

Process names, command lines and refused commands come from whoever drove the simulation; an
escape sequence in one (`spawn $'\\e]0;T\\a\\e[31mRED'`) would retitle or recolour the terminal of
whoever reads it later.  Every line that procsim's clients print and that a user did not write
themselves goes through `visible`: control characters become `\\xNN`, as Linux's /dev/kmsg shows
them (the kernel model escapes its own log the same way, `kernel_core.printable`: a client of a
mount imports no simulator, so the two stay apart).
"""
from __future__ import annotations

_CONTROL = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7f, 0xa0)) if code != 0x09}
_CONTROL_BUT_NEWLINES = {code: text for code, text in _CONTROL.items() if code != 0x0a}


def visible(text: str, lines: bool = False) -> str:
    """`text` with its control characters escaped (newlines kept where `lines`)."""
    return text.translate(_CONTROL_BUT_NEWLINES if lines else _CONTROL)
