"""The simulation around the kernel model: commands, runner, programs, scenarios, event log,
bug switches and forensics.  Imports the kernel model and procfs; never a server or a client."""
