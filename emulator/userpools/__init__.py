"""cognito-idp: user pools.

Each module of this package owns one concern (pools, clients, users, auth, ...) and
registers its handlers on `registry`; all of them are imported below.
"""

import sys

from emulator.service_modules import import_submodules
from protocol import Registry

json_target_prefix = "AWSCognitoIdentityProviderService"
registry = Registry("cognito-idp", validation_error="InvalidParameterException")
# Custom domains (auth.example.com) are accepted although the model's Domain pattern has no dots.
for _op in ("CreateUserPoolDomain", "UpdateUserPoolDomain", "DescribeUserPoolDomain", "DeleteUserPoolDomain"):
    registry.exempt_pattern(_op, "domain")

# Every module registers its handlers on import; one that defines install(emulator)
# adds HTTP surfaces (pages, well-known documents) to the app.
modules = import_submodules(sys.modules[__name__])

