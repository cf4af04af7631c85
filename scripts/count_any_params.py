"""Count the parameters of iglu_lib annotated `Any` (issue 22, item 7: typed seams instead of Any).

`python scripts/count_any_params.py [--by-package] [--list PREFIX]` prints the number of
function parameters whose annotation is exactly `Any` (or `typing.Any`, quoted or not), the
measure of how much of the library meets its collaborators untyped; `--by-package` splits it
by top-level package, `--list` prints each such parameter under a path prefix."""

from __future__ import annotations

import argparse
import ast
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "iglu_lib"


def _is_any(annotation: ast.expr | None) -> bool:
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        return annotation.value in ("Any", "typing.Any")
    if isinstance(annotation, ast.Name):
        return annotation.id == "Any"
    return isinstance(annotation, ast.Attribute) and annotation.attr == "Any"


def any_parameters(root: Path = ROOT) -> Iterator[tuple[Path, int, str, str]]:
    """(file, line, function, parameter) for each parameter annotated `Any` under `root`."""
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            arguments = node.args
            for argument in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                             *filter(None, [arguments.vararg, arguments.kwarg])]:
                if _is_any(argument.annotation):
                    yield path, argument.lineno, node.name, argument.arg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--by-package", action="store_true")
    parser.add_argument("--list", metavar="PREFIX", help="list the parameters under iglu_lib/PREFIX")
    args = parser.parse_args(argv)
    found = list(any_parameters())
    print(len(found))
    if args.by_package:
        counts = Counter(path.relative_to(ROOT).parts[0].removesuffix(".py") for path, *_ in found)
        for package, count in counts.most_common():
            print(f"  {package}: {count}")
    if args.list is not None:
        for path, line, function, name in found:
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(args.list):
                print(f"  {relative}:{line} {function}({name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
