"""The architecture holds: layers import one way, SQL lives in ``loaders``, and every shared word and
rule is defined in one module (README, "Architecture"). Read from the source with ``ast``, so a
new module that breaks a rule fails here, not in review."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from loaders import vocabulary

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("loaders", "explain", "dashapp")


def modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports (at any depth of the file)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def constants(path: Path) -> list[tuple[int, object]]:
    """(line, value) of every string and tuple-of-strings literal in ``path``."""
    out: list[tuple[int, object]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append((node.lineno, node.value))
        elif isinstance(node, (ast.Tuple, ast.List)) and node.elts and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            out.append((node.lineno, tuple(e.value for e in node.elts)))
    return out


@pytest.mark.parametrize("package, forbidden", [
    ("loaders", {"explain", "dashapp", "dash", "plotly"}),
    ("explain", {"dashapp", "dash", "plotly", "sqlalchemy", "sqlite3"}),
    ("dashapp", {"sqlalchemy", "sqlite3"}),
])
def test_layers_import_one_way_and_sql_stays_in_loaders(package, forbidden):
    offenders = {f"{path.relative_to(REPO)}: {sorted(imported(path) & forbidden)}"
                 for path in modules(package) if imported(path) & forbidden}
    assert not offenders, f"{package} must not import {sorted(forbidden)}: {sorted(offenders)}"


#: each shared word with the module that defines it; a literal copy anywhere else is a second home
DEFINED_ONCE = {
    vocabulary.WHOLE_AREA_NAME: "loaders/vocabulary.py",
    vocabulary.ROLES: "loaders/vocabulary.py",
    vocabulary.MODEL_KINDS: "loaders/vocabulary.py",
    vocabulary.PSEUDO_DRIVERS: "loaders/vocabulary.py",
    "[A-Za-z_][A-Za-z0-9_]*": "loaders/formula.py",
}


@pytest.mark.parametrize("value, home", DEFINED_ONCE.items(), ids=[str(v)[:24] for v in DEFINED_ONCE])
def test_each_shared_word_is_written_out_in_one_module(value, home):
    found = {str(path.relative_to(REPO)) + f":{line}"
             for package in PACKAGES for path in modules(package)
             for line, literal in constants(path)
             if (isinstance(value, str) and isinstance(literal, str) and value in literal) or literal == value}
    assert all(place.startswith(home + ":") for place in found), \
        f"{value!r} should be written only in {home}; found at {sorted(found)}"


def test_the_whole_sentinel_is_only_spelled_in_the_vocabulary():
    """``"ALL"`` is the whole's pseudo-area everywhere but in Dash's own wildcard, which the access
    guard reads from callback payloads (``["ALL"]``) and is a different thing."""
    found = [f"{path.relative_to(REPO)}:{line}" for package in PACKAGES for path in modules(package)
             for line, literal in constants(path) if literal == vocabulary.WHOLE_AREA]
    assert all(place.startswith(("loaders/vocabulary.py:", "dashapp/access.py:")) for place in found), found
    assert any(place.startswith("loaders/vocabulary.py:") for place in found)


def test_vocabulary_helpers():
    assert vocabulary.is_whole(None) and vocabulary.is_whole("") and vocabulary.is_whole(vocabulary.WHOLE_AREA)
    assert not vocabulary.is_whole("E12000001")
    assert vocabulary.role_at_least("admin", "analyst") and vocabulary.role_at_least("analyst", "analyst")
    assert not vocabulary.role_at_least("viewer", "analyst") and not vocabulary.role_at_least("root", "viewer")
    assert set(vocabulary.PSEUDO_DRIVERS) == set(vocabulary.PSEUDO_DRIVER_COLUMNS)
