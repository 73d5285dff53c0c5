"""cognito-idp's errors, one class per error shape of the model (code and HTTP status from the model)
and per common code of the JSON front end (protocol.errors.COMMON_ERRORS):

    from emulator.userpools.errors import UserNotFoundException
    raise UserNotFoundException("User does not exist.")

A name that is neither fails on import (`from ... import`) or on access (`errors.Name`).
"""

from protocol.errors import ErrorCatalog

catalog = ErrorCatalog("cognito-idp", module=__name__)
__getattr__ = catalog.module_getattr
__dir__ = catalog.names
