"""AWS wire protocols (JSON 1.1 and rest-json), driven by botocore's service models.

This package knows nothing of Cognito: it finds the operation a request names,
validates its input against the model, calls the registered handler and serializes
the handler's answer or error the way AWS does.
"""

from protocol.errors import ServiceError
from protocol.registry import Registry

__all__ = ["ServiceError", "Registry"]
