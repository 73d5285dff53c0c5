"""cognito-sync's errors, one class per error shape of the model (code and HTTP status from the model,
e.g. ResourceNotFoundException 404, LambdaThrottledException 429) and per common code of the
JSON front end (protocol.errors.COMMON_ERRORS):

    from emulator.sync.errors import ResourceNotFoundException
    raise ResourceNotFoundException("Dataset not found.")

A name that is neither fails on import (`from ... import`) or on access (`errors.Name`).
"""

from protocol.errors import ErrorCatalog

catalog = ErrorCatalog(
    "cognito-sync", module=__name__,
    # A Sync trigger that times out (events.py); not in the model, status as answered so far.
    extra={"LambdaSocketTimeoutException": 400},
)
__getattr__ = catalog.module_getattr
__dir__ = catalog.names
