"""AWS wire protocols (JSON 1.1, rest-json and query), driven by botocore's service models.

This package knows nothing of Cognito: it routes a request to the service and operation it
names (router), reads its input the protocol's way (protocols, query), validates it against the
model (validate), calls the registered handler (dispatch) and writes the handler's answer or
error the way AWS does (serialize, protocols, query). Errors are ServiceError, or the classes an
ErrorCatalog makes from a model's error shapes (errors).
"""

from protocol.errors import ErrorCatalog, ServiceError
from protocol.registry import Registry

__all__ = ["ErrorCatalog", "ServiceError", "Registry"]
