"""Dependencies point inward: domain/ and app/ never import transport, ORM or outer layers;
store/ holds SQL only, postgres/ runs PostgreSQL only, jobs/ calls use cases only. The
migration rule is checked by test_architecture_migrations.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICE = Path(__file__).parents[2] / "service"
_OUTER = ("grpc", "google.protobuf", "consent", "sqlalchemy", "asyncpg")
RULES = {
    "consentd/domain": (
        *_OUTER,
        *("structlog", "opentelemetry", "alembic"),
        *("consentd.app", "consentd.store", "consentd.api"),
    ),
    "consentd/app": (*_OUTER, "consentd.store", "consentd.api"),
    # The store speaks SQL; transport, the composition root and process supervision are
    # elsewhere (the embedded PostgreSQL lives in consentd/postgres).
    "consentd/store": (
        *("grpc", "google.protobuf", "consent", "subprocess", "signal"),
        *("consentd.api", "consentd.bootstrap", "consentd.wiring", "consentd.runtime"),
        "consentd.cli",
        "consentd.jobs",
    ),
    # Running PostgreSQL itself: no SQL of ours, no rules, no transport.
    "consentd/postgres": (*_OUTER, "consentd.domain", "consentd.app", "consentd.api"),
    # Scheduled work calls use cases; it reaches neither the database nor the wire itself.
    "consentd/jobs": (*_OUTER, "consentd.store", "consentd.api"),
}


def imported(path: Path, root: Path) -> set[str]:
    """Modules a file imports; relative imports resolved, `from x import y` also counted as x.y."""
    package = path.relative_to(root).parent.parts
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def violations(root: Path, layer: str, forbidden: tuple[str, ...]) -> list[str]:
    """`file imports module` for every forbidden import under root/layer."""
    return [
        f"{path.relative_to(root)} imports {name}"
        for path in sorted((root / layer).rglob("*.py"))
        for name in sorted(imported(path, root))
        if any(name == bad or name.startswith(f"{bad}.") for bad in forbidden)
    ]


@pytest.mark.parametrize(("layer", "forbidden"), RULES.items(), ids=list(RULES))
def test_layer_imports_point_inward(layer: str, forbidden: tuple[str, ...]) -> None:
    """No module of the layer imports what its rule forbids: grpc, protobuf, the ORM, the
    driver or an outer layer for domain/ and app/ (see RULES for store/, postgres/, jobs/)."""
    assert any((SERVICE / layer).rglob("*.py")), f"nothing to check under {SERVICE / layer}"
    assert violations(SERVICE, layer, forbidden) == []


def test_checker_reports_forbidden_imports(tmp_path: Path) -> None:
    """The checker sees absolute, relative and `from package import module` forbidden imports."""
    layer = tmp_path / "consentd" / "domain"
    layer.mkdir(parents=True)
    (layer / "bad.py").write_text(
        "import grpc.aio\n"
        "from google import protobuf\n"
        "from consent.v1 import types_pb2\n"
        "from consentd import store\n"
        "from ..api.converters import target_in\n"
        "import consentd.domain.model\n"
        "from . import errors\n"
        "from consentd.domain.model import Target\n",
        encoding="utf-8",
    )
    found = violations(tmp_path, "consentd/domain", RULES["consentd/domain"])
    bad = str(Path("consentd/domain/bad.py"))
    assert found == [
        f"{bad} imports consent.v1",
        f"{bad} imports consent.v1.types_pb2",
        f"{bad} imports consentd.api.converters",
        f"{bad} imports consentd.api.converters.target_in",
        f"{bad} imports consentd.store",
        f"{bad} imports google.protobuf",
        f"{bad} imports grpc.aio",
    ]


MODULE_LINES = 300
FUNCTION_LINES = 50


def oversized(root: Path) -> list[str]:
    """Modules over MODULE_LINES lines and functions over FUNCTION_LINES, under root."""
    found = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        name = path.relative_to(root)
        if (lines := len(source.splitlines())) > MODULE_LINES:
            found.append(f"{name}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > FUNCTION_LINES:
                    found.append(f"{name}:{node.lineno} {node.name}: {length} lines")
    return found


def test_modules_and_functions_stay_within_the_budget() -> None:
    """No module of the package over 300 lines, no function over 50 (STYLE.md: split by
    meaning before that)."""
    assert oversized(SERVICE / "consentd") == []


def test_budget_checker_reports_long_modules_and_functions(tmp_path: Path) -> None:
    """The checker names a 301-line module and a 51-line function, and passes 50 lines."""
    body = "".join(f"    x{i} = {i}\n" for i in range(49))
    (tmp_path / "ok.py").write_text(f"def fits():\n{body}", encoding="utf-8")
    (tmp_path / "long.py").write_text(f"def too_long():\n{body}    return 1\n", encoding="utf-8")
    (tmp_path / "big.py").write_text("x = 1\n" * 301, encoding="utf-8")
    assert oversized(tmp_path) == [
        "big.py: 301 lines",
        "long.py:1 too_long: 51 lines",
    ]
