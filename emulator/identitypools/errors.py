"""cognito-identity's errors, one class per error shape of the model (code and HTTP status from the
model) and per common code of the JSON front end (protocol.errors.COMMON_ERRORS, which has
ValidationException, the code of this service's validation errors):

    from emulator.identitypools.errors import ResourceNotFoundException
    raise ResourceNotFoundException(f"IdentityPool '{pool_id}' not found.")

A name that is neither fails on import (`from ... import`) or on access (`errors.Name`). STS's
errors are `emulator.identitypools.sts.errors`.
"""

from protocol.errors import ErrorCatalog

catalog = ErrorCatalog("cognito-identity", module=__name__)
__getattr__ = catalog.module_getattr
__dir__ = catalog.names
