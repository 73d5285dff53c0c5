"""Import every module of a service package so their handlers register themselves."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def import_submodules(package: ModuleType) -> list[ModuleType]:
    """Import the package's public modules (sorted by name) and return them."""
    modules = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            modules.append(importlib.import_module(f"{package.__name__}.{info.name}"))
    return modules
