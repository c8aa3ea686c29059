"""The clients of a mount: they talk to it through its files and import no simulator, so that
`procsim ctl` and the pytest plugin load fast and work against any mount."""
