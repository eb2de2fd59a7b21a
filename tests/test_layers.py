"""The house's floor plan: models import nothing above them, the domain never imports the web, and the rooms
of the domain import only the rooms above them in ``ROOMS`` (docs/ARCHITECTURE.md)."""
import ast
from pathlib import Path

PORTAL = Path(__file__).resolve().parent.parent / "portal"
ROOMS = ["platform", "access", "boards", "cases", "credentials", "features"]


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


def test_each_room_of_the_domain_imports_only_the_rooms_above_it():
    wrong = []
    for room in ROOMS:
        for path in (PORTAL / "domain" / room).rglob("*.py"):
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


def test_no_route_or_panel_commits_or_rolls_back():
    """The domain owns its transactions (portal/domain/platform/unit.py); routes hand it forms with
    ``portal.web.submit``."""
    found = [f"{path.relative_to(PORTAL)}:{n}" for path in [*PORTAL.glob("*/routes.py"), *PORTAL.glob("*/panel.py")]
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if "session.commit(" in line or "session.rollback(" in line]
    assert found == []


def test_no_import_hides_inside_a_function_in_the_domain():
    """A function-level import hides an import circle; the one exception loads a 50 MB dictionary lazily."""
    found = [f"{path.relative_to(PORTAL)}:{node.lineno}" for path in (PORTAL / "domain").rglob("*.py")
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
             for inner in ast.walk(node) if isinstance(inner, (ast.Import, ast.ImportFrom))
             and not (isinstance(inner, ast.ImportFrom) and inner.module == "pypinyin")]
    assert found == []
