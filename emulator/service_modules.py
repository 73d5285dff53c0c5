"""Loading the three services: each package, then every module in it (each registers its
operations on the package's registry and its tables with the store)."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def import_submodules(package: ModuleType) -> list[ModuleType]:
    """Import the package's public modules, those of its subpackages included (sorted by
    dotted name), and return them."""
    modules = []
    found = pkgutil.walk_packages(package.__path__, prefix=package.__name__ + ".")
    for info in sorted(found, key=lambda i: i.name):
        if not any(part.startswith("_") for part in info.name.split(".")):
            modules.append(importlib.import_module(info.name))
    return modules


SERVICE_PACKAGES = ["emulator.userpools", "emulator.identitypools", "emulator.sync"]


def load_services() -> list[ModuleType]:
    """Import the service packages and all their modules; each package gets `modules`.

    Done by the app (and the CLI's coverage report), never at package import, so that a
    service's operations and pages may import another service's lower layers freely."""
    services = [importlib.import_module(name) for name in SERVICE_PACKAGES]
    for service in services:
        if not hasattr(service, "modules"):
            service.modules = import_submodules(service)
    return services
