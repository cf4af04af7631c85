"""Lazy re-exports for package `__init__` modules.

Packages re-export their main names (`from iglu_lib.tasks import structure_f1`) without
importing the modules behind them, so that `import iglu_lib.<pkg>` — which the CLI does for
every command — never pulls in numpy, pandas, boto3 or azure.

A module-level `__getattr__` is opaque to mypy (every name it serves is an `Any`), so each
package also imports the same names `as` themselves under `if TYPE_CHECKING:`; the checker sees
the real types and nothing more is imported at run time. tests/test_package_seams.py keeps that
block and `_EXPORTS` naming the same names from the same modules."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level `__getattr__` for `package`: each name of `exports` is looked up in its
    module (a submodule name such as `"loading"`, or a full dotted name) on first use."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = exports[name]
        if not module.startswith("iglu_lib."):
            module = f"{package}.{module}"
        return getattr(importlib.import_module(module), name)

    return __getattr__
