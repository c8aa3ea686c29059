"""A /proc reader that trusts the listing: one line per process, from its `stat`.

A process that is gone by the time the reader opens its `stat` crashes it (FileNotFoundError),
as ganglia's monitor did (monitor-core PR 188).  Usage: python3 fragile.py [PROC]
"""
import os
import sys

proc = sys.argv[1] if len(sys.argv) > 1 else "/proc"
for name in sorted((n for n in os.listdir(proc) if n.isdigit()), key=int):
    with open(f"{proc}/{name}/stat") as f:
        stat = f.read()
    print(name, stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2])
