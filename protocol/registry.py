"""Handlers register here, one function per operation of a service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore import xform_name

from protocol.model import service_model

Handler = Callable[[Any, dict], dict | None]


class Registry:
    """The handlers of one AWS service, keyed by the model's operation names.

    A handler is named after its operation in snake case (`admin_create_user` for
    AdminCreateUser) and registered with `@registry.handler`.
    """

    def __init__(self, service_name: str, validation_error: str) -> None:
        self.service_name = service_name
        self.validation_error = validation_error
        self._by_snake: dict[str, Handler] = {}
        self._by_name: dict[str, Handler] | None = None
        self._pattern_exemptions: dict[str, frozenset[str]] = {}
        self._enum_extensions: dict[str, list[str]] = {}
        self._extended = False

    def extend_enum(self, shape_name: str, *values: str) -> None:
        """Accept `values` in an enum shape where the real service accepts more than the
        installed model lists. Applied when the model is first used."""
        self._enum_extensions.setdefault(shape_name, []).extend(values)
        self._extended = False

    def exempt_pattern(self, operation: str, *paths: str) -> None:
        """Do not apply the model's pattern to these member paths of `operation`
        (where the real service accepts more than its model says)."""
        self._pattern_exemptions[operation] = self._pattern_exemptions.get(operation, frozenset()) | set(paths)

    def pattern_exemptions(self, operation: str) -> frozenset[str]:
        return self._pattern_exemptions.get(operation, frozenset())

    def handler(self, func: Handler) -> Handler:
        self._by_snake[func.__name__] = func
        self._by_name = None
        return func

    @property
    def model(self):
        model = service_model(self.service_name)
        if not self._extended:
            for shape_name, values in self._enum_extensions.items():
                enum = model.shape_for(shape_name).metadata.get("enum")
                if isinstance(enum, list):  # the model's own list, shared by every Shape object
                    enum.extend(v for v in values if v not in enum)
            self._extended = True
        return model

    def _index(self) -> dict[str, Handler]:
        if self._by_name is None:
            index = {}
            for op in self.model.operation_names:
                func = self._by_snake.get(xform_name(op))
                if func is not None:
                    index[op] = func
            unknown = set(self._by_snake) - {xform_name(op) for op in self.model.operation_names}
            if unknown:
                raise RuntimeError(f"{self.service_name}: handlers for no operation: {sorted(unknown)}")
            self._by_name = index
        return self._by_name

    def get(self, operation: str) -> Handler | None:
        return self._index().get(operation)

    def coverage(self) -> list[tuple[str, bool]]:
        """(operation, has handler) for every operation of the model."""
        index = self._index()
        return [(op, op in index) for op in sorted(self.model.operation_names)]
