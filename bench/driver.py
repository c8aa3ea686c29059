"""A reader: stat or open+read+close one file in a loop for a while; prints operations done."""
import os
import sys
import time


def ps_pattern(root: str, seconds: float) -> float:
    """What ps does per process -- stat the directory, read stat, status, environ, cmdline --
    over the PIDs of `root`, as processes per second."""
    pids = [e for e in os.listdir(root) if e.isdigit()]
    deadline = time.perf_counter() + seconds
    done = 0
    while time.perf_counter() < deadline:
        for pid in pids[done % len(pids):][:50]:
            os.stat(f"{root}/{pid}")
            for name in ("stat", "status", "environ", "cmdline"):
                fd = os.open(f"{root}/{pid}/{name}", os.O_RDONLY)
                while os.read(fd, 65536):
                    pass
                os.close(fd)
        done += 50
    return done / seconds


def main(mode: str, path: str, seconds: float) -> None:
    if mode == "ps":
        print(ps_pattern(path, seconds))
        return
    deadline = time.perf_counter() + seconds
    count = 0
    if mode == "stat":
        while time.perf_counter() < deadline:
            for _ in range(50):
                os.stat(path)
            count += 50
    else:
        while time.perf_counter() < deadline:
            for _ in range(20):
                fd = os.open(path, os.O_RDONLY)
                while os.read(fd, 65536):
                    pass
                os.close(fd)
            count += 20
    print(count / seconds)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
