"""A reader: stat or open+read+close one file in a loop for a while; prints operations done."""
import os
import sys
import time


def main(mode: str, path: str, seconds: float) -> None:
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
