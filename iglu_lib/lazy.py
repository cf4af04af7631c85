"""Lazy re-exports for package `__init__` modules.

Packages re-export their main names (`from iglu_lib.tasks import structure_f1`) without
importing the modules behind them, so that `import iglu_lib.<pkg>` — which the CLI does for
every command — never pulls in numpy, pandas, boto3 or azure."""

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
