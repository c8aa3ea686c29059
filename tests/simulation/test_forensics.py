"""Zombie verdicts and the lifetime inspector, from the model (the mount-level tests use bash)."""
from procsim.simulator import forensics
from procsim.options import MountOptions
from procsim.simulator.simulation import Simulation


def start(script: str, tmp_path, **options) -> Simulation:
    path = tmp_path / "s.scenario"
    path.write_text(script)
    simulation = Simulation(MountOptions(scenario=str(path), paused=True, **options))
    simulation.start()
    return simulation


def verdicts(sim) -> dict[int, str]:
    return {z["pid"]: z["verdict"] for z in forensics.zombies(sim.kernel, sim.runner)["zombies"]}


def test_a_parent_alive_and_not_waiting_is_the_only_one_that_can_reap(tmp_path):
    sim = start("i = spawn init program=init\np = spawn parent\nk = spawn kid ppid=$p\nexit $k 2\n", tmp_path)
    report = forensics.zombies(sim.kernel, sim.runner)["zombies"][0]
    assert report["reap_with"] == "wait 2 3" and "parent 2 (parent) is alive and not waiting: only it can reap it" \
        in report["verdict"]
    assert report["exit_status"] == 512
    sim.stop()


def test_a_parent_blocked_in_wait_reaps_at_the_next_step(tmp_path):
    sim = start("p = spawn parent program=shell cmdline=\"sh --every 1\"\n", tmp_path)
    for _ in range(40):  # step until the shell has forked a command and waits for it
        sim.runner.tick(0.1)
        if sim.runner.is_waiting(1):
            break
    assert [pid for pid in sim.kernel.processes if sim.runner.is_waiting(pid)] == [1]
    child = next(iter(sim.kernel.process(1).children))
    sim.interpreter.execute(f"exit {child}")
    assert "blocked in wait(): reaped at the next step" in verdicts(sim)[child]
    sim.runner.tick(0.1)
    assert child not in sim.kernel.processes
    sim.stop()


def test_linux_orphans_reparented_to_an_init_that_reaps_or_does_not(tmp_path):
    sim = start("init = spawn init program=init\np = spawn parent ppid=$init\nk = spawn kid ppid=$p\n",
                tmp_path, personality="linux")
    sim.bugs.set("init_does_not_reap", True)
    sim.runner.tick(0.5)
    sim.interpreter.execute("exit 2")
    sim.interpreter.execute("exit 3")
    sim.runner.tick(1)
    v = verdicts(sim)
    assert "reparented to init (PID 1)" in v[3] and "init_does_not_reap bug switch is on: it stays a zombie" in v[3]
    assert "child of init" in v[2]
    sim.bugs.set("init_does_not_reap", False)
    sim.runner.tick(1)
    assert verdicts(sim) == {}
    sim.stop()


def test_the_serenity_note_explains_why_orphans_are_never_zombies(tmp_path):
    sim = start("p = spawn parent\nk = spawn kid ppid=$p\nexit $p\nexit $k\n", tmp_path)
    report = forensics.zombies(sim.kernel, sim.runner)
    assert report["zombies"] == [] and "never becomes a zombie" in report["note"]
    assert "(no zombies)" in forensics.zombies_text(report)
    sim.stop()


def test_strong_backrefs_leak_dead_processes_forever_and_the_inspector_says_who_holds_them(tmp_path):
    sim = start("p = spawn parent\n", tmp_path)
    sim.bugs.set("procfs_strong_backrefs", True)
    kid = int(sim.interpreter.execute("spawn leaker ppid=1"))
    sim.interpreter.execute(f"exit {kid}")
    sim.interpreter.execute(f"wait 1 {kid}")
    assert kid in sim.kernel.processes  # reaped, yet still listed: it lingers in /proc/all
    assert "leaked: in no parent's wait list" in verdicts(sim)[kid]
    linked = [ref.get() for ref in sim.registry.directories.values()]
    report = forensics.lifetimes(sim.kernel, str, linked)
    [entry] = [r for r in report if r["kind"] == "Process"]
    assert entry["held_by"] == [f"PID directory /{kid}"]
    [directory] = [r for r in report if r["kind"] == "ProcessDirectory"]
    assert "no longer linked" in directory["why"]
    assert any("strong back-pointer bug" in h for h in directory["held_by"])
    sim.bugs.set("procfs_strong_backrefs", False)
    ok = int(sim.interpreter.execute("spawn fine ppid=1"))
    sim.interpreter.execute(f"exit {ok}")
    sim.interpreter.execute(f"wait 1 {ok}")
    assert ok not in sim.kernel.processes
    sim.stop()


def test_vm_objects_without_regions_are_listed(tmp_path):
    sim = start("p = spawn p\n", tmp_path)
    process = sim.kernel.process(1)
    region = process.space.regions[0]
    stray = region.vmobject_ref.clone("a stray reference in a test")
    sim.interpreter.execute(f"munmap 1 {region.base} {region.size}")
    [entry] = forensics.lifetimes(sim.kernel, str)
    assert entry["why"] == "a VM object no region maps" and entry["held_by"] == ["a stray reference in a test"]
    stray.release()
    assert forensics.lifetimes(sim.kernel, str) == []
    sim.stop()
