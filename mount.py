#!/usr/bin/env python3
"""Mount a simulated system's /proc: the same as `procsim mount`, for running from a checkout."""
import sys

from procsim.clients.cli import main

if __name__ == "__main__":
    sys.exit(main(["mount", *sys.argv[1:]]))
