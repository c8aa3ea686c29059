"""`python -m procsim ...` is the `procsim` command line."""
import sys

from .clients.cli import main

sys.exit(main())
