"""Import direction, read from the source (AST): the engine owns its ports, adapters plug into them.

- ``daemon`` imports ``adapters`` only in ``daemon/wiring`` (the app's composition), and ``sandboxes`` only
  through ``daemon.cli.checkout.import_from_checkout`` (see ``CHECKOUT_LOADER``);
- ``adapters`` import the public core only: never the engine, the store, the CLI, the app, the wiring, nor
  the sandboxes;
- product code (``daemon``, ``adapters``) never imports ``tests`` or ``bench``;
- the top-level modules of ``daemon`` (``daemon.engine``, ``daemon.store``, ``daemon.scheduler``, …) import
  each other without cycles.

Every import counts, wherever it stands (module level, inside a function, under ``TYPE_CHECKING``), and so
does a module named by a literal to ``importlib.import_module`` and the like: a lazy import is still a
dependency.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT_PACKAGES = ("daemon", "adapters")
# What adapters may import of the daemon (daemon/ports.py and adapters/__init__.py say the same).
PUBLIC_CORE = (
    "daemon.ports",
    "daemon.model",
    "daemon.errors",
    "daemon.http",
    "daemon.clock",
    "daemon.secrets",
    "daemon.oauth",
    "daemon.webhooks.types",
)
# Calls whose first argument names a module they import.
DYNAMIC_IMPORTERS = frozenset({"import_module", "import_from_checkout", "find_spec", "__import__"})
# The one door from the product to the sandboxes, on purpose. The sandboxes ship with a source checkout,
# never with the wheel, yet `ffn-sync sandbox` and `ffn-sync demo` must run them from a clone: so the CLI
# names them to this loader at run time, which finds them on the import path or in the checkout the package
# was installed from, and answers "not installed, clone the repository" (SandboxesMissing) instead of an
# ImportError on a wheel install. A static import, or importlib.import_module("sandboxes…") anywhere in the
# product, would make the installed package depend on code it does not carry: still a violation.
CHECKOUT_LOADER = "import_from_checkout"


@dataclass(frozen=True, slots=True)
class Source:
    module: str  # dotted name, e.g. daemon.engine.guard (a package: its own name)
    text: str
    is_package: bool = False
    path: str = "<synthetic>"


@dataclass(frozen=True, slots=True)
class Import:
    importer: Source
    target: str  # dotted name of what is imported (for ``from a import b``: ``a.b``, and ``a`` itself)
    line: int
    via: str | None = None  # the function a dynamic import names its module to; None: an import statement

    def __str__(self) -> str:
        return f"{self.importer.path}:{self.line}: {self.importer.module} imports {self.target}"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    applies_to: Callable[[str], bool]
    forbidden: Callable[[str], bool]
    allowed: Callable[[Import], bool] = lambda _: False  # a sanctioned exception to ``forbidden``


def _within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


RULES = (
    Rule(
        "daemon imports adapters only in daemon.wiring",
        lambda m: _within(m, "daemon") and not _within(m, "daemon.wiring"),
        lambda t: _within(t, "adapters"),
    ),
    Rule(
        "daemon loads sandboxes only through the checkout loader",
        lambda m: _within(m, "daemon"),
        lambda t: _within(t, "sandboxes"),
        lambda imported: imported.via == CHECKOUT_LOADER,
    ),
    Rule(
        "adapters import only the public core",
        lambda m: _within(m, "adapters"),
        # An allow-list: anything else of daemon (engine, store, monitor, config, wiring …) or sandboxes.
        # (the bare package name is no target: ``from daemon import x`` is judged by ``daemon.x``).
        lambda t: t != "daemon" and _within(t, "daemon", "sandboxes") and not _within(t, *PUBLIC_CORE),
    ),
    Rule(
        "product code never imports tests or bench",
        lambda m: _within(m, *PRODUCT_PACKAGES),
        lambda t: _within(t, "tests", "bench"),
    ),
)


def product_sources() -> list[Source]:
    sources = []
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            sources.append(
                Source(
                    ".".join(parts), path.read_text(encoding="utf-8"), is_package, str(path.relative_to(ROOT))
                )
            )
    return sources


def imports(source: Source) -> Iterator[Import]:
    for node in ast.walk(ast.parse(source.text, source.path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(source, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(source, node.module, node.level)
            yield Import(source, base, node.lineno)
            for alias in node.names:
                if alias.name != "*":
                    yield Import(source, f"{base}.{alias.name}" if base else alias.name, node.lineno)
        elif isinstance(node, ast.Call) and _callee(node.func) in DYNAMIC_IMPORTERS and node.args:
            named = _literal_module(node.args[0])
            if named:
                yield Import(source, named, node.lineno, _callee(node.func))


def _absolute(source: Source, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    package = source.module.split(".")
    if not source.is_package:
        package.pop()
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _callee(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _literal_module(arg: ast.expr) -> str | None:
    """``"a.b"`` → ``a.b``; ``f"a.{kind}"`` → ``a`` (the literal head names the package at least)."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr) and arg.values:
        head = arg.values[0]
        if isinstance(head, ast.Constant) and isinstance(head.value, str):
            return head.value.rsplit(".", 1)[0] if "." in head.value else head.value
    return None


