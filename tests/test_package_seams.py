"""Where the packages of iglu_lib meet: what the type checker sees of them and which import
contract rules each of them.

The lazy re-exports of a package `__init__` (iglu_lib/lazy.py) hide every name from mypy unless
an `if TYPE_CHECKING:` block imports it too; a name in one list and not the other is either an
`Any` to the checker or a name the checker believes in and the run time cannot find. The import
contracts of pyproject.toml are only worth something if every module is ruled by them, so a new
top-level module must be placed in the layers before `lint-imports` passes again."""

from __future__ import annotations

import ast
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import tomllib

import iglu_lib

PACKAGE_DIR = Path(iglu_lib.__file__).parent
HEAVY = ("numpy", "pandas", "boto3", "botocore", "azure", "matplotlib", "papermill", "scipy", "pyarrow")


def top_level_modules() -> list[str]:
    """Every module and package directly under iglu_lib, as found on disk."""
    return sorted(f"iglu_lib.{info.name}" for info in pkgutil.iter_modules([str(PACKAGE_DIR)]))


def lazy_packages() -> list[str]:
    """The packages whose `__init__` re-exports names through `lazy_exports`."""
    return sorted(
        f"iglu_lib.{path.parent.relative_to(PACKAGE_DIR).as_posix().replace('/', '.')}"
        for path in PACKAGE_DIR.rglob("__init__.py")
        if "lazy_exports(" in path.read_text(encoding="utf-8")
    )


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def export_mismatches(package: str, source: str) -> list[str]:
    """Why the `_EXPORTS` of `package` and its `if TYPE_CHECKING:` imports disagree (empty when
    they agree): each name must come from the same module in both, imported `as` itself so
    that mypy counts it as re-exported."""
    tree = ast.parse(source)
    exports: dict[str, str] = {}
    checked: dict[str, str] = {}
    problems = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_EXPORTS" for t in node.targets):
            for name, module in ast.literal_eval(node.value).items():
                exports[name] = module if module.startswith("iglu_lib.") else f"{package}.{module}"
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.body:
                if not isinstance(statement, ast.ImportFrom) or statement.level or not statement.module:
                    problems.append(f"line {statement.lineno}: only `from iglu_lib.x import N as N` belongs here")
                    continue
                for alias in statement.names:
                    if alias.asname != alias.name:
                        problems.append(f"{alias.name}: import it `as {alias.name}` (an explicit re-export)")
                    checked[alias.name] = statement.module
    for name in sorted(exports.keys() - checked.keys()):
        problems.append(f"{name}: in _EXPORTS but not in the TYPE_CHECKING block (an Any to mypy)")
    for name in sorted(checked.keys() - exports.keys()):
        problems.append(f"{name}: in the TYPE_CHECKING block but not in _EXPORTS (missing at run time)")
    for name in sorted(exports.keys() & checked.keys()):
        if exports[name] != checked[name]:
            problems.append(f"{name}: from {exports[name]} at run time but {checked[name]} to mypy")
    return problems


def test_the_lazy_packages_are_found():
    found = lazy_packages()
    assert {"iglu_lib.analysis", "iglu_lib.mturk", "iglu_lib.tasks", "iglu_lib.ledger"} <= set(found)


def test_every_lazy_export_is_visible_to_the_type_checker_from_the_same_module():
    problems = {}
    for package in lazy_packages():
        source = (PACKAGE_DIR / package.removeprefix("iglu_lib.").replace(".", "/") / "__init__.py").read_text()
        if mismatches := export_mismatches(package, source):
            problems[package] = mismatches
    assert problems == {}


def test_the_export_check_names_each_kind_of_drift():
    source = '''
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from iglu_lib.pkg.a import Kept as Kept
    from iglu_lib.pkg.b import Moved as Moved
    from iglu_lib.pkg.a import Stale as Stale
    from iglu_lib.pkg.a import Bare
_EXPORTS = {"Kept": "a", "Moved": "iglu_lib.pkg.c", "New": "a", "Bare": "a"}
'''
    assert export_mismatches("iglu_lib.pkg", source) == [
        "Bare: import it `as Bare` (an explicit re-export)",
        "New: in _EXPORTS but not in the TYPE_CHECKING block (an Any to mypy)",
        "Stale: in the TYPE_CHECKING block but not in _EXPORTS (missing at run time)",
        "Moved: from iglu_lib.pkg.c at run time but iglu_lib.pkg.b to mypy",
    ]


