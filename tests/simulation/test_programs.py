"""Programs on the runner: what each built-in does, cancellation, crashes, determinism."""
import errno
import json
import signal

import pytest

from kernel_model import KernelError
from procsim.options import MountOptions
from procsim.simulator.simulation import Simulation
from procsim.simulator.event_log import read_record


@pytest.fixture
def simulate(tmp_path):
    """simulate(script, seconds, **options) -> a started Simulation, stopped after the test."""
    started = []

    def run(script: str, seconds: float = 0, **options) -> Simulation:
        path = tmp_path / f"s{len(started)}.scenario"
        path.write_text(script)
        simulation = Simulation(MountOptions(scenario=str(path), paused=True, **options))
        started.append(simulation)
        simulation.start()
        if seconds:
            simulation.runner.tick(seconds)
        return simulation

    yield run
    for simulation in started:
        simulation.stop()


def names(sim):
    return {p.pid: (p.name, p.state_name) for p in sim.kernel.processes.values()}


def kinds(sim, kind):
    return [e for e in sim.events.lines() if e["event"] == kind]


def test_init_reaps_orphans_under_the_linux_policy(simulate):
    sim = simulate("""init = spawn init program=init
parent = spawn parent ppid=$init
kid = spawn kid ppid=$parent program=sleeper cmdline="kid --seconds 1"
exit $parent
""", 2, personality="linux")
    assert sim.kernel.processes.keys() == {1}
    assert {e["pid"] for e in kinds(sim, "reap") if e["by"] == 1} == {2, 3}


def test_init_with_no_reap_lets_zombies_pile_up_under_pid_1(simulate):
    sim = simulate("""init = spawn init program=init cmdline="init --no-reap"
parent = spawn parent ppid=$init program=leaky_parent cmdline="leaky --children 3 --interval 0.2"
""", 2, personality="linux")
    sim.kernel.exit(2)
    sim.runner.tick(1)
    zombies = sim.kernel.zombies()
    assert len(zombies) == 4 and all(z.ppid == 1 for z in zombies)


def test_leaky_parent_leaves_zombies_its_parent_never_reaps(simulate):
    sim = simulate("""shell = spawn Shell
leaky = spawn leaky ppid=$shell program=leaky_parent cmdline="leaky --children 3 --interval 0.2"
""", 2)
    zombies = sim.kernel.zombies()
    assert len(zombies) == 3 and {z.ppid for z in zombies} == {2}


def test_memory_hog_is_killed_by_the_oom_path_and_nobody_else(simulate):
    sim = simulate("""a = spawn bystander program=daemon
hog = spawn memory_hog program=memory_hog cmdline="hog --chunk-pages 4096"
""", 3, memory="64M")
    assert [e["pid"] for e in kinds(sim, "oom_kill")] == [2]
    assert sim.kernel.process(1).is_alive
    assert any("Out of memory, killing: memory_hog(2)" in line for line in sim.kernel.dmesg)


def test_cache_is_purged_under_pressure_and_refilled(simulate):
    sim = simulate("""init = spawn init program=init
c = spawn cache ppid=$init program=cache cmdline="cache --pages 2048 --idle 1"
hog = spawn hog ppid=$init program=memory_hog cmdline="hog --chunk-pages 2048"
""", 5, memory="32M")
    assert kinds(sim, "purge"), "memory pressure purged the volatile cache"
    assert any("cache was purged; refilling" in line for line in sim.kernel.dmesg)


def test_fork_bomb_forks_until_fork_fails(simulate):
    sim = simulate("bomb = spawn bomb program=fork_bomb\n", 3, memory="4M")
    assert any("fork failed: ENOMEM" in line for line in sim.kernel.dmesg)
    sim.kernel.check_invariants()


def test_a_program_that_raises_kills_only_its_process(simulate):
    sim = simulate("""ok = spawn fine program=sleeper
bug = spawn buggy ppid=0 program=crasher cmdline="buggy --after 0.5"
""", 1)
    assert sim.kernel.process(2) is None and sim.kernel.process(1).is_alive
    assert any("program crasher raised RuntimeError: simulated bug" in line for line in sim.kernel.dmesg)
    [exit_event] = [e for e in kinds(sim, "exit") if e["pid"] == 2]
    assert exit_event["signal"] == signal.SIGSEGV


