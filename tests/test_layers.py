"""Layering (STYLE.md): an AST walk over modelreg/ proves no module imports above its layer."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "modelreg"

THIRD_PARTY = {
    "typer",
    "rich",
    "click",
    "ruamel",
    "_ruamel_yaml",
    "jsonschema",
    "fastjsonschema",
    "git",
    "yaml",
}

# module (or package prefix) -> what it may import from modelreg and from third parties
RULES: dict[str, tuple[set[str], set[str]]] = {
    "modelreg.core": ({"modelreg.core", "modelreg.errors"}, set()),
    "modelreg.errors": (set(), set()),
    "modelreg.vcs": ({"modelreg.core", "modelreg.errors"}, set()),
    "modelreg.signing": ({"modelreg.core", "modelreg.errors", "modelreg.vcs"}, set()),
    "modelreg.yamlio": ({"modelreg.core", "modelreg.errors"}, {"ruamel"}),
    "modelreg.schemas": ({"modelreg.core", "modelreg.errors"}, {"jsonschema", "fastjsonschema"}),
    "modelreg.registry": (
        {
            "modelreg.core",
            "modelreg.errors",
            "modelreg.vcs",
            "modelreg.yamlio",
            "modelreg.schemas",
            "modelreg.signing",
        },
        set(),
    ),
    "modelreg.services": (
        {
            "modelreg.core",
            "modelreg.errors",
            "modelreg.vcs",
            "modelreg.yamlio",
            "modelreg.schemas",
            "modelreg.signing",
            "modelreg.registry",
            "modelreg.services",
        },
        set(),
    ),
    "modelreg.runtime": ({"modelreg.core", "modelreg.yamlio", "modelreg.errors"}, set()),
    "modelreg.cli.output": ({"modelreg.core", "modelreg.errors"}, {"rich"}),
    "modelreg.cli": (
        {
            "modelreg.cli",
            "modelreg.core",
            "modelreg.errors",
            "modelreg.services",
            "modelreg.registry",
            "modelreg.yamlio",
        },
        {"typer"},
    ),
    "modelreg": (
        {"modelreg.core", "modelreg.yamlio", "modelreg.errors", "modelreg.runtime"},
        set(),
    ),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _rule_for(module: str) -> tuple[set[str], set[str]]:
    best = max((k for k in RULES if module == k or module.startswith(k + ".")), key=len)
    return RULES[best]


def _imports(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the package
                base = (
                    module.split(".")[: -node.level]
                    if not module.endswith("__init__")
                    else module.split(".")
                )
                name = ".".join([*base, node.module or ""]).rstrip(".")
            else:
                name = node.module or ""
            out.append((node.lineno, name))
    return out


def _allowed(name: str, internal: set[str], external: set[str]) -> bool:
    top = name.split(".")[0]
    if top == "modelreg":
        return any(name == a or name.startswith(a + ".") for a in internal)
    if top in THIRD_PARTY:
        return top in external
    return True  # the standard library


def test_no_module_imports_above_its_layer() -> None:
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        internal, external = _rule_for(module)
        for line, name in _imports(ast.parse(path.read_text()), module):
            if not _allowed(name, internal, external):
                violations.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line}: {module} imports {name}"
                )
    assert violations == []


def test_only_cli_output_prints_and_only_vcs_runs_git() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        text = path.read_text()
        tree = ast.parse(text)
        for node in ast.walk(tree):
            is_print = (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "print"
            )
            if is_print and not module.startswith("modelreg.cli"):
                offenders.append(f"{module}:{getattr(node, 'lineno', 0)}: print()")
        if "subprocess" in text and module not in ("modelreg.vcs", "modelreg.signing"):
            offenders.append(f"{module}: uses subprocess (git runs only in modelreg.vcs)")
    assert offenders == []


def test_the_rule_table_covers_every_module() -> None:
    for path in PACKAGE.rglob("*.py"):
        _rule_for(_module_name(path))  # raises ValueError if no rule matches