def test_importing_any_top_level_module_loads_no_heavy_library():
    """The CLI imports packages for every command; the TYPE_CHECKING blocks must not change that."""
    for module in top_level_modules():
        code = (
            f"import sys, {module}; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert (module, result.stdout.strip()) == (module, "")


def importlinter_contracts() -> list[dict[str, Any]]:
    with (PACKAGE_DIR.parent / "pyproject.toml").open("rb") as file:
        contracts: list[dict[str, Any]] = tomllib.load(file)["tool"]["importlinter"]["contracts"]
    return contracts


def the_layers() -> dict[str, Any]:
    """The layers contract over the whole library (the one with `containers`)."""
    (layers,) = [c for c in importlinter_contracts() if c["type"] == "layers" and c.get("containers")]
    return layers


def layer_members(contract: dict[str, Any]) -> list[str]:
    """The module names of a layers contract, `a | b` and `a : b` split, `(optional)` unwrapped."""
    return [
        name.strip().strip("()")
        for layer in contract["layers"]
        for name in layer.replace(":", "|").split("|")
    ]


def named_modules(expression: str, modules: list[str]) -> set[str]:
    """The top-level modules a module expression names whole (`*` and `**` stand for any name);
    an expression naming a submodule does not count for its package."""
    parts = expression.split(".")
    if len(parts) != 2:
        return set()
    return {m for m in modules if all(p in ("*", "**", q) for p, q in zip(parts, m.split("."), strict=True))}


def test_the_layers_rule_the_whole_library_and_nothing_is_excused():
    layers = the_layers()
    assert (layers["containers"], layers["exhaustive"], layers.get("exhaustive_ignores")) == (["iglu_lib"], True, None)
    assert [c["name"] for c in importlinter_contracts() if c.get("ignore_imports")] == []


def test_every_top_level_module_has_exactly_one_place_in_the_layers():
    """A module not placed makes the exhaustive contract fail; a name with no module is stale."""
    members = layer_members(the_layers())
    on_disk = [m.removeprefix("iglu_lib.") for m in top_level_modules()]
    assert sorted(members) == sorted(set(members))
    assert sorted(set(on_disk) - set(members)) == []
    assert sorted(set(members) - set(on_disk)) == []


def test_every_top_level_module_is_named_by_some_contract():
    modules = top_level_modules()
    named: set[str] = set()
    for contract in importlinter_contracts():
        expressions = [*contract.get("source_modules", []), *contract.get("forbidden_modules", [])]
        layers = layer_members(contract) if "layers" in contract else []
        containers = contract.get("containers") or [""]
        expressions += [f"{c}.{m}" if c else m for c in containers for m in layers]
        for expression in expressions:
            named |= named_modules(expression, modules)
    assert sorted(set(modules) - named) == []


def run_lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "lint-imports"), "--no-cache", "--no-logo"]
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_lint_imports_refuses_a_new_module_until_it_is_placed_in_the_layers(tmp_path):
    shutil.copytree(PACKAGE_DIR, tmp_path / "iglu_lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PACKAGE_DIR.parent / "pyproject.toml", tmp_path / "pyproject.toml")
    kept = run_lint_imports(tmp_path)
    assert kept.returncode == 0, kept.stdout
    (tmp_path / "iglu_lib" / "brand_new.py").write_text('"""A module nobody placed yet."""\n')
    refused = run_lint_imports(tmp_path)
    assert refused.returncode != 0
    assert "not listed as layers" in refused.stdout and "- iglu_lib.brand_new" in refused.stdout


def test_each_implementation_satisfies_the_protocol_its_callers_are_typed_with():
    """mypy on tests/typecheck/seams_conformance.py: HitManager and the Prolific study campaign are
    the ledger's BonusService, Azure's TableClient the records' EntityTable, GameDataClient a
    GameSource, both providers a CrowdProvider. The
    project's settings and cache are used, so after `make test`'s mypy this takes a second."""
    root = PACKAGE_DIR.parent
    command = [sys.executable, "-m", "mypy", "tests/typecheck/seams_conformance.py"]
    result = subprocess.run(command, cwd=root, env={**os.environ, "MYPYPATH": str(root)},
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]


def test_the_any_count_counts_parameters_annotated_any_and_nothing_else(tmp_path):
    sys.path.insert(0, str(PACKAGE_DIR.parent / "scripts"))
    try:
        import count_any_params
    finally:
        sys.path.pop(0)
    (tmp_path / "m.py").write_text(
        "import typing\nfrom typing import Any\n"
        "def f(a: Any, b: 'Any', c: typing.Any, *d: Any, e: int, f: dict[str, Any], **g: Any) -> Any: ...\n"
        "class C:\n    async def m(self, h: Any, /, i: object) -> None: ...\n"
    )
    found = [(function, name) for _, _, function, name in count_any_params.any_parameters(tmp_path)]
    assert sorted(found) == [("f", "a"), ("f", "b"), ("f", "c"), ("f", "d"), ("f", "g"), ("m", "h")]
