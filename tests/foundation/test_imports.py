"""The import rules of the package layout, read from the source with ast (nothing is imported).

An edge is every `import` / `from ... import` in a module, at module level or inside a function
(a function-level import is a loop waiting for its first call), except those under
`if TYPE_CHECKING:`. `from package import name` points at package.name when that is a module,
else at the package. Importing a.b.c also runs a/__init__ and a/b/__init__; those implicit
edges are not counted, or every module would "loop" through create_app's registrations.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "voiceline"

DOMAIN = ("calls", "oncall", "calllog", "outbox", "rotafile")
# Command modules are edges too (Click and flask.cli), and so is the call area's registration.
DOMAIN_EDGES = {"cli", "__init__"}
# These play Twilio's side (sign and post requests, replay and simulate calls): they name
# Twilio's parameters and use its request validator on purpose. capture.py writes the raw
# requests the webhooks hand it (redacting DTMF).
TWILIO_SIDE = {"voiceline.calls.twilio_side", "voiceline.calls.replay", "voiceline.calls.simulate",
               "voiceline.calls.capture"}
TWILIO_PARAMS = {"Digits", "DialCallStatus", "DialBridged", "CallStatus", "RecordingUrl",
                 "DialCallSid", "AnsweredBy"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_package(name: str) -> bool:
    return (ROOT.parent / name.replace(".", "/") / "__init__.py").exists()


def is_module(name: str) -> bool:
    return is_package(name) or (ROOT.parent / (name.replace(".", "/") + ".py")).exists()


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                stack.extend(child.orelse)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child
            stack.append(child)


def imports_of(path: Path) -> set[str]:
    """Every module (voiceline's and third-party, dotted) that `path` imports."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            base = ".".join(anchor + ([base] if base else []))
        for alias in node.names:
            target = f"{base}.{alias.name}"
            found.add(target if base.startswith("voiceline") and is_module(target) else base)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return {module_name(path): imports_of(path) for path in sorted(ROOT.rglob("*.py"))
            if "migrations" not in path.parts}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), plus self-imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_reader_sees_function_level_and_relative_imports(graph):
    assert "voiceline.calls.escalation" in graph  # the walk found the package
    assert "voiceline.cli" in graph["voiceline"]  # create_app's function-level imports count
    assert "voiceline.api.base" in graph["voiceline.api.directory"]  # `from .base import ...`


def test_no_import_loops(graph):
    assert _cycles(graph) == []


def test_the_loop_finder_finds_a_loop():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_rota_imports_nothing_of_voiceline_but_itself(graph):
    bad = {(mod, imp) for mod, imps in graph.items() if _area(mod) == "rota"
           for imp in imps if imp.startswith("voiceline") and _area(imp) != "rota"}
    assert bad == set()


def test_domain_packages_import_neither_flask_nor_twilio_request_objects(graph):
    bad = set()
    for mod, imps in graph.items():
        if _area(mod) not in DOMAIN or mod.rpartition(".")[2] in DOMAIN_EDGES or mod in TWILIO_SIDE:
            continue
        if mod.count(".") == 1:  # the package itself: voiceline.calls is its __init__
            continue
        for imp in imps:
            twiml_outside = imp.startswith("twilio.twiml") and mod != "voiceline.calls.twiml"
            if imp == "flask" or imp.startswith(("flask.", "werkzeug", "twilio.request_validator")) \
                    or twiml_outside:
                bad.add((mod, imp))
    assert bad == set()


def test_twiml_is_built_only_in_calls_twiml(graph):
    users = {mod for mod, imps in graph.items() if any(i.startswith("twilio.twiml") for i in imps)}
    assert users == {"voiceline.calls.twiml"}


def test_api_and_jobs_never_import_the_ui(graph):
    bad = {(mod, imp) for mod, imps in graph.items() if _area(mod) in ("api", "jobs")
           for imp in imps if imp == "voiceline.web" or imp.startswith("voiceline.web.")}
    assert bad == set()


def _reads_request(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.Attribute) and node.attr in ("form", "values")
               and isinstance(node.value, ast.Name) and node.value.id == "request"
               for node in ast.walk(tree))


def _names_twilio_params(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in TWILIO_PARAMS}


def test_only_webhooks_read_twilio_parameters_from_a_request():
    voice_routes, readers, namers = set(), set(), {}
    for path in ROOT.rglob("*.py"):
        mod = module_name(path)
        if _area(mod) == "webhooks" or "migrations" in path.parts:
            continue
        if 'url_prefix="/voice' in path.read_text(encoding="utf-8"):
            voice_routes.add(mod)
        # The UI and the API read their own forms and bodies; nobody else reads a request's form.
        if _area(mod) not in ("web", "api") and _reads_request(path):
            readers.add(mod)
        if mod not in TWILIO_SIDE and _names_twilio_params(path):
            namers[mod] = _names_twilio_params(path)
    assert voice_routes == set()
    assert readers == set()
    assert namers == {}
