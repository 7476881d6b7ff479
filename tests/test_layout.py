"""The package's module graph: no import cycles among fastgmm's own modules.

Every ``import`` of a fastgmm module counts, at module level or inside a
function: a lazy import that keeps a cycle from failing at import time is
still a cycle (the two modules cannot be understood or changed apart).
"""

import ast
from pathlib import Path

import fastgmm

PACKAGE = Path(fastgmm.__file__).parent


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module, is_package, node, modules):
    """The fastgmm modules an ``import`` or ``from ... import`` node loads."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = module.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module
    # "from p import x" loads the submodule p.x when there is one, else
    # takes the name x from p itself
    return [prefix + "." + a.name if prefix + "." + a.name in modules else prefix
            for a in node.names]


def import_graph():
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        modules[_module_name(path)] = path
    # compiled modules (a .pyx in a checkout, a .pyi stub beside the
    # extension when installed) and generated ones are leaves of the graph
    leaves = {_module_name(p.with_name(p.name.split(".")[0] + ".py"))
              for pattern in ("*.pyx", "*.pyi", "*.py.in") for p in PACKAGE.rglob(pattern)}
    leaves -= modules.keys()
    graph = {leaf: set() for leaf in leaves}
    known = modules.keys() | leaves
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _resolve(name, path.name == "__init__.py", node, known):
                    if target in known and target != name:
                        deps.add(target)
        graph[name] = deps
    return graph


def _find_cycle(graph):
    state = {}

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep, stack)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


def test_graph_sees_the_package():
    graph = import_graph()
    # the checker must find real edges, or the next test proves nothing
    assert "fastgmm._gaussian_mixture" in graph
    assert "fastgmm._mixture" in graph["fastgmm._gaussian_mixture"]
    assert "fastgmm._covariance" in graph["fastgmm._mixture"]


def test_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles():
    graph = import_graph()
    # the package's __init__ imports its public modules; a submodule that
    # imports the package root back closes a cycle through it
    cycle = _find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)