def violations(sources: Iterable[Source]) -> list[str]:
    """One line per forbidden import statement and rule (``from a import b`` names ``a``, or ``a.b`` when
    only the submodule is forbidden)."""
    found: dict[tuple[str, int, str], Import] = {}
    for source in sources:
        for imported in imports(source):
            for rule in RULES:
                if (
                    rule.applies_to(source.module)
                    and rule.forbidden(imported.target)
                    and not rule.allowed(imported)
                ):
                    key = (source.path, imported.line, rule.name)
                    if key not in found or len(imported.target) < len(found[key].target):
                        found[key] = imported
    return sorted(f"{imported} ({rule})" for (_, _, rule), imported in found.items())


def top_level(module: str) -> str | None:
    """``daemon.engine.flows.orders`` → ``daemon.engine``; ``daemon`` itself and non-daemon names → None."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "daemon" and len(parts) > 1 else None


def import_cycles(sources: Iterable[Source]) -> list[list[str]]:
    """The groups of daemon's top-level modules that import each other in a circle (Tarjan's SCCs)."""
    sources = list(sources)
    known = {top for s in sources if (top := top_level(s.module))}
    graph: dict[str, set[str]] = {node: set() for node in known}
    for source in sources:
        here = top_level(source.module)
        for imported in imports(source) if here else ():
            there = top_level(imported.target)
            if there in known and there != here and here is not None:
                graph[here].add(there)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(cycles)


# the product ----------------------------------------------------------------------------------------------


def test_the_product_keeps_the_import_direction() -> None:
    sources = product_sources()
    assert len(sources) > 100  # the walk found the packages
    assert violations(sources) == []


def test_daemon_has_no_import_cycles() -> None:
    assert import_cycles(product_sources()) == []


# the rules catch what they must ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "text", "expected"),
    [
        ("daemon.engine.guard", "from adapters.shopify import ShopifyChannel", "adapters.shopify"),
        ("daemon.cli.login", "def f():\n    from adapters.ffn import login\n", "adapters.ffn"),
        (
            "daemon.engine.x",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import adapters\n",
            "adapters",
        ),
        ("daemon.cli.demo", "import importlib\nimportlib.import_module('sandboxes.demo')", "sandboxes.demo"),
        ("daemon.cli.sandbox", "def f(kind):\n    return __import__(f'sandboxes.{kind}')", "sandboxes"),
        ("daemon.wiring.build", "from sandboxes.kit import serve", "sandboxes.kit"),
        ("daemon.cli.demo", "from sandboxes import demo", "sandboxes"),
        ("adapters.shopify.channel", "from daemon.engine.guard import GuardedChannel", "daemon.engine.guard"),
        ("adapters.ffn.auth", "from daemon.store.tokens import PgTokenStore", "daemon.store.tokens"),
        (
            "adapters.shopify.channel",
            "from daemon.monitor.health import flow_statuses",
            "daemon.monitor.health",
        ),
        ("adapters.shopify.channel", "from daemon.config import AppConfig", "daemon.config"),
        ("adapters.shopify.webhooks", "from daemon.webhooks.service import X", "daemon.webhooks.service"),
        ("adapters.woocommerce.channel", "from daemon import wiring", "daemon.wiring"),
        ("adapters.shopware.mapping", "import sandboxes.shopware", "sandboxes.shopware"),
        ("daemon.model", "from tests.daemon.engine.fakes import FakeShop", "tests.daemon.engine.fakes"),
        ("adapters.ffn.mapping.common", "from bench.world import World", "bench.world"),
    ],
)
def test_a_forbidden_import_is_reported(module: str, text: str, expected: str) -> None:
    found = violations([Source(module, text)])
    assert len(found) == 1 and f"{module} imports {expected} (" in found[0], found


@pytest.mark.parametrize(
    ("module", "text"),
    [
        ("daemon.wiring.clients", "from adapters.shopify import ShopifyChannel"),
        (
            "daemon.cli.sandbox",
            "from daemon.cli.checkout import import_from_checkout\n"
            "def f(kind):\n    return import_from_checkout(f'sandboxes.{kind}')",
        ),
        (
            "daemon.cli.demo",
            "from daemon.cli import checkout\ncheckout.import_from_checkout('sandboxes.demo')",
        ),
        ("daemon.engine.guard", "from daemon.ports import ShopChannel"),
        (
            "adapters.shopify.channel",
            "from daemon.ports import ShopChannel\nfrom daemon.http import HttpClient",
        ),
        ("adapters.ffn.auth", "from daemon.oauth import TokenStore"),
        ("sandboxes.demo.consent", "from adapters.ffn.login import exchange_code"),
        (
            "daemon.engine.x",
            "import adaptersx\nfrom daemon.storekeeper import y",
        ),  # a prefix is not a package
    ],
)
def test_an_allowed_import_is_not_reported(module: str, text: str) -> None:
    assert violations([Source(module, text)]) == []


def test_a_cycle_between_top_level_modules_is_found() -> None:
    sources = [
        Source("daemon.runtime", "from daemon.scheduler.jobs import JobHealth"),
        Source("daemon.scheduler.jobs", "def f():\n    from daemon import runtime\n"),
        Source("daemon.scheduler", "", is_package=True),
        Source("daemon.engine.flows", "from daemon.engine import cycle\nfrom daemon.store import db"),
        Source("daemon.store.db", "from daemon.model import Window"),
        Source("daemon.model", ""),
    ]
    assert import_cycles(sources) == [["daemon.runtime", "daemon.scheduler"]]
    assert import_cycles(sources[2:]) == []  # inside one top-level package is no cycle
    relative = Source(
        "daemon.store.queries", "from ..engine.flows import orders"
    )  # daemon.engine.flows.orders
    assert import_cycles([*sources[2:], relative]) == [["daemon.engine", "daemon.store"]]
