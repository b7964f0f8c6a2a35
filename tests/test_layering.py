"""Imports only point downwards (shared/style.md): core <- storage <- services <- edges."""

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "simulator"
LAYER = {"core": 0, "store": 1, "transport": 1, "services": 2}
EDGE = 3
FORBIDDEN_IN_CORE = {"flask", "sqlite_utils", "sqlite3", "requests", "urllib3", "apscheduler",
                     "werkzeug", "click"}


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYER.get(parts[1], EDGE) if len(parts) > 1 and parts[0] == "simulator" else EDGE


def _imports(path: Path):
    parts = ["simulator", *path.relative_to(PACKAGE).with_suffix("").parts]
    package_init = parts[-1] == "__init__"
    if package_init:
        parts = parts[:-1]  # a package's __init__ is the package itself
    module = ".".join(parts)
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield module, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # ``from .x`` in a package's __init__ is relative to the package itself
                base = parts[: len(parts) - node.level + 1] if package_init else \
                    parts[: -node.level]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield module, target


def test_imports_point_downwards():
    problems = []
    for path in PACKAGE.rglob("*.py"):
        for module, target in _imports(path):
            if target.startswith("simulator") and _layer(target) > _layer(module):
                problems.append(f"{module} imports {target}")
            if _layer(module) == 0 and target.split(".")[0] in FORBIDDEN_IN_CORE:
                problems.append(f"{module} (core) imports {target}")
    assert problems == []


def test_only_the_clock_reads_the_wall_clock():
    readers = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if "datetime.now(" in text or "time.time(" in text or "utcnow(" in text:
            readers.append(path.relative_to(PACKAGE).as_posix())
    assert readers == ["core/clock.py"]


def test_only_the_store_touches_sqlite():
    users = [p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
             if "import sqlite3" in p.read_text() or re.search(
                 r"^(from|import) sqlite_utils", p.read_text(), re.M)]
    assert users and all(u.startswith("store/") for u in users), users


def test_relative_imports_in_package_inits_resolve_to_the_package():
    imports = dict(_imports(PACKAGE / "transport" / "__init__.py"))
    assert imports.get("simulator.transport", "").startswith("simulator.transport")
    resolved = {target for _, target in _imports(PACKAGE / "store" / "__init__.py")}
    assert "simulator.store.database" in resolved
