"""procsim: the simulation around the kernel model -- command language, runner, scenarios, CLI."""
