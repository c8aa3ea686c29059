"""The simulation around the kernel model: commands, runner, programs, scenarios, event log,
bug switches and forensics.  Imports the kernel model and procfs; never a server or a client.

One thread runs all of it (the daemon's trio loop, or `procsim run`), so it keeps no locks of its
own: a step, a command and a trigger never overlap.  The kernel's lock is the model's (the kernel
it models has one), and the model's tests drive it from several threads.
"""
