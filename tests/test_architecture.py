"""The architecture of docs/architecture.md, checked on the source so it stays true.

Each test reads the packages as text (`ast` + `pathlib`) and imports none of them: a package
that is half rewritten still gets its rules checked, and the checks take under a second.
Every failure names the file and line to look at.

- `flows/` wires stages together and holds no `pl.when` / `pl.col` rules;
- `flows/` modules import each other without cycles (imports inside functions count: they
  run; imports under `if TYPE_CHECKING:` do not, so they are left out of that graph);
- every package lists its public names in a literal `__all__`;
- no package imports another package's `_private` module or name;
- each package imports only the rooms it may (the rooms table).

The markdown documents are checked too: every link in them resolves to a file (and heading)
inside the repository, since a clone has nothing beside it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PACKAGES = ("schemas", "transforms", "connectors", "reports", "sandbox", "flows")
# What each package may import of ours, besides itself (docs/architecture.md, "Rooms").
MAY_IMPORT: dict[str, frozenset[str]] = {
    "schemas": frozenset(),
    "transforms": frozenset({"schemas"}),
    "connectors": frozenset({"schemas"}),
    "reports": frozenset({"schemas", "transforms"}),
    "sandbox": frozenset({"schemas"}),
    "flows": frozenset({"schemas", "transforms", "connectors", "reports", "sandbox"}),
}
# Top-level names that are ours: importing one of these is a dependency between rooms.
OURS = frozenset(PACKAGES) | {"tests", "benchmarks", "scripts"}

RULE_ATTRIBUTES = frozenset({"when", "col"})
POLARS = "polars"

MARKDOWN = ("README.md", "docs", "connectors/ARCHITECTURE.md", "sandbox/ARCHITECTURE.md")


@dataclass(frozen=True)
class ImportRef:
    """One import statement's target, as the importing module sees it."""

    path: Path
    line: int
    module: str  # the absolute module the statement names (`from a.b import c` -> "a.b")
    names: tuple[str, ...]  # for `from … import`: the names taken; empty for `import a.b`
    type_checking: bool  # inside `if TYPE_CHECKING:`: never runs

    @property
    def where(self) -> str:
        return f"{rel(self.path)}:{self.line}"

    def targets(self, known: frozenset[str]) -> Iterator[str]:
        """The modules this import loads (`from pkg import mod` loads `pkg.mod` if it is one)."""
        submodules = [f"{self.module}.{n}" for n in self.names if f"{self.module}.{n}" in known]
        yield from submodules
        if len(submodules) < len(self.names) or not self.names:
            yield self.module


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def python_files(package: str) -> list[Path]:
    """Every module of `package` (its subpackages too), in a stable order."""
    base = ROOT / package
    if not base.is_dir():
        return []
    return sorted(p for p in base.rglob("*.py") if "__pycache__" not in p.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def is_type_checking(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` or `if typing.TYPE_CHECKING:`."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def walk_imports(path: Path) -> Iterator[ImportRef]:
    """Every Import/ImportFrom anywhere in the module, relative ones made absolute."""
    tree = parse(path)
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    yield from _imports_in(tree.body, path, package, type_checking=False)


def _imports_in(
    body: list[ast.stmt], path: Path, package: str, *, type_checking: bool
) -> Iterator[ImportRef]:
    for stmt in body:
        if isinstance(stmt, ast.If) and is_type_checking(stmt.test):
            yield from _imports_in(stmt.body, path, package, type_checking=True)
            yield from _imports_in(stmt.orelse, path, package, type_checking=type_checking)
            continue
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                yield ImportRef(path, stmt.lineno, alias.name, (), type_checking)
            continue
        if isinstance(stmt, ast.ImportFrom):
            target = _absolute(stmt, package)
            names = tuple(a.name for a in stmt.names)
            yield ImportRef(path, stmt.lineno, target, names, type_checking)
            continue
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(stmt, field, None)
            if isinstance(children, list):
                inner = [s for c in children for s in _statements(c)]
                yield from _imports_in(inner, path, package, type_checking=type_checking)


def _statements(node: ast.AST) -> list[ast.stmt]:
    """A statement as a list of statements; handlers and match cases as their bodies."""
    if isinstance(node, ast.stmt):
        return [node]
    if isinstance(node, ast.ExceptHandler | ast.match_case):
        return list(node.body)
    return []


def _absolute(stmt: ast.ImportFrom, package: str) -> str:
    if stmt.level == 0:
        return stmt.module or ""
    parts = package.split(".")
    base = parts[: len(parts) - (stmt.level - 1)] if stmt.level > 1 else parts
    return ".".join([*base, stmt.module] if stmt.module else base)


def top(module: str) -> str:
    return module.partition(".")[0]


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def all_package_files() -> list[Path]:
    return [p for package in PACKAGES for p in python_files(package)]


# 1. No business rules in flows/ -----------------------------------------------------------


def polars_rules(path: Path) -> list[str]:
    """`pl.when`/`pl.col` (under any alias of polars) and `from polars import col, when`,
    one entry per line that has them, in line order."""
    hits = sorted(set(_polars_rules(path)))
    return [
        f"{rel(path)}:{line}: {', '.join(sorted({w for n, w in hits if n == line}))}"
        for line in sorted({n for n, _ in hits})
    ]


def _polars_rules(path: Path) -> Iterator[tuple[int, str]]:
    tree = parse(path)
    aliases = {"pl", POLARS}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname or a.name for a in node.names if a.name == POLARS}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == POLARS and node.level == 0:
            taken = sorted(a.name for a in node.names if a.name in RULE_ATTRIBUTES)
            if taken:
                yield node.lineno, f"from polars import {', '.join(taken)}"
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in RULE_ATTRIBUTES
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
        ):
            yield node.lineno, f"{node.value.id}.{node.attr}"


def test_flows_hold_no_polars_rules() -> None:
    found = [hit for path in python_files("flows") for hit in polars_rules(path)]
    assert not found, (
        "flows/ wires stages together; a pl.when/pl.col rule belongs in transforms/ "
        "(or connectors/):\n  " + "\n  ".join(found)
    )


# 2. No import cycles among flows/ modules -------------------------------------------------


def flows_graph() -> dict[str, dict[str, ImportRef]]:
    """flows module -> {imported flows module: the first import that loads it}."""
    files = python_files("flows")
    known = frozenset(module_name(p) for p in files)
    graph: dict[str, dict[str, ImportRef]] = {m: {} for m in known}
    for path in files:
        source = module_name(path)
        for ref in walk_imports(path):
            if ref.type_checking:
                continue
            for target in ref.targets(known):
                if target in known and target != source:
                    graph[source].setdefault(target, ref)
    return graph


def strongly_connected(graph: dict[str, dict[str, ImportRef]]) -> list[list[str]]:
    """Tarjan's components of more than one module, each sorted, in a stable order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
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
            component: list[str] = []
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
    return sorted(found)


def shortest_cycle(graph: dict[str, dict[str, ImportRef]], members: list[str]) -> list[str]:
    """A shortest cycle through the first member, inside one component."""
    start, inside = members[0], set(members)
    paths: dict[str, list[str]] = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node]):
            if nxt == start:
                return [*paths[node], start]
            if nxt in inside and nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start}")  # a component always has one


def describe_cycle(graph: dict[str, dict[str, ImportRef]], members: list[str]) -> str:
    cycle = shortest_cycle(graph, members)
    steps = [f"    {graph[a][b].where}: {a} -> {b}" for a, b in zip(cycle, cycle[1:], strict=False)]
    return f"  cycle among {', '.join(members)}:\n" + "\n".join(steps)


def test_flows_modules_import_no_cycles() -> None:
    graph = flows_graph()
    cycles = [describe_cycle(graph, members) for members in strongly_connected(graph)]
    assert not cycles, "flows/ modules import each other in a ring:\n" + "\n".join(cycles)


# 3. Every package lists its public names in a literal __all__ ------------------------------


def package_dirs() -> list[Path]:
    """The top-level packages, and every directory of Python modules below them."""
    dirs = {ROOT / p for p in PACKAGES}
    for package in PACKAGES:
        dirs |= {path.parent for path in python_files(package)}
    return sorted(dirs)


def module_level_names(body: list[ast.stmt]) -> set[str]:
    """Names a module binds when it runs (TYPE_CHECKING-only imports do not count)."""
    names: set[str] = set()
    for stmt in runtime_statements(body):
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(stmt.name)
        elif isinstance(stmt, ast.Import):
            names |= {a.asname or a.name.partition(".")[0] for a in stmt.names}
        elif isinstance(stmt, ast.ImportFrom):
            names |= {a.asname or a.name for a in stmt.names}
        elif isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def runtime_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """A module's top-level statements that run, looking into `if`/`try`/`with` blocks
    (the `else` of `if TYPE_CHECKING:` runs; its body does not)."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If) and is_type_checking(stmt.test):
            yield from runtime_statements(stmt.orelse)
        elif isinstance(stmt, ast.If | ast.Try | ast.With):
            inner = [*stmt.body, *getattr(stmt, "orelse", []), *getattr(stmt, "finalbody", [])]
            for handler in getattr(stmt, "handlers", []):
                inner.extend(handler.body)
            yield from runtime_statements(inner)


def lazy_names(tree: ast.Module) -> set[str]:
    """Names a module-level `__getattr__` resolves: the keys of module-level dict literals,
    the members of module-level set/list/tuple literals (`__all__` aside), and the strings
    the function itself mentions. Empty when there is no module-level `__getattr__`."""
    statements = list(runtime_statements(tree.body))
    getattr_defs = [
        s for s in statements if isinstance(s, ast.FunctionDef) and s.name == "__getattr__"
    ]
    if not getattr_defs:
        return set()
    names: set[str] = set()
    for stmt in statements:
        if not isinstance(stmt, ast.Assign | ast.AnnAssign) or stmt.value is None:
            continue
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if any(_is_all(t) for t in targets):
            continue
        for node in ast.walk(stmt.value):
            members: Sequence[ast.expr | None] = []
            if isinstance(node, ast.Dict):
                members = node.keys
            elif isinstance(node, ast.Set | ast.List | ast.Tuple):
                members = node.elts
            names |= {_string(m) for m in members if _string(m)}
    for node in ast.walk(getattr_defs[-1]):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)
    return names


def _string(node: ast.expr | None) -> str:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""


def all_problems(init: Path) -> Iterator[str]:
    if not init.is_file():
        yield f"{rel(init)}: missing (a package lists its public names in __init__.py)"
        return
    tree = parse(init)
    assigned = [
        s
        for s in tree.body
        if (isinstance(s, ast.Assign) and any(_is_all(t) for t in s.targets))
        or (isinstance(s, ast.AnnAssign) and _is_all(s.target) and s.value is not None)
    ]
    if not assigned:
        yield f"{rel(init)}:1: no module-level __all__"
        return
    stmt = assigned[-1]
    value = stmt.value
    if not isinstance(value, ast.List | ast.Tuple) or not all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts
    ):
        yield f"{rel(init)}:{stmt.lineno}: __all__ is not a literal list/tuple of strings"
        return
    exported = [e.value for e in value.elts if isinstance(e, ast.Constant)]
    if not exported:
        yield f"{rel(init)}:{stmt.lineno}: __all__ is empty"
    # A submodule named in `__all__` is public too (`from package import *` imports it).
    submodules = {p.stem for p in init.parent.glob("*.py")} | {
        p.parent.name for p in init.parent.glob("*/__init__.py")
    }
    defined = module_level_names(tree.body) | lazy_names(tree) | submodules
    for name in exported:
        if name not in defined:
            yield f"{rel(init)}:{stmt.lineno}: __all__ names {name!r}, which is not defined there"


def _is_all(target: ast.expr) -> bool:
    return isinstance(target, ast.Name) and target.id == "__all__"


def test_every_package_has_a_literal_all() -> None:
    problems = [p for d in package_dirs() for p in all_problems(d / "__init__.py")]
    assert not problems, "public surfaces:\n  " + "\n  ".join(problems)


# 4. No private cross-package imports ------------------------------------------------------


def private_reach(ref: ImportRef, own: str) -> str | None:
    """What `ref` takes privately from another of our packages, if anything."""
    if top(ref.module) == own or top(ref.module) not in OURS:
        return None
    private_parts = [p for p in ref.module.split(".")[1:] if is_private(p)]
    if private_parts:
        return f"module {ref.module}"
    taken = [n for n in ref.names if is_private(n)]
    return f"{', '.join(taken)} from {ref.module}" if taken else None


def test_no_private_cross_package_imports() -> None:
    found = []
    for path in all_package_files():
        own = top(module_name(path))
        for ref in walk_imports(path):
            reach = private_reach(ref, own)
            if reach:
                found.append(f"{ref.where}: {own} imports {reach}")
    assert not found, (
        "a package takes only what another lists in its __init__.py, never a _private "
        "module or name:\n  " + "\n  ".join(found)
    )


# 5. The rooms table ------------------------------------------------------------------------


def test_each_package_imports_only_its_rooms() -> None:
    found = []
    for path in all_package_files():
        own = top(module_name(path))
        for ref in walk_imports(path):
            other = top(ref.module)
            if other in OURS and other != own and other not in MAY_IMPORT[own]:
                allowed = ", ".join(sorted(MAY_IMPORT[own])) or "nothing of ours"
                found.append(f"{ref.where}: {own} imports {ref.module} (may import: {allowed})")
    assert not found, "imports against the rooms table:\n  " + "\n  ".join(found)


# The documents: every link resolves inside the repository ---------------------------------

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
HTML_LINK = re.compile(r"<(?:a|img)\s[^>]*?(?:href|src)=\"([^\"]+)\"", re.IGNORECASE)
CODE_SPAN = re.compile(r"(`+).*?\1")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def markdown_files() -> list[Path]:
    found: list[Path] = []
    for name in MARKDOWN:
        path = ROOT / name
        found.extend(sorted(path.rglob("*.md")) if path.is_dir() else [path])
    return [p for p in found if p.is_file()]


def prose_lines(path: Path, *, blank_code: bool = True) -> Iterator[tuple[int, str]]:
    """Lines outside fenced code blocks, inline code spans blanked out unless asked not to."""
    fence = ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.lstrip()
        if fence:
            if stripped.startswith(fence):
                fence = ""
            continue
        if stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            continue
        yield number, CODE_SPAN.sub("", line) if blank_code else line


def links(path: Path) -> Iterator[tuple[int, str]]:
    for number, line in prose_lines(path):
        for pattern in (LINK, REFERENCE, HTML_LINK):
            for match in pattern.finditer(line):
                yield number, match.group(1)


def code_paths(path: Path) -> Iterator[tuple[int, str]]:
    """`../something` written as code in prose: a path the reader is sent to."""
    text = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(text, start=1):
        for match in re.finditer(r"`(\.\./[^`\s]+)`", line):
            yield number, match.group(1)


@cache
def anchors(path: Path) -> frozenset[str]:
    """GitHub's heading anchors of a markdown file."""
    seen: dict[str, int] = {}
    found = set()
    for _, line in prose_lines(path, blank_code=False):
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(found)


def link_problem(source: Path, target: str) -> str | None:
    if SCHEME.match(target) or target.startswith("//"):
        return "points outside the repository"
    file_part, _, anchor = target.partition("#")
    resolved = (source.parent / file_part).resolve() if file_part else source
    if not resolved.is_relative_to(ROOT):
        return "points outside the repository"
    if not resolved.exists():
        return "no such file in the repository"
    if anchor and resolved.suffix == ".md" and anchor.lower() not in anchors(resolved):
        return f"no heading #{anchor} in {rel(resolved)}"
    return None


def test_document_links_resolve_inside_the_repository() -> None:
    problems = []
    for path in markdown_files():
        for number, target in [*links(path), *code_paths(path)]:
            problem = link_problem(path, target)
            if problem:
                problems.append(f"{rel(path)}:{number}: {target} {problem}")
    assert not problems, "links a clone cannot follow:\n  " + "\n  ".join(problems)


def test_the_documents_exist_and_link_to_the_architecture() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert (ROOT / "docs" / "architecture.md").is_file(), "docs/architecture.md: missing"
    assert "](docs/architecture.md)" in readme, "README.md: no link to docs/architecture.md"
