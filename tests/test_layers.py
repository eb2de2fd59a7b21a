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