def test_killing_a_process_cancels_its_program(simulate):
    sim = simulate("d = spawn d program=daemon\n", 1)
    sim.interpreter.execute("kill 1 STOP")   # stopped, but its program still runs in this model
    sim.interpreter.execute("kill 1 KILL")
    sim.runner.tick(2)
    assert sim.kernel.process(1) is None and not sim.runner._running
    events = list(sim.events.lines())
    killed = next(i for i, e in enumerate(events) if e["event"] == "exit" and e["pid"] == 1)
    after = [e["event"] for e in events[killed + 1:] if e.get("pid") == 1]
    assert after == ["reap"]  # nothing of the cancelled program ran after the kill


def test_a_fork_of_a_process_with_a_program_starts_the_child_s_program(simulate):
    sim = simulate("""p = spawn leaky program=leaky_parent cmdline="leaky --children 0 --lifetime 0.3"
""", 0.2)
    child = int(sim.interpreter.execute("fork 1"))
    sim.runner.tick(1)
    assert sim.kernel.process(child).is_dead  # the child ran the program's child branch and exited


def test_cpu_time_accrues_and_uptime_advances(simulate):
    sim = simulate("d = spawn d program=daemon cmdline=\"d --load 0.5\"\n", 4)
    thread = sim.kernel.process(1).counters
    assert 1.9e9 <= thread.time_user + thread.time_kernel <= 2.1e9
    assert sim.kernel.uptime_seconds() == pytest.approx(4.0)


def test_same_scenario_and_seed_give_identical_logs_and_other_seeds_differ(tmp_path):
    logs = []
    for seed in (5, 5, 6):
        record = tmp_path / f"r{len(logs)}.jsonl"
        sim = Simulation(MountOptions(scenario="default", seed=seed, record=str(record), paused=True))
        sim.start()
        sim.runner.tick(15)
        sim.stop()
        logs.append(record.read_text())
    if logs[0] != logs[1]:
        import difflib
        diff = "".join(list(difflib.unified_diff(logs[0].splitlines(True), logs[1].splitlines(True)))[:20])
        pytest.fail(f"same seed, different logs:\n{diff}")
    assert logs[0] != logs[2]


def test_replay_rebuilds_the_same_log_including_ctl_commands(tmp_path):
    record = tmp_path / "orig.jsonl"
    sim = Simulation(MountOptions(scenario="zombies", seed=3, record=str(record), paused=True))
    sim.start()
    sim.runner.tick(1.3)
    sim.interpreter.execute("wait 3")
    sim.runner.tick(0.4)
    shell = int(sim.interpreter.execute("spawn late program=leaky_parent cmdline=\"late --children 2\""))
    with pytest.raises(KernelError) as refused:
        sim.interpreter.execute("fork 999")
    assert refused.value.errno == errno.ESRCH  # recorded as a failure, and replayed as one
    sim.runner.tick(2)
    sim.stop()
    replayed = tmp_path / "replay.jsonl"
    again = Simulation(MountOptions(replay=str(record), record=str(replayed), paused=True))
    again.start()
    again.stop()
    _, original_events = read_record(record)
    _, replay_events = read_record(replayed)
    assert replay_events == original_events
    assert shell in again.kernel.processes


