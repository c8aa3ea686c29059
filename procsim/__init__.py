"""procsim: everything around the kernel model and its ProcFS, in three rooms.

- `simulator/`: the simulation itself -- command language, runner, programs, scenarios, the event
  log, bug switches and forensics.  It imports the kernel model and procfs, never a mount's server
  or client.
- `server/`: serving a simulation as a FUSE mount -- the daemon and its guardian.
- `clients/`: what talks to a mount from outside -- the CLI, ctl, top, the live view, snapshot,
  explore, the testing API and the pytest plugin.  They import no simulator: `procsim ctl` and
  pytest load fast and work against any mount.

The modules left here (`options`, `safe_files`, `dot_graphs`) are the vocabulary the rooms share:
plain data and helpers that import nothing of procsim.  `testing`, `pytest_plugin` and `cli` here
are the old public names, kept working (tests/test_layering.py checks all of it).
"""
