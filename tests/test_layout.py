"""The package layout (issue 13), checked statically on the source: no import cycle inside mxref
(function-level imports count), the core never imports the layers above it (mxref.ext,
mxref.conformance, mxref.vectors), no module over 800 lines, no module-level function named like
its module, and the extension rows are not exported at the top level of mxref."""

import ast
from pathlib import Path

import pytest

import mxref

PKG = Path(mxref.__file__).resolve().parent
MAX_LINES = 800
#: The core: modules (and packages) that must never import the layers above them.
CORE = ("formats", "options", "_kernel", "_arrays", "elements", "scale", "conversion", "_fast_f32", "_fast_int",
        "_dequant", "arrays", "products", "layers", "layout", "reference", "tables",
        "accumulators", "_intsum")
ABOVE = ("mxref.ext", "mxref.conformance", "mxref.vectors", "mxref.cli", "mxref.bench", "mxref.testing",
         "mxref.strategies", "mxref.models", "mxref.sweep", "mxref.audit")


def _modules() -> dict:
    """{dotted name: path} of every module of the package."""
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


MODULES = _modules()


def _resolve(mod: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module an ImportFrom names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    pkg = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    base = pkg[: len(pkg) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _internal(name: str) -> str | None:
    """The longest mxref module that ``name`` is or lies in, or None outside mxref."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(mod: str) -> set:
    """Every mxref module that ``mod`` imports anywhere in its source (module level, inside
    functions, under TYPE_CHECKING alike): ``from .x import y`` counts x, and x.y when y is
    a module."""
    path = MODULES[mod]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(mod, path, node)
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for n in names:
            t = _internal(n)
            if t is not None and t != mod:
                out.add(t)
    return out


GRAPH = {m: _imports(m) for m in MODULES}


def _cycles(graph: dict) -> list:
    """Strongly connected components with more than one module (Tarjan), or a self-import."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _is_core(mod: str) -> bool:
    parts = mod.split(".")
    return len(parts) >= 2 and parts[1] in CORE


def _under(mod: str, prefix: str) -> bool:
    return mod == prefix or mod.startswith(prefix + ".")


def test_the_graph_sees_the_package():
    assert {"mxref.formats", "mxref.conversion", "mxref.layout.serialization", "mxref.ext.nvfp4"} <= set(MODULES)
    assert "mxref.formats" in GRAPH["mxref.conversion"]
    assert "mxref.layout.mxfile" in GRAPH["mxref.arrays"]  # MXArray.save
    # the checker finds a cycle when there is one
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_inside_mxref():
    assert _cycles(GRAPH) == []


def test_the_core_never_imports_the_layers_above_it():
    bad = sorted((m, t) for m, ts in GRAPH.items() if _is_core(m)
                 for t in ts if any(_under(t, a) for a in ABOVE))
    assert bad == []


@pytest.mark.parametrize("mod", sorted(MODULES))
def test_no_module_over_800_lines(mod):
    n = len(MODULES[mod].read_text().splitlines())
    assert n <= MAX_LINES, f"{mod} has {n} lines"


def test_no_module_function_named_like_its_module():
    bad = []
    for mod, path in MODULES.items():
        stem = mod.rpartition(".")[2]
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.lstrip("_") == stem.lstrip("_"):
                bad.append(f"{mod}.{node.name}")
    assert bad == []
    assert callable(mxref.dot) and callable(mxref.linear)  # the names are the functions


def test_extension_rows_are_not_top_level():
    for name in ("fp4_e3m0", "int4", "int2", "EXTENSION_FORMATS", "EXT_MX_FORMATS"):
        assert not hasattr(mxref, name) and name not in mxref.__all__, name
        assert hasattr(mxref.ext, name), name
    assert mxref.element_format("int4") is mxref.ext.int4 and mxref.ext.int4.extension
    assert mxref.mx_format("mxint4") is mxref.ext.EXT_MX_FORMATS["mxint4"]
    assert all(not f.extension for f in mxref.ELEMENT_FORMATS.values())


def test_one_registry_and_one_option_check():
    from mxref import formats, options

    assert mxref.MXFormat is formats.MXFormat and mxref.MX_FORMATS is formats.MX_FORMATS
    assert mxref.ext.EXT_MX_FORMATS is formats.EXT_MX_FORMATS
    assert mxref.layout.serialization.OPTION_VALUES is options.QUANTIZE_OPTION_VALUES
    assert list(options.QUANTIZE_OPTION_VALUES) == [f for f in options.QuantizeOptions.__dataclass_fields__]
    o = options.QuantizeOptions()
    assert mxref.quantize([1.0, 2.0], "mxfp8_e4m3").options == o.as_dict()
    with pytest.raises(Exception):
        o.rounding = "up"  # frozen
