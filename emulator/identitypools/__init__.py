"""cognito-identity: identity pools."""

import sys

from emulator.service_modules import import_submodules
from protocol import Registry

json_target_prefix = "AWSCognitoIdentityService"
registry = Registry("cognito-identity", validation_error="ValidationException")

# Every module registers its handlers on import; one that defines install(emulator)
# adds HTTP surfaces (pages, well-known documents) to the app.
modules = import_submodules(sys.modules[__name__])
