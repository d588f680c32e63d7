"""Every migration is self-contained: it states each database function it creates or replaces
in full, imports no other revision and edits no SQL from elsewhere, and migrations/README.md
names the revision that holds each function's current definition (see that README)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

MIGRATIONS = Path(__file__).parents[2] / "migrations"
REVISIONS = sorted((MIGRATIONS / "versions").glob("*.py"))
# What a revision may import: Alembic, SQLAlchemy and standard modules that cannot load code or
# read files. Add a harmless standard module here if a revision needs one; never importlib,
# pathlib, os, another revision or consentd (whose models change after the revision ran).
ALLOWED_IMPORTS = (
    *("__future__", "collections.abc", "typing", "datetime", "decimal", "enum", "json", "uuid"),
    *("alembic", "sqlalchemy"),
)
# Calls that load or edit text from elsewhere: other files, other modules, derived SQL.
FORBIDDEN_CALLS = frozenset(
    {"replace", "exec", "eval", "compile", "open", "__import__", "read_text", "read_bytes"}
)
CREATES_FUNCTION = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+(\w+)", re.IGNORECASE)


def _allowed(module: str) -> bool:
    return any(module == ok or module.startswith(f"{ok}.") for ok in ALLOWED_IMPORTS)


def rule_violations(path: Path) -> list[str]:
    """`file: what` for every import or call of a revision that breaks the rule."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [f"imports {a.name}" for a in node.names if not _allowed(a.name)]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if node.level or not _allowed(module):
                found.append(f"imports from {module}")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in FORBIDDEN_CALLS:
                found.append(f"calls {name}()")
    return [f"{path.name}: {what}" for what in found]


def current_definitions(paths: list[Path]) -> dict[str, str]:
    """Function name -> file name of the newest revision (by file name) that defines it."""
    newest: dict[str, str] = {}
    for path in sorted(paths):
        for name in CREATES_FUNCTION.findall(path.read_text(encoding="utf-8")):
            newest[name] = path.name
    return newest


@pytest.mark.parametrize("path", REVISIONS, ids=[p.stem for p in REVISIONS])
def test_revision_imports_no_other_revision_and_edits_no_sql(path: Path) -> None:
    """A revision imports only Alembic, SQLAlchemy and harmless standard modules, and neither
    loads nor edits text from elsewhere: every function it creates is stated in full."""
    assert rule_violations(path) == []


def test_readme_names_the_revision_holding_each_current_function_definition() -> None:
    """migrations/README.md's table names, for every database function, the newest revision
    that defines it (update it with the revision that replaces one)."""
    readme = (MIGRATIONS / "README.md").read_text(encoding="utf-8")
    rows = {
        match[1]: match[2]
        for match in re.finditer(r"^\| `(\w+)\(.*?\)` \| `([\w.]+)`", readme, re.MULTILINE)
    }
    assert current_definitions(REVISIONS) == rows


def test_checker_reports_imports_of_revisions_and_edited_sql(tmp_path: Path) -> None:
    """The checker sees importlib, pathlib, relative and consentd imports, str.replace and file
    reads; plain Alembic and SQLAlchemy revisions pass."""
    bad = tmp_path / "0099_bad.py"
    bad.write_text(
        "import importlib.util\n"
        "from pathlib import Path\n"
        "from . import other\n"
        "from consentd.store import tables\n"
        "SQL = Path('0006.py').read_text().replace('AS (', 'AS MATERIALIZED (')\n"
    )
    good = tmp_path / "0098_good.py"
    good.write_text(
        "from collections.abc import Sequence\n"
        "import sqlalchemy as sa\n"
        "from alembic import op\n"
        "from sqlalchemy.dialects import postgresql\n"
        "F = '''CREATE OR REPLACE FUNCTION consentd_f() RETURNS int LANGUAGE sql AS $$ 1 $$'''\n"
    )
    assert rule_violations(bad) == [
        "0099_bad.py: imports importlib.util",
        "0099_bad.py: imports from pathlib",
        "0099_bad.py: imports from .",
        "0099_bad.py: imports from consentd.store",
        "0099_bad.py: calls replace()",
        "0099_bad.py: calls read_text()",
    ]
    assert rule_violations(good) == []
    assert current_definitions([bad, good]) == {"consentd_f": "0098_good.py"}
