"""Data flows one way: kernel_model <- procfs backends <- FUSE adapter <- procsim.

The model imports neither FUSE nor trio; the procfs backends import no FUSE binding and no event
loop; only the adapter (procfs/fuse_*.py: the adapter and its name cache) speaks pyfuse3 and awaits on trio.  Inside procsim,
each room is a folder (simulator/, server/, clients/) and may import only the rooms below it: the
clients of a mount (ctl, umount, top, snapshot, explore, the testing API, the pytest plugin)
import no simulator, and no module imports another that imports it back (but for type checking)."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUSE_BINDINGS = {"fuse", "pyfuse3"}
FORBIDDEN = {"kernel_model": FUSE_BINDINGS | {"trio", "procfs", "procsim"},
             "procfs": FUSE_BINDINGS | {"trio", "procsim"}}



def is_adapter(path: Path) -> bool:
    """The FUSE adapter is procfs/fuse_*.py: the adapter itself and its name cache."""
    return path.parent == ROOT / "procfs" and path.name.startswith("fuse_")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_each_layer_imports_only_what_lies_below_it():
    for package, forbidden in FORBIDDEN.items():
        for path in (ROOT / package).rglob("*.py"):
            allowed = {"pyfuse3", "trio"} if is_adapter(path) else set()
            bad = imported_modules(path) & (forbidden - allowed)
            assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_the_adapter_is_the_only_fuse_speaker_of_procfs():
    speakers = sorted(p.name for p in (ROOT / "procfs").glob("*.py") if imported_modules(p) & FUSE_BINDINGS)
    assert speakers == ["fuse_adapter.py", "fuse_name_cache.py"]


def test_the_simulation_runner_needs_no_event_loop():
    """Programs are stepped by hand: `procsim run` and the tests never start trio."""
    assert "trio" not in imported_modules(ROOT / "procsim" / "simulator" / "runner.py")




ROOMS = ("simulator", "server", "clients")
#: What each room of procsim may import, besides itself and the shared modules (procsim/*.py).
MAY_IMPORT = {"simulator": {"kernel_model", "procfs"},
              "server": {"kernel_model", "procfs", "procsim.simulator", "trio", "pyfuse3"},
              "clients": set()}
SHIMS = {"testing", "pytest_plugin", "cli"}  # the old public names: the clients' modules themselves
OURS_OR_LOOP = ("kernel_model", "procfs", "procsim", "trio", "pyfuse3", "fuse")


def procsim_modules() -> dict[str, Path]:
    return {module_name(p): p for p in (ROOT / "procsim").rglob("*.py")}


def all_imports(path: Path, module_level: bool) -> set[str]:
    """The dotted names `path` imports (relative ones resolved), at module level only or anywhere
    (a function's lazy import too), TYPE_CHECKING blocks left out."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module or ""
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names)
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], (ast.stmt, ast.excepthandler)):
                    if module_level and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        continue
                    visit(inner)  # type: ignore[arg-type]
    visit(ast.parse(path.read_text()).body)
    return {m for m in found if m.split(".")[0] in OURS_OR_LOOP}


def room_of(module: str) -> str:
    """'procsim.clients.top' -> 'clients'; 'procsim.options' -> 'shared'; anything else: itself."""
    parts = module.split(".")
    if parts[0] != "procsim":
        return parts[0]
    if len(parts) > 1 and parts[1] in ROOMS:
        return f"procsim.{parts[1]}"
    if len(parts) > 1 and (parts[1] in SHIMS or parts[1] == "__main__"):
        return "procsim.entry"
    return "procsim.shared" if len(parts) > 1 else "procsim"


def test_each_room_of_procsim_imports_only_what_it_may():
    """The folders are the rule: a new module is checked by where it lies, not by a list."""
    checked = 0
    for name, path in procsim_modules().items():
        room = room_of(name)
        if room in ("procsim", "procsim.entry"):
            continue
        # a client may import the simulator lazily, inside a function (`procsim run` runs one)
        imported = {room_of(m) for m in all_imports(path, module_level=room == "procsim.clients")} - {room, "procsim"}
        if room == "procsim.shared":
            allowed: set[str] = set()
        else:
            allowed = {"procsim.shared"} | MAY_IMPORT[room.split(".")[1]]
        assert imported <= allowed, f"{name} ({room}) imports {sorted(imported - allowed)}"
        checked += 1
    assert checked > 20


def test_the_old_public_names_are_the_clients_modules():
    code = ("import importlib; " + "; ".join(
        f"assert importlib.import_module('procsim.{n}') is importlib.import_module('procsim.clients.{n}')"
        for n in sorted(SHIMS)) + "; import procsim.testing as t; t.MountedSystem; print('ok')")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT).stdout == "ok\n"


def test_clients_of_a_mount_import_no_simulator():
    """pytest loads the plugin in every run where procsim is installed; `procsim ctl` runs often.
    Every module of clients/ is loaded, and nothing of the simulator may come with it."""
    clients = sorted(n for n in procsim_modules() if room_of(n) == "procsim.clients")
    code = (f"import sys; import {', '.join(clients)}; "
            f"print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in {OURS_OR_LOOP!r})))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=ROOT).stdout.split()
    simulator = [m for m in loaded if room_of(m) not in ("procsim", "procsim.clients", "procsim.shared")]
    assert simulator == [], simulator
    assert "procsim.clients.mount_client" in loaded  # (the check ran)

def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """Our modules that `path` imports when it is loaded (module level; not under TYPE_CHECKING)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name in modules)
            elif isinstance(node, ast.ImportFrom):
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module or ""
                if target in modules:
                    found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in modules)
    visit(ast.parse(path.read_text()).body)
    found.discard(name)
    return found


def test_no_import_cycles():
    paths = [p for package in ("kernel_model", "procfs", "procsim") for p in (ROOT / package).rglob("*.py")]
    modules = {module_name(p) for p in paths}
    graph = {module_name(p): runtime_imports(p, modules) for p in paths}
    # a package's __init__ importing its own modules is not a cycle of the modules themselves
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}
    state: dict[str, int] = {}
    cycles = []

    def walk(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                walk(nxt, trail + [nxt])
        state[node] = 2
    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert cycles == [], cycles
    assert graph["procfs.process_backend"], "the graph is empty: the check saw no imports"


def test_the_rules_of_a_dead_process_have_one_home():
    """procfs/personality.py owns every difference between the personalities: no other module of
    procfs asks which one it is (by name, or by comparing with one)."""
    import re
    asks = re.compile(r"personality(\.name)?\s*[!=]=|[!=]=\s*(SERENITY|LINUX)\b|\bis (not )?(SERENITY|LINUX)\b")
    found = [f"{p.name}:{n}" for p in (ROOT / "procfs").glob("*.py") if p.name != "personality.py"
             for n, line in enumerate(p.read_text().splitlines(), 1) if asks.search(line)]
    assert found == []
    assert asks.search('if self.personality == LINUX:')  # (the pattern finds what it looks for)
