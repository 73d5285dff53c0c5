"""Lazy access to botocore's service models."""

from __future__ import annotations

import functools
import sys
import threading


def _import_botocore() -> None:
    """Import botocore without urllib3's pyOpenSSL shim (pyOpenSSL is installed for passkeys):
    botocore's HTTP session module imports the shim only to take back the standard library's
    SSLContext, which is what it falls back to without it. Skipping it saves ~25 ms of every start."""
    shim = "urllib3.contrib.pyopenssl"
    if shim in sys.modules or "botocore.model" in sys.modules:
        return
    sys.modules[shim] = None  # makes its import raise ImportError, botocore's fallback
    try:
        import botocore.model  # noqa: F401
    finally:
        del sys.modules[shim]


_import_botocore()

import botocore.loaders  # noqa: E402
import botocore.model  # noqa: E402

_lock = threading.Lock()


@functools.cache
def _loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


@functools.cache
def _load(service_name: str) -> botocore.model.ServiceModel:
    with _lock:
        # What Loader.load_service_model does for these services (which have no extras), without
        # its listing of every service's folder first: 450 directory reads, 20 ms of every start.
        loader = _loader()
        version = loader.determine_latest_version(service_name, "service-2")
        data = loader.load_data(f"{service_name}/{version}/service-2")
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
