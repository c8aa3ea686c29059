"""Serving a simulation as a FUSE mount: the daemon (one trio loop, one thread) and the guardian
that unmounts after it if it dies."""
