"""Print dicomframe's import graph by layer, and every import cycle, from the source alone.

Run:  python tools/import_graph.py [SRC_DIR]     (default: src)

Every import counts: at the top of a module, inside a function, or under
TYPE_CHECKING, since a reader has to follow all of them. Modules are
grouped by layer (docs/architecture.md); an import from a lower layer to a
higher one is listed as upward.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

# Highest first; each layer may import only the ones below it. Codecs sit above the
# plugin contract they implement, and are found through entry points, never imported.
LAYERS = [
    (
        "face",
        (
            "dicomframe",
            "dicomframe.cli",
            "dicomframe.cli_codecs",
            "dicomframe.cli_deidentify",
            "dicomframe.cli_dicomdir",
            "dicomframe.cli_engine",
            "dicomframe.cli_remote",
            "dicomframe.program",
            "dicomframe._wiring",
        ),
    ),
    ("workflows", ()),  # every other top-level module
    (
        "execution",
        (
            "dicomframe.parallel",
            "dicomframe.executors",
            "dicomframe.result_slots",
            "dicomframe.worker_heap",
            "dicomframe.forked",
        ),
    ),
    ("codecs", ("dicomframe.codecs",)),
    ("plugins", ("dicomframe.plugins",)),
    # color: pure numpy colour-model conversions, imported by codecs and helpers alike
    ("core", ("dicomframe.core", "dicomframe.errors", "dicomframe._version", "dicomframe.color")),
]


def layer(module: str) -> int:
    """The rank of a module's layer: 0 for the face, 5 for the core."""
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            exact = prefix == "dicomframe" or rank == 0
            if module == prefix or (not exact and module.startswith(prefix + ".")):
                return rank
    return 1


def modules(src: Path) -> dict[str, Path]:
    found = {}
    for path in sorted((src / "dicomframe").rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path, known: set[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("dicomframe")
        ):
            candidates = [f"{node.module}.{alias.name}" for alias in node.names]
            found.update(c for c in candidates if c in known)
            if not any(c in known for c in candidates):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("dicomframe"))
    return {m for m in found if m in known}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or not (more than one each)."""
    reach = {node: _reachable(graph, node) for node in graph}
    groups = {frozenset(n for n in reach[node] if node in reach[n]) | {node} for node in graph}
    return sorted(sorted(group) for group in groups if len(group) > 1)


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    pending = list(graph[start])
    while pending:
        node = pending.pop()
        if node not in seen:
            seen.add(node)
            pending.extend(graph[node])
    return seen


def main() -> None:
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "src")
    known = modules(src)
    graph = {name: imports(path, set(known)) - {name} for name, path in known.items()}
    upward = sorted(
        (name, target)
        for name, targets in graph.items()
        for target in targets
        if layer(target) < layer(name)
    )
    loops = cycles(graph)
    print(f"{len(graph)} modules, {sum(map(len, graph.values()))} imports")
    print(f"upward imports: {len(upward)}")
    for name, target in upward:
        print(f"  {name} -> {target}")
    print(f"import cycles: {len(loops)}")
    for loop in loops:
        print("  " + " <-> ".join(m.removeprefix("dicomframe.") for m in loop))


if __name__ == "__main__":
    main()