def test_a_python_scenario_file_brings_its_own_programs(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text('''
async def pinger(ctx):
    for i in range(3):
        ctx.log(f"ping {i}")
        await ctx.sleep(0.5)

PROGRAMS = {"pinger": pinger}
SCENARIO = "p = spawn pinger program=pinger\\n"
''')
    sim = Simulation(MountOptions(scenario=str(path), paused=True))
    sim.start()
    sim.runner.tick(2)
    sim.stop()
    assert [line.split(": ")[-1] for line in sim.kernel.dmesg if "ping" in line] == ["ping 0", "ping 1", "ping 2"]
    assert sim.kernel.process(1) is None  # returning from the program exits the process


@pytest.mark.parametrize("scenario", ["default", "empty", "zombies", "oom", "purgeable", "host"])
def test_every_builtin_scenario_builds_and_keeps_the_invariants(scenario):
    sim = Simulation(MountOptions(scenario=scenario, processes=50, paused=True))
    sim.start()
    sim.runner.tick(3)
    sim.kernel.check_invariants()
    assert sim.kernel.processes
    sim.stop()


def test_scale_scenario_builds_n_processes():
    sim = Simulation(MountOptions(scenario="scale", processes=200, paused=True))
    sim.start()
    assert len(sim.kernel.processes) == 201
    assert all(p.space.stats().resident >= 64 * 4096 for p in list(sim.kernel.processes.values())[1:])
    sim.stop()


def test_events_are_json_lines_with_simulated_time(simulate):
    sim = simulate("p = spawn p\n", 0.5)
    sim.interpreter.execute("exit 1 4")
    lines = sim.events.read(0, 1 << 20).decode().splitlines()
    events = [json.loads(line) for line in lines]
    [exit_event] = [e for e in events if e["event"] == "exit"]
    assert exit_event["code"] == 4 and exit_event["time"] == 0.5 and exit_event["pid"] == 1
    assert events[-1] == {**events[-1], "event": "command", "line": "exit 1 4", "source": "ctl"}


SPINNER = '''
async def spin(ctx):
    await ctx.sleep(0.2)
    total = 0
    while True:          # never awaits again
        total += 1


SCENARIO = """
spinner = spawn spinner ppid=0 program=spin
bystander = spawn bystander ppid=0 program=daemon
"""
PROGRAMS = {"spin": spin}
'''


def test_a_program_that_never_awaits_is_killed_and_the_rest_runs_on(tmp_path):
    """A simulated program must not be able to take the machine down: past the step budget its
    process is killed (dmesg says why), and the clock, the other programs and the kernel go on."""
    path = tmp_path / "spinner.py"
    path.write_text(SPINNER)
    simulation = Simulation(MountOptions(scenario=str(path), paused=True))
    simulation.start()
    try:
        simulation.runner.tick(1)
        kernel = simulation.kernel
        assert 1 not in kernel.processes or not kernel.process(1).is_alive
        assert "program spin ran 1 s without awaiting its context" in "\n".join(kernel.dmesg)
        assert kernel.process(2).is_alive and 2 in simulation.runner._running
        simulation.runner.tick(1)   # the clock still moves
        assert kernel.clock.seconds() >= 2
        kernel.check_invariants()
    finally:
        simulation.stop()


def test_a_record_never_runs_code_by_itself(tmp_path):
    """A record names the Python scenario it was made with; replaying it runs that file's code
    only when the person replaying names the file on the command line."""
    import subprocess
    import sys

    marker = tmp_path / "ran"
    scenario = tmp_path / "mine.py"
    scenario.write_text(f"open({str(marker)!r}, 'a').write('x')\nSCENARIO = 'spawn one ppid=0'\n")
    record = tmp_path / "run.jsonl"
    cli = [sys.executable, "-m", "procsim.clients.cli", "run", "--seconds", "0.2"]
    assert subprocess.run(cli + ["--scenario", str(scenario), "--record", str(record)]).returncode == 0
    marker.unlink()
    refused = subprocess.run(cli + ["--replay", str(record)], capture_output=True, text=True)
    assert refused.returncode != 0 and "a record never runs code by itself" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not marker.exists()
    named = subprocess.run(cli + ["--replay", str(record), "--scenario", str(scenario)], capture_output=True, text=True)
    assert named.returncode == 0, named.stderr
    assert marker.exists()


def test_a_refused_tick_is_recorded_as_written_with_its_source(simulate):
    from kernel_model import KernelError

    sim = simulate("")
    with pytest.raises(KernelError) as e:
        sim.interpreter.execute("tick -5", source="scenario")
    assert e.value.errno == 22
    refused = [e for e in sim.events.lines() if e["event"] == "command" and e.get("error")]
    assert refused[-1]["line"] == "tick -5" and refused[-1]["source"] == "scenario"


@pytest.mark.parametrize("damage, says", [
    ("", "empty record"),
    (b"\xff\xfe", "not a UTF-8 text file"),
    ("{not json", ":1: not JSON"),
    ('{"procsim_record": 1}', ":1: the header's 'scenario' is missing"),
    ("HEADER\n[]", ":2: not a JSON object"),
    ('HEADER\n{"time": 1e12, "event": "tick"}', ":2: 'time' must be a number of seconds"),
    ('HEADER\n{"time": NaN, "event": "tick"}', ":2: 'time' must be a number"),
    ('HEADER\n{"time": 2, "event": "x"}\n{"time": 1, "event": "x"}', ":3: 'time' goes back"),
    ('HEADER\n{"time": 1, "event": "command", "line": 5}', ":2: a command needs a 'line'"),
    ('HEADER\n{"time": 1}', ":2: no 'event' name"),
])
def test_a_damaged_record_is_refused_with_its_file_and_line(tmp_path, damage, says):
    import subprocess
    import sys

    header = json.dumps({"procsim_record": 1, "scenario": "empty", "scenario_text": "", "seed": 0,
                         "personality": "serenity", "orphan_policy": None, "memory": "64M", "processes": 0})
    record = tmp_path / "damaged.jsonl"
    if isinstance(damage, bytes):
        record.write_bytes(damage)
    else:
        record.write_text(damage.replace("HEADER", header))
    before = record.read_bytes()
    result = subprocess.run([sys.executable, "-m", "procsim.clients.cli", "run", "--replay", str(record), "--seconds", "0"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert says in result.stderr and str(record) in result.stderr, result.stderr
    assert record.read_bytes() == before


def test_replay_never_overwrites_the_record_it_reads(tmp_path):
    import subprocess
    import sys

    record = tmp_path / "run.jsonl"
    cli = [sys.executable, "-m", "procsim.clients.cli", "run", "--scenario", "empty", "--seconds", "0.2"]
    assert subprocess.run(cli + ["--record", str(record)]).returncode == 0
    before = record.read_bytes()
    result = subprocess.run(cli + ["--replay", str(record), "--record", str(record)], capture_output=True, text=True)
    assert result.returncode != 0 and "would overwrite the record" in result.stderr
    assert record.read_bytes() == before


def _record_a_run(tmp_path):
    record = tmp_path / "live.jsonl"
    sim = Simulation(MountOptions(scenario="empty", paused=True, record=str(record)))
    sim.start()
    try:
        sim.interpreter.execute("spawn first ppid=0")
        sim.bugs.set("init_does_not_reap", True)
        sim.runner.tick(0.5)
        sim.interpreter.execute("after open /2/stat kill 2 KILL")
        sim.interpreter.execute("kill 2 KILL", source="trigger")  # as a reader's open would fire it
        sim.interpreter.execute("spawn second ppid=0")
    finally:
        sim.stop()
    return record


def test_a_replay_flips_switches_and_never_fires_a_trigger_twice(tmp_path):
    record = _record_a_run(tmp_path)
    replay = Simulation(MountOptions(replay=str(record), paused=True))
    replay.start()
    try:
        assert replay.bugs.get("init_does_not_reap")
        assert replay.interpreter.execute("triggers") == ""      # it fired live; the replay ran what it ran
        names = {p.name for p in replay.kernel.processes.values()}
        assert "second" in names and "first" not in names
    finally:
        replay.stop()


def test_a_replay_that_diverges_stops_at_the_first_different_result(tmp_path):
    record = _record_a_run(tmp_path)
    lines = record.read_text().splitlines()
    number = next(i for i, line in enumerate(lines) if '"line":"spawn second ppid=0"' in line)
    lines[number] = lines[number].replace('"result":"3"', '"result":"7"')
    record.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError) as e:
        Simulation(MountOptions(replay=str(record), paused=True)).start()
    assert f"{record}:{number + 1}: the replay diverged at 'spawn second ppid=0'" in str(e.value)
    assert "recorded result '7', replayed result '3'" in str(e.value)
