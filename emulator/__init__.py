"""cognito-emulator: a local, offline, faithful Amazon Cognito."""

__version__ = "0.1.0"
