"""Lazy access to botocore's service models."""

from __future__ import annotations

import functools
import threading

import botocore.loaders
import botocore.model

_lock = threading.Lock()


@functools.cache
def _loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


@functools.cache
def _load(service_name: str) -> botocore.model.ServiceModel:
    with _lock:
        data = _loader().load_service_model(service_name, "service-2")
        return botocore.model.ServiceModel(data, service_name=service_name)


def service_model(service_name: str) -> botocore.model.ServiceModel:
    """The botocore model of a service, loaded on first use and cached."""
    return _load(service_name)


def error_status(model: botocore.model.ServiceModel, code: str) -> int:
    """HTTP status the model gives an error code (400 when it says nothing)."""
    for shape in model.error_shapes:
        if shape.name == code or shape.metadata.get("error", {}).get("code") == code:
            return int(shape.metadata.get("error", {}).get("httpStatusCode", 400))
    return 400
