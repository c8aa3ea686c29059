"""A /proc reader that handles a process vanishing at any point: gone at open (ENOENT), gone
between open and read (ESRCH).  Usage: python3 careful.py [PROC]
"""
import os
import sys

proc = sys.argv[1] if len(sys.argv) > 1 else "/proc"
for name in sorted((n for n in os.listdir(proc) if n.isdigit()), key=int):
    try:
        with open(f"{proc}/{name}/stat") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        continue  # the process is gone: leave it out
    print(name, stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2])
