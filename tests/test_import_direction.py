"""The dependency direction (ARCHITECTURE.md "One direction", issue 11 item 5), checked from every
module's imports (ast, nothing is imported):

    channels, staff, jobs, http (and bot/shell.py, the command shims)
      -> engine -> handlers -> knowledge -> store -> bot's base (settings, logs, secret_key)
    nlu below all of them: it imports none of bot, handlers or knowledge.

A lower layer never imports a higher one. Two refinements:
- handlers see the engine only through the protocols it owns (HANDLER_API: the events, the turn
  context, the state a form keeps, identity's link-code redemption), never its router,
  dispatcher, services or assembly;
- in the engine only `assembly` (the composition root) imports handlers: the router and the
  dispatcher are given their handlers, they do not import them.

KNOWN lists the imports that still run the wrong way, each to be fixed; the test fails on any
other, and on a KNOWN one that is gone (then delete it from the list), so the list only shrinks.
Imports under `if TYPE_CHECKING:` count too: a type is a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "knowledge", "nlu")

# higher number = higher layer; a module may import its own layer or lower ones
RANK = {
    "base": 0,
    "nlu": -1,
    "store": 1,
    "knowledge": 2,
    "handlers": 3,
    "engine": 4,
    "top": 5,
}
TOP_ROOMS = ("channels", "staff", "jobs", "http")
BASE_MODULES = ("bot.settings", "bot.logs", "bot.secret_key")
HANDLER_API = (
    "bot.engine.events",
    "bot.engine.turn",
    "bot.engine.state",
    "bot.engine.identity",
    "bot.engine.protocols",
)
COMPOSITION_ROOT = "bot.engine.assembly"

KNOWN: set[tuple[str, str]] = set()


def layer(module: str) -> str:
    parts = module.split(".")
    if parts[0] in ("handlers", "knowledge", "nlu"):
        return parts[0]
    if parts[0] != "bot":
        return "outside"
    if module in BASE_MODULES:
        return "base"
    if len(parts) > 1 and parts[1] in ("engine", "store"):
        return parts[1]
    return "top"  # bot/channels, staff, jobs, http, bot/shell.py, the command shims, modules not yet placed


def module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Every absolute module this file imports (`from a.b import c` counts as a.b and a.b.c)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def sources() -> list[Path]:
    files = [p for package in PACKAGES for p in (REPO / package).rglob("*.py")]
    return sorted(p for p in files if "migrations" not in p.parts)


def known_module(name: str, modules: set[str]) -> str | None:
    """The module an imported name refers to (`from bot.engine import turn` -> bot.engine.turn)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def against(me: str, target: str) -> bool:
    """Does `me` importing `target` run against the direction?"""
    mine, theirs = layer(me), layer(target)
    if mine == "nlu":
        return theirs != "nlu"
    if mine == "handlers" and theirs == "engine":  # only the protocols the engine owns
        return not any(target == api or target.startswith(api + ".") for api in HANDLER_API)
    if mine == "engine" and theirs == "handlers":  # only the composition root wires handlers in
        return me != COMPOSITION_ROOT
    return theirs != "outside" and RANK[theirs] > RANK[mine]


def violations() -> set[tuple[str, str]]:
    files = sources()
    modules = {module_name(p) for p in files}
    wrong: set[tuple[str, str]] = set()
    for path in files:
        me = module_name(path)
        for imported in imports(path):
            target = known_module(imported, modules)
            if target is None or target == me or target.startswith(me + "."):
                continue
            if against(me, target):
                wrong.add((me, target))
    return wrong


def test_the_tree_has_the_rooms() -> None:
    for room in ("engine", "store", *TOP_ROOMS):
        assert (REPO / "bot" / room / "__init__.py").is_file(), f"bot/{room}/ is missing"


def test_no_import_runs_against_the_direction() -> None:
    wrong = violations()
    new = sorted(wrong - KNOWN)
    assert not new, "imports against the direction (lower -> higher layer):\n" + "\n".join(
        f"  {a} imports {b}" for a, b in new
    )


def test_known_wrong_way_imports_only_shrink() -> None:
    fixed = sorted(KNOWN - violations())
    assert not fixed, "fixed, delete from KNOWN:\n" + "\n".join(f"  {a} -> {b}" for a, b in fixed)


@pytest.mark.parametrize(
    ("me", "target", "allowed"),
    [
        ("bot.channels.web", "bot.engine.dispatcher", True),
        ("bot.engine.turn", "bot.store.models", True),
        ("bot.store.db", "bot.engine.turn", False),
        ("knowledge.bookings", "bot.store.db", True),
        ("nlu.engine", "bot.settings", False),
        ("bot.settings", "bot.store.db", False),
        ("handlers.forms", "bot.engine.state", True),
        ("handlers.waste", "bot.engine.router", False),
        ("bot.engine.router", "handlers.waste", False),
        ("bot.engine.assembly", "handlers.waste", True),
        ("knowledge.loader", "bot.engine.services", False),
        ("handlers.base", "bot.engine.protocols", True),
        ("bot.engine.router", "bot.engine.protocols", True),
        ("bot.engine.router", "handlers.base", False),
    ],
)
def test_the_rule_itself(me: str, target: str, allowed: bool) -> None:
    assert against(me, target) is not allowed
