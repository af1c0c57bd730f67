"""The import graph of every first-party module: no cycle, and every import points down the layers.

The layers are declared here, bottom first, and drawn in docs/architecture.md (a test below keeps
the two in step). A package may import its own modules and the packages of lower layers, never
one of its own layer or above. The simulator is the oracle the tests compare the pipeline with,
so it stands apart: it imports no first-party package, and only the composition layer runs it.
`tests/` and `bench/` sit outside the layers: they may import anything and nothing imports them.

Imports are read with `ast` from the source, function-level and `TYPE_CHECKING` imports included:
an import deferred for speed is still a dependency.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("core", frozenset({"pantao"})),
    ("parts", frozenset({"ingestion", "access", "reports"})),
    ("delivery", frozenset({"notifications", "monitoring", "bi"})),
    ("orchestration", frozenset({"orchestration"})),
    ("composition", frozenset({"app"})),
)
ORACLE = "simulator"
OUTSIDE = frozenset({"tests", "bench"})
# Folders that hold no first-party Python.
NOT_CODE = frozenset({"dbt_project", "docs"})


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    path: Path
    line: int

    def where(self) -> str:
        return f"{self.path.relative_to(REPO_ROOT)}:{self.line}"


def top_level_packages() -> set[str]:
    """Every top-level folder of the repository that holds Python source."""
    found = set()
    for folder in REPO_ROOT.iterdir():
        if folder.is_dir() and not folder.name.startswith(".") and folder.name not in NOT_CODE:
            if any(path.suffix == ".py" for path in folder.rglob("*.py")) and "egg-info" not in folder.name:
                found.add(folder.name)
    return found


def module_files() -> dict[str, Path]:
    """Module name -> file, for every first-party module (a package is its __init__.py)."""
    modules = {}
    for package in top_level_packages():
        for path in (REPO_ROOT / package).rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            parts = path.relative_to(REPO_ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The first-party module `name` loads: itself, else its longest first-party parent."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    seen: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                stem = ".".join([*base, node.module] if node.module else base)
            else:
                stem = node.module or ""
            # `from a import b` loads a.b when b is a module, else the name b defined in a
            names = [f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in modules else stem for alias in node.names]
        for name in names:
            target = _resolve(name, modules)
            if target is not None and target != module and (target, node.lineno) not in seen:
                seen.add((target, node.lineno))
                found.append(Import(module, target, path, node.lineno))
    return found


def import_graph() -> list[Import]:
    modules = module_files()
    return [edge for module, path in sorted(modules.items()) for edge in imports_of(module, path, modules)]


def cycles(edges: list[Import]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # the graph has a few hundred modules: recursion depth is no issue
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def rank(package: str) -> int | None:
    return next((i for i, (_, members) in enumerate(LAYERS) if package in members), None)


def violation(edge: Import) -> str | None:
    """Why this import breaks the layering, or None when it is allowed."""
    source, target = edge.source.split(".")[0], edge.target.split(".")[0]
    if source == target or source in OUTSIDE:
        return None
    if target in OUTSIDE:
        return f"imports {target}/, which is outside the layers (tests and benchmarks only)"
    if source == ORACLE:
        return "the simulator is the oracle: it imports no first-party package"
    if target == ORACLE:
        if source in LAYERS[-1][1]:
            return None
        return "only the composition layer (app/) runs the simulator; the pipeline shares no code with it"
    source_rank, target_rank = rank(source), rank(target)
    if target_rank < source_rank:
        return None
    direction = "across its layer" if target_rank == source_rank else "up"
    return f"points {direction}: {source} ({LAYERS[source_rank][0]}) -> {target} ({LAYERS[target_rank][0]})"


def test_every_first_party_package_has_a_place():
    declared = set().union(*(members for _, members in LAYERS)) | {ORACLE} | OUTSIDE
    missing = top_level_packages() - declared
    assert not missing, f"{sorted(missing)} are in no layer: add them to LAYERS in {__file__} and docs/architecture.md"
    assert declared - OUTSIDE <= top_level_packages(), "a declared package does not exist any more"


def test_the_graph_sees_function_level_and_type_checking_imports():
    edges = import_graph()
    targets = {(edge.source, edge.target) for edge in edges}
    # deferred inside a function so that `pantao --help` does not load it
    assert ("orchestration.cli", "orchestration.lib.runner") in targets
    # only under `if TYPE_CHECKING:`
    assert ("reports.cards", "reports.report") in targets
    assert len({edge.source for edge in edges}) > 100


def test_no_import_cycle():
    edges = import_graph()
    found = cycles(edges)
    details = []
    for component in found:
        members = set(component)
        details.append(" <-> ".join(component) + ":\n" + "\n".join(
            f"    {edge.where()} {edge.source} -> {edge.target}"
            for edge in edges if edge.source in members and edge.target in members))
    assert not found, "import cycles (move the shared part down into its own module):\n" + "\n".join(details)


def test_imports_point_down_the_layers():
    problems = [f"{edge.where()} {edge.source} -> {edge.target}: {reason}"
                for edge in import_graph() if (reason := violation(edge))]
    assert not problems, "imports against the layers in docs/architecture.md:\n" + "\n".join(problems)


def test_the_checker_flags_an_upward_a_sideways_and_an_oracle_import():
    here = Path(__file__)
    assert violation(Import("pantao.db", "reports.snapshot", here, 1)).startswith("points up")
    assert violation(Import("ingestion.schema", "access.users", here, 1)).startswith("points across")
    assert "oracle" in violation(Import("simulator.truth", "pantao.domain", here, 1))
    assert "composition" in violation(Import("ingestion.cli", "simulator.generate", here, 1))
    assert violation(Import("app.cli", "simulator", here, 1)) is None
    assert violation(Import("notifications.bot", "reports.messages", here, 1)) is None
    assert cycles([Import("a", "b", here, 1), Import("b", "c", here, 2), Import("c", "a", here, 3)]) == [["a", "b", "c"]]


def test_architecture_doc_draws_the_declared_layers():
    text = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    for name, members in LAYERS:
        assert name in rows, f"docs/architecture.md has no row for the {name!r} layer"
        assert all(f"`{member}/`" in rows[name] for member in members), f"the {name!r} row lists {sorted(members)}"
    assert "oracle" in rows and f"`{ORACLE}/`" in rows["oracle"], "docs/architecture.md has no 'oracle' row"


def test_importing_the_cli_loads_no_heavy_library():
    """`pantao --help` and `pantao stack status` stay fast: commands load dagster, dbt, pandas,
    matplotlib, the Kafka client, the PostgreSQL driver and the metrics client inside the functions
    that need them (bench/cli_startup.py measures the start-up)."""
    code = textwrap.dedent("""
        import sys
        import app.cli
        heavy = ("dagster", "dagster_dbt", "dbt", "matplotlib", "pandas", "confluent_kafka", "psycopg",
                 "sqlalchemy", "prometheus_client", "telegram", "requests")
        print(" ".join(sorted(name for name in heavy if name in sys.modules)))
    """)
    loaded = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == []
