import subprocess
import sys

import tern_jax as tj


def test_every_public_name_resolves():
    for name in tj.__all__:
        assert getattr(tj, name) is not None, name


def test_import_is_cheap():
    """`import tern_jax` loads neither JAX's Flax/optax stack nor the engines until used."""
    code = (
        "import sys, tern_jax\n"
        "heavy = [m for m in ('flax', 'optax', 'orbax', 'jax') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_engines_do_not_import_training_code():
    """design.md: engines never import Flax, optax or the training code."""
    code = (
        "import sys, numpy as np, tern_jax as tj\n"
        "net = tj.constructions.ternary_alternating(1, [2]).net\n"
        "tj.exact_regions_1d(net, 0.0, 1.0)\n"
        "tj.count_regions(net, tj.Box(0.0, 1.0), 4096, progress=False)\n"
        "print(','.join(m for m in ('flax', 'optax', 'orbax') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# -- architecture: layers, cycles, local imports, module size -------------------------------
import ast  # noqa: E402
import pathlib  # noqa: E402

PACKAGE = pathlib.Path(tj.__file__).parent
# design.md "Target layers": an import only points down (to an equal or lower layer).
LAYERS = {
    "core": {"_version", "errors", "checks", "arith", "forward", "network", "domains",
             "records", "netfile", "fileio", "limits"},
    "engines": {"sampling", "exact", "bounds", "constructions", "estimators", "random_nets"},
    "training": {"training", "train", "models", "quantize", "checkpoint", "codes", "tasks"},
    "app": {"io", "report", "plots", "cli", "commands"},
}  # fmt: skip
RANK = {name: i for i, layer in enumerate(LAYERS.values()) for name in layer}
# Function-local imports of package modules: only where import cost is the reason (the CLI
# builds every parser at start, so `--help` must not pull JAX; io loads the training stack
# only for checkpoints).
LOCAL_IMPORTS_ALLOWED = ("cli", "commands", "io")
MAX_LINES = 400
LONG_MODULE_MARK = "Long module:"  # the reason, written in the module docstring
# Modules being split by work in progress (remove an entry when its module is split).
PENDING_SPLIT: set[str] = set()
# Training modules being redesigned (remove an entry when its imports follow the rules).
PENDING_REWORK: set[str] = set()


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        name = ".".join(("tern_jax", *rel.with_suffix("").parts))
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        yield path, rel, name


def _imports(path: pathlib.Path, name: str):
    """(imported module, line, is_local) for every import of a tern_jax module."""
    tree = ast.parse(path.read_text())
    pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    local_nodes = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        for sub in ast.walk(node)
    }
    guarded = {  # `if TYPE_CHECKING:` blocks declare names for type checkers only
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
        for sub in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            if not mod.startswith("tern_jax"):
                continue
            for alias in node.names:  # `from . import x` imports the module x
                yield f"{mod}.{alias.name}", mod, node.lineno, id(node) in local_nodes
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("tern_jax"):
                    yield alias.name, alias.name, node.lineno, id(node) in local_nodes


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_module_has_a_layer():
    unknown = {_top(name) for _, _, name in _modules()} - set(RANK) - {""}
    assert not unknown, f"modules without a layer in LAYERS: {sorted(unknown)}"


def test_imports_point_down_the_layers():
    bad = []
    for path, rel, name in _modules():
        me = _top(name)
        if str(rel) in PENDING_REWORK:
            continue
        for target, _, line, _ in _imports(path, name):
            other = _top(target)
            if other in RANK and me in RANK and RANK[other] > RANK[me]:
                bad.append(f"{rel}:{line} ({me}) imports {target} ({other})")
    assert not bad, "imports that point up the layers:\n" + "\n".join(bad)


def test_package_imports_are_top_level():
    bad = []
    for path, rel, name in _modules():
        if _top(name) in LOCAL_IMPORTS_ALLOWED or str(rel) in PENDING_REWORK:
            continue
        for target, _, line, local in _imports(path, name):
            if local:
                bad.append(f"{rel}:{line} imports {target} inside a function")
    assert not bad, "function-local package imports:\n" + "\n".join(bad)


def test_no_import_cycles():
    names = {name for _, _, name in _modules()}
    graph = {}
    for path, _, name in _modules():
        deps = set()
        for target, mod, _, local in _imports(path, name):
            if not local:
                deps.add(target if target in names else mod)
        graph[name] = {d for d in deps if d in names and d != name}
    # A package's __init__ re-exporting its submodules is not a cycle of logic.
    for name in graph:
        graph[name] = {d for d in graph[name] if not name.startswith(d + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for d in graph[n]:
            if state.get(d) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*stack[stack.index(d) :], d]))
            if d not in state:
                visit(d)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)


def test_long_modules_say_why():
    bad = []
    for path, rel, _ in _modules():
        lines = path.read_text().count("\n")
        if lines <= MAX_LINES or str(rel) in PENDING_SPLIT:
            continue
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if LONG_MODULE_MARK not in doc:
            bad.append(f"{rel}: {lines} lines")
    assert not bad, f"modules above {MAX_LINES} lines without '{LONG_MODULE_MARK}':\n" + "\n".join(
        bad
    )
