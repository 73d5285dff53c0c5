"""cognito-identity: identity pools."""

from protocol import Registry

registry = Registry("cognito-identity", validation_error="ValidationException")

