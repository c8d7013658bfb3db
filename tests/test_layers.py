"""The house's stages (docs/architecture.md): each package of `server/` imports only from the
stages below it, so a change to how the web answers never reaches how a match is decided, and
the pure matching code never reaches the network. Read from the code's own imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parent.parent / "server"
# Lowest first: a module may import its own stage and those before it.
STAGES = ("core", "networks", "resolve", "follow", "web", "cli")


def _stage(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "server" or len(parts) < 2:
        return None  # the package itself (its version, the lazy app factory) or outside
    return parts[1] if parts[1] in STAGES else None


def _module_of(path: Path) -> str:
    rel = path.relative_to(SERVER.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in the file, function bodies included."""
    module = _module_of(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names] if not node.module else [target]
            out += [(node.lineno, n) for n in names]
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
    return out


FILES = sorted(SERVER.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SERVER)))
def test_no_stage_imports_a_higher_one(path: Path) -> None:
    own = _stage(_module_of(path))
    if own is None:
        return
    for line, target in _imports(path):
        other = _stage(target)
        assert other is None or STAGES.index(other) <= STAGES.index(own), (
            f"server/{path.relative_to(SERVER)}:{line} ({own}) imports {target} ({other}), "
            "a higher stage"
        )


def test_every_module_lives_in_a_stage() -> None:
    """Nothing new lands loose at the top of server/: a module finds its stage."""
    loose = sorted(p.name for p in SERVER.glob("*.py"))
    assert loose == ["__init__.py", "cli.py"], loose
    assert sorted(p.name for p in SERVER.iterdir() if p.is_dir() and p.name != "__pycache__") == (
        sorted(s for s in STAGES if s != "cli")
    )
