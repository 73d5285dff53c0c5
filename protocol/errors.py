"""Errors that travel to the client as AWS error responses.

`ServiceError(code, message)` is the general form. `ErrorCatalog(service)` gives one subclass per
error shape of the service's model (named after the shape, with its code and HTTP status) and per
common code of the service's protocol front end; any other name is refused, so a misspelt code
fails where it is written instead of reaching a client:

    errors = ErrorCatalog("cognito-idp")
    raise errors.UserNotFoundException("User does not exist.")   # code and status from the model
    errors.UserNotFoundExceptoin                                  # AttributeError
"""

from __future__ import annotations

import threading
from typing import ClassVar

from protocol.model import service_model


class ServiceError(Exception):
    """An error answered to the client: `__type` code, message and HTTP status.

    When `status` is None the status is taken from the service model's error shape
    (400 when the model does not say).
    """

    def __init__(self, code: str, message: str = "", status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.headers = headers or {}


class CatalogError(ServiceError):
    """Base of the classes an ErrorCatalog makes: the code and the default status are the class's."""

    error_code: ClassVar[str] = ""
    http_status: ClassVar[int] = 400
    service: ClassVar[str | None] = None
    # An error shape of a model: the status is left to the model of the service that answers,
    # since one service's operation may raise another's error (Sync reports identity pools).
    from_model: ClassVar[bool] = False

    def __init__(self, message: str = "", status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        default = None if self.from_model else self.http_status
        super().__init__(self.error_code, message, default if status is None else status, headers)


# Codes AWS's JSON 1.1 / rest-json front end answers that the Cognito models do not list (code -> status).
# The dispatcher passes its own status where the protocol differs (403 on rest-json for the
# authentication codes).
COMMON_ERRORS: dict[str, int] = {
    "SerializationException": 400,            # a body or value that cannot be read
    "ValidationException": 400,               # cognito-identity's validation code (not in its model)
    "RequestEntityTooLargeException": 413,
    "UnknownOperationException": 400,
    "NotImplementedException": 400,           # an operation the emulator does not handle yet
    "InternalErrorException": 500,
    "MissingAuthenticationTokenException": 400,
    "IncompleteSignatureException": 400,
    "InvalidSignatureException": 400,
    "UnrecognizedClientException": 400,
    "ExpiredTokenException": 400,
}

# The query protocol's (STS) common codes: https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
QUERY_COMMON_ERRORS: dict[str, int] = {
    "ValidationError": 400,
    "InvalidAction": 400,
    "NotImplemented": 400,
    "InternalFailure": 500,
    "MissingAuthenticationToken": 403,
    "IncompleteSignature": 400,
    "InvalidClientTokenId": 403,
    "SignatureDoesNotMatch": 403,
    "ExpiredToken": 403,
}

_COMMON_BY_PROTOCOL = {"query": QUERY_COMMON_ERRORS}


def _make(name: str, code: str, status: int, service: str | None, module: str,
          from_model: bool = False) -> type[CatalogError]:
    return type(name, (CatalogError,), {"error_code": code, "http_status": status, "service": service,
                                        "from_model": from_model, "__module__": module, "__qualname__": name,
                                        "__doc__": f"{code} (HTTP {status})."})


# Common classes are shared by every catalog of a protocol, so `except common.SerializationException`
# catches the one raised through any service's catalog.
_common_classes: dict[tuple[str, str], type[CatalogError]] = {}
_common_lock = threading.Lock()


def _common_class(protocol: str, code: str) -> type[CatalogError]:
    family = "query" if protocol == "query" else "json"  # JSON 1.1 and rest-json share a front end
    with _common_lock:
        found = _common_classes.get((family, code))
        if found is None:
            status = _COMMON_BY_PROTOCOL.get(family, COMMON_ERRORS)[code]
            found = _common_classes[(family, code)] = _make(code, code, status, None, __name__)
        return found


class ErrorCatalog:
    """The error classes of one service: one per error shape of its botocore model (class named after
    the shape; code and HTTP status from the shape, 400 when it gives none), then `extra` codes the
    real service answers although its model does not list them, then the common codes of the model's
    protocol (COMMON_ERRORS, or QUERY_COMMON_ERRORS for query services).

    `service_name=None` gives the common codes alone (`protocol` names which). Classes are made on
    first use; an unknown name raises AttributeError. In a service's errors module,
    `__getattr__ = catalog.module_getattr` makes `from <package>.errors import UserNotFoundException`
    work and a misspelt name fail on import.
    """

    def __init__(self, service_name: str | None, *, extra: dict[str, int] | None = None,
                 protocol: str = "json", module: str | None = None) -> None:
        self.service_name = service_name
        self._protocol = protocol
        self._extra = dict(extra or {})
        self._module = module or __name__
        self._classes: dict[str, type[CatalogError]] = {}
        self._shapes: dict[str, tuple[str, int]] | None = None
        self._lock = threading.Lock()

    def _model_errors(self) -> dict[str, tuple[str, int]]:
        """{shape name: (code, status)} of the model, read on first use."""
        if self._shapes is None:
            shapes: dict[str, tuple[str, int]] = {}
            if self.service_name is not None:
                model = service_model(self.service_name)
                self._protocol = model.metadata.get("protocol", self._protocol)
                for shape in model.error_shapes:
                    error = shape.metadata.get("error", {})
                    shapes[shape.name] = (error.get("code", shape.name), int(error.get("httpStatusCode", 400)))
            self._shapes = shapes
        return self._shapes

    def _common(self) -> dict[str, int]:
        self._model_errors()  # the model says which protocol's common codes apply
        return _COMMON_BY_PROTOCOL.get(self._protocol, COMMON_ERRORS)

    def get(self, name: str) -> type[CatalogError] | None:
        """The class called `name`, or None when the catalog has no such error."""
        if name.startswith("_"):
            return None  # dunder probes (import machinery, copy, inspect) never load the model
        found = self._classes.get(name)
        if found is not None:
            return found
        shapes = self._model_errors()
        with self._lock:
            if name in shapes:
                code, status = shapes[name]
                found = _make(name, code, status, self.service_name, self._module, from_model=True)
            elif name in self._extra:
                found = _make(name, name, self._extra[name], self.service_name, self._module)
            elif name in self._common():
                found = _common_class(self._protocol, name)
            else:
                return None
            return self._classes.setdefault(name, found)

    def __getattr__(self, name: str) -> type[CatalogError]:
        found = self.get(name)
        if found is None:
            raise AttributeError(self._unknown(name))
        return found

    def module_getattr(self, name: str) -> type[CatalogError]:
        """For a module's `__getattr__`: the class, or AttributeError (ImportError on `from ... import`)."""
        found = self.get(name)
        if found is None:
            raise AttributeError(f"module {self._module!r} has no attribute {name!r}: " + self._unknown(name))
        return found

    def _unknown(self, name: str) -> str:
        where = f"{self.service_name}'s model" if self.service_name else "the common errors"
        return f"{name} is not an error of {where} (see protocol.errors for the common codes)"

    def names(self) -> list[str]:
        """Every class name the catalog answers, sorted."""
        return sorted({*self._model_errors(), *self._extra, *self._common()})

    def codes(self) -> frozenset[str]:
        """Every wire code the catalog's classes carry."""
        return frozenset({code for code, _ in self._model_errors().values()} | set(self._extra) | set(self._common()))

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self.names()})


# The JSON / rest-json common codes, for code that serves no one service (the protocol layer itself).
common = ErrorCatalog(None)
# The query protocol's common codes.
query_common = ErrorCatalog(None, protocol="query")
