"""A /proc reader that handles a process gone at open, but not one gone at read.

The open succeeds; the process is reaped before the read, which fails with ESRCH
(ProcessLookupError) -- nix-store --gc's bug (nix PR 2223).  Usage: python3 half_careful.py [PROC]
"""
import os
import sys

proc = sys.argv[1] if len(sys.argv) > 1 else "/proc"
for name in sorted((n for n in os.listdir(proc) if n.isdigit()), key=int):
    try:
        f = open(f"{proc}/{name}/stat")
    except FileNotFoundError:
        continue  # gone since the listing
    with f:
        stat = f.read()
    print(name, stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2])
