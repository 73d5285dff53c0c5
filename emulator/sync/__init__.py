"""cognito-sync: datasets and records (rest-json)."""

from protocol import Registry

registry = Registry("cognito-sync", validation_error="InvalidParameterException")

