"""The house's floor plan: models import nothing above them, the domain never imports the web, and the rooms
of the domain import only the rooms above them in ``ROOMS`` (docs/ARCHITECTURE.md)."""
import ast
import os
import subprocess
import sys
from pathlib import Path

PORTAL = Path(__file__).resolve().parent.parent / "portal"
# Each capability is a room of its own (a module or a package under portal/domain/), above the case core.
ROOMS = ["platform", "access", "boards", "cases", "credentials", "attendance", "notices", "lookup", "errands", "heating",
         "card_jobs",
         "rosters", "roster_jobs", "sailings", "visits", "open311"]


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []


def _targets(module: str, names: list[str]):
    """The modules an import statement reaches (``from portal.domain import access`` reaches the room)."""
    yield module
    for name in names:
        yield f"{module}.{name}"


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["portal", "domain"] and parts[2] in ROOMS else None


def _files_of(room: str) -> list[Path]:
    folder, module = PORTAL / "domain" / room, PORTAL / "domain" / f"{room}.py"
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [module]


def test_every_part_of_the_domain_is_a_room_in_order():
    """A new capability gets a room of its own, named in ``ROOMS`` (docs/ARCHITECTURE.md says where)."""
    found = {path.stem if path.is_file() else path.name for path in (PORTAL / "domain").iterdir()
             if path.name != "__pycache__" and path.name != "__init__.py"}
    assert found == set(ROOMS) and all(_files_of(room)[0].exists() for room in ROOMS)


def test_each_room_of_the_domain_imports_only_the_rooms_above_it():
    wrong = []
    for room in ROOMS:
        for path in _files_of(room):
            for line, module, names in _imports(path):
                for target in _targets(module, names):
                    other = _room(target)
                    if other is not None and ROOMS.index(other) > ROOMS.index(room):
                        wrong.append(f"{path.relative_to(PORTAL)}:{line} imports {target}")
    assert wrong == []


def test_the_domain_never_imports_the_web_and_models_never_import_the_domain():
    wrong = [f"{path.relative_to(PORTAL)}:{line} {module}" for path in (PORTAL / "domain").rglob("*.py")
             for line, module, _names in _imports(path)
             if module.startswith(("flask_wtf", "portal.web", "wtforms")) or module.split(".")[:2] == ["portal", "auth"]]
    wrong += [f"{path.relative_to(PORTAL)}:{line} {module}" for path in (PORTAL / "models").rglob("*.py")
              for line, module, _names in _imports(path) if module.startswith(("portal.domain", "portal.web"))]
    assert wrong == []


def test_only_the_unit_of_work_commits_or_rolls_back():
    """Transactions are the unit of work's (portal/domain/platform/unit.py): a service ends a step
    (``unit.end_step``), a write that must last says so (``unit.lasting``, ``unit.alone``), a refusal gives up
    (``unit.abandon``); routes hand the domain their forms with ``portal.web.submit``. Nothing else commits."""
    own = PORTAL / "domain" / "platform" / "unit.py"
    found = [f"{path.relative_to(PORTAL)}:{n}" for path in PORTAL.rglob("*.py") if path != own
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if ".commit()" in line or ".rollback()" in line]
    assert found == []


# Heavy libraries for rare work, loaded by the worker that does it (a worker's memory stays within 150 MB):
# pinyin's dictionaries (50 MB, a catalog item saved), fpdf2 (40 MB, a card job), the statutory holidays (10 MB, a
# calendar year checked).
LAZY_LIBRARIES = {"pypinyin", "fpdf", "holidays"}


def test_no_import_hides_inside_a_function_in_the_domain():
    """A function-level import hides an import circle; the exceptions are heavy libraries loaded lazily."""
    found = [f"{path.relative_to(PORTAL)}:{node.lineno}" for path in (PORTAL / "domain").rglob("*.py")
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
             for inner in ast.walk(node) if isinstance(inner, (ast.Import, ast.ImportFrom))
             and not _lazy(inner)]
    assert found == []


def _lazy(node: ast.Import | ast.ImportFrom) -> bool:
    names = {node.module} if isinstance(node, ast.ImportFrom) else {alias.name for alias in node.names}
    return names <= LAZY_LIBRARIES


def test_a_worker_starts_without_the_heavy_libraries_of_rare_work():
    """A worker that serves pages loads none of them (each is some 10 to 50 MB of its memory), nor python-docx
    (the results report's Word file), nor openpyxl (every spreadsheet goes through portal/spreadsheets.py)."""
    code = ("import sys; from portal import create_app; create_app(); "
            "print(sorted(m for m in ('pypinyin', 'fpdf', 'holidays', 'docx', 'openpyxl') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=PORTAL.parent, capture_output=True, text=True,
                            check=True, env={**os.environ, "PORTAL_SECRET_KEY": "layers"}).stdout.split("\n")[-2]
    assert loaded == "[]"


def _module_graph() -> dict[str, set[str]]:
    """Which module of the portal imports which (a package's ``__init__`` stands for the package)."""
    names = {}
    for path in PORTAL.rglob("*.py"):
        parts = ["portal", *path.relative_to(PORTAL).with_suffix("").parts]
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {name: set() for name in names}
    for name, path in names.items():
        for _line, module, imported in _imports(path):
            for target in _targets(module, imported):
                if target in names and target != name:
                    graph[name].add(target)
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts of more than one node (Tarjan), each an import circle."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            part = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                part.append(other)
                if other == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_web_areas_import_one_another_without_a_circle():
    """An area may use another's page builder (the visits and supervision panels register with the case page),
    but no two areas import each other: a part plugs in, the page does not reach out for it."""
    graph = _module_graph()
    areas = {name.split(".")[1] for name in graph if name.count(".") >= 1}
    web = areas - {"domain", "models", "web", "extensions", "config", "clock", "cli", "demo", "translations"}
    between = {a: set() for a in web}
    for name, targets in graph.items():
        area = name.split(".")[1] if name.count(".") >= 1 else None
        if area in web:
            between[area] |= {t.split(".")[1] for t in targets if t.count(".") >= 1 and t.split(".")[1] in web} - {area}
    assert _circles(between) == []


def test_the_domain_has_no_import_circle():
    graph = _module_graph()
    domain = {name: {t for t in targets if t.startswith("portal.domain.")} for name, targets in graph.items()
              if name.startswith("portal.domain.")}
    assert _circles(domain) == []
