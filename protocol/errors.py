"""Errors that travel to the client as AWS error responses."""

from __future__ import annotations


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
