"""cognito-sync: datasets and records (rest-json)."""

import sys

from emulator.service_modules import import_submodules
from protocol import Registry

registry = Registry("cognito-sync", validation_error="InvalidParameterException")

# Every module registers its handlers on import; one that defines install(emulator)
# adds HTTP surfaces (pages, well-known documents) to the app.
modules = import_submodules(sys.modules[__name__])
